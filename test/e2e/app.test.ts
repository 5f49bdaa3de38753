import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeFindings } from '../helpers/axe.js';
import { startDemoApp, stopDemoApp } from '../helpers/demo-app.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const shots = join(root, 'test-results/screenshots');
const MiB = 1024 * 1024;

let server: Server;
let url: string;
let port: number;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let files: { image: string; pdf: string; big: string; notes: string; notes2: string };

/** A tiny valid PDF with one page of text. */
function pdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    '<< /Length 44 >>\nstream\nBT /F1 24 Tf 40 100 Td (Site plan) Tj ET\nendstream',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** A PNG drawn by the browser. */
async function png(on: Page): Promise<Buffer> {
  const bytes = await on.evaluate(async () => {
    const canvas = new OffscreenCanvas(640, 400);
    const g = canvas.getContext('2d')!;
    const gradient = g.createLinearGradient(0, 0, 640, 400);
    gradient.addColorStop(0, '#f4a261');
    gradient.addColorStop(1, '#2a9d8f');
    g.fillStyle = gradient;
    g.fillRect(0, 0, 640, 400);
    g.fillStyle = '#fff';
    g.font = 'bold 56px sans-serif';
    g.fillText('North wall', 48, 220);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    return [...new Uint8Array(await blob.arrayBuffer())];
  });
  return Buffer.from(bytes);
}

async function shot(name: string, on: Page = page, fullPage = false): Promise<void> {
  // A full-page shot of a scrolled page would paint the sticky header mid-page.
  if (fullPage) await on.evaluate(() => window.scrollTo(0, 0));
  await on.waitForTimeout(150);
  await on.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

/** The row of file `key`. */
const row = (key: string, on: Page = page): Locator => on.locator(`coffer-file-row[data-key="${key}"]`);
/** The keys of the file list, in order. */
const keys = (on: Page = page): Promise<string[]> =>
  on.locator('coffer-file-row').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.key!));

/** Make Chromium offer the app for install, as it does for an installable site. */
async function offerInstall(on: Page): Promise<void> {
  await on.evaluate(() => {
    const event = Object.assign(new Event('beforeinstallprompt', { cancelable: true }), {
      prompt: async () => undefined,
      userChoice: Promise.resolve({ outcome: 'dismissed' }),
    });
    window.dispatchEvent(event);
  });
  await on.getByRole('button', { name: 'Install' }).waitFor();
}

async function openFresh(on: Page, hash = ''): Promise<void> {
  await on.goto(url + hash);
  await on.locator('coffer-record-list').waitFor();
}

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  ({ server, url, browser } = await startDemoApp());
  port = Number(new URL(url).port);
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));

  const dir = await mkdtemp(join(tmpdir(), 'coffer-app-'));
  await openFresh(page);
  files = {
    image: join(dir, 'north-wall.png'),
    pdf: join(dir, 'site-plan.pdf'),
    big: join(dir, 'scan.tif'),
    notes: join(dir, 'notes.txt'),
    notes2: join(dir, 'notes-v2', 'notes.txt'),
  };
  await mkdir(join(dir, 'notes-v2'));
  await writeFile(files.image, await png(page));
  await writeFile(files.pdf, pdf());
  const big = Buffer.alloc(33 * MiB);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  await writeFile(files.big, big);
  await writeFile(files.notes, 'Field notes, first draft.\n');
  await writeFile(files.notes2, 'Field notes, second draft with corrections.\n');
}, 300_000);

afterAll(async () => {
  await stopDemoApp({ server, browser });
});

describe('the Coffer app', () => {
  it('installs its service worker and is installable', async () => {
    const state = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      for (let i = 0; i < 50 && !navigator.serviceWorker.controller; i++)
        await new Promise((r) => setTimeout(r, 100));
      const manifest = await (
        await fetch(document.querySelector<HTMLLinkElement>('link[rel=manifest]')!.href)
      ).json();
      return { active: !!registration.active, controlled: !!navigator.serviceWorker.controller, manifest };
    });

    expect(state).toMatchObject({
      active: true,
      controlled: true,
      manifest: { name: 'Coffer', display: 'standalone' },
    });
    expect(
      state.manifest.icons.map((i: { sizes: string; purpose: string }) => `${i.sizes} ${i.purpose}`),
    ).toEqual(expect.arrayContaining(['192x192 any', '512x512 any', '512x512 maskable']));
    await shot('01-welcome');
  });

  it('creates a record and edits its metadata', async () => {
    await page.getByRole('button', { name: '+ New record' }).first().click();
    const title = page.getByRole('textbox', { name: 'Title', exact: true });
    await expect
      .poll(() => page.locator('coffer-record-editor').evaluate((el) => el.shadowRoot?.activeElement?.id))
      .toBe('title');
    await title.fill('Survey 12: north wall');
    await page
      .getByLabel('Description', { exact: true })
      .fill('Photos, plans and notes of the north wall survey.');
    await page.getByLabel('Creators').fill('Ada Lovelace\nGrace Hopper');
    await page.getByLabel('Keywords').fill('survey, north wall, 2026');
    await page.getByLabel('Keywords').blur();
    await page.getByRole('button', { name: 'Add a date' }).click();
    await page.getByLabel('What date 1 is').fill('Collected');
    await page.getByRole('button', { name: 'Save changes' }).click();

    await expect.poll(() => page.locator('h1').textContent()).toBe('Survey 12: north wall');
    await expect
      .poll(() => page.locator('coffer-record-list a').first().textContent())
      .toContain('Survey 12');
    await shot('02-record-details');
  });

  it('uploads three files, one over 32 MiB, each with a progress bar', async () => {
    await page.getByRole('link', { name: 'Files', exact: true }).click();
    await page.locator('coffer-files').getByRole('button', { name: 'Add files' }).waitFor();
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { progress: number[] }).progress = seen;
      const find = (node: Element | ShadowRoot | Document): Element | undefined => {
        for (const el of node.querySelectorAll('*')) {
          if (el.getAttribute('aria-label') === 'Upload of scan.tif') return el;
          const inner = el.shadowRoot && find(el.shadowRoot);
          if (inner) return inner;
        }
        return undefined;
      };
      const sample = () => {
        const bar = find(document);
        if (bar) seen.push(Number(bar.getAttribute('aria-valuenow')));
        if (seen.at(-1) !== 100) requestAnimationFrame(sample);
      };
      requestAnimationFrame(sample);
    });

    await page
      .locator('coffer-files input[type=file][multiple]')
      .setInputFiles([files.image, files.pdf, files.big]);

    await expect
      .poll(() => keys(), { timeout: 60_000 })
      .toEqual(['north-wall.png', 'site-plan.pdf', 'scan.tif']);
    const progress = await page.evaluate(() => (window as unknown as { progress: number[] }).progress);
    expect(progress.some((p) => p > 0 && p < 100)).toBe(true);
    expect(progress.at(-1)).toBe(100);
    await expect.poll(() => page.locator('coffer-upload-queue').getByText('Done').count()).toBe(3);
    await row('scan.tif').getByText('33.0 MB').waitFor();
    await shot('03-files-uploaded');
  });

  it('reorders files by keyboard and by drag', async () => {
    await row('scan.tif')
      .getByRole('button', { name: /^Move scan\.tif/ })
      .focus();
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => keys()).toEqual(['north-wall.png', 'scan.tif', 'site-plan.pdf']);
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => keys()).toEqual(['scan.tif', 'north-wall.png', 'site-plan.pdf']);

    await row('site-plan.pdf')
      .getByRole('button', { name: /^Move site-plan\.pdf/ })
      .dragTo(row('scan.tif'), {
        targetPosition: { x: 200, y: 5 },
      });

    await expect.poll(() => keys()).toEqual(['site-plan.pdf', 'scan.tif', 'north-wall.png']);
  });

  it('renames a file inline and keeps its place', async () => {
    await row('scan.tif').getByRole('button', { name: 'scan.tif', exact: true }).click();
    await row('scan.tif').getByRole('button', { name: 'Rename' }).click();
    const input = page.getByLabel('New name for scan.tif');
    await input.fill('wall-scan.tif');
    await input.press('Enter');

    await expect.poll(() => keys()).toEqual(['site-plan.pdf', 'wall-scan.tif', 'north-wall.png']);
    // Focus stays on the file, now under its new name.
    await expect
      .poll(() => row('wall-scan.tif').evaluate((el) => el.shadowRoot?.activeElement?.className))
      .toContain('name');
    await row('wall-scan.tif').getByRole('button', { name: 'Close wall-scan.tif' }).click();
    await page.locator('coffer-upload-queue').getByRole('button', { name: 'Clear finished' }).click();
  });

  it('keeps a renamed file’s history under the file, labelled with the old name', async () => {
    await row('wall-scan.tif').getByRole('button', { name: 'wall-scan.tif', exact: true }).click();
    const versions = row('wall-scan.tif').locator('coffer-version-history li');

    await expect.poll(() => versions.count()).toBe(2);
    expect(await versions.nth(0).textContent()).toMatch(/Version 2 ·.*Current/s);
    expect(await versions.nth(0).textContent()).not.toContain('as scan.tif');
    expect(await versions.nth(1).textContent()).toMatch(/Version 1 ·.*as scan\.tif/s);
    await shot('04b-renamed-file-history');
    await row('wall-scan.tif').getByRole('button', { name: 'Close wall-scan.tif' }).click();
    await page.getByText('Deleted files', { exact: true }).click();
    await page.locator('coffer-deleted-files').getByText('No deleted files.').waitFor();
    await page.getByText('Deleted files', { exact: true }).click();
  });

  it('adds a new version of a file and restores the old one', async () => {
    await page.locator('coffer-files input[type=file][multiple]').setInputFiles(files.notes);
    await expect.poll(() => keys()).toContain('notes.txt');
    const firstMd5 = await row('notes.txt').locator('button.md5').textContent();
    await row('notes.txt').getByRole('button', { name: 'notes.txt', exact: true }).click();

    await row('notes.txt').getByLabel('Choose a new version of notes.txt').setInputFiles(files.notes2);
    await expect.poll(() => row('notes.txt').locator('coffer-version-history li').count()).toBe(2);
    await expect.poll(() => row('notes.txt').locator('pre').textContent()).toContain('second draft');
    await shot('04-file-versions');

    await row('notes.txt').getByRole('button', { name: 'Restore version 1' }).click();

    await expect.poll(() => row('notes.txt').locator('coffer-version-history li').count()).toBe(3);
    await expect.poll(() => row('notes.txt').locator('button.md5').first().textContent()).toBe(firstMd5);
    await expect.poll(() => row('notes.txt').locator('pre').textContent()).toContain('first draft');
    await row('notes.txt').getByRole('button', { name: 'Close notes.txt' }).click();
  });

  it('reverts the details only after asking, and keeps every file, its place and its description', async () => {
    await row('north-wall.png').getByRole('button', { name: 'north-wall.png', exact: true }).click();
    await row('north-wall.png').getByLabel('Description').fill('North wall, from the east');
    await row('north-wall.png').getByLabel('Description').blur();
    await row('north-wall.png').getByText('Description saved.').waitFor({ state: 'attached' });
    await row('north-wall.png').getByRole('button', { name: 'Close north-wall.png' }).click();
    const order = await keys();
    await page.getByRole('link', { name: 'History', exact: true }).click();
    const history = page.locator('coffer-revision-history');
    await history.getByText('Described north-wall.png: “North wall, from the east”').waitFor();
    expect(await history.getByText(/files changed/).count()).toBe(0);

    await history.getByRole('button', { name: 'Revert to revision 1', exact: true }).click();
    await history.getByText('Revert to revision 1?').waitFor();
    expect(await history.locator('.confirm').textContent()).toMatch(
      /Files are not changed: the 4 files stay/,
    );
    await shot('10b-revert-confirm');
    await history.locator('.confirm').getByRole('button', { name: 'Revert to revision 1' }).click();

    await page
      .getByText(/Reverted to revision 1\. The files were not changed\./)
      .first()
      .waitFor();
    await expect.poll(() => page.locator('.record-head .meta').textContent()).toMatch(/4 files ·/);
    await page.getByRole('link', { name: 'Files', exact: true }).click();
    await expect.poll(() => keys()).toEqual(order);
    await expect
      .poll(() => row('north-wall.png').locator('.description').textContent())
      .toBe('North wall, from the east');
    await expect
      .poll(() => page.locator('coffer-record-list a[aria-current=page]').textContent())
      .toMatch(/4 files/);
  });

  it('saves an edit when another tab of the record is opened, and discards an untouched new record', async () => {
    await page.getByRole('link', { name: 'Details', exact: true }).click();
    const title = page.getByRole('textbox', { name: 'Title', exact: true });
    await title.fill('Survey 12: north wall, draft');

    await page.getByRole('link', { name: 'Files', exact: true }).click();

    await page.getByText('Your changes were saved.').waitFor();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Survey 12: north wall, draft');
    await page.getByRole('link', { name: 'Details', exact: true }).click();
    await title.fill('Survey 12: north wall');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Survey 12: north wall');
    const recordUrl = page.url();
    const count = () => page.locator('coffer-app aside coffer-record-list a.item').count();
    const before = await count();

    await page.getByRole('button', { name: '+ New record' }).first().click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Untitled record');
    await expect.poll(count).toBe(before + 1);
    await page.evaluate(
      (hash) => {
        location.hash = hash;
      },
      new URL(recordUrl).hash.replace(/\/details$/, '/files'),
    );

    await expect.poll(count).toBe(before);
    expect(await page.locator('coffer-record-list').textContent()).not.toContain('Untitled record');

    // Also when the tab was reloaded in between.
    await page.getByRole('button', { name: '+ New record' }).first().click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Untitled record');
    await page.reload();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Untitled record');
    await page.locator('coffer-record-list a', { hasText: 'Survey 12' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Survey 12: north wall');
    await expect.poll(count).toBe(before);
    await page.getByRole('link', { name: 'Files', exact: true }).click();
  });

  it('discards an untouched new record whose tab was closed, seen from another tab and from the next one opened', async () => {
    const recordPage = page.url();
    const count = (on: Page) => on.locator('coffer-app aside coffer-record-list a.item').count();
    const before = await count(page);
    const openTab = async () => {
      const tab = await context.newPage();
      await tab.goto(url);
      await tab.locator('coffer-app aside coffer-record-list a.item').first().waitFor();
      return tab;
    };
    const createAndClose = async () => {
      const tab = await openTab();
      await tab.getByRole('button', { name: '+ New record' }).first().click();
      await expect.poll(() => tab.locator('h1').textContent()).toBe('Untitled record');
      await tab.close();
    };

    await createAndClose();
    await expect.poll(() => count(page)).toBe(before + 1);
    await expect.poll(() => count(page), { timeout: 15_000 }).toBe(before);

    // With no tab of the app open when it is closed.
    await page.goto('about:blank');
    await createAndClose();
    const next = await openTab();
    await expect.poll(() => count(next), { timeout: 15_000 }).toBe(before);
    expect(await next.locator('coffer-record-list').textContent()).not.toContain('Untitled record');
    await next.close();
    await page.goto(recordPage);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Survey 12: north wall');
    await expect.poll(() => count(page)).toBe(before);
  });

  it('keeps upload progress and Cancel on every screen until the uploads end', async () => {
    await page.locator('coffer-files').getByRole('button', { name: 'Add files' }).waitFor();
    // Hold the write halfway, like a slow disk: record.files.set reports half the bytes, then
    // waits; an abort ends it as a real write does.
    await page.evaluate(async () => {
      const app = document.querySelector('coffer-app') as unknown as {
        coffer: { records: { list(): Promise<{ files: object }[]> } };
      };
      const [record] = await app.coffer.records.list();
      type Set = (key: string, source: Blob, options: Record<string, unknown>) => Promise<unknown>;
      const proto = Object.getPrototypeOf(record!.files) as { set: Set };
      const original = proto.set;
      (window as unknown as { restoreSet(): void }).restoreSet = () => {
        proto.set = original;
      };
      proto.set = (_key, source, options) =>
        new Promise((_resolve, reject) => {
          (options.onProgress as (p: { loaded: number }) => void)({ loaded: Math.floor(source.size / 2) });
          (options.signal as AbortSignal).addEventListener('abort', () =>
            reject(Object.assign(new Error('Aborted.'), { code: 'ABORTED' })),
          );
        });
    });
    try {
      await page.locator('coffer-files input[type=file][multiple]').setInputFiles(files.big);
      await page.locator('coffer-files').getByText('Uploading 1 file').waitFor();

      await page.getByRole('link', { name: 'History', exact: true }).click();
      const tray = page.getByRole('region', { name: 'Uploads' });
      await tray.getByText('Uploading 1 file').waitFor();
      await page.getByRole('link', { name: 'Storage', exact: true }).click();
      await tray.getByText('16.5 MB of 33.0 MB · 50%').waitFor();
      await shot('09b-upload-tray');
      await tray.getByRole('button', { name: 'Cancel upload of scan.tif' }).click();

      await tray.getByText('Cancelled. Nothing was stored.').waitFor();
    } finally {
      await page.evaluate(() => (window as unknown as { restoreSet(): void }).restoreSet());
    }
    await page
      .getByRole('region', { name: 'Uploads' })
      .getByRole('button', { name: 'Clear finished' })
      .click();
    await page.getByRole('region', { name: 'Uploads' }).waitFor({ state: 'detached' });
    await page.goBack();
    await page.goBack();
    await expect
      .poll(() => keys())
      .toEqual(['site-plan.pdf', 'wall-scan.tif', 'north-wall.png', 'notes.txt']);
  });

  it('previews an image and a PDF from the service-worker URLs', async () => {
    await row('north-wall.png').getByRole('button', { name: 'north-wall.png', exact: true }).click();
    const img = row('north-wall.png').locator('coffer-file-preview img');
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(640);
    expect(await img.getAttribute('src')).toMatch(
      /^\/coffer\/records\/[^/]+\/files\/north-wall\.png\?versionId=/,
    );
    await shot('05-image-preview');
    await row('north-wall.png').getByRole('button', { name: 'Close north-wall.png' }).click();

    await row('site-plan.pdf').getByRole('button', { name: 'site-plan.pdf', exact: true }).click();
    const frame = row('site-plan.pdf').locator('coffer-file-preview iframe');
    const src = (await frame.getAttribute('src'))!;
    const served = await page.evaluate(async (href) => {
      const response = await fetch(href);
      return {
        status: response.status,
        type: response.headers.get('content-type'),
        head: (await response.text()).slice(0, 8),
      };
    }, src);
    expect(served).toEqual({ status: 200, type: 'application/pdf', head: '%PDF-1.4' });
    await shot('06-pdf-preview');
    await row('site-plan.pdf').getByRole('button', { name: 'Close site-plan.pdf' }).click();
  });

  it('opens a PDF and an image in a tab of their own without a console error', async () => {
    const opened = [];
    for (const key of ['site-plan.pdf', 'north-wall.png']) {
      const href = await row(key).evaluate((r) => (r as unknown as { file: { url: string } }).file.url);
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      const response = await tab.goto(new URL(href, url).href);
      // The PDF viewer asks for /favicon.ico a moment after the document loads.
      await tab.waitForTimeout(1000);
      opened.push({ key, status: response?.status(), errors });
      await tab.close();
    }

    expect(opened).toEqual([
      { key: 'site-plan.pdf', status: 200, errors: [] },
      { key: 'north-wall.png', status: 200, errors: [] },
    ]);
  });

  it('downloads a file with its bytes intact', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row('notes.txt').getByRole('button', { name: 'Download notes.txt' }).click(),
    ]);

    expect(download.suggestedFilename()).toBe('notes.txt');
    expect(await readFile((await download.path())!, 'utf8')).toBe('Field notes, first draft.\n');
  });

  it('locks the bucket and refuses writes, in plain language', async () => {
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('button', { name: 'Lock files' }).click();
    await page.getByRole('button', { name: 'Unlock files' }).waitFor();
    await shot('07-bucket-locked');
    await page.getByRole('link', { name: 'Files', exact: true }).click();
    await page.getByText('These files are locked').waitFor();
    expect(await page.locator('coffer-files').getByRole('button', { name: 'Add files' }).count()).toBe(0);

    await page
      .locator('coffer-files')
      .evaluate((el) =>
        (el as unknown as { addFiles(f: File[]): Promise<void> }).addFiles([new File(['x'], 'sneaky.txt')]),
      );

    await expect
      .poll(() => page.locator('coffer-upload-queue li[data-key="sneaky.txt"]').textContent())
      .toContain("This record's files are locked. Unlock them to make changes.");
    expect(await keys()).not.toContain('sneaky.txt');
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('button', { name: 'Unlock files' }).click();
    await page.getByRole('button', { name: 'Lock files' }).waitFor();
  });

  it('warns clearly when the device is out of space, and loses nothing', async () => {
    // Chromium's IndexedDB keeps the free space it last read for an origin for 10–30 s and
    // ignores a quota override sent after the origin's first write for that long (see
    // reliability.test.ts). So this runs in a fresh context whose quota is set before the app
    // writes anything: on a page of the origin that does not open the database.
    const full = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    const on = await full.newPage();
    on.on('pageerror', (error) => console.error('page error:', error.message));
    const origin = new URL(url).origin;
    const cdp = await full.newCDPSession(on);
    try {
      await on.goto(`${url}manifest.webmanifest`);
      const usage = await on.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 24 * MiB });
      await openFresh(on);
      await on.getByRole('button', { name: '+ New record' }).first().click();
      await on.getByRole('link', { name: 'Files', exact: true }).click();
      const picker = on.locator('coffer-files input[type=file][multiple]');
      await picker.setInputFiles([files.notes, files.image]);
      await expect.poll(() => keys(on), { timeout: 20_000 }).toEqual(['notes.txt', 'north-wall.png']);

      await picker.setInputFiles(files.big);

      const item = on.locator('coffer-upload-queue li[data-key="scan.tif"]');
      await item.getByText(/^(Failed|Done)$/).waitFor({ timeout: 30_000 });
      expect(await item.locator('.detail').textContent()).toBe(
        'Your device is out of space for this site. Nothing was lost.',
      );
      await on
        .locator('coffer-files')
        .getByRole('alert')
        .filter({ hasText: 'out of space' })
        .first()
        .waitFor();
      expect(await keys(on)).toEqual(['notes.txt', 'north-wall.png']);
      await shot('08-out-of-space', on);
      // The files already there are intact.
      const [download] = await Promise.all([
        on.waitForEvent('download'),
        row('notes.txt', on).getByRole('button', { name: 'Download notes.txt' }).click(),
      ]);
      expect(await readFile((await download.path())!, 'utf8')).toBe('Field notes, first draft.\n');
      const md5 = createHash('md5')
        .update(await readFile(files.image))
        .digest('hex');
      await row('north-wall.png', on)
        .getByRole('button', { name: `copy checksum ${md5}` })
        .waitFor();
      await row('north-wall.png', on).getByRole('button', { name: 'north-wall.png', exact: true }).click();
      const img = row('north-wall.png', on).locator('coffer-file-preview img');
      await expect
        .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth))
        .toBe(640);
      // A file that fits goes in afterwards.
      await picker.setInputFiles(files.pdf);
      await expect
        .poll(() => keys(on), { timeout: 20_000 })
        .toEqual(['notes.txt', 'north-wall.png', 'site-plan.pdf']);
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin }).catch(() => undefined);
      await full.close();
    }
  });

  describe('backup', () => {
    let source: BrowserContext;
    let target: BrowserContext;
    let zip: string;
    let on: Page;
    const md5 = async (path: string) =>
      createHash('md5')
        .update(await readFile(path))
        .digest('hex');
    const titles = (p: Page) =>
      p
        .locator('coffer-app aside coffer-record-list a .title')
        .evaluateAll((els) => els.map((e) => e.textContent));

    /** A fresh browser profile where the app saves with a download (no File System Access picker). */
    async function freshContext(): Promise<BrowserContext> {
      const fresh = await browser.newContext({
        viewport: { width: 1280, height: 860 },
        acceptDownloads: true,
      });
      await fresh.addInitScript(() => {
        Object.defineProperty(window, 'showSaveFilePicker', { value: undefined, configurable: true });
      });
      return fresh;
    }

    /** Create a record titled `title` through the UI and upload `paths` one after the other. */
    async function makeRecord(p: Page, title: string, paths: string[]): Promise<void> {
      await p.getByRole('button', { name: '+ New record' }).first().click();
      const input = p.getByRole('textbox', { name: 'Title', exact: true });
      await input.fill(title);
      await p.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => p.locator('h1').textContent()).toBe(title);
      await p.getByRole('link', { name: 'Files', exact: true }).click();
      for (const path of paths) {
        const before = await p.locator('coffer-upload-queue li.done').count();
        await p.locator('coffer-files input[type=file][multiple]').setInputFiles(path);
        await expect
          .poll(() => p.locator('coffer-upload-queue li.done').count(), { timeout: 20_000 })
          .toBe(before + 1);
      }
    }

    afterAll(async () => {
      await source?.close();
      await target?.close();
    });

    it('exports every record with all versions to a ZIP', async () => {
      source = await freshContext();
      on = await source.newPage();
      on.on('pageerror', (error) => console.error('page error:', error.message));
      await openFresh(on);
      await makeRecord(on, 'Backup A: wall', [files.image, files.notes, files.notes2]);
      await makeRecord(on, 'Backup B: plan', [files.pdf]);
      await expect.poll(() => titles(on)).toEqual(['Backup B: plan', 'Backup A: wall']);

      await on.getByRole('link', { name: 'Backup', exact: true }).click();
      await on.getByLabel('Include all versions').check();
      const [download] = await Promise.all([
        on.waitForEvent('download'),
        on.getByRole('button', { name: 'Export all' }).click(),
      ]);

      expect(download.suggestedFilename()).toMatch(/^coffer-backup-\d{4}-\d{2}-\d{2}\.zip$/);
      zip = join(await mkdtemp(join(tmpdir(), 'coffer-backup-')), download.suggestedFilename());
      await download.saveAs(zip);
      expect((await readFile(zip)).subarray(0, 2).toString()).toBe('PK');
      await on.getByText(/Backup ready \(/).waitFor();
      await shot('15-backup-exported', on, true);
    });

    it('imports the ZIP into a fresh browser: records, files, versions and md5s come back', async () => {
      target = await freshContext();
      on = await target.newPage();
      on.on('pageerror', (error) => console.error('page error:', error.message));
      await openFresh(on, '#/backup');
      await on.locator('coffer-record-list').getByText('No records yet').waitFor();

      await on.getByLabel('Backup file (ZIP)').setInputFiles(zip);
      await on.getByRole('button', { name: 'Import', exact: true }).click();

      const report = on
        .locator('coffer-backup-panel')
        .getByRole('status')
        .filter({ hasText: 'Import finished' });
      await report.waitFor({ timeout: 30_000 });
      expect(await report.textContent()).toContain('2 records imported');
      await shot('16-backup-imported', on, true);
      await on.emulateMedia({ colorScheme: 'dark' });
      await shot('16-backup-imported-dark', on, true);
      await on.emulateMedia({ colorScheme: 'light' });

      await on.getByRole('link', { name: 'Records', exact: true }).click();
      await expect
        .poll(() => titles(on))
        .toEqual(expect.arrayContaining(['Backup A: wall', 'Backup B: plan']));
      await on.locator('coffer-record-list a', { hasText: 'Backup A: wall' }).click();
      await expect.poll(() => keys(on), { timeout: 10_000 }).toEqual(['north-wall.png', 'notes.txt']);
      for (const [key, path] of [
        ['north-wall.png', files.image],
        ['notes.txt', files.notes2],
      ] as const) {
        await row(key, on)
          .getByRole('button', { name: `copy checksum ${await md5(path)}` })
          .waitFor();
      }
      await row('notes.txt', on).getByRole('button', { name: 'notes.txt', exact: true }).click();
      await expect.poll(() => row('notes.txt', on).locator('coffer-version-history li').count()).toBe(2);
      expect(
        (await row('notes.txt', on).locator('coffer-version-history .meta').allTextContents()).join(' '),
      ).toContain((await md5(files.notes)).slice(0, 12));
      await row('notes.txt', on).getByRole('button', { name: 'Close notes.txt' }).click();
      await on.locator('coffer-record-list a', { hasText: 'Backup B: plan' }).click();
      await expect.poll(() => keys(on), { timeout: 10_000 }).toEqual(['site-plan.pdf']);
      await row('site-plan.pdf', on)
        .getByRole('button', { name: `copy checksum ${await md5(files.pdf)}` })
        .waitFor();
    });

    it('refuses a damaged ZIP in plain words and changes nothing', async () => {
      const bytes = await readFile(zip);
      const at = bytes.indexOf('IHDR') + 64;
      bytes[at] = bytes[at]! ^ 0xff;
      const damaged = zip.replace(/\.zip$/, '-damaged.zip');
      await writeFile(damaged, bytes);
      await on.getByRole('link', { name: 'Backup', exact: true }).click();
      await on.getByLabel('Replace it with the backup’s').check();

      await on.getByLabel('Backup file (ZIP)').setInputFiles(damaged);
      await on.getByRole('button', { name: 'Import', exact: true }).click();

      const alert = on.locator('coffer-backup-panel').getByRole('alert');
      await alert.waitFor({ timeout: 30_000 });
      expect(await alert.textContent()).toMatch(
        /^“north-wall\.png” in the backup is damaged: .*Nothing was imported\.$/,
      );
      await shot('17-backup-damaged', on, true);
      await on.setViewportSize({ width: 390, height: 844 });
      await alert.scrollIntoViewIfNeeded();
      await shot('18-phone-backup', on);
      await on.emulateMedia({ colorScheme: 'dark' });
      await shot('18-phone-backup-dark', on);
      await on.emulateMedia({ colorScheme: 'light' });
      await on.setViewportSize({ width: 1280, height: 860 });
      await on.getByRole('link', { name: 'Records', exact: true }).click();
      await expect.poll(async () => (await titles(on)).sort()).toEqual(['Backup A: wall', 'Backup B: plan']);
      await on.locator('coffer-record-list a', { hasText: 'Backup A: wall' }).click();
      await expect.poll(() => keys(on), { timeout: 10_000 }).toEqual(['north-wall.png', 'notes.txt']);
    });

    it('lists deleted files, restores one and removes one permanently', async () => {
      const image = await md5(files.image);
      await row('north-wall.png', on).getByRole('button', { name: 'north-wall.png', exact: true }).click();
      await row('north-wall.png', on).getByRole('button', { name: 'Delete' }).click();
      await row('north-wall.png', on).getByRole('button', { name: 'Confirm delete' }).click();
      await expect.poll(() => keys(on)).toEqual(['notes.txt']);
      await row('notes.txt', on).getByRole('button', { name: 'notes.txt', exact: true }).click();
      await row('notes.txt', on).getByRole('button', { name: 'Delete' }).click();
      await row('notes.txt', on).getByRole('button', { name: 'Confirm delete' }).click();
      await expect.poll(() => keys(on)).toEqual([]);

      await on.getByText('Deleted files', { exact: true }).click();
      const deleted = on.locator('coffer-deleted-files');
      await expect
        .poll(() =>
          deleted.locator('li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key)),
        )
        .toEqual(['notes.txt', 'north-wall.png']);
      await shot('19-deleted-files', on);
      await on.emulateMedia({ colorScheme: 'dark' });
      await shot('19-deleted-files-dark', on);
      await on.emulateMedia({ colorScheme: 'light' });

      await deleted.getByRole('button', { name: 'Restore north-wall.png' }).click();
      await expect.poll(() => keys(on)).toEqual(['north-wall.png']);
      await row('north-wall.png', on)
        .getByRole('button', { name: `copy checksum ${image}` })
        .waitFor();
      await expect.poll(() => deleted.locator('li').count()).toBe(1);
      await expect.poll(() => on.locator('.record-head .meta').textContent()).toMatch(/1 file ·/);

      await deleted.getByRole('button', { name: 'Remove permanently: notes.txt' }).click();
      await deleted.getByRole('button', { name: 'Confirm remove: notes.txt, permanently' }).click();
      await deleted.getByText('No deleted files.').waitFor();
      const left = await on.evaluate(async () => {
        const app = document.querySelector('coffer-app') as unknown as {
          coffer: {
            records: {
              list(): Promise<
                {
                  data: { title: string };
                  bucket: { objects: { versions(k: string): Promise<unknown[]> } };
                }[]
              >;
            };
          };
        };
        const records = await app.coffer.records.list();
        const record = records.find((r) => r.data.title === 'Backup A: wall')!;
        return (await record.bucket.objects.versions('notes.txt')).length;
      });
      expect(left).toBe(0);
    });
  });

  it('shows the storage screen and the other screens at phone width', async () => {
    await page.getByRole('link', { name: 'Storage', exact: true }).click();
    await page.getByText('Storage on this device').waitFor();
    await page.getByRole('button', { name: 'Keep my data' }).click();
    await page.getByText(/browser (agreed|said no)/).waitFor();
    await shot('09-storage');
    await page.getByRole('link', { name: 'Records', exact: true }).click();
    await page.locator('coffer-record-list a').first().click();
    await page.getByRole('link', { name: 'History', exact: true }).click();
    await page.locator('coffer-revision-history li').first().waitFor();
    await shot('10-history');

    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await openFresh(phone);
    await phone.locator('coffer-record-list a').first().waitFor();
    await shot('11-phone-records', phone);
    await phone.locator('coffer-record-list a').first().click();
    await phone.locator('coffer-file-row').first().waitFor();
    await shot('12-phone-files', phone);
    await row('north-wall.png', phone)
      .getByRole('button', { name: /^Open / })
      .click();
    await phone.locator('coffer-file-row[open] coffer-file-preview img').waitFor();
    await shot('13-phone-file-open', phone);
    await phone.close();
  });

  it('fits 320 and 390 px with Install offered, and axe finds nothing on any view, light or dark', async () => {
    const record = new URL(page.url()).hash.split('/')[2]!;
    const views = [
      ['records', '#/'],
      ['files', `#/records/${record}/files`],
      ['details', `#/records/${record}/details`],
      ['history', `#/records/${record}/history`],
      ['settings', `#/records/${record}/bucket`],
      ['trash', '#/trash'],
      ['backup', '#/backup'],
      ['storage', '#/storage'],
    ] as const;
    const findings: string[] = [];
    for (const width of [1280, 390, 320]) {
      const on = await context.newPage();
      await on.setViewportSize({ width, height: 844 });
      await openFresh(on);
      await offerInstall(on);
      if (width === 1280) {
        // The first Tab reaches the skip link, which takes the focus to the content.
        await on.keyboard.press('Tab');
        await on.keyboard.press('Enter');
        expect(
          await on
            .locator('coffer-app')
            .evaluate((app) => app.shadowRoot?.activeElement?.textContent?.trim()),
        ).toBe('Records');
        expect(await on.locator('coffer-app').evaluate((app) => app.shadowRoot?.activeElement?.tagName)).toBe(
          'H1',
        );
      }
      for (const [name, hash] of views) {
        await on.evaluate((h) => {
          location.hash = h;
        }, hash);
        await on.waitForTimeout(400);
        if (name === 'files') {
          await row('wall-scan.tif', on)
            .getByRole('button', { name: /^Open / })
            .click();
          await row('wall-scan.tif', on).locator('coffer-version-history li').first().waitFor();
        }
        const scrollWidth = await on.evaluate(() => document.documentElement.scrollWidth);
        if (scrollWidth > width) findings.push(`${width} px ${name}: the page is ${scrollWidth} px wide`);
        for (const scheme of ['light', 'dark'] as const) {
          await on.emulateMedia({ colorScheme: scheme });
          await on.waitForTimeout(100);
          for (const line of await axeFindings(on)) findings.push(`${width} px ${name} ${scheme}: ${line}`);
          if (width === 390 && (name === 'files' || name === 'records'))
            await shot(`20-phone-install-${name}-${scheme}`, on);
        }
        await on.emulateMedia({ colorScheme: 'light' });
      }
      await on.close();
    }

    expect(findings).toEqual([]);
  });

  it('reloads offline, with the server stopped, and finds everything', async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(fetch(url)).rejects.toThrow();

    await page.reload();
    await page.getByRole('link', { name: 'Files', exact: true }).click();

    await page.locator('coffer-file-row').first().waitFor();
    expect(await keys()).toEqual(['site-plan.pdf', 'wall-scan.tif', 'north-wall.png', 'notes.txt']);
    await row('north-wall.png').getByRole('button', { name: 'north-wall.png', exact: true }).click();
    const img = row('north-wall.png').locator('coffer-file-preview img');
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(640);
    await shot('14-offline-reload');
    await row('north-wall.png').getByRole('button', { name: 'Close north-wall.png' }).click();
  });

  it('keeps two tabs in step, each showing the other’s changes at once', async () => {
    const other = await context.newPage();
    await other.goto(page.url());
    await other.locator('coffer-file-row').first().waitFor();

    await other
      .locator('coffer-files')
      .evaluate((el) =>
        (el as unknown as { addFiles(f: File[]): Promise<void> }).addFiles([
          new File(['from the other tab'], 'other-tab.txt'),
        ]),
      );
    await expect.poll(() => keys(other), { timeout: 10_000 }).toContain('other-tab.txt');
    await expect.poll(() => keys(page), { timeout: 10_000 }).toContain('other-tab.txt');

    // A version restored in one tab is current in the other at once.
    const second = createHash('md5')
      .update(await readFile(files.notes2))
      .digest('hex');
    await row('notes.txt', other).getByRole('button', { name: 'notes.txt', exact: true }).click();
    await row('notes.txt', other).getByRole('button', { name: 'Restore version 2' }).click();
    await row('notes.txt', page)
      .getByRole('button', { name: `copy checksum ${second}` })
      .waitFor({ timeout: 10_000 });
    await row('notes.txt', other)
      .getByRole('button', { name: `copy checksum ${second}` })
      .first()
      .waitFor();

    await page.getByRole('link', { name: 'Details', exact: true }).click();
    const title = page.getByRole('textbox', { name: 'Title', exact: true });
    await title.fill('Survey 12: north wall (checked)');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => other.locator('h1').textContent()).toBe('Survey 12: north wall (checked)');
    await expect
      .poll(() => other.locator('coffer-record-list a').first().textContent())
      .toContain('(checked)');
    await other.close();
  });
});

afterAll(async () => {
  await rm(join(tmpdir(), 'coffer-app-never'), { force: true, recursive: true });
  void port;
});
