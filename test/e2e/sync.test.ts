/**
 * The app's sync in Chromium, through a real Ceph S3 gateway on another origin (CORS for real):
 * one browser profile syncs to another, and a tab closed in the middle of a multipart upload
 * leaves the upload to the next tab, which continues at the first missing part.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeFindings } from '../helpers/axe.js';
import { startDemoApp, stopDemoApp } from '../helpers/demo-app.js';
import { freshS3Bucket, s3Versions, type TestS3Options } from '../helpers/s3.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const screenshots = join(root, 'docs/screenshots');
const MiB = 1024 * 1024;

let server: Server;
let url: string;
let browser: Browser;
let dir: string;

/** One request the proxy saw: method, the S3 query names that tell the operation, the key. */
interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
}

/**
 * A pass-through HTTP proxy in front of the gateway that writes down every request and can
 * hold back the ones `hold` picks (they never get an answer). SigV4 signs the Host the browser
 * sent; the proxy forwards it unchanged, so signatures still match.
 */
function s3Proxy(target: string) {
  const upstream = new URL(target);
  const seen: Seen[] = [];
  const held: { req: IncomingMessage; res: ServerResponse }[] = [];
  const answered: Seen[] = [];
  let hold: ((seen: Seen) => boolean) | undefined;
  const proxy = createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://proxy');
    const entry = { method: req.method ?? 'GET', path: parsed.pathname, query: parsed.searchParams };
    if (req.method !== 'OPTIONS') seen.push(entry);
    if (req.method !== 'OPTIONS' && hold?.(entry)) {
      held.push({ req, res });
      req.resume();
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('end', () => answered.push(entry));
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  return {
    seen,
    held,
    answered,
    set hold(rule: ((seen: Seen) => boolean) | undefined) {
      hold = rule;
    },
    start: () =>
      new Promise<string>((resolve) =>
        proxy.listen(0, '127.0.0.1', () => {
          const address = proxy.address();
          resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
        }),
      ),
    close() {
      for (const { res } of held) res.destroy();
      proxy.closeAllConnections();
      proxy.close();
    },
  };
}

/** A deterministic file of `size` bytes. */
async function bigFile(name: string, size: number): Promise<{ path: string; md5: string }> {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32LE((i ^ 0x9e3779b9) >>> 0, i);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, md5: createHash('md5').update(bytes).digest('hex') };
}

async function openApp(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(url);
  await page.locator('coffer-record-list').waitFor();
  return page;
}

const row = (page: Page, key: string): Locator => page.locator(`coffer-file-row[data-key="${key}"]`);
const keys = (page: Page): Promise<string[]> =>
  page.locator('coffer-file-row').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.key!));
const globalBadge = (page: Page): Locator => page.locator('a.sync-status coffer-sync-badge .badge');

/** Create a record titled `title` through the UI and upload `paths`. */
async function makeRecord(page: Page, title: string, paths: string[]): Promise<string> {
  await page.getByRole('button', { name: '+ New record' }).first().click();
  await page.getByRole('textbox', { name: 'Title', exact: true }).fill(title);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect.poll(() => page.locator('h1').textContent()).toBe(title);
  await page.getByRole('link', { name: 'Files', exact: true }).click();
  await page.locator('coffer-files input[type=file][multiple]').setInputFiles(paths);
  await expect.poll(() => keys(page), { timeout: 30_000 }).toHaveLength(paths.length);
  await expect
    .poll(() => page.locator('coffer-upload-queue li.done').count(), { timeout: 30_000 })
    .toBe(paths.length);
  return decodeURIComponent(new URL(page.url()).hash.split('/')[2]!);
}

/** Fill the Sync screen's form as a person would. */
async function fillRemote(page: Page, options: TestS3Options): Promise<void> {
  await page.getByRole('link', { name: 'Sync', exact: true }).click();
  const panel = page.locator('coffer-sync-panel');
  await panel.getByLabel('Endpoint').fill(options.endpoint);
  await panel.getByLabel('Bucket', { exact: true }).fill(options.bucket);
  await panel.getByLabel('Region').fill(options.region ?? '');
  await panel.getByLabel('Access key').fill(options.credentials.accessKeyId);
  await panel.getByLabel('Secret key').fill(options.credentials.secretAccessKey);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  dir = await mkdtemp(join(tmpdir(), 'coffer-sync-'));
  ({ server, url, browser } = await startDemoApp());
}, 300_000);

afterAll(async () => {
  await stopDemoApp({ server, browser });
});

describe('sync in the app', () => {
  it('syncs a record with its files from one browser profile to another through the gateway', async () => {
    const bucket = await freshS3Bucket({ label: 'e2e-profiles' });
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'Field notes, first draft.\n');
    const scan = await bigFile('scan.bin', 2 * MiB + 123);
    const a = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const b = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      const pageA = await openApp(a);
      const id = await makeRecord(pageA, 'Survey 12: north wall', [notes, scan.path]);
      await expect.poll(() => globalBadge(pageA).textContent()).toContain('Sync off');

      await fillRemote(pageA, bucket);
      const panelA = pageA.locator('coffer-sync-panel');
      await panelA.getByRole('button', { name: 'Test connection' }).click();
      await panelA.getByText('Connection works').waitFor({ timeout: 20_000 });
      await panelA.getByRole('button', { name: 'Save' }).click();
      await panelA.getByText('Saved. Coffer syncs with this bucket').waitFor();
      await panelA.getByRole('button', { name: 'Sync now' }).click();
      await panelA.getByText(/^Synced: \d+ changes? sent/).waitFor({ timeout: 60_000 });

      await expect.poll(() => globalBadge(pageA).textContent(), { timeout: 20_000 }).toContain('Synced');
      expect(await panelA.locator('#to-go').textContent()).toBe('Nothing waiting to be sent');
      const stored = await s3Versions(bucket.bucket);
      expect(stored.map((v) => v.key)).toEqual(
        expect.arrayContaining([
          `records/${id}/files/notes.txt`,
          `records/${id}/files/scan.bin`,
          expect.stringMatching(/^journal\//),
        ]),
      );
      await shot(pageA, '20-sync');
      expect(await axeFindings(pageA)).toEqual([]);
      await pageA.emulateMedia({ colorScheme: 'dark' });
      await shot(pageA, '21-sync-dark');
      expect(await axeFindings(pageA)).toEqual([]);
      await pageA.emulateMedia({ colorScheme: 'light' });

      const pageB = await openApp(b);
      await fillRemote(pageB, bucket);
      const panelB = pageB.locator('coffer-sync-panel');
      await panelB.getByRole('button', { name: 'Save' }).click();
      await panelB.getByText('Saved. Coffer syncs with this bucket').waitFor();
      // Saving starts a sync in the background; Sync now joins it or runs after it.
      await panelB.getByRole('button', { name: 'Sync now' }).click();
      await panelB.getByText(/^Synced: \d+ changes? sent, \d+ received/).waitFor({ timeout: 60_000 });

      await pageB.getByRole('link', { name: 'Records', exact: true }).click();
      await pageB.locator('coffer-record-list').getByText('Survey 12: north wall').click();
      await pageB.getByRole('link', { name: 'Files', exact: true }).click();
      await expect.poll(() => keys(pageB), { timeout: 20_000 }).toEqual(['notes.txt', 'scan.bin']);
      await expect
        .poll(() => pageB.locator('.record-head coffer-sync-badge .badge').textContent(), { timeout: 20_000 })
        .toContain('Synced');
      await row(pageB, 'notes.txt').getByRole('button', { name: 'notes.txt', exact: true }).click();
      const contents = row(pageB, 'notes.txt').getByLabel('Contents of notes.txt');
      await expect
        .poll(() => contents.textContent(), { timeout: 20_000 })
        .toBe('Field notes, first draft.\n');
      const scanMd5 = await pageB.evaluate(async (recordId) => {
        const app = document.querySelector('coffer-app') as unknown as {
          coffer: {
            records: {
              get(id: string): Promise<{ files: { get(k: string): Promise<{ checksum: string }> } }>;
            };
          };
        };
        const record = await app.coffer.records.get(recordId);
        return (await record.files.get('scan.bin')).checksum;
      }, id);
      expect(scanMd5).toBe(`md5:${scan.md5}`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('shows the Sync screen at phone width', async () => {
    const context = await browser.newContext({ viewport: { width: 320, height: 720 }, deviceScaleFactor: 2 });
    try {
      const page = await openApp(context);
      await fillRemote(page, await freshS3Bucket({ label: 'e2e-phone', cors: false }));
      const panel = page.locator('coffer-sync-panel');
      await panel.getByRole('button', { name: 'Test connection' }).click();
      await panel.locator('.problems li[data-code="CORS"]').waitFor({ timeout: 20_000 });

      await shot(page, '22-sync-phone');
      expect(await axeFindings(page)).toEqual([]);
      const wide = await page.evaluate(() => {
        const out: string[] = [];
        const visit = (node: Element | ShadowRoot) => {
          for (const el of node.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > 321) out.push(`${el.tagName}.${el.className} ${Math.round(r.right)}`);
            if (el.shadowRoot) visit(el.shadowRoot);
          }
        };
        visit(document.documentElement);
        return out.slice(0, 12);
      });
      expect(wide).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('resumes a multipart upload in a new tab, sending again only the parts in flight when the tab closed', async () => {
    const bucket = await freshS3Bucket({ label: 'e2e-resume' });
    const proxy = s3Proxy(bucket.endpoint);
    const endpoint = await proxy.start();
    const big = await bigFile('survey.bin', 16 * MiB + 1000); // 4 parts of 5 MiB: 5, 5, 5, 1
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      const first = await openApp(context);
      const id = await makeRecord(first, 'Large scan', [big.path]);
      const key = `/${bucket.bucket}/records/${encodeURIComponent(id)}/files/survey.bin`;
      const part = (n: number) => (s: Seen) =>
        s.method === 'PUT' && s.path === key && s.query.get('partNumber') === `${n}`;
      proxy.hold = (s) => part(2)(s) || part(3)(s) || part(4)(s);

      await first.evaluate(
        (config) =>
          (
            document.querySelector('coffer-app') as unknown as {
              sync: { configure(c: unknown): Promise<void> };
            }
          ).sync.configure(config),
        { ...bucket, endpoint, partSize: 5 * MiB, multipartThreshold: 5 * MiB },
      );
      await expect.poll(() => proxy.held.length, { timeout: 60_000 }).toBe(3);
      await expect.poll(() => proxy.answered.filter(part(1)).length, { timeout: 60_000 }).toBe(1);
      expect(proxy.seen.filter(part(1))).toHaveLength(1);
      await first.close();
      proxy.hold = undefined;

      const second = await openApp(context);

      await expect.poll(() => globalBadge(second).textContent(), { timeout: 60_000 }).toContain('Synced');
      const ops = proxy.seen.filter((s) => s.path === key);
      const count = (test: (s: Seen) => boolean) => ops.filter(test).length;
      expect(count((s) => s.method === 'POST' && s.query.has('uploads'))).toBe(1);
      expect(count(part(1))).toBe(1);
      // Parts 2-4 were in flight (held) when the tab closed: each is sent again, once.
      expect(count(part(2))).toBe(2);
      expect(count(part(3))).toBe(2);
      expect(count(part(4))).toBe(2);
      expect(count((s) => s.method === 'GET' && s.query.has('uploadId'))).toBe(1); // ListParts
      expect(count((s) => s.method === 'POST' && s.query.has('uploadId'))).toBe(1); // Complete
      const versions = await s3Versions(bucket.bucket);
      const stored = versions.find((v) => v.key === `records/${id}/files/survey.bin`);
      expect(stored?.size).toBe(16 * MiB + 1000);
    } finally {
      await context.close();
      proxy.close();
    }
  });
});
