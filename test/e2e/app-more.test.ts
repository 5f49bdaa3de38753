import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeFindings } from '../helpers/axe.js';
import { startDemoApp, stopDemoApp } from '../helpers/demo-app.js';

// Find, act on many, undo, folders and file activity, end to end in the built app.

const root = fileURLToPath(new URL('../../', import.meta.url));
const shots = join(root, 'test-results/screenshots');

let server: Server;
let url: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let dir: string;

async function shot(name: string, on: Page = page): Promise<void> {
  await on.waitForTimeout(150);
  await on.screenshot({ path: join(shots, `${name}.png`) });
}

/** axe in light and dark, and whether the page is wider than its viewport. */
async function check(name: string, on: Page = page): Promise<string[]> {
  const findings: string[] = [];
  const width = on.viewportSize()!.width;
  const scrollWidth = await on.evaluate(() => document.documentElement.scrollWidth);
  if (scrollWidth > width) findings.push(`${name}: the page is ${scrollWidth} px wide at ${width} px`);
  for (const scheme of ['light', 'dark'] as const) {
    await on.emulateMedia({ colorScheme: scheme });
    await on.waitForTimeout(100);
    for (const line of await axeFindings(on)) findings.push(`${name} ${scheme}: ${line}`);
  }
  await on.emulateMedia({ colorScheme: 'light' });
  return findings;
}

const row = (key: string): Locator => page.locator(`coffer-file-row[data-key="${key}"]`);
const keys = (): Promise<string[]> =>
  page.locator('coffer-file-row').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.key!));
const toast = (text: string | RegExp): Locator => page.locator('.toast').filter({ hasText: text });
const titles = (): Promise<string[]> =>
  page
    .locator('coffer-record-list a.item .title')
    .evaluateAll((items) => items.map((i) => i.textContent ?? ''));
let recordId = '';

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  ({ server, url, browser } = await startDemoApp());
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  dir = await mkdtemp(join(tmpdir(), 'coffer-more-'));
  for (const path of ['raw/2026/img_001.tif', 'raw/2026/img_002.tif', 'raw/notes.txt']) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), `bytes of ${path}\n`);
  }
  await page.goto(url);
  await page.locator('coffer-record-list').waitFor();
  recordId = await page.locator('coffer-app').evaluate(async (app) => {
    const coffer = (app as unknown as { coffer?: import('@coffer/core').Coffer }).coffer;
    for (let i = 0; i < 100 && !coffer; i++) await new Promise((r) => setTimeout(r, 50));
    const c = (app as unknown as { coffer: import('@coffer/core').Coffer }).coffer;
    await c.records.create({
      title: 'Chapel survey',
      creators: [{ name: 'Ada Lovelace' }],
      keywords: ['fresco'],
    });
    await c.records.create({
      title: 'Trench notes',
      description: 'Pottery from the north trench',
      keywords: ['dig'],
    });
    const record = await c.records.create({ title: 'Site scans', keywords: ['dig', 'scan'] });
    await record.files!.set('plan.pdf', new Blob(['%PDF plan']), { metadata: { description: 'The plan' } });
    return record.id;
  });
}, 300_000);

afterAll(async () => {
  await stopDemoApp({ server, browser });
});

describe('the Coffer app: find, act on many, undo, folders, activity', () => {
  it('finds records by any field and by keyword chips', async () => {
    await expect.poll(titles).toEqual(['Site scans', 'Trench notes', 'Chapel survey']);
    const search = page.getByRole('searchbox', { name: 'Search records and their files' });

    await search.fill('lovelace');
    await expect.poll(titles).toEqual(['Chapel survey']);
    await search.fill('plan.pdf');
    await expect.poll(titles).toEqual(['Site scans']);
    await page.getByText('Found: file plan.pdf').waitFor();
    await search.fill('');
    await page.getByRole('button', { name: 'dig', exact: true }).click();
    await expect.poll(titles).toEqual(['Site scans', 'Trench notes']);
    await page.getByLabel('Sort by').selectOption('title');
    await expect.poll(titles).toEqual(['Site scans', 'Trench notes']);
    await shot('30-find-keyword-chip');

    expect(await check('records filtered')).toEqual([]);
    await page.getByRole('button', { name: 'dig', exact: true }).click();
  });

  it('adds a folder with its relative paths, from a drop zone that is itself clickable', async () => {
    await page.goto(`${url}#/records/${recordId}/files`);
    await row('plan.pdf').waitFor();
    const chooser = page.waitForEvent('filechooser');
    await page.locator('coffer-files .dropzone p').click();
    await (await chooser).setFiles([]);

    await page.locator('coffer-files input.folder').setInputFiles(join(dir, 'raw'));

    await expect
      .poll(keys)
      .toEqual(['plan.pdf', 'raw/2026/img_001.tif', 'raw/2026/img_002.tif', 'raw/notes.txt']);
    await shot('31-folder-added');
  });

  it('downloads chosen files as one ZIP that unzip reads, with the folders', async () => {
    await page.locator('coffer-files').getByRole('button', { name: 'Select', exact: true }).click();
    await row('raw/2026/img_001.tif').getByRole('checkbox').check();
    await row('raw/notes.txt').getByRole('checkbox').check();
    await page.getByText('2 of 4 selected').waitFor();
    await shot('32-files-selected');
    expect(await check('files selecting')).toEqual([]);

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download ZIP' }).click();
    const zip = join(dir, 'chosen.zip');
    await (await download).saveAs(zip);

    const test = spawnSync('unzip', ['-t', zip], { encoding: 'utf8' });
    expect(test.status).toBe(0);
    expect(test.stdout).toContain('raw/2026/img_001.tif');
    expect(spawnSync('unzip', ['-p', zip, 'raw/notes.txt'], { encoding: 'utf8' }).stdout).toBe(
      'bytes of raw/notes.txt\n',
    );
  });

  it('deletes chosen files, and Undo in the toast brings them back in place with their descriptions', async () => {
    const list = page.locator('coffer-files');
    await list.getByRole('button', { name: 'Clear', exact: true }).click();
    await row('plan.pdf').getByRole('checkbox').check();
    await row('raw/notes.txt').getByRole('checkbox').check();
    await list.getByRole('button', { name: 'Delete', exact: true }).click();
    await list.getByRole('button', { name: 'Confirm: delete 2' }).click();
    await expect.poll(keys).toEqual(['raw/2026/img_001.tif', 'raw/2026/img_002.tif']);
    await expect
      .poll(() => list.evaluate((el) => el.shadowRoot?.activeElement?.textContent?.trim()))
      .toBe('Select all');
    await shot('33-undo-toast');

    await toast('2 files deleted.').getByRole('button', { name: 'Undo' }).click();

    await toast('2 files are back.').waitFor();
    await expect
      .poll(keys)
      .toEqual(['plan.pdf', 'raw/2026/img_001.tif', 'raw/2026/img_002.tif', 'raw/notes.txt']);
    await expect.poll(() => row('plan.pdf').locator('.description').textContent()).toBe('The plan');
    await list.getByRole('button', { name: 'Done', exact: true }).click();
  });

  it('renames a file, and Undo gives it its name back', async () => {
    await row('plan.pdf').getByRole('button', { name: 'Open plan.pdf' }).click();
    await row('plan.pdf').getByRole('button', { name: 'Rename' }).click();
    await row('plan.pdf').getByLabel('New name for plan.pdf').fill('site-plan.pdf');
    await row('plan.pdf').getByRole('button', { name: 'Save' }).click();
    await row('site-plan.pdf').waitFor();

    await toast('plan.pdf renamed to site-plan.pdf.').getByRole('button', { name: 'Undo' }).click();

    await row('plan.pdf').waitFor();
    expect((await keys())[0]).toBe('plan.pdf');
    await expect.poll(() => row('plan.pdf').locator('.description').textContent()).toBe('The plan');
  });

  it('shows the file activity beside the revisions', async () => {
    await page.getByRole('link', { name: 'History', exact: true }).click();
    const activity = page.locator('coffer-file-activity');
    await activity.getByText('site-plan.pdf → plan.pdf').waitFor();
    const kinds = await activity.locator('li .kind').allTextContents();
    expect(kinds.filter((k) => k === 'Renamed')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'Restored')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'Deleted')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'Added')).toHaveLength(4);
    await page.getByRole('heading', { name: 'File activity' }).scrollIntoViewIfNeeded();
    await shot('34-file-activity');
    expect(await check('history with activity')).toEqual([]);
  });

  it('reverts the details, and Undo goes back to the revision before', async () => {
    const revision = async () =>
      (await page.locator('.record-head .meta').textContent())?.match(/revision\s+(\d+)/)?.[1];
    const history = page.locator('coffer-revision-history');
    // The header follows the database a moment after the toast: read it before, and wait for it.
    const before = Number(await revision());
    await history.getByRole('button', { name: 'Revert to revision 0', exact: true }).click();
    await history.locator('.confirm').getByRole('button', { name: 'Revert to revision 0' }).click();
    await toast(/Reverted to revision 0/).waitFor();
    await expect.poll(async () => Number(await revision())).toBe(before + 1);

    await toast(/Reverted to revision 0/)
      .getByRole('button', { name: 'Undo' })
      .click();

    await toast(`Back to the details of revision ${before}`).waitFor();
    await expect.poll(async () => Number(await revision())).toBe(before + 2);
  });

  it('moves a record to the trash, and Undo brings it back', async () => {
    await page.getByRole('link', { name: 'Details', exact: true }).click();
    await page.getByRole('button', { name: 'Move to trash' }).click();
    await toast('Moved to the trash.').waitFor();
    await expect.poll(titles).not.toContain('Site scans');

    await toast('Moved to the trash.').getByRole('button', { name: 'Undo' }).click();

    await toast('Restored from the trash.').waitFor();
    await expect.poll(titles).toContain('Site scans');
  });

  it('moves several records to the trash and restores them from there together', async () => {
    await page.goto(`${url}#/`);
    await expect.poll(async () => (await titles()).length).toBe(3);
    await page.getByRole('button', { name: 'Select', exact: true }).click();
    await page
      .locator('coffer-record-list label.item')
      .filter({ hasText: 'Trench notes' })
      .getByRole('checkbox')
      .check();
    await page
      .locator('coffer-record-list label.item')
      .filter({ hasText: 'Chapel survey' })
      .getByRole('checkbox')
      .check();
    expect(await check('records selecting')).toEqual([]);
    await page.getByRole('button', { name: 'Move to trash' }).click();
    await toast('2 records moved to the trash.').waitFor();

    await page.goto(`${url}#/trash`);
    const trash = page.locator('coffer-record-list');
    await trash.getByRole('button', { name: 'Select', exact: true }).click();
    await trash.getByRole('button', { name: 'Select all' }).click();
    await shot('35-trash-selecting');
    expect(await check('trash selecting')).toEqual([]);
    await trash.getByRole('button', { name: 'Restore', exact: true }).click();
    await trash.getByText('The trash is empty.').waitFor();
  });

  it('fits 320 px with the new controls, light and dark', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 320, height: 740 });
    await phone.goto(`${url}#/records/${recordId}/files`);
    await phone.locator('coffer-file-row').first().waitFor();
    await phone.locator('coffer-files').getByRole('button', { name: 'Select', exact: true }).click();
    await phone.locator('coffer-file-row').first().getByRole('checkbox').check();
    await shot('36-phone-files-selecting', phone);
    await phone.emulateMedia({ colorScheme: 'dark' });
    await shot('38-phone-files-selecting-dark', phone);
    await phone.emulateMedia({ colorScheme: 'light' });
    const findings = await check('320 px files selecting', phone);
    await phone.goto(`${url}#/`);
    await phone.locator('coffer-record-list a.item').first().waitFor();
    await shot('37-phone-records-chips', phone);
    findings.push(...(await check('320 px records', phone)));
    await phone.close();

    expect(findings).toEqual([]);
  });
});
