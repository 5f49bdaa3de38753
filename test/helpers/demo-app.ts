import { spawnSync } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';
import { launchChromium } from './chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Where the demo app (apps/demo) is built. */
export const demoDist = join(root, 'apps/demo/dist');

/** The newest modification time under `path`, in ms. */
async function newest(path: string): Promise<number> {
  let latest = 0;
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return latest;
}

/** Build the demo app unless a build newer than every source exists. */
export async function buildDemoIfStale(): Promise<void> {
  const built = await stat(join(demoDist, 'sw.js')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(
    ...(await Promise.all(
      ['apps/demo/src', 'apps/demo/public', 'packages/elements/src', 'packages/core/src'].map((d) =>
        newest(join(root, d)),
      ),
    )),
  );
  if (built > sources) return;
  const result = spawnSync('npx', ['vite', 'build', '-c', 'apps/demo/vite.config.ts', '--logLevel', 'warn'], {
    cwd: root,
    encoding: 'utf8',
    // Vitest sets NODE_ENV=test, which would make a development build (no service worker).
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (result.status !== 0) throw new Error(`The app build failed:\n${result.stdout}\n${result.stderr}`);
}

/** The built demo app served on 127.0.0.1 (a free port), and a Chromium to open it in. */
export interface DemoApp {
  server: Server;
  /** The app's origin, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  browser: Browser;
}

/** Build the demo app if stale ({@link buildDemoIfStale}), serve it, and launch Chromium. */
export async function startDemoApp(): Promise<DemoApp> {
  await buildDemoIfStale();
  const { server, url } = await serve(demoDist, 0);
  const browser = await launchChromium();
  return { server, url, browser };
}

/** Close what {@link startDemoApp} opened (any part that is there: a failed start leaves some out). */
export async function stopDemoApp(app: Partial<DemoApp> | undefined): Promise<void> {
  await app?.browser?.close();
  app?.server?.closeAllConnections();
  app?.server?.close();
}
