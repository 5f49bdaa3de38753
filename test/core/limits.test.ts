import { FileSizeError } from '@coffer/core';
import { describe, expect } from 'vitest';
import { blob, bytes, caught, it, rowCounts, streamOf } from '../helpers/coffer.js';

/** A stream that records whether its consumer cancelled it. */
function watchedStream(pieces: string[]): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  const queue = pieces.map((p) => new TextEncoder().encode(p));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

describe('quota', () => {
  it('accepts any amount of bytes when the quota is null', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: null });

    await bucket.objects.put('a', bytes(1000));

    expect(bucket.size).toBe(1000);
  });

  it('accepts a file that fills the quota exactly', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });

    await bucket.objects.put('a', bytes(10));

    expect(bucket.size).toBe(10);
  });

  it('accepts a file under the quota', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });

    await bucket.objects.put('a', bytes(9));

    expect(bucket.size).toBe(9);
  });

  it('refuses a file one byte over the quota with the limit and the size', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });

    const error = await caught(() => bucket.objects.put('a', bytes(11)));

    expect(error).toBeInstanceOf(FileSizeError);
    expect(error).toMatchObject({
      code: 'BUCKET_QUOTA_EXCEEDED',
      bucketId: bucket.id,
      key: 'a',
      limit: 10,
      actual: 11,
    });
  });

  it('counts older versions of the same key against the quota', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 100 });
    await bucket.objects.put('a', bytes(75));

    const error = await caught(() => bucket.objects.put('a', bytes(75, 1)));

    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', limit: 25, actual: 75 });
    expect(await bucket.objects.versions('a')).toHaveLength(1);
  });

  it('counts what is left after earlier files', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });
    await bucket.objects.put('a', bytes(6));

    await bucket.objects.put('b', bytes(4));
    const error = await caught(() => bucket.objects.put('c', bytes(1)));

    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', limit: 0, actual: 1 });
  });

  it('lets nothing but an empty file into a bucket with a quota of 0', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 0 });

    const empty = await bucket.objects.put('empty', new Uint8Array());
    const error = await caught(() => bucket.objects.put('one', bytes(1)));

    expect(empty.size).toBe(0);
    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', limit: 0, actual: 1 });
  });

  it('frees nothing when a key is deleted: the hidden version still counts', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });
    await bucket.objects.put('a', bytes(8));
    await bucket.objects.delete('a');

    const error = await caught(() => bucket.objects.put('a', bytes(8)));

    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', limit: 2 });
  });

  it('frees the bytes of a version that is removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });
    const v1 = await bucket.objects.put('a', bytes(8));
    await v1.remove();
    await bucket.reload();

    const v2 = await bucket.objects.put('a', bytes(8, 3));

    expect(v2.size).toBe(8);
  });

  it('counts a deduplicated version in full even though it stores no new bytes', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });
    await bucket.objects.put('a', bytes(6));

    const error = await caught(() => bucket.objects.put('b', bytes(6)));

    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', limit: 4, actual: 6 });
  });

  it('counts a restore against the quota', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });
    const v1 = await bucket.objects.put('a', bytes(4));
    await bucket.objects.put('a', bytes(4, 9));

    const error = await caught(() => v1.restore());

    expect(error).toMatchObject({
      code: 'BUCKET_QUOTA_EXCEEDED',
      bucketId: bucket.id,
      key: 'a',
      limit: 2,
      actual: 4,
    });
    expect(await bucket.objects.versions('a')).toHaveLength(2);
  });

  it('counts a copy against the target bucket quota', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const target = await coffer.buckets.create({ quotaSize: 3 });
    const v = await source.objects.put('a', bytes(4));

    const error = await caught(() => v.copy(target, 'a'));

    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', bucketId: target.id, limit: 3, actual: 4 });
    expect(await target.objects.versions('a')).toEqual([]);
  });

  it('refuses a known-size source before any byte is written', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 4 });
    let progressCalls = 0;

    await caught(() => bucket.objects.put('a', blob('12345'), { onProgress: () => progressCalls++ }));

    expect(progressCalls).toBe(0);
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('stops a stream as soon as it passes the quota, and cancels it', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 5 });
    const source = watchedStream(['abc', 'def', 'ghi', 'jkl']);

    const error = await caught(() => bucket.objects.put('a', source.stream));

    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', key: 'a', limit: 5, actual: 8 });
    expect(source.cancelled()).toBe(true);
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('accepts a stream that fills the quota exactly', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 6 });

    const v = await bucket.objects.put('a', streamOf(['abc', 'def']));

    expect(v.size).toBe(6);
  });

  it('re-checks the quota at commit, so that of two concurrent writes that each fit only one lands', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });

    const results = await Promise.allSettled([
      bucket.objects.put('a', bytes(6)),
      bucket.objects.put('b', bytes(6, 100)),
    ]);

    const rejected = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'BUCKET_QUOTA_EXCEEDED',
      actual: 6,
    });
    expect((await bucket.reload()).size).toBe(6);
    expect(await rowCounts(coffer)).toMatchObject({ files: 1, objects: 1 });
  });

  it('re-checks the quota at commit when the quota shrank during the write', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 100 });
    const other = (await coffer.buckets.get(bucket.id))!;
    let shrunk: Promise<void> | undefined;

    const error = await caught(() =>
      bucket.objects.put('a', bytes(12), {
        onProgress: ({ loaded }) => {
          if (loaded === 4) shrunk = other.update({ quotaSize: 8 });
        },
      }),
    );
    await shrunk;

    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', limit: 8, actual: 12 });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });
});

describe('maximum file size', () => {
  it('accepts a file exactly at the maximum', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ maxFileSize: 8 });

    expect((await bucket.objects.put('a', bytes(8))).size).toBe(8);
  });

  it('accepts a file under the maximum', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ maxFileSize: 8 });

    expect((await bucket.objects.put('a', bytes(7))).size).toBe(7);
  });

  it('refuses a file one byte over the maximum', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ maxFileSize: 8 });

    const error = await caught(() => bucket.objects.put('a', bytes(9)));

    expect(error).toMatchObject({
      code: 'MAX_FILE_SIZE_EXCEEDED',
      bucketId: bucket.id,
      key: 'a',
      limit: 8,
      actual: 9,
    });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('applies to each file alone, not to versions together', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ maxFileSize: 8 });
    await bucket.objects.put('a', bytes(8));

    await bucket.objects.put('a', bytes(8, 1));

    expect(bucket.size).toBe(16);
  });

  it('lets only empty files into a bucket whose maximum is 0', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ maxFileSize: 0 });

    await bucket.objects.put('empty', blob(''));
    const error = await caught(() => bucket.objects.put('one', blob('1')));

    expect(error).toMatchObject({ code: 'MAX_FILE_SIZE_EXCEEDED', limit: 0, actual: 1 });
  });

  it('stops a stream that passes the maximum', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ maxFileSize: 4 });

    const error = await caught(() => bucket.objects.put('a', streamOf(['ab', 'cd', 'e'])));

    expect(error).toMatchObject({ code: 'MAX_FILE_SIZE_EXCEEDED', limit: 4, actual: 5 });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('reports the tighter of the quota left and the maximum', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 20, maxFileSize: 8 });
    await bucket.objects.put('a', bytes(8));
    await bucket.objects.put('b', bytes(8, 1));

    const quota = await caught(() => bucket.objects.put('c', bytes(6)));
    await bucket.update({ quotaSize: 100 });
    const max = await caught(() => bucket.objects.put('c', bytes(9)));

    expect(quota).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', limit: 4 });
    expect(max).toMatchObject({ code: 'MAX_FILE_SIZE_EXCEEDED', limit: 8 });
  });

  it('applies to a copy into the bucket', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const target = await coffer.buckets.create({ maxFileSize: 2 });
    const v = await source.objects.put('a', bytes(3));

    expect(await caught(() => v.copy(target))).toMatchObject({
      code: 'MAX_FILE_SIZE_EXCEEDED',
      limit: 2,
      actual: 3,
    });
  });
});

describe('bucket size', () => {
  it('grows by the size of each new version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.objects.put('a', bytes(3));
    await bucket.objects.put('a', bytes(5));
    await bucket.objects.put('b', bytes(7));

    expect(bucket.size).toBe(15);
    expect((await coffer.buckets.get(bucket.id))!.size).toBe(15);
  });

  it('adds nothing for an empty file', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.objects.put('a', new ArrayBuffer(0));

    expect(bucket.size).toBe(0);
  });

  it('counts each version of deduplicated content', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.objects.put('a', blob('same'));
    await bucket.objects.put('b', blob('same'));

    expect(bucket.size).toBe(8);
    expect((await rowCounts(coffer)).files).toBe(1);
  });

  it('stays the same when a delete marker is added', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', bytes(5));

    await bucket.objects.delete('a');

    expect(bucket.size).toBe(5);
  });

  it('drops by the size of a removed non-head version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', bytes(3));
    await bucket.objects.put('a', bytes(5));

    await v1.remove();

    expect((await bucket.reload()).size).toBe(5);
  });

  it('drops by the size of a removed head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', bytes(3));
    const v2 = await bucket.objects.put('a', bytes(5));

    await v2.remove();

    expect((await bucket.reload()).size).toBe(3);
  });

  it('does not change when a delete marker is removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', bytes(5));
    const marker = await bucket.objects.delete('a');

    await marker.remove();

    expect((await bucket.reload()).size).toBe(5);
  });

  it('returns to 0, never below, when every version is removed after a delete', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', bytes(5));
    const marker = await bucket.objects.delete('a');

    await v1.remove();
    await marker.remove();

    expect((await bucket.reload()).size).toBe(0);
  });

  it('grows by the file size on a restore and on a copy', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', bytes(3));
    await bucket.objects.put('a', bytes(5));

    await v1.restore();
    await v1.copy(bucket, 'b');

    expect((await bucket.reload()).size).toBe(3 + 5 + 3 + 3);
  });

  it('is unchanged in the source of a copy to another bucket', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const target = await coffer.buckets.create();
    const v = await source.objects.put('a', bytes(4));

    await v.copy(target);

    expect((await source.reload()).size).toBe(4);
    expect((await target.reload()).size).toBe(4);
  });

  it('is unchanged by a failed write', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 5 });
    await bucket.objects.put('a', bytes(3));

    await caught(() => bucket.objects.put('b', bytes(3)));

    expect((await bucket.reload()).size).toBe(3);
  });

  it('always equals the sum of the stored versions after a mix of operations', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a1 = await bucket.objects.put('a', bytes(3));
    await bucket.objects.put('a', bytes(4));
    await bucket.objects.put('b', bytes(5));
    await bucket.objects.delete('b');
    await a1.restore();
    const c = await a1.copy(bucket, 'c');
    await c.remove();
    await bucket.objects.put('d', blob('dup'));
    await bucket.objects.put('e', blob('dup'));

    const versions = await bucket.objects.list({ versions: true, withDeleted: true });

    expect((await bucket.reload()).size).toBe(versions.reduce((sum, v) => sum + v.size, 0));
  });
});
