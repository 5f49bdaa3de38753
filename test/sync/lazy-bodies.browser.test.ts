// Lazy bodies in a browser (Chromium): only the tab that leads sync fetches, in its worker.
// A follower tab and the service worker (which has no sync and cannot start workers) ask the
// leader over the sync's BroadcastChannel, then read the bytes from IndexedDB. The "tabs" here
// are coffers and syncs of one database in one page, as in sync-leader.browser.test.ts; the
// service worker's side is `handleFileRequest` on a coffer with `askLeaderForBodies`, which is
// what the app's sw.ts registers.
import { type Coffer, openCoffer } from '@coffer/core';
import { handleFileRequest } from '@coffer/core/sw';
import { type BrowserSync, openBrowserSync, openSync, S3Remote } from '@coffer/core/sync';
import { askLeaderForBodies } from '@coffer/core/sync/bodies';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { until } from '../helpers/elements.js';
import { freshS3Bucket } from '../helpers/s3.js';

vi.setConfig({ testTimeout: 60_000 });

const open = cofferOpener('lazy-bodies');
const syncs: BrowserSync[] = [];
afterEach(async () => {
  for (const sync of syncs.splice(0)) await sync.close();
});

function browserSync(coffer: Coffer): BrowserSync {
  const sync = openBrowserSync(coffer);
  syncs.push(sync);
  return sync;
}

/** Device A writes a record with two files and pushes it; device B's leader pulls it lazily. */
async function lazilyPulled() {
  const bucket = await freshS3Bucket({ label: 'lazy-browser' });
  const a = await open({ worker: false });
  const syncA = openSync(a, { remote: new S3Remote(bucket) });
  const record = await a.records.create({ title: 'Survey' });
  await record.files!.set('notes.txt', new Blob(['field notes'], { type: 'text/plain' }));
  await record.files!.set('plan.txt', new Blob(['the plan'], { type: 'text/plain' }));
  await syncA.now();
  await syncA.close();
  const b = await open();
  const leader = browserSync(b);
  await until(() => leader.leading, 10_000);
  await leader.configure({ ...bucket, bodies: 'lazy' });
  await leader.stop();
  await leader.now();
  return { record, b, leader };
}

describe('lazy bodies across tabs (Chromium)', () => {
  it('lets a follower tab read a lazy body, fetched by the leader', async () => {
    const { record, b } = await lazilyPulled();
    const tab = await openCoffer({ name: b.name });
    const follower = browserSync(tab);
    const file = await (await tab.records.get(record.id)).files!.get('notes.txt');
    expect((await file!.version.file()).lazy).toBe(true);

    const text = await (await file!.blob()).text();

    expect(follower.leading).toBe(false);
    expect(text).toBe('field notes');
    expect((await file!.version.file()).lazy).toBe(false);
    tab.close();
  });

  it("serves a lazy body at the service worker's file URL, fetched by the leader", async () => {
    const { record, b } = await lazilyPulled();
    const worker = await openCoffer({ name: b.name, worker: false });
    askLeaderForBodies(worker);
    const file = await (await worker.records.get(record.id)).files!.get('plan.txt');

    const response = await handleFileRequest(new Request(new URL(file!.url, location.href)), worker);

    expect(response?.status).toBe(200);
    expect(response?.headers.get('ETag')).toBe(`"${file!.checksum}"`);
    expect(await response?.text()).toBe('the plan');
    worker.close();
  });

  it('answers 503 at the file URL when no tab leads sync, and changes nothing', async () => {
    const { record, b, leader } = await lazilyPulled();
    await leader.close();
    const worker = await openCoffer({ name: b.name, worker: false });
    askLeaderForBodies(worker);
    const file = await (await worker.records.get(record.id)).files!.get('plan.txt');

    const response = await handleFileRequest(new Request(new URL(file!.url, location.href)), worker);

    expect(response?.status).toBe(503);
    expect((await file!.version.file()).lazy).toBe(true);
    worker.close();
  });
});
