import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { build, createServer as createViteServer, type Plugin } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../../scripts/serve.mjs';
import { launchChromium } from '../helpers/chromium.js';
import { listenOnLoopback } from '../helpers/fixture-page.js';
import { freshS3Bucket, s3Gateway, type TestS3Options } from '../helpers/s3.js';
import { s3AdminRequest } from '../helpers/s3-admin.js';

/** The examples under examples/, built as their readers would build them, run in Chromium. */
const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const HELLO_MD5 = 'md5:5d41402abc4b2a76b9719d911017c592';

// Each test opens a page in a new browser context: its own IndexedDB and service worker.
let browser: Browser;
const servers: Server[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const server of servers) server.close();
});

interface Example {
  record: {
    files: {
      set(key: string, blob: Blob): Promise<unknown>;
      get(key: string): Promise<{ checksum: string; url: string; blob(): Promise<Blob> } | undefined>;
    };
  };
  swReady: Promise<unknown> | null;
}

/** Store `hello.txt` through the page's API and read it back. */
function storeAndReadBack(page: Page) {
  return page.evaluate(async () => {
    const { record } = window as unknown as Example;
    await record.files.set('hello.txt', new Blob(['hello'], { type: 'text/plain' }));
    const file = await record.files.get('hello.txt');
    return { checksum: file?.checksum, text: await (await file!.blob()).text(), url: file?.url };
  });
}

/** `record.files` of a synced record: a file's instance tells whether its bytes were pulled. */
interface SyncedFiles {
  get(key: string): Promise<
    | {
        checksum: string;
        url: string;
        blob(): Promise<Blob>;
        version: { file(): Promise<{ lazy: boolean }> };
      }
    | undefined
  >;
}

/** What examples/embed/sync.html puts on `window`: a coffer and its sync, from two files. */
interface SyncExample {
  coffer: {
    records: {
      create(data: object): Promise<{ id: string; files: Example['record']['files'] }>;
      get(id: string): Promise<{ files: SyncedFiles }>;
    };
  };
  sync: {
    configure(config: TestS3Options & { bodies?: 'eager' | 'lazy' }): Promise<void>;
    now(): Promise<unknown>;
  };
}

/** Open examples/embed/sync.html in a new browser profile; `loaded` lists the paths it requests. */
async function openSyncPage(origin: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const loaded: string[] = [];
  page.on('request', (request) => loaded.push(new URL(request.url()).pathname));
  await page.goto(`${origin}/sync.html`);
  await page.waitForFunction(() => 'sync' in window);
  return { context, page, loaded };
}

/** In sync.html: store `hello.txt` in a new record, sync it to `bucket`; the record's id. */
function pushHello(page: Page, bucket: TestS3Options): Promise<string> {
  return page.evaluate(async (bucket) => {
    const { coffer, sync } = window as unknown as SyncExample;
    const record = await coffer.records.create({ title: 'Synced from an embedded page' });
    await record.files.set('hello.txt', new Blob(['hello'], { type: 'text/plain' }));
    await sync.configure(bucket);
    await sync.now();
    return record.id;
  }, bucket);
}

/** Fetch a URL from the page once its service worker controls it. */
async function fetchThroughServiceWorker(page: Page, url: string) {
  await page.evaluate(() => (window as unknown as Example).swReady);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  return page.evaluate(async (url) => {
    const response = await fetch(url);
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      etag: response.headers.get('etag'),
      body: await response.text(),
    };
  }, url);
}

describe('examples/embed: a page without a build step', () => {
  const requested: string[] = [];
  let origin: string;

  beforeAll(async () => {
    await run(process.execPath, ['scripts/build-embed.mjs', '--sizes'], { cwd: root });
    // The page's folder with the bundle from dist/embed copied beside it, as a reader would.
    const folders = [join(root, 'examples/embed'), join(root, 'dist/embed')];
    const types: Record<string, string> = {
      '.html': 'text/html',
      '.js': 'text/javascript',
      '.map': 'application/json',
    };
    const server = createServer(async (request, response) => {
      const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
      requested.push(path);
      const file = path.endsWith('/') ? `${path}index.html` : path;
      for (const folder of folders) {
        const body = await readFile(join(folder, file)).catch(() => undefined);
        if (body) {
          response
            .writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' })
            .end(body);
          return;
        }
      }
      response.writeHead(404).end('not on the server');
    });
    servers.push(server);
    origin = await listenOnLoopback(server);
  });

  it('keeps what a page loads with each file within its gzipped size budget', async () => {
    // The README reports the measured sizes (`node scripts/build-embed.mjs --sizes`): coffer.js
    // counts with the chunks it imports, coffer-sync.js with what it adds to them. Raised on
    // 2026-12-04 after measuring why: Coffer's own code in coffer.js grew from 109 to 140 kB
    // minified (one validation on every path, bulk writes, rename history, bag format 2, import
    // hardening: 92.3 -> 104.1 kB gzipped; sync stays out, in its own entry point), and the
    // elements from 115 to 164 kB (the Sync screen, search, selection, undo, folders, activity:
    // 32.3 -> 46.9 kB gzipped).
    const budgets: Record<string, number> = {
      'coffer.js': 110_000,
      'coffer-sync.js': 32_000,
      'coffer.worker.js': 85_000,
      'sync.worker.js': 140_000,
      'coffer-elements.js': 50_000,
      'coffer-sw.js': 110_000,
    };

    const { sizes } = JSON.parse(await readFile(join(root, 'dist/embed/sizes.json'), 'utf8')) as {
      sizes: Record<string, { gzip: number }>;
    };

    for (const [file, budget] of Object.entries(budgets))
      expect(sizes[file]?.gzip, file).toBeLessThanOrEqual(budget);
  });

  it('stores a file through coffer.js, hashed in coffer.worker.js, and reads it back', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'record' in window);

    const stored = await storeAndReadBack(page);

    expect(stored).toMatchObject({ checksum: HELLO_MD5, text: 'hello' });
    expect(requested).toContain('/coffer.worker.js');
    await page.close();
  });

  it('renders the record’s files in <coffer-files record-id> from coffer-elements.js', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'record' in window);

    await storeAndReadBack(page);
    await page.evaluate(() =>
      (window as unknown as Example).record.files.set('notes/second.txt', new Blob(['second'])),
    );

    const rows = page.locator('coffer-files coffer-file-row button.name');
    await expect
      .poll(() => rows.allTextContents())
      .toEqual([expect.stringContaining('hello.txt'), expect.stringContaining('notes/second.txt')]);
    await page.close();
  });

  it('serves a stored file at its URL from the page’s service worker (coffer-sw.js)', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'record' in window);
    const { url } = await storeAndReadBack(page);

    const response = await fetchThroughServiceWorker(page, url!);

    expect(url).toBe('/coffer/records/field-notes-1/files/hello.txt');
    expect(response).toEqual({
      status: 200,
      type: 'text/plain; charset=utf-8',
      etag: `"${HELLO_MD5}"`,
      body: 'hello',
    });
    await page.close();
  });

  it('loads neither coffer-sync.js nor sync.worker.js in a page that does not sync', async () => {
    const page = await browser.newPage();
    const loaded: string[] = [];
    page.on('request', (request) => loaded.push(new URL(request.url()).pathname));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'record' in window);

    await storeAndReadBack(page);

    expect(loaded).toContain('/coffer.js');
    expect(loaded.filter((path) => /sync/.test(path))).toEqual([]);
    await page.close();
  });

  it('syncs a file from sync.html (coffer.js with coffer-sync.js) to the gateway and to a second profile', async () => {
    const bucket = await freshS3Bucket({ label: 'e2e-embed' });
    const a = await openSyncPage(origin);
    const b = await openSyncPage(origin);
    try {
      const id = await pushHello(a.page, bucket);

      const stored = await s3AdminRequest(
        s3Gateway(),
        'GET',
        `/${bucket.bucket}/records/${encodeURIComponent(id)}/files/hello.txt`,
      );
      const bytes = Buffer.from(await stored.arrayBuffer());
      expect(`md5:${createHash('md5').update(bytes).digest('hex')}`).toBe(HELLO_MD5);
      expect(a.loaded).toEqual(expect.arrayContaining(['/coffer.js', '/coffer-sync.js', '/sync.worker.js']));

      const pulled = await b.page.evaluate(
        async ({ bucket, id }) => {
          const { coffer, sync } = window as unknown as SyncExample;
          await sync.configure(bucket);
          await sync.now();
          const file = await (await coffer.records.get(id)).files.get('hello.txt');
          return { checksum: file?.checksum, text: await (await file!.blob()).text() };
        },
        { bucket, id },
      );
      expect(pulled).toEqual({ checksum: HELLO_MD5, text: 'hello' });
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });

  it('serves a file sync.html pulled without its bytes from coffer-sw.js, which asks the tab that leads sync', async () => {
    const bucket = await freshS3Bucket({ label: 'e2e-embed-lazy' });
    const a = await openSyncPage(origin);
    const b = await openSyncPage(origin);
    try {
      const id = await pushHello(a.page, bucket);
      const pulled = await b.page.evaluate(
        async ({ bucket, id }) => {
          const { coffer, sync } = window as unknown as SyncExample;
          await sync.configure({ ...bucket, bodies: 'lazy' });
          await sync.now();
          const file = await (await coffer.records.get(id)).files.get('hello.txt');
          return { url: file?.url, lazy: (await file?.version.file())?.lazy };
        },
        { bucket, id },
      );

      const response = await fetchThroughServiceWorker(b.page, pulled.url!);

      expect(pulled.lazy).toBe(true);
      expect(response).toEqual({
        status: 200,
        type: 'text/plain; charset=utf-8',
        etag: `"${HELLO_MD5}"`,
        body: 'hello',
      });
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });

  it('gives an error from coffer-sync.js’s worker the class coffer.js exports (one copy of each class)', async () => {
    const { context, page } = await openSyncPage(origin);
    await page.addScriptTag({ type: 'module', content: "window.api = await import('./coffer.js');" });
    await page.waitForFunction(() => 'api' in window);
    const bad = {
      endpoint: 'not a url',
      bucket: 'b',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    };
    try {
      const refused = await page.evaluate(async (bad) => {
        const { api, sync } = window as unknown as SyncExample & {
          api: { InvalidArgumentError: new (...args: never) => unknown };
        };
        const error = await sync.configure(bad as TestS3Options).catch((e: unknown) => e);
        return { code: (error as { code?: string }).code, same: error instanceof api.InvalidArgumentError };
      }, bad);

      expect(refused).toEqual({ code: 'INVALID_ARGUMENT', same: true });
    } finally {
      await context.close();
    }
  });
});

describe('examples/vite-app: a Vite app installing the packages', () => {
  const resolvedCoffer = new Set<string>();
  let url: string;
  let outDir: string;

  beforeAll(async () => {
    await run(process.execPath, ['scripts/build-packages.mjs', '--if-changed'], { cwd: root });
    const app = join(root, 'examples/vite-app');
    outDir = join(app, 'dist');
    // Records which files of the packages the app's own config resolves.
    const recorder: Plugin = {
      name: 'record-coffer-modules',
      load(id) {
        if (id.includes('/packages/core/') || id.includes('/packages/elements/')) resolvedCoffer.add(id);
        return null;
      },
    };
    await build({ configFile: join(app, 'vite.config.ts'), logLevel: 'warn', plugins: [recorder] });
    const served = await serve(outDir);
    servers.push(served.server);
    url = served.url;
  });

  it('builds from the packages’ dist (no @coffer/source condition) and emits the worker as its own file', async () => {
    const assets = await readdir(join(outDir, 'assets'));

    expect(resolvedCoffer.size).toBeGreaterThan(0);
    expect([...resolvedCoffer].filter((id) => !/\/packages\/(core|elements)\/dist\//.test(id))).toEqual([]);
    expect(assets.filter((f) => /^coffer\.worker-.+\.js$/.test(f))).toHaveLength(1);
    expect((await stat(join(outDir, 'sw.js'))).isFile()).toBe(true);
  });

  it('type-checks against the packages’ published declarations', async () => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc');

    const result = await run(process.execPath, [tsc, '-p', 'examples/vite-app/tsconfig.json', '--noEmit'], {
      cwd: root,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? 'tsc failed' }));

    expect(result.stdout).toBe('');
  });

  it('stores a file with the API in the worker and shows it in <coffer-files>', async () => {
    const page = await browser.newPage();
    const workers: string[] = [];
    page.on('worker', (worker) => workers.push(worker.url()));
    await page.goto(url);
    await page.waitForFunction(() => 'record' in window);

    const stored = await storeAndReadBack(page);

    expect(stored).toMatchObject({ checksum: HELLO_MD5, text: 'hello' });
    expect(workers.filter((w) => /\/assets\/coffer\.worker-.+\.js$/.test(w))).toHaveLength(1);
    await expect
      .poll(() => page.locator('coffer-files coffer-file-row button.name').allTextContents())
      .toEqual([expect.stringContaining('hello.txt')]);
    await page.close();
  });

  it('answers the app’s own Workbox route and Coffer’s file routes from one service worker', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => 'record' in window);
    const { url: fileUrl } = await storeAndReadBack(page);

    const own = await fetchThroughServiceWorker(page, '/api/hello');
    const file = await fetchThroughServiceWorker(page, fileUrl!);
    const missing = await fetchThroughServiceWorker(page, '/coffer/records/field-notes/files/nothing.txt');

    expect(JSON.parse(own.body)).toEqual({ from: 'the app’s own route' });
    expect(file).toEqual({
      status: 200,
      type: 'text/plain; charset=utf-8',
      etag: `"${HELLO_MD5}"`,
      body: 'hello',
    });
    expect(missing.status).toBe(404);
    await page.close();
  });
});

describe('a Vite dev server with @coffer/core installed from the registry', () => {
  // Installed packages are pre-bundled by Vite's dev server, which moves the API away from its
  // worker file; the README's recipe keeps @coffer/core out of pre-bundling (production
  // builds need nothing). The package is copied into node_modules, as npm would install it.
  const app = join(root, 'node_modules/.cache/coffer-vite-dev');
  const optimizeDeps = {
    exclude: ['@coffer/core'],
    include: ['@coffer/core > dexie', '@coffer/core > ajv', '@coffer/core > ajv/dist/2020.js'],
  };

  beforeAll(async () => {
    await run(process.execPath, ['scripts/build-packages.mjs', 'core', '--if-changed'], { cwd: root });
    await rm(app, { recursive: true, force: true });
    const installed = join(app, 'node_modules/@coffer/core');
    await mkdir(installed, { recursive: true });
    for (const entry of ['package.json', 'dist', 'src']) {
      await cp(join(root, 'packages/core', entry), join(installed, entry), { recursive: true });
    }
    await writeFile(join(app, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>');
    await writeFile(
      join(app, 'main.js'),
      `import { openCoffer } from '@coffer/core';
       const coffer = await openCoffer({ name: 'dev', schemas: { 'note.json': { type: 'object', required: ['title'] } } });
       const record = await coffer.records.create({ $schema: 'note.json', title: 'Notes' });
       Object.assign(window, { record });`,
    );
  });

  it('starts the worker and validates records with the documented optimizeDeps', async () => {
    const server = await createViteServer({
      root: app,
      configFile: false,
      cacheDir: join(app, '.vite'),
      logLevel: 'error',
      server: { host: '127.0.0.1', port: 0 },
      optimizeDeps,
    });
    await server.listen();
    const page = await browser.newPage();
    const workers: string[] = [];
    page.on('worker', (worker) => workers.push(worker.url()));
    try {
      await page.goto(server.resolvedUrls!.local[0]!);
      await page.waitForFunction(() => 'record' in window);

      const stored = await storeAndReadBack(page);

      expect(stored).toMatchObject({ checksum: HELLO_MD5, text: 'hello' });
      expect(workers.filter((w) => w.includes('/@coffer/core/dist/worker/coffer.worker.js'))).toHaveLength(1);
    } finally {
      await page.close();
      await server.close();
    }
  });
});
