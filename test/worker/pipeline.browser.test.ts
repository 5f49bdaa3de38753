import { AbortError, type Coffer, MaxFileSizeExceededError, type Progress, StorageError } from '@coffer/core';
import { crc32 } from 'hash-wasm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heapSampler, variedBlob } from '../helpers/large-blobs.js';
import { countBlobReads, countWorkers, dispose, freshCoffer, MiB, md5Of, randomFile } from './fixtures.js';

let coffer: Coffer;
let workers: ReturnType<typeof countWorkers>;

beforeEach(async () => {
  workers = countWorkers();
  coffer = await freshCoffer();
});

afterEach(async () => {
  await dispose(coffer);
  workers.restore();
});

/**
 * `blob` as a stream whose pieces cycle through `sizes` (bytes), each piece a new buffer, as a
 * network body delivers them.
 */
function piecesStream(blob: Blob, sizes: readonly number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (at >= blob.size) return controller.close();
      const end = Math.min(blob.size, at + sizes[next++ % sizes.length]!);
      controller.enqueue(new Uint8Array(await blob.slice(at, end).arrayBuffer()));
      at = end;
    },
  });
}

/** The stored chunk rows of a version's file: their sizes and whether each holds a Blob. */
async function chunkRows(c: Coffer, fileId: string) {
  const rows = await c.context.db.chunks
    .where('[dataId+offset]')
    .between([fileId, 0], [fileId, Infinity])
    .toArray();
  return rows.map((row) => ({ size: row.size, blob: row.data instanceof Blob }));
}

const storedRows = async () => ({
  files: await coffer.context.db.files.count(),
  chunks: await coffer.context.db.chunks.count(),
});

describe('the worker pipeline', () => {
  it('ingests 64 MiB in the worker, reports progress at every chunk and stores the reference md5', async () => {
    const { blob, md5 } = await randomFile(64 * MiB);
    const bucket = await coffer.buckets.create();
    const progress: Progress[] = [];

    const version = await bucket.objects.put('big.bin', blob, { onProgress: (p) => progress.push(p) });

    expect(workers.started).toBe(1);
    expect(version.checksum).toBe(md5);
    expect(version.size).toBe(64 * MiB);
    expect(progress.length).toBeGreaterThanOrEqual(8);
    expect(progress.map((p) => p.loaded)).toEqual([...progress.map((p) => p.loaded)].sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual({ loaded: 64 * MiB, total: 64 * MiB });
    expect(await md5Of(await version.blob())).toBe(md5);
  });

  it('never reads the bytes of the file on the main thread while storing it', async () => {
    const { blob } = await randomFile(16 * MiB);
    const bucket = await coffer.buckets.create();

    const reads = await countBlobReads(() => bucket.objects.put('quiet.bin', blob));

    expect(reads).toEqual({});
    const inProcess = await freshCoffer({ worker: false });
    try {
      const control = await inProcess.buckets.create();
      const controlReads = await countBlobReads(() => control.objects.put('loud.bin', blob));
      expect(Object.keys(controlReads).length).toBeGreaterThan(0);
    } finally {
      await dispose(inProcess);
    }
  });

  it('computes the CRC-32 of stored files in the worker, reading none of their bytes on the main thread', async () => {
    const { blob } = await randomFile(16 * MiB);
    const bucket = await coffer.buckets.create();
    const stored = await (await bucket.objects.put('a.bin', blob)).blob();
    let crcs: number[] = [];

    const reads = await countBlobReads(async () => {
      crcs = await coffer.crc32([stored, blob.slice(1)]);
    });

    expect(reads).toEqual({});
    const reference = async (b: Blob) =>
      Number.parseInt(await crc32(new Uint8Array(await b.arrayBuffer())), 16);
    expect(crcs).toEqual([await reference(blob), await reference(blob.slice(1))]);
  });

  it('composes blob() and slice() from stored chunks without reading their bytes on the main thread', async () => {
    const { blob, md5 } = await randomFile(20 * MiB);
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('read.bin', blob);
    let whole: Blob | undefined;
    let range: Blob | undefined;

    const reads = await countBlobReads(async () => {
      whole = await version.blob();
      range = await version.slice(8 * MiB - 10, 8 * MiB + 10);
    });

    expect(reads).toEqual({});
    expect(whole?.size).toBe(20 * MiB);
    expect(await md5Of(whole!)).toBe(md5);
    expect(new Uint8Array(await range!.arrayBuffer())).toEqual(
      new Uint8Array(await blob.slice(8 * MiB - 10, 8 * MiB + 10).arrayBuffer()),
    );
  });

  it('streams a stored file one chunk at a time', async () => {
    const { blob, md5 } = await randomFile(20 * MiB);
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('stream.bin', blob);
    const stream = await version.stream();
    let largest = 0;
    const pieces: Uint8Array[] = [];

    for (const reader = stream.getReader(); ; ) {
      const next = await reader.read();
      if (next.done) break;
      largest = Math.max(largest, next.value.length);
      pieces.push(next.value);
    }

    expect(largest).toBeLessThanOrEqual(8 * MiB);
    expect(await md5Of(new Blob(pieces as Uint8Array<ArrayBuffer>[]))).toBe(md5);
  });

  it('stores a 128 MiB stream in 32 MiB chunks with the page heap growing by less than half a chunk', async () => {
    // In process, so that the page's heap is the pipeline's: the default chunks are 32 MiB,
    // and a stream's bytes must not be held a chunk at a time.
    const inProcess = await freshCoffer({ worker: false });
    try {
      const { blob, md5 } = variedBlob(128);
      const expected = await md5();
      const bucket = await inProcess.buckets.create();
      const heap = heapSampler();

      const version = await bucket.objects.put('stream.bin', blob.stream(), { onProgress: heap.sample });

      const growth = heap.stop();
      expect(version.size).toBe(128 * MiB);
      expect(version.checksum).toBe(expected);
      expect(await chunkRows(inProcess, version.fileId!)).toEqual(
        Array.from({ length: 4 }, () => ({ size: 32 * MiB, blob: true })),
      );
      expect(growth).toBeLessThan(16 * MiB);
    } finally {
      await dispose(inProcess);
    }
  });

  it('stores a stream of uneven pieces byte for byte across every 2 MiB group and chunk boundary', async () => {
    // 3 MiB inline: the last chunk (2.5 MiB) spans a group and is stored as bytes.
    const inline = await freshCoffer({ inlineBelow: 3 * MiB });
    try {
      const size = 64 * MiB + 2.5 * MiB;
      const { blob, md5 } = await randomFile(size);
      const bucket = await inline.buckets.create();

      const version = await bucket.objects.put(
        'uneven.bin',
        piecesStream(blob, [1, 3 * MiB + 7, 65_536, 5 * MiB - 3, 777]),
      );

      expect(version.size).toBe(size);
      expect(version.checksum).toBe(md5);
      expect(await chunkRows(inline, version.fileId!)).toEqual([
        { size: 32 * MiB, blob: true },
        { size: 32 * MiB, blob: true },
        { size: 2.5 * MiB, blob: false },
      ]);
      expect(await md5Of(await version.blob())).toBe(md5);
      for (const at of [2 * MiB, 32 * MiB, 34 * MiB, 64 * MiB, 66 * MiB]) {
        const stored = new Uint8Array(await (await version.slice(at - 3, at + 3)).arrayBuffer());
        expect(stored).toEqual(new Uint8Array(await blob.slice(at - 3, at + 3).arrayBuffer()));
      }
    } finally {
      await dispose(inline);
    }
  });

  it('stops an aborted write mid-way and leaves no version, file or chunk behind', async () => {
    const { blob } = await randomFile(64 * MiB);
    const bucket = await coffer.buckets.create();
    const controller = new AbortController();
    const reason = new Error('changed my mind');
    const progress: Progress[] = [];

    const write = bucket.objects.put('aborted.bin', blob, {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        controller.abort(reason);
      },
    });

    const error = await write.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe(reason);
    expect(progress.at(-1)!.loaded).toBeLessThan(64 * MiB);
    expect(await bucket.objects.get('aborted.bin')).toBeUndefined();
    expect(await bucket.objects.versions('aborted.bin')).toEqual([]);
    expect((await bucket.reload()).size).toBe(0);
    expect(await storedRows()).toEqual({ files: 0, chunks: 0 });
  });

  it('refuses a write whose signal is already aborted without starting the worker', async () => {
    const bucket = await coffer.buckets.create();

    const write = bucket.objects.put('never.bin', new Blob(['x']), { signal: AbortSignal.abort() });

    await expect(write).rejects.toBeInstanceOf(AbortError);
    expect(workers.started).toBe(0);
  });

  it('keeps two concurrent writes to different keys', async () => {
    const [a, b] = await Promise.all([randomFile(12 * MiB), randomFile(9 * MiB)]);
    const bucket = await coffer.buckets.create();

    await Promise.all([bucket.objects.put('a.bin', a.blob), bucket.objects.put('b.bin', b.blob)]);

    expect((await bucket.objects.get('a.bin'))?.checksum).toBe(a.md5);
    expect((await bucket.objects.get('b.bin'))?.checksum).toBe(b.md5);
    expect(await md5Of(await (await bucket.objects.get('b.bin'))!.blob())).toBe(b.md5);
    expect((await bucket.reload()).size).toBe(21 * MiB);
    expect(workers.started).toBe(1);
  });

  it('keeps both versions of two concurrent writes to the same key, with exactly one head', async () => {
    const [a, b] = await Promise.all([randomFile(12 * MiB), randomFile(9 * MiB)]);
    const bucket = await coffer.buckets.create();

    const written = await Promise.all([
      bucket.objects.put('same.bin', a.blob),
      bucket.objects.put('same.bin', b.blob),
    ]);

    const versions = await bucket.objects.versions('same.bin');
    expect(versions.map((v) => v.checksum).sort()).toEqual([a.md5, b.md5].sort());
    expect(versions.filter((v) => v.isHead)).toHaveLength(1);
    const newest = written.reduce((x, y) => (x.sequence > y.sequence ? x : y));
    expect((await bucket.objects.get('same.bin'))?.versionId).toBe(newest.versionId);
    expect(await bucket.objects.list()).toHaveLength(1);
  });

  it('brings an error thrown in the worker back as the same typed error with its fields', async () => {
    const bucket = await coffer.buckets.create({ maxFileSize: 2 * MiB });
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 3) return controller.close();
        sent++;
        controller.enqueue(new Uint8Array(MiB));
      },
    });

    const error = await bucket.objects.put('too-big.bin', stream).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MaxFileSizeExceededError);
    expect(error).toMatchObject({
      name: 'MaxFileSizeExceededError',
      code: 'MAX_FILE_SIZE_EXCEEDED',
      bucketId: bucket.id,
      key: 'too-big.bin',
      limit: 2 * MiB,
    });
    expect(await bucket.objects.get('too-big.bin')).toBeUndefined();
    expect(await storedRows()).toEqual({ files: 0, chunks: 0 });
  });

  it('brings a failing source back as a storage error whose cause is a plain error', async () => {
    const bucket = await coffer.buckets.create();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(1000));
        controller.error(new TypeError('the network went away'));
      },
    });

    const error = await bucket.objects.put('broken.bin', stream).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).cause).toBeInstanceOf(Error);
    expect((error as StorageError).cause).toMatchObject({ message: 'the network went away' });
    expect(await storedRows()).toEqual({ files: 0, chunks: 0 });
  });

  it('transfers an ArrayBuffer source given up with transfer: true, and copies a partial view once', async () => {
    const bucket = await coffer.buckets.create();
    const buffer = new Uint8Array(3 * MiB).fill(7).buffer;
    const shared = new Uint8Array(4 * MiB).fill(9);

    const whole = await bucket.objects.put('whole.bin', buffer, { transfer: true });
    const part = await bucket.objects.put('part.bin', shared.subarray(MiB, 2 * MiB), { transfer: true });

    expect(buffer.byteLength).toBe(0);
    expect(whole.size).toBe(3 * MiB);
    expect(shared.byteLength).toBe(4 * MiB);
    expect(part.size).toBe(MiB);
    expect(new Uint8Array(await (await part.slice(0, 4)).arrayBuffer())).toEqual(
      new Uint8Array([9, 9, 9, 9]),
    );
  });

  it('starts one worker on the first write and terminates it on close, failing the write in flight', async () => {
    const { blob } = await randomFile(64 * MiB);
    const bucket = await coffer.buckets.create();
    expect(workers.started).toBe(0);

    const write = bucket.objects.put('cut.bin', blob, { onProgress: () => coffer.close() });

    await expect(write).rejects.toBeInstanceOf(AbortError);
    expect(workers).toMatchObject({ started: 1, terminated: 1 });
  });
});
