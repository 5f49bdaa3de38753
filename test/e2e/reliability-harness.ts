import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { build } from 'vite';

const fixtureDir = fileURLToPath(new URL('./fixtures/core-page/', import.meta.url));
const indexHtml =
  '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>';
const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** A built page that exposes `@coffer/core` as `window.fixture.core`, served on 127.0.0.1. */
export interface Harness {
  origin: string;
  browser: Browser;
  /**
   * A context on a profile on disk, so that quota and usage are those of real files.
   * `Storage.overrideQuotaForOrigin` works here and in `browser.newContext()` alike, as long as
   * it is sent before the origin's first IndexedDB write (see the full-disk test).
   */
  persistentContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const outDir = join(tmpdir(), `coffer-reliability-${process.pid}-${Date.now()}`);
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
        input: { page: join(fixtureDir, 'page.ts') },
        output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', format: 'es' },
      },
    },
  });
  const server: Server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    try {
      const body = path === '/' ? indexHtml : await readFile(join(outDir, path.replace(/\.\.+/g, '')));
      response.writeHead(200, { 'Content-Type': types[extname(path)] ?? 'text/html' }).end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const launchOptions = {
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  };
  const browser = await chromium.launch(launchOptions);
  const profiles: string[] = [];
  const persistent: BrowserContext[] = [];
  return {
    origin,
    browser,
    async persistentContext() {
      const profile = await mkdtemp(join(tmpdir(), 'coffer-profile-'));
      profiles.push(profile);
      const context = await chromium.launchPersistentContext(profile, launchOptions);
      persistent.push(context);
      return context;
    },
    async close() {
      for (const context of persistent) await context.close().catch(() => undefined);
      for (const profile of profiles) await rm(profile, { recursive: true, force: true });
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(outDir, { recursive: true, force: true });
    },
  };
}
