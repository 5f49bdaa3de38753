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
});
