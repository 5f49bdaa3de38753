/**
 * Lazy bodies in the built app (Chromium, the real service worker, a real gateway): profile A
 * pushes a record with two files; profile B pulls it with "download files when first opened".
 * B's file URL, served by the service worker, and B's second tab, which follows ("Keep this
 * record offline", then a preview), both get the bytes that the leading tab's sync worker
 * fetches.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp, stopDemoApp } from '../helpers/demo-app.js';
import { freshS3Bucket } from '../helpers/s3.js';

let app: DemoApp;

beforeAll(async () => {
  app = await startDemoApp();
}, 300_000);

afterAll(async () => {
  await stopDemoApp(app);
});

async function openApp(context: BrowserContext, hash = ''): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(`${app.url}${hash}`);
  await page.locator('coffer-record-list, coffer-files').first().waitFor();
  await page.waitForFunction(() => (document.querySelector('coffer-app') as unknown as Shell | null)?.sync);
  return page;
}

/** The app element's coffer and sync, as the tests reach into them. */
interface Shell {
  coffer: {
    records: {
      get(id: string): Promise<{
        files: { get(key: string): Promise<{ version: { file(): Promise<{ lazy: boolean }> } }> };
      }>;
    };
  };
  sync: { leading: boolean };
}

/** Whether a file of the record is still on the server only, as the page's coffer sees it. */
const lazyIn = (page: Page, id: string, key: string) =>
  page.evaluate(
    async ([recordId, name]) => {
      const shell = document.querySelector('coffer-app') as unknown as Shell;
      const file = await (await shell.coffer.records.get(recordId)).files.get(name);
      return (await file.version.file()).lazy;
    },
    [id, key] as const,
  );

describe('lazy bodies in the app', () => {
  it('serves a file pulled without its bytes at its URL and in a second tab, fetched by the leading tab', async () => {
    const bucket = await freshS3Bucket({ label: 'e2e-lazy' });
    const a = await app.browser.newContext();
    const b = await app.browser.newContext();
    try {
      const pageA = await openApp(a);
      const id = await pageA.evaluate(async (config) => {
        const shell = document.querySelector('coffer-app') as unknown as {
          coffer: {
            records: {
              create(
                d: unknown,
              ): Promise<{ id: string; files: { set(k: string, b: Blob): Promise<unknown> } }>;
            };
          };
          sync: { configure(c: unknown): Promise<void>; stop(): Promise<void>; now(): Promise<unknown> };
        };
        const record = await shell.coffer.records.create({ title: 'Lazy survey' });
        await record.files.set(
          'notes.txt',
          new Blob(['Field notes, fetched lazily.'], { type: 'text/plain' }),
        );
        await record.files.set('plan.txt', new Blob(['The plan.'], { type: 'text/plain' }));
        await shell.sync.configure(config);
        await shell.sync.stop();
        await shell.sync.now();
        return record.id;
      }, bucket);

      const pageB = await openApp(b);
      await pageB.evaluate(async (config) => {
        const shell = document.querySelector('coffer-app') as unknown as {
          sync: { configure(c: unknown): Promise<void>; stop(): Promise<void>; now(): Promise<unknown> };
        };
        await shell.sync.configure({ ...config, bodies: 'lazy' });
        await shell.sync.stop();
        await shell.sync.now();
      }, bucket);
      expect(await lazyIn(pageB, id, 'notes.txt')).toBe(true);
      expect(await lazyIn(pageB, id, 'plan.txt')).toBe(true);
      await expect
        .poll(() => pageB.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 20_000 })
        .toBe(true);

      const served = await pageB.evaluate(async (recordId) => {
        const response = await fetch(`/coffer/records/${encodeURIComponent(recordId)}/files/notes.txt`);
        return { status: response.status, text: await response.text() };
      }, id);

      expect(served).toEqual({ status: 200, text: 'Field notes, fetched lazily.' });
      expect(await lazyIn(pageB, id, 'notes.txt')).toBe(false);

      const second = await openApp(b, `#/records/${encodeURIComponent(id)}/files`);
      const row = second.locator('coffer-file-row[data-key="plan.txt"]');
      await expect
        .poll(() => row.evaluate((el) => el.shadowRoot?.textContent ?? ''), { timeout: 20_000 })
        .toContain('Not downloaded');
      expect(
        await second.evaluate(() => (document.querySelector('coffer-app') as unknown as Shell).sync.leading),
      ).toBe(false);

      await second.getByRole('button', { name: 'Keep this record offline' }).click();

      await second.getByText('1 file downloaded: this record works offline.').waitFor({ timeout: 20_000 });
      expect(await lazyIn(pageB, id, 'plan.txt')).toBe(false);
      await expect
        .poll(() => row.evaluate((el) => el.shadowRoot?.textContent ?? ''), { timeout: 20_000 })
        .not.toContain('Not downloaded');
      await row.getByRole('button', { name: 'plan.txt', exact: true }).click();
      const contents = row.getByLabel('Contents of plan.txt');
      await expect.poll(() => contents.textContent(), { timeout: 20_000 }).toBe('The plan.');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
