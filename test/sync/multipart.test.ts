import { openSync } from '@coffer/core/sync';
import { describe, expect, it, vi } from 'vitest';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket } from '../helpers/s3.js';
import {
  closeDevice,
  expectResumedUpload,
  openDevice,
  stateOf,
  unreachable,
  WrappedRemote,
} from './harness.js';

vi.setConfig({ testTimeout: 120_000 });

const MiB = 1024 * 1024;

/** `size` bytes that differ from part to part. */
function bigBlob(size: number): Blob {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 251;
  return new Blob([bytes]);
}

describe('sync: multipart uploads', () => {
  it('resumes an interrupted upload in a new session at the first missing part, never from zero', async () => {
    const bucket = await freshS3Bucket({ label: 'multipart' });
    const sizes = { multipartThreshold: 6 * MiB, partSize: 5 * MiB };
    const big = { chunkSize: 4 * MiB };
    const first = new WrappedRemote(new S3Remote(bucket));
    const name = `sync-mp-${crypto.randomUUID()}`;
    const a = await openDevice(first, name, sizes, big);
    const record = await a.coffer.records.create({ title: 'big' });
    const file = await record.files!.set('scan.tif', bigBlob(12 * MiB + 17));
    first.before = (method, n) => {
      if (method === 'uploadPart' && n >= 3) throw unreachable();
    };
    await expect(a.sync.now()).rejects.toMatchObject({ code: 'REMOTE_UNREACHABLE' });
    expect(first.counts.createMultipartUpload).toBe(1);
    expect(await a.coffer.context.db.syncUploads.count()).toBe(1);
    await closeDevice(a);

    const second = new WrappedRemote(new S3Remote(bucket));
    const again = await openDevice(second, name, sizes, big);
    const report = await again.sync.now();
    expect(report.versionsPushed).toBe(1);
    await expectResumedUpload(second, again, 1);

    const b = await openDevice(new S3Remote(bucket), undefined, {}, big);
    await b.sync.now();
    const pulled = await (await b.coffer.records.get(record.id)).files!.get('scan.tif');
    expect(pulled?.checksum).toBe(file.checksum);
    expect(pulled?.size).toBe(12 * MiB + 17);
    expect(await stateOf(b.coffer)).toEqual(await stateOf(again.coffer));
  });

  it('resumes an upload interrupted with parts in flight, sending again only the parts that were in flight', async () => {
    const bucket = await freshS3Bucket({ label: 'multipart' });
    const sizes = { multipartThreshold: 6 * MiB, partSize: 5 * MiB, partsInFlight: 3 };
    const big = { chunkSize: 4 * MiB };
    const first = new WrappedRemote(new S3Remote(bucket));
    const name = `sync-mp-${crypto.randomUUID()}`;
    const a = await openDevice(first, name, sizes, big);
    const record = await a.coffer.records.create({ title: 'big' });
    const file = await record.files!.set('scan.tif', bigBlob(32 * MiB + 17));
    const send = first.uploadPart;
    const hanging = new Set<number>();
    let allHanging: () => void;
    const threeHang = new Promise<void>((resolve) => {
      allHanging = resolve;
    });
    // Parts 1 and 2 reach the server; the next three stay in flight until the tab goes.
    first.uploadPart = (key, uploadId, partNumber, body, options) => {
      if (partNumber <= 2) return send(key, uploadId, partNumber, body, options);
      hanging.add(partNumber);
      if (hanging.size === 3) allHanging();
      return new Promise<never>((_, reject) =>
        options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true }),
      );
    };
    const tab = new AbortController();
    const pushing = a.sync.now({ signal: tab.signal });
    await threeHang;
    tab.abort();

    await expect(pushing).rejects.toMatchObject({ code: 'ABORTED' });
    expect([...hanging].sort()).toEqual([3, 4, 5]);
    const [saved] = await a.coffer.context.db.syncUploads.toArray();
    expect(saved!.parts.map((part) => part.partNumber)).toEqual([1, 2]);
    await closeDevice(a);

    const second = new WrappedRemote(new S3Remote(bucket));
    const again = await openDevice(second, name, sizes, big);
    const report = await again.sync.now();
    expect(report.versionsPushed).toBe(1);
    await expectResumedUpload(second, again, 7 - 2);

    const b = await openDevice(new S3Remote(bucket), undefined, {}, big);
    await b.sync.now();
    const pulled = await (await b.coffer.records.get(record.id)).files!.get('scan.tif');
    expect(pulled?.checksum).toBe(file.checksum);
    expect(await stateOf(b.coffer)).toEqual(await stateOf(again.coffer));
  });

  it('refuses a partsInFlight that is not a positive integer', async () => {
    const bucket = await freshS3Bucket({ label: 'multipart' });
    const device = await openDevice(new S3Remote(bucket));
    await device.sync.close();

    for (const partsInFlight of [0, -2, 2.5, Number.NaN]) {
      expect(() => openSync(device.coffer, { remote: device.remote, partsInFlight })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'partsInFlight' }),
      );
    }
  });
});
