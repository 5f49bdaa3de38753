import { type BrowserSync, openBrowserSync } from '@coffer/core/sync';
import '@coffer/elements';
import type { CofferSyncBadge } from '@coffer/elements';
import { afterEach, describe, expect, it } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';
import { freshS3Bucket } from '../helpers/s3.js';

const open = cofferOpener('sync-badge');
const syncs: BrowserSync[] = [];
afterEach(async () => {
  for (const badge of document.querySelectorAll('coffer-sync-badge')) badge.remove();
  for (const sync of syncs.splice(0)) await sync.close();
});

async function syncOf(coffer: Parameters<typeof openBrowserSync>[0]): Promise<BrowserSync> {
  const sync = openBrowserSync(coffer);
  syncs.push(sync);
  return sync;
}

/** A bucket set up, paused so that only `now()` syncs (the test decides when). */
async function configured(sync: BrowserSync): Promise<void> {
  await sync.configure(await freshS3Bucket({ label: 'badge' }));
  await sync.stop();
}

describe('coffer-sync-badge', () => {
  it('says sync is off before a bucket is set up, as a polite status', async () => {
    const sync = await syncOf(await open());

    const badge = await mount('coffer-sync-badge', { sync } as Partial<CofferSyncBadge>);
    await until(() => badge.state !== undefined);

    expect(badge.state).toBe('off');
    expect(text(badge)).toContain('Sync: Sync off');
    expect(badge.shadowRoot!.querySelector('[role=status]')).not.toBeNull();
  });

  it('shows a record as not synced yet, then synced after a sync, and the whole as synced', async () => {
    const coffer = await open();
    const sync = await syncOf(coffer);
    await configured(sync);
    const record = await coffer.records.create({ title: 'Badge record' });
    const global = await mount('coffer-sync-badge', { sync } as Partial<CofferSyncBadge>);
    const one = await mount('coffer-sync-badge', { sync, recordId: record.id } as Partial<CofferSyncBadge>);
    await until(() => one.state === 'pending');
    expect(text(one)).toContain('Not synced yet');
    expect(one.shadowRoot!.querySelector('[role=status]')).toBeNull();
    expect(global.state).toBe('paused');

    await sync.now();
    await sync.start();

    await until(() => one.state === 'synced', 10_000);
    await until(() => global.state === 'idle', 10_000);
    expect(text(global)).toContain('Synced');
  });

  it('shows an error when the last sync failed', async () => {
    const coffer = await open();
    const sync = await syncOf(coffer);
    const record = await coffer.records.create({ title: 'To a bucket without versions' });
    await record.files!.set('a.txt', new Blob(['a']));
    // Without versioning the server stores the file but names no version: the push fails.
    await sync.configure(await freshS3Bucket({ label: 'badge-error', versioning: false }));
    await sync.stop();
    const badge = await mount('coffer-sync-badge', { sync } as Partial<CofferSyncBadge>);

    await expect(sync.now()).rejects.toMatchObject({ code: 'REMOTE_BAD_RESPONSE' });

    await until(() => badge.state === 'error', 10_000);
    expect(text(badge)).toContain('Sync error');
    expect((await sync.status()).lastErrorCode).toBe('REMOTE_BAD_RESPONSE');
  });
});
