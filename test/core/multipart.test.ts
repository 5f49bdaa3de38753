import {
  type Bucket,
  BucketLockedError,
  BucketQuotaExceededError,
  IntegrityError,
  InvalidArgumentError,
  InvalidKeyError,
  MaxFileSizeExceededError,
  MultipartAlreadyCompletedError,
  MultipartInvalidChunkSizeError,
  MultipartInvalidPartNumberError,
  MultipartInvalidSizeError,
  MultipartMissingPartsError,
  NotFoundError,
  openCoffer,
} from '@coffer/core';
import { createMD5 } from 'hash-wasm';
import { describe, expect } from 'vitest';
import {
  bytes,
  bytesOf,
  caught,
  dispose,
  freshCoffer,
  itWith,
  rowCounts,
  smallMultipart,
  streamOf,
} from '../helpers/coffer.js';

const it = itWith({ chunkSize: 3, inlineBelow: 0, multipart: smallMultipart }).extend<{ bucket: Bucket }>({
  bucket: async ({ coffer }, use) => {
    await use(await coffer.buckets.create());
  },
});

const md5 = async (data: Uint8Array): Promise<string> => {
  const hasher = await createMD5();
  hasher.update(data);
  return `md5:${hasher.digest('hex')}`;
};

const data = bytes(21, 7);

describe('multipart.create', () => {
  it('reserves the size in the bucket and describes the parts', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });

    expect(upload).toMatchObject({
      key: 'big.bin',
      size: 21,
      chunkSize: 8,
      partCount: 3,
      lastPartNumber: 2,
      completed: false,
    });
    expect(upload.partRange(2)).toEqual([16, 21]);
    expect(bucket.size).toBe(21);
    expect((await bucket.reload()).size).toBe(21);
  });

  it('rejects part sizes outside the limits, and sizes not above the smallest part or needing too many parts', async ({
    bucket,
  }) => {
    expect(await caught(() => bucket.multipart.create('a', { size: 21, chunkSize: 3 }))).toBeInstanceOf(
      MultipartInvalidChunkSizeError,
    );
    expect(await caught(() => bucket.multipart.create('a', { size: 21, chunkSize: 65 }))).toBeInstanceOf(
      MultipartInvalidChunkSizeError,
    );
    expect(await caught(() => bucket.multipart.create('a', { size: 21, chunkSize: 4.5 }))).toBeInstanceOf(
      MultipartInvalidChunkSizeError,
    );
    expect(await caught(() => bucket.multipart.create('a', { size: 4, chunkSize: 4 }))).toBeInstanceOf(
      MultipartInvalidSizeError,
    );
    expect(await caught(() => bucket.multipart.create('a', { size: 41, chunkSize: 4 }))).toBeInstanceOf(
      MultipartInvalidSizeError,
    );
    expect(await caught(() => bucket.multipart.create('a', { size: -5, chunkSize: 4 }))).toBeInstanceOf(
      MultipartInvalidSizeError,
    );
    expect(await caught(() => bucket.multipart.create('a', { size: 20.5, chunkSize: 4 }))).toBeInstanceOf(
      MultipartInvalidSizeError,
    );
    expect(await caught(() => bucket.multipart.create('', { size: 21, chunkSize: 4 }))).toBeInstanceOf(
      InvalidKeyError,
    );
    expect((await bucket.reload()).size).toBe(0);
    expect(await bucket.multipart.list()).toEqual([]);
  });

  it('accepts exactly the largest size the part limit allows', async ({ bucket }) => {
    const upload = await bucket.multipart.create('a', { size: 40, chunkSize: 4 });

    expect(upload.partCount).toBe(10);
  });

  it('refuses a size over the quota or the maximum file size, and a locked bucket', async ({ coffer }) => {
    const quota = await coffer.buckets.create({ quotaSize: 20 });
    const small = await coffer.buckets.create({ maxFileSize: 10 });
    const locked = await coffer.buckets.create({ locked: true });

    expect(await caught(() => quota.multipart.create('a', { size: 21, chunkSize: 8 }))).toBeInstanceOf(
      BucketQuotaExceededError,
    );
    expect(await caught(() => small.multipart.create('a', { size: 11, chunkSize: 8 }))).toBeInstanceOf(
      MaxFileSizeExceededError,
    );
    expect(await caught(() => locked.multipart.create('a', { size: 11, chunkSize: 8 }))).toBeInstanceOf(
      BucketLockedError,
    );
    expect((await quota.reload()).size).toBe(0);
  });

  it('counts open reservations against the quota', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 30 });
    await bucket.multipart.create('a', { size: 20, chunkSize: 8 });

    const error = await caught(() => bucket.multipart.create('b', { size: 11, chunkSize: 8 }));

    expect(error).toBeInstanceOf(BucketQuotaExceededError);
    expect(await caught(() => bucket.objects.put('c', bytes(11)))).toBeInstanceOf(BucketQuotaExceededError);
  });
});

describe('putPart', () => {
  it('stores parts in any order and returns each part’s md5', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });

    const p2 = await upload.putPart(2, data.slice(16));
    const p0 = await upload.putPart(0, new Blob([data.slice(0, 8)]));
    const p1 = await upload.putPart(1, streamOf([data.slice(8, 11), data.slice(11, 16)]));

    expect(p2).toMatchObject({ partNumber: 2, size: 5, checksum: await md5(data.slice(16)) });
    expect(p0.checksum).toBe(await md5(data.slice(0, 8)));
    expect(p1.checksum).toBe(await md5(data.slice(8, 16)));
    expect((await upload.parts()).map((p) => [p.partNumber, p.size])).toEqual([
      [0, 8],
      [1, 8],
      [2, 5],
    ]);
  });

  it('replaces a part that is put again and drops the old bytes', async ({ coffer, bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    await upload.putPart(0, bytes(8, 100));
    const chunksBefore = (await rowCounts(coffer)).chunks;

    const again = await upload.putPart(0, data.slice(0, 8));

    expect(again.checksum).toBe(await md5(data.slice(0, 8)));
    expect(await upload.parts()).toHaveLength(1);
    expect((await rowCounts(coffer)).chunks).toBe(chunksBefore);
  });

  it('keeps the previous part when a re-put fails', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    const first = await upload.putPart(0, data.slice(0, 8));

    const error = await caught(() => upload.putPart(0, streamOf([bytes(5)], new Error('network down'))));

    expect(error.message).toMatch(/network down/);
    expect((await upload.parts())[0]?.checksum).toBe(first.checksum);
  });

  it('checks the part size against the real byte range, the last part of an even size included', async ({
    bucket,
  }) => {
    const upload = await bucket.multipart.create('even.bin', { size: 16, chunkSize: 8 });

    expect(await caught(() => upload.putPart(0, bytes(7)))).toBeInstanceOf(MultipartInvalidChunkSizeError);
    expect(await caught(() => upload.putPart(0, bytes(9)))).toBeInstanceOf(MultipartInvalidChunkSizeError);
    expect(await caught(() => upload.putPart(1, streamOf([bytes(9)])))).toBeInstanceOf(
      MultipartInvalidChunkSizeError,
    );
    expect(await caught(() => upload.putPart(1, streamOf([bytes(2)])))).toBeInstanceOf(
      MultipartInvalidChunkSizeError,
    );
    expect(await upload.putPart(1, bytes(8))).toMatchObject({ partNumber: 1, size: 8 });
  });

  it('rejects part numbers outside 0 to the last part', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });

    for (const n of [-1, 3, 1.5, Number.NaN]) {
      expect(await caught(() => upload.putPart(n, bytes(8)))).toBeInstanceOf(MultipartInvalidPartNumberError);
    }
  });

  it('rejects sources of the wrong type', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });

    const error = await caught(() => upload.putPart(0, 'eight by' as never));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(await upload.parts()).toEqual([]);
  });

  it('verifies a given md5 and stores nothing on a mismatch', async ({ coffer, bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    const before = (await rowCounts(coffer)).chunks;

    const error = await caught(() =>
      upload.putPart(0, data.slice(0, 8), { checksum: `md5:${'0'.repeat(32)}` }),
    );
    const ok = await upload.putPart(0, data.slice(0, 8), { checksum: await md5(data.slice(0, 8)) });

    expect(error).toBeInstanceOf(IntegrityError);
    expect(ok.partNumber).toBe(0);
    expect((await rowCounts(coffer)).chunks).toBe(before + 3);
  });

  it('pushes the expiry back with every part', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    const expires = upload.expires.getTime();
    await new Promise((resolve) => setTimeout(resolve, 5));

    await upload.putPart(0, data.slice(0, 8));

    expect(upload.expires.getTime()).toBeGreaterThan(expires);
    expect((await upload.reload()).expires.getTime()).toBe(upload.expires.getTime());
  });
});

describe('complete', () => {
  it('makes the parts a new head version with the whole file’s md5, without copying bytes', async ({
    coffer,
    bucket,
  }) => {
    await bucket.objects.put('big.bin', bytes(3));
    const upload = await bucket.multipart.create('big.bin', {
      size: 21,
      chunkSize: 8,
      mimetype: 'image/tiff',
    });
    await upload.putPart(1, data.slice(8, 16));
    await upload.putPart(0, data.slice(0, 8));
    await upload.putPart(2, data.slice(16));
    const chunksBefore = (await rowCounts(coffer)).chunks;

    const version = await upload.complete();

    expect(version).toMatchObject({ key: 'big.bin', size: 21, isHead: true, checksum: await md5(data) });
    expect(version.mimetype).toBe('image/tiff');
    expect(await bytesOf(await version.blob())).toEqual(data);
    expect(await bytesOf(await version.slice(6, 18))).toEqual(data.slice(6, 18));
    expect((await rowCounts(coffer)).chunks).toBe(chunksBefore);
    expect((await bucket.objects.versions('big.bin')).filter((v) => v.isHead)).toHaveLength(1);
    expect(await version.file()).toMatchObject({ readable: true, writable: false, size: 21 });
  });

  it('turns the reservation into the version’s size and forgets the upload', async ({ coffer, bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, data.slice(...upload.partRange(n)));

    await upload.complete();

    expect(bucket.size).toBe(21);
    expect((await bucket.reload()).size).toBe(21);
    expect(await bucket.multipart.get(upload.uploadId)).toBeUndefined();
    expect(await coffer.context.db.parts.count()).toBe(0);
  });

  it('fits a bucket whose quota the reservation filled exactly', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 21 });
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, data.slice(...upload.partRange(n)));

    const version = await upload.complete();

    expect(version.size).toBe(21);
    expect((await bucket.reload()).size).toBe(21);
  });

  it('refuses to complete with a missing part and changes nothing', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    await upload.putPart(0, data.slice(0, 8));
    await upload.putPart(2, data.slice(16));

    const error = await caught(() => upload.complete());

    expect(error).toBeInstanceOf(MultipartMissingPartsError);
    expect(error.expected).toEqual([1]);
    expect((await upload.reload()).completed).toBe(false);
    expect(await bucket.objects.get('big.bin')).toBeUndefined();
    await upload.putPart(1, data.slice(8, 16));
    expect((await upload.complete()).size).toBe(21);
  });

  it('refuses a second complete and parts after completion', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, data.slice(...upload.partRange(n)));
    await upload.complete();

    const second = await caught(() => upload.complete());
    const part = await caught(() => upload.putPart(0, data.slice(0, 8)));

    expect(second).toBeInstanceOf(MultipartAlreadyCompletedError);
    expect(part).toBeInstanceOf(MultipartAlreadyCompletedError);
  });

  it('lets only one of two concurrent completes win', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, data.slice(...upload.partRange(n)));
    const twin = await bucket.multipart.get(upload.uploadId);

    const results = await Promise.allSettled([upload.complete(), twin!.complete()]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failure = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(MultipartAlreadyCompletedError);
    expect(await bucket.objects.versions('big.bin')).toHaveLength(1);
    expect((await bucket.reload()).size).toBe(21);
  });

  it('refuses parts and abort while a complete is under way', async ({ coffer, bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, data.slice(...upload.partRange(n)));
    await coffer.context.db.multipartUploads.update(upload.uploadId, { completed: 1 });

    expect(await caught(() => upload.putPart(0, data.slice(0, 8)))).toBeInstanceOf(
      MultipartAlreadyCompletedError,
    );
    expect(await caught(() => upload.abort())).toBeInstanceOf(MultipartAlreadyCompletedError);
  });

  it('checks the lock, and completes once unlocked', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, data.slice(...upload.partRange(n)));
    await bucket.lock();

    const error = await caught(() => upload.complete());
    await bucket.unlock();
    const version = await upload.complete();

    expect(error).toBeInstanceOf(BucketLockedError);
    expect(version.size).toBe(21);
  });

  it('stays open when the complete is aborted', async ({ bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, data.slice(...upload.partRange(n)));
    const controller = new AbortController();
    controller.abort();

    const error = await caught(() => upload.complete({ signal: controller.signal }));

    expect(error).toMatchObject({ code: 'ABORTED' });
    expect((await upload.reload()).completed).toBe(false);
    await upload.putPart(2, data.slice(16));
    expect((await upload.complete()).checksum).toBe(await md5(data));
  });

  it('resumes a merge interrupted after the parts were assembled', async ({ coffer, bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, data.slice(...upload.partRange(n)));
    const { MultipartStore } = await import('../../packages/core/src/storage/multipart-store.js');
    await new MultipartStore(coffer.context.db, coffer.context.store).beginComplete(upload.uploadId);

    const resumed = await (await bucket.multipart.get(upload.uploadId))!.complete();

    expect(resumed.checksum).toBe(await md5(data));
  });
});

describe('abort', () => {
  it('frees the reservation and deletes the parts and their bytes', async ({ coffer, bucket }) => {
    const before = await rowCounts(coffer);
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    await upload.putPart(0, data.slice(0, 8));
    await upload.putPart(2, data.slice(16));

    await upload.abort();

    expect(bucket.size).toBe(0);
    expect((await bucket.reload()).size).toBe(0);
    expect(await rowCounts(coffer)).toEqual(before);
    expect(await coffer.context.db.parts.count()).toBe(0);
    expect(await caught(() => upload.abort())).toBeInstanceOf(NotFoundError);
  });
});

describe('list and get', () => {
  it('finds open uploads again after the coffer is reopened', async ({ coffer, bucket }) => {
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    await upload.putPart(1, data.slice(8, 16));
    coffer.close();

    const reopened = await openCoffer({
      name: coffer.name,
      chunkSize: 3,
      inlineBelow: 0,
      multipart: smallMultipart,
    });
    const again = await reopened.buckets.get(bucket.id);
    const listed = await again!.multipart.list();
    const resumed = await again!.multipart.get(upload.uploadId);
    await resumed!.putPart(0, data.slice(0, 8));
    await resumed!.putPart(2, data.slice(16));
    const version = await resumed!.complete();

    expect(listed.map((u) => u.uploadId)).toEqual([upload.uploadId]);
    expect(await bytesOf(await version.blob())).toEqual(data);
    reopened.close();
  });

  it('does not show another bucket’s upload', async ({ coffer, bucket }) => {
    const other = await coffer.buckets.create();
    const upload = await other.multipart.create('big.bin', { size: 21, chunkSize: 8 });

    expect(await bucket.multipart.get(upload.uploadId)).toBeUndefined();
    expect(await bucket.multipart.list()).toEqual([]);
  });

  it('hides expired uploads and refuses their parts', async () => {
    const coffer = await freshCoffer({ chunkSize: 3, multipart: { ...smallMultipart, expiresAfter: 1 } });
    const bucket = await coffer.buckets.create();
    const upload = await bucket.multipart.create('big.bin', { size: 21, chunkSize: 8 });
    await new Promise((resolve) => setTimeout(resolve, 5));

    expect(await bucket.multipart.list()).toEqual([]);
    expect(await bucket.multipart.get(upload.uploadId)).toBeUndefined();
    expect(await caught(() => upload.putPart(0, data.slice(0, 8)))).toBeInstanceOf(NotFoundError);
    await dispose(coffer);
  });
});

describe('limits', () => {
  it('defaults to invenio’s limits and refuses invalid ones at open', async () => {
    const coffer = await freshCoffer();
    const bucket = await coffer.buckets.create();

    expect(
      await caught(() => bucket.multipart.create('a', { size: 6 * 2 ** 20, chunkSize: 2 ** 20 })),
    ).toBeInstanceOf(MultipartInvalidChunkSizeError);
    expect(coffer.context.settings.multipart).toEqual({
      minChunkSize: 5 * 2 ** 20,
      maxChunkSize: 5 * 2 ** 30,
      maxParts: 10_000,
      expiresAfter: 4 * 24 * 3600 * 1000,
    });
    await dispose(coffer);
    expect(
      await caught(() => openCoffer({ name: `bad-${crypto.randomUUID()}`, multipart: { minChunkSize: 0 } })),
    ).toBeInstanceOf(InvalidArgumentError);
  });
});
