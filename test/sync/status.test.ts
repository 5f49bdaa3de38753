import { liveQuery } from 'dexie';
import { describe, expect, it, vi } from 'vitest';
import type { SyncStatus } from '../../packages/core/src/sync/index.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket } from '../helpers/s3.js';
import { devices, fileText, openDevice, unreachable, WrappedRemote } from './harness.js';

vi.setConfig({ testTimeout: 60_000 });

const text = (s: string) => new Blob([s], { type: 'text/plain' });

describe('sync: status, background runs, refused ops', () => {
  it('shows a live status (liveQuery) through a sync, and joins a second now() to the running one', async () => {
    const {
      devices: [a],
    } = await devices(1);
    const record = await a!.coffer.records.create({ title: 'T' });
    await record.files!.set('a.txt', text('a'));
    expect(await a!.sync.status()).toMatchObject({ phase: 'idle', lastSuccess: undefined });
    const seen: SyncStatus[] = [];
    const subscription = liveQuery(() => a!.sync.status()).subscribe((status) => seen.push(status));
    expect(await a!.sync.recordStatus(record.id)).toBe('pending');
    const first = a!.sync.now();
    const second = a!.sync.now();
    expect(second).toBe(first);
    const report = await first;
    expect(report).toMatchObject({ versionsPushed: 1, recordsPushed: 1 });
    await vi.waitFor(() => expect(seen.at(-1)?.lastSuccess).toBeInstanceOf(Date));
    subscription.unsubscribe();
    expect(seen.map((s) => s.phase)).toContain('pushing');
    expect(seen.at(-1)).toMatchObject({
      phase: 'idle',
      filesToGo: 0,
      bytesToGo: 0,
      lastErrorCode: undefined,
    });
    expect(await a!.sync.recordStatus(record.id)).toBe('synced');
  });

  it('shows offline with the failure while a request waits to be retried for the network', async () => {
    const bucket = await freshS3Bucket({ label: 'status' });
    const remote = new WrappedRemote(new S3Remote(bucket));
    const a = await openDevice(remote);
    const record = await a.coffer.records.create({ title: 'T' });
    let retrying: Promise<SyncStatus> | undefined;
    remote.before = (_method, _n, total) => {
      if (total === 1) throw unreachable();
      if (total === 2) retrying = a.sync.status();
    };

    await a.sync.now();

    expect(await retrying).toMatchObject({ phase: 'offline', lastErrorCode: 'REMOTE_UNREACHABLE' });
    expect(await a.sync.status()).toMatchObject({ phase: 'idle', lastErrorCode: undefined });
    expect(await a.sync.recordStatus(record.id)).toBe('synced');
  });

  it('counts every version still to push, past one page of the count (2,000), and only those', async () => {
    const bucket = await freshS3Bucket({ label: 'status' });
    const remote = new WrappedRemote(new S3Remote(bucket));
    const a = await openDevice(remote);
    const record = await a.coffer.records.create({ title: 'T' });
    await record.files!.set('pushed.txt', text('already on the server'));
    await a.sync.now();
    const sizes = Array.from({ length: 2_003 }, (_, i) => 1 + (i % 10));
    await record.files!.setMany(
      sizes.map((size, i) => ({ key: `f-${i}.txt`, source: text('x'.repeat(size)) })),
    );
    remote.before = () => {
      throw unreachable();
    };

    await expect(a.sync.now()).rejects.toMatchObject({ code: 'REMOTE_UNREACHABLE' });

    expect(await a.sync.status()).toMatchObject({
      phase: 'offline',
      filesToGo: 2_003,
      bytesToGo: sizes.reduce((sum, size) => sum + size, 0),
    });
  });

  it('syncs in the background after start() until stop()', async () => {
    const {
      devices: [a, b],
    } = await devices(2);
    a!.sync.start({ interval: 50 });
    b!.sync.start({ interval: 50 });
    const record = await a!.coffer.records.create({ title: 'T' });
    await record.files!.set('a.txt', text('in the background'));
    await vi.waitFor(
      async () => expect(await fileText(b!.coffer, record.id, 'a.txt')).toBe('in the background'),
      {
        timeout: 20_000,
        interval: 100,
      },
    );
    await a!.sync.stop();
    await b!.sync.stop();
    expect((await a!.sync.status()).phase).toBe('paused');
  });

  it('keeps a pulled version that local rules refuse (a locked bucket) in the inbox, and applies it once they allow', async () => {
    const {
      devices: [a, b],
    } = await devices(2);
    const record = await a!.coffer.records.create({ title: 'T' });
    await a!.sync.now();
    await b!.sync.now();
    const bucket = (await b!.coffer.buckets.get(record.bucketId!))!;
    await bucket.lock();
    await record.files!.set('a.txt', text('waits for the lock'));
    await a!.sync.now();
    const report = await b!.sync.now();
    expect(report.versionsPulled).toBe(0);
    expect(await fileText(b!.coffer, record.id, 'a.txt')).toBeUndefined();
    expect(await b!.sync.recordStatus(record.id)).toBe('error');
    await bucket.unlock();
    await b!.sync.now();
    expect(await fileText(b!.coffer, record.id, 'a.txt')).toBe('waits for the lock');
    expect(await b!.sync.recordStatus(record.id)).toBe('synced');
  });
});
