import type { Server } from 'node:http';

/** Serve `root` on 127.0.0.1:`port` (0 picks a free port). */
export function serve(root: string, port?: number): Promise<{ server: Server; url: string }>;
