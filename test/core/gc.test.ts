import { AbortError } from '@coffer/core';
import { describe, expect } from 'vitest';
import {
  bytes,
  bytesOf,
  caught,
  dispose,
  freshCoffer,
  heldStream,
  itWithMultipart as it,
  rowCounts,
  smallMultipart,
  streamOf,
} from '../helpers/coffer.js';
import { abandonWrite, chunkCount } from './helpers-reliability.js';

describe('gc', () => {
  it('frees nothing in a coffer where everything is in use', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', bytes(10));
    await bucket.objects.put('a', bytes(9, 1));
    await bucket.objects.delete('a');
    const before = await rowCounts(coffer);

    const freed = await coffer.gc({ graceMs: 0 });

    expect(freed).toEqual({
      expiredUploads: 0,
      files: 0,
      abandonedWrites: 0,
      chunks: 0,
      bytes: 0,
      writesInProgress: false,
    });
    expect(await rowCounts(coffer)).toEqual(before);
  });

  it('frees the file instance and chunks of a removed version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const old = await bucket.objects.put('a', bytes(10));
    const head = await bucket.objects.put('a', bytes(6, 3));
    await old.remove();

    const freed = await coffer.gc();

    expect(freed).toMatchObject({ files: 1, chunks: 3, bytes: 10, abandonedWrites: 0 });
    expect(await bytesOf(await head.blob())).toEqual(bytes(6, 3));
    expect((await rowCounts(coffer)).files).toBe(1);
  });

  it('keeps a file instance another version still shares', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const original = await bucket.objects.put('a', bytes(10));
    const copy = await original.copy(bucket, 'b');
    const twin = await bucket.objects.put('c', bytes(10));
    await original.remove();

    const freed = await coffer.gc({ graceMs: 0 });

    expect(freed.files).toBe(0);
    expect(await bytesOf(await copy.blob())).toEqual(bytes(10));
    expect(await bytesOf(await twin.blob())).toEqual(bytes(10));
  });

  it('frees the versions of a removed bucket', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', bytes(10));
    await bucket.objects.put('b', bytes(5, 9));
    await bucket.remove();

    const freed = await coffer.gc();

    expect(freed).toMatchObject({ files: 2, bytes: 15 });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('leaves an unfinished write alone while its heartbeat is recent', async ({ coffer }) => {
    await abandonWrite(coffer, bytes(10));

    const freed = await coffer.gc();

    expect(freed.abandonedWrites).toBe(0);
    expect(await chunkCount(coffer)).toBe(3);
  });

  it('reclaims a write whose heartbeat is older than the grace period', async ({ coffer }) => {
    await abandonWrite(coffer, bytes(10), Date.now() - 2 * 3600_000);

    const freed = await coffer.gc();

    expect(freed).toMatchObject({ files: 1, abandonedWrites: 1, chunks: 3, bytes: 10 });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('removes chunks that no file instance, part or upload accounts for', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const kept = await bucket.objects.put('a', bytes(10));
    await coffer.context.db.chunks.bulkPut([
      { dataId: 'lost', offset: 0, size: 4, data: bytes(4).buffer },
      { dataId: 'lost', offset: 4, size: 2, data: bytes(2).buffer },
    ]);

    const freed = await coffer.gc();

    expect(freed).toMatchObject({ files: 0, chunks: 2, bytes: 6 });
    expect(await bytesOf(await kept.blob())).toEqual(bytes(10));
  });

  it('keeps open uploads, their parts and a part being written', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const upload = await bucket.multipart.create('big', { size: 20, chunkSize: 8 });
    await upload.putPart(0, bytes(8));
    await coffer.context.db.chunks.put({
      dataId: `${upload.uploadId}:1:in-flight`,
      offset: 0,
      size: 4,
      data: bytes(4).buffer,
    });

    const freed = await coffer.gc({ graceMs: 0 });

    expect(freed).toMatchObject({ expiredUploads: 0, files: 0, chunks: 0 });
    expect(await upload.parts()).toHaveLength(1);
    expect((await bucket.reload()).size).toBe(20);
  });

  it('reclaims expired uploads with their parts and frees their reservation', async () => {
    const coffer = await freshCoffer({ chunkSize: 4, multipart: { ...smallMultipart, expiresAfter: 300 } });
    const bucket = await coffer.buckets.create();
    const upload = await bucket.multipart.create('big', { size: 20, chunkSize: 8 });
    await upload.putPart(0, bytes(8));
    await upload.putPart(2, bytes(4));
    await coffer.context.db.chunks.put({
      dataId: `${upload.uploadId}:1:in-flight`,
      offset: 0,
      size: 4,
      data: bytes(4).buffer,
    });
    await new Promise((resolve) => setTimeout(resolve, 320));

    const freed = await coffer.gc({ graceMs: 0 });

    expect(freed).toMatchObject({ expiredUploads: 1, files: 0, chunks: 4, bytes: 16 });
    expect((await bucket.reload()).size).toBe(0);
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
    expect(await coffer.context.db.parts.count()).toBe(0);
    await dispose(coffer);
  });

  it('keeps a completed upload’s bytes, now the version’s', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const upload = await bucket.multipart.create('big', { size: 20, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, bytes(20).slice(...upload.partRange(n)));
    const version = await upload.complete();

    const freed = await coffer.gc({ graceMs: 0 });

    expect(freed.chunks).toBe(0);
    expect(await bytesOf(await version.blob())).toEqual(bytes(20));
  });

  it('frees a completed upload’s bytes once its version is removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const upload = await bucket.multipart.create('big', { size: 20, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, bytes(20).slice(...upload.partRange(n)));
    const version = await upload.complete();
    await version.remove();

    const freed = await coffer.gc();

    expect(freed).toMatchObject({ files: 1, bytes: 20 });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('does not disturb a write that runs while it collects', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const old = await bucket.objects.put('x', bytes(5));
    await old.remove();
    const { source, release } = heldStream();
    const writing = bucket.objects.put('a', source);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const freed = await coffer.gc();
    release();
    const version = await writing;

    expect(freed).toMatchObject({ files: 1, abandonedWrites: 0 });
    expect(version.size).toBe(16);
    expect((await bytesOf(await version.blob())).slice(8)).toEqual(bytes(8, 8));
  });

  it('stops when its signal is aborted', async ({ coffer }) => {
    const controller = new AbortController();
    controller.abort();

    expect(await caught(() => coffer.gc({ signal: controller.signal }))).toBeInstanceOf(AbortError);
  });

  it('rejects a negative grace period', async ({ coffer }) => {
    expect(await caught(() => coffer.gc({ graceMs: -1 }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('leaves the stream’s bytes of an aborted put to nothing: it is already clean', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const error = await caught(() => bucket.objects.put('a', streamOf([bytes(9)], new Error('gone'))));

    const freed = await coffer.gc({ graceMs: 0 });

    expect(error.message).toMatch(/gone/);
    expect(freed).toMatchObject({ files: 0, chunks: 0 });
  });
});
