import type { Coffer } from '@coffer/core';
import { type BrowserSync, openBrowserSync } from '@coffer/core/sync';
import '@coffer/elements';
import type { CofferSyncPanel } from '@coffer/elements';
import { afterEach, describe, expect, it } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';
import { freshS3Bucket, type TestS3Options } from '../helpers/s3.js';

const open = cofferOpener('sync-leader');
const syncs: BrowserSync[] = [];
afterEach(async () => {
  for (const panel of document.querySelectorAll('coffer-sync-panel')) panel.remove();
  for (const sync of syncs.splice(0)) await sync.close();
});

function syncOf(coffer: Coffer): BrowserSync {
  const sync = openBrowserSync(coffer);
  syncs.push(sync);
  return sync;
}

const nextEvent = (target: EventTarget, type: string) =>
  new Promise<void>((resolve) => target.addEventListener(type, () => resolve(), { once: true }));

/** A device: its own coffer (its own database) on the shared bucket, paused so that tests decide. */
async function device(bucket: TestS3Options): Promise<{ coffer: Coffer; sync: BrowserSync }> {
  const coffer = await open();
  const sync = syncOf(coffer);
  await sync.configure(bucket);
  await sync.stop();
  return { coffer, sync };
}

describe('openBrowserSync across tabs', () => {
  it('lets one instance lead; another follows, runs commands through the leader, and takes over when it closes', async () => {
    const coffer = await open();
    const first = syncOf(coffer);
    await until(() => first.leading);
    // A second "tab" of the same coffer: it queues for the lock and follows.
    const second = syncOf(await open({ name: coffer.name }));
    await first.configure(await freshS3Bucket({ label: 'leader' }));
    await first.stop();
    await coffer.records.create({ title: 'From the follower' });

    const report = await second.now();

    expect(second.leading).toBe(false);
    expect(report.recordsPushed).toBe(1);
    expect((await second.status()).lastSuccess).toBeInstanceOf(Date);

    const takeover = nextEvent(second, 'leader');
    await first.close();
    await takeover;

    expect(second.leading).toBe(true);
    await coffer.records.create({ title: 'After the takeover' });
    expect((await second.now()).recordsPushed).toBe(1);
  });

  it('refuses a remote whose concurrency is not a positive integer, and stores nothing', async () => {
    const sync = syncOf(await open());
    const bucket = await freshS3Bucket({ label: 'concurrency' });
    for (const concurrency of [0, 2.5]) {
      await expect(sync.configure({ ...bucket, concurrency })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        argument: 'concurrency',
      });
    }
    expect(await sync.remote()).toBeUndefined();
  });
});

describe('coffer-sync-panel conflicts', () => {
  it('lists a conflict of two devices with both values and resolves it with Keep mine', async () => {
    const bucket = await freshS3Bucket({ label: 'panel-conflict' });
    const a = await device(bucket);
    const b = await device(bucket);
    const record = await a.coffer.records.create({ title: 'Survey' });
    await a.sync.now();
    await b.sync.now();
    const onA = await a.coffer.records.get(record.id);
    onA.data.title = 'Survey (from A)';
    await onA.commit();
    const onB = await b.coffer.records.get(record.id);
    onB.data.title = 'Survey (from B)';
    await onB.commit();
    await a.sync.now();
    await b.sync.now();
    const panel = await mount('coffer-sync-panel', { sync: b.sync } as Partial<CofferSyncPanel>);
    await until(() => panel.shadowRoot!.querySelectorAll('[data-conflict]').length === 1, 10_000);
    const item = panel.shadowRoot!.querySelector<HTMLElement>('[data-conflict]')!;
    expect(item.textContent).toContain('title');
    expect(item.textContent).toContain('Survey (from A)');
    expect(item.textContent).toContain('Survey (from B)');

    item.querySelector<HTMLButtonElement>('button[aria-label="Keep mine: title"]')!.click();

    await until(() => panel.shadowRoot!.querySelectorAll('[data-conflict]').length === 0, 10_000);
    expect(text(panel)).toContain('Kept your value');
    expect((await b.coffer.records.get(record.id)).data.title).toBe('Survey (from B)');
    expect(await b.sync.recordStatus(record.id)).toBe('pending');
    await b.sync.now();
    await a.sync.now();
    expect((await a.coffer.records.get(record.id)).data.title).toBe('Survey (from B)');
    expect(await a.sync.conflicts()).toEqual([]);
  });
});
