import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { build } from 'vite';

const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Listen on 127.0.0.1 on a free port; the origin, e.g. `http://127.0.0.1:41234`. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Build the fixture page in `fixtureDir` into `outDir` with Vite, from the workspace sources: one
 * `<entry>.js` per `<entry>.ts` named, shared code in `chunks/`.
 */
export async function buildFixturePage(fixtureDir: string, outDir: string, entries: string[]): Promise<void> {
  await build({
    configFile: false,
    root: fixtureDir,
    logLevel: 'warn',
    resolve: { conditions: ['@coffer/source', 'module', 'browser', 'development|production'] },
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      modulePreload: false,
      rolldownOptions: {
        input: Object.fromEntries(entries.map((entry) => [entry, join(fixtureDir, `${entry}.ts`)])),
        output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', format: 'es' },
      },
    },
  });
}

/**
 * Serve a page built by {@link buildFixturePage} on 127.0.0.1: `/` is a page titled `title` that
 * runs `/page.js`, every other path a file of `outDir`.
 */
export async function serveFixturePage(
  outDir: string,
  title: string,
): Promise<{ server: Server; origin: string }> {
  const indexHtml = `<!doctype html><meta charset="utf-8"><title>${title}</title><script type="module" src="/page.js"></script>`;
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    try {
      const body = path === '/' ? indexHtml : await readFile(join(outDir, path.replace(/\.\.+/g, '')));
      response.writeHead(200, { 'Content-Type': types[extname(path)] ?? 'text/html' }).end(body);
    } catch {
      response.writeHead(404).end('not on the server');
    }
  });
  return { server, origin: await listenOnLoopback(server) };
}
