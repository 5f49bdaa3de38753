// In a browser the engine runs in the leader tab's sync worker, on a coffer of its own: pulled
// records must still meet the JSON Schemas the page's coffer was opened with.
import type { Coffer } from '@coffer/core';
import { type BrowserSync, openBrowserSync, openSync, S3Remote } from '@coffer/core/sync';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { until } from '../helpers/elements.js';
import { freshS3Bucket } from '../helpers/s3.js';

vi.setConfig({ testTimeout: 60_000 });

const open = cofferOpener('sync-schemas');
const syncs: BrowserSync[] = [];
afterEach(async () => {
  for (const sync of syncs.splice(0)) await sync.close();
});

const uri = 'urn:coffer:survey';
const surveys = { [uri]: { type: 'object', properties: { title: { type: 'string' } } } };

async function leaderOf(coffer: Coffer, bucket: Awaited<ReturnType<typeof freshS3Bucket>>) {
  const sync = openBrowserSync(coffer);
  syncs.push(sync);
  await until(() => sync.leading, 10_000);
  await sync.configure(bucket);
  await sync.stop();
  return sync;
}

describe("pulls in the leader's sync worker (Chromium)", () => {
  it("keep a pulled record that breaks the page coffer's JSON Schema out, and apply the one that meets it", async () => {
    const bucket = await freshS3Bucket({ label: 'schemas-browser' });
    const a = await open({ worker: false });
    const syncA = openSync(a, { remote: new S3Remote(bucket) });
    const bad = await a.records.create({ $schema: uri, title: 42 });
    const good = await a.records.create({ $schema: uri, title: 'Survey' });
    await syncA.now();
    await syncA.close();
    const b = await open({ schemas: surveys });
    const sync = await leaderOf(b, bucket);

    await sync.now();

    await expect(b.records.get(bad.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await sync.recordStatus(bad.id)).toBe('error');
    expect((await b.records.get(good.id)).data.title).toBe('Survey');
    expect(await sync.recordStatus(good.id)).toBe('synced');
  });

  it('apply every pulled record when the page coffer has no schemas', async () => {
    const bucket = await freshS3Bucket({ label: 'schemas-browser' });
    const a = await open({ worker: false });
    const syncA = openSync(a, { remote: new S3Remote(bucket) });
    const record = await a.records.create({ $schema: uri, title: 42 });
    await syncA.now();
    await syncA.close();
    const b = await open();
    const sync = await leaderOf(b, bucket);

    await sync.now();

    expect((await b.records.get(record.id)).data.title).toBe(42);
    expect(await sync.recordStatus(record.id)).toBe('synced');
  });
});
