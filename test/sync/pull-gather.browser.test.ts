// A pulled body that fits in one stored Blob chunk, in Chromium. With the byte pipeline in
// process, one reader loop hashes each piece of the body and hands it to `Response.blob()`, so
// the md5 is computed while the body arrives and the bytes leave the JS heap as they come; with
// the pipeline on the page (`worker: false`) the heap sampled here holds every step: fetch,
// hashing and gathering. With the pipeline in a worker, the body is taken with `blob()`.
import { describe, expect, it, onTestFinished } from 'vitest';
import { IntegrityError } from '../../packages/core/src/errors.js';
import { openSync } from '../../packages/core/src/sync/engine.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { cofferOpener } from '../helpers/coffer.js';
import { heapSampler, MiB, variedBlob } from '../helpers/large-blobs.js';
import { freshS3Bucket } from '../helpers/s3.js';
import { WrappedRemote } from './harness.js';

const SIZE_MIB = 96;
const SIZE = SIZE_MIB * MiB;
const HEAP_BOUND = 32 * MiB;
const open = cofferOpener('pull-gather');

/** A coffer that pushed one record with a 96 MiB file (as one PUT), and the file's md5. */
async function pushed(bucket: Awaited<ReturnType<typeof freshS3Bucket>>) {
  const source = await open({ worker: false });
  const sync = openSync(source, { remote: new S3Remote(bucket), multipartThreshold: SIZE });
  onTestFinished(() => sync.close());
  const { blob, md5 } = variedBlob(SIZE_MIB);
  const record = await source.records.create({ title: 'a scan' });
  await record.files!.set('scan.tif', blob);
  await sync.now();
  return { record, md5: await md5() };
}

/** The stored chunks of a coffer: size and kind of each. */
async function chunksOf(coffer: Awaited<ReturnType<typeof open>>) {
  const rows = await coffer.context.db.chunks.toArray();
  return rows.map((row) => ({ size: row.size, kind: row.data instanceof Blob ? 'blob' : 'buffer' }));
}

describe('a pulled body gathered whole in Chromium', () => {
  it('stores a body read as a stream as one Blob chunk with its md5, the heap growing by a few pieces at most', async () => {
    const bucket = await freshS3Bucket({ label: 'gather' });
    const { record, md5 } = await pushed(bucket);
    const target = await open({ worker: false, blobChunkSize: 128 * MiB });
    // The wrapper's bodies have no blob(): only the stream reaches the pipeline.
    const sync = openSync(target, { remote: new WrappedRemote(new S3Remote(bucket)) });
    onTestFinished(() => sync.close());

    const heap = heapSampler(20);
    const pulled = await sync.now({ onProgress: heap.sample });
    const growth = heap.stop();

    expect(pulled.bytesPulled).toBe(SIZE);
    const copy = await (await target.records.get(record.id)).files!.get('scan.tif');
    expect(copy!.checksum).toBe(md5);
    expect(await chunksOf(target)).toEqual([{ size: SIZE, kind: 'blob' }]);
    expect(await target.verifyChecksums()).toMatchObject({ failed: [] });
    console.log(
      `pull of ${SIZE_MIB} MiB gathered whole: page heap +${(growth / MiB).toFixed(1)} MiB at most`,
    );
    expect(growth).toBeLessThan(HEAP_BOUND);
  }, 300_000);

  it('takes it with blob() and stores it as one Blob chunk with its md5 when the pipeline runs in a worker', async () => {
    const bucket = await freshS3Bucket({ label: 'gatherw' });
    const { record, md5 } = await pushed(bucket);
    const target = await open({ blobChunkSize: 128 * MiB });
    const sync = openSync(target, { remote: new S3Remote(bucket) });
    onTestFinished(() => sync.close());

    await sync.now();
    const copy = await (await target.records.get(record.id)).files!.get('scan.tif');
    expect(copy!.checksum).toBe(md5);
    expect(await chunksOf(target)).toEqual([{ size: SIZE, kind: 'blob' }]);
  }, 300_000);

  it('refuses a body with one byte changed, keeping no file and no chunk', async () => {
    const bucket = await freshS3Bucket({ label: 'gatherbad' });
    await pushed(bucket);
    const remote = new WrappedRemote(new S3Remote(bucket));
    let offset = 0;
    remote.mapBody = (key, stream) =>
      key.startsWith('records/')
        ? stream.pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform(chunk, controller) {
                const at = SIZE - 1 - offset;
                offset += chunk.length;
                if (at < 0 || at >= chunk.length) return controller.enqueue(chunk);
                const copy = chunk.slice();
                copy[at] = copy[at]! ^ 0x80;
                controller.enqueue(copy);
              },
            }),
          )
        : stream;
    const target = await open({ worker: false, blobChunkSize: 128 * MiB });
    const sync = openSync(target, { remote });
    onTestFinished(() => sync.close());

    await expect(sync.now()).rejects.toBeInstanceOf(IntegrityError);
    expect(await target.context.db.files.count()).toBe(0);
    expect(await target.context.db.chunks.count()).toBe(0);
    expect(await target.records.list({ includeDeleted: true })).toEqual([]);
  }, 300_000);
});
