import {
  type Coffer,
  CofferError,
  IntegrityError,
  InvalidArgumentError,
  InvalidKeyError,
  InvalidTagError,
  MAX_KEY_LENGTH,
  MAX_TAG_LENGTH,
  NotFoundError,
} from '@coffer/core';
import { describe, expect } from 'vitest';
import {
  blob,
  bytes,
  caught,
  dispose,
  freshCoffer,
  itWithMultipart as it,
  rowCounts,
  streamOf,
} from '../helpers/coffer.js';

/** Everything a bad call could have changed. */
async function snapshotOf(coffer: Coffer) {
  const { db } = coffer.context;
  return {
    rows: await rowCounts(coffer),
    buckets: await db.buckets.toArray(),
    bucketTags: await db.bucketTags.count(),
    objectTags: await db.objectTags.count(),
    uploads: await db.multipartUploads.count(),
    parts: await db.parts.count(),
  };
}

/** Expect `call` to fail with `type` and to leave the coffer exactly as it was. */
async function expectRefused(
  coffer: Coffer,
  type: new (...args: never[]) => CofferError,
  call: () => Promise<unknown>,
) {
  const before = await snapshotOf(coffer);
  const error = await caught(call);
  expect(error).toBeInstanceOf(type);
  expect(await snapshotOf(coffer)).toEqual(before);
  return error;
}

const longest = 'k'.repeat(MAX_KEY_LENGTH);
const tooLong = 'k'.repeat(MAX_KEY_LENGTH + 1);

describe('keys', () => {
  it('accepts a key of exactly 255 characters, counting an emoji once', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put(longest, blob('x'));
    const emoji = await bucket.objects.put(`${'k'.repeat(MAX_KEY_LENGTH - 1)}🙂`, blob('y'));

    expect(v.key).toHaveLength(255);
    expect(emoji.size).toBe(1);
  });

  it.for([
    ['empty', ''],
    ['256 characters', tooLong],
    ['NUL', 'a\u0000b'],
    ['a number', 42],
    ['null', null],
    ['an object', { toString: () => 'a' }],
  ] as [string, unknown][])(
    'refuses a key that is %s everywhere a key is taken, changing nothing',
    async ([, bad], { coffer }) => {
      const key = bad as never;
      const bucket = await coffer.buckets.create();
      const existing = await bucket.objects.put('a', blob('a'));

      await expectRefused(coffer, InvalidKeyError, () => bucket.objects.put(key, blob('x')));
      await expectRefused(coffer, InvalidKeyError, () => bucket.objects.get(key));
      await expectRefused(coffer, InvalidKeyError, () => bucket.objects.delete(key));
      await expectRefused(coffer, InvalidKeyError, () => bucket.objects.versions(key));
      await expectRefused(coffer, InvalidKeyError, () => existing.copy(bucket, key));
      await expectRefused(coffer, InvalidKeyError, () =>
        bucket.multipart.create(key, { size: 10, chunkSize: 4 }),
      );
    },
  );
});

describe('tags', () => {
  it('accepts keys and values of 1 and 255 characters', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('a'), { tags: { [longest]: 'v' } });

    await bucket.setTag('k', 'v'.repeat(MAX_TAG_LENGTH));
    await v.setTag('x', 'y');

    expect(Object.keys(await v.tags())).toContain(longest);
    expect(await bucket.getTag('k')).toHaveLength(255);
  });

  it.for([
    ['an empty key', '', 'v'],
    ['a key of 256 characters', tooLong, 'v'],
    ['an empty value', 'k', ''],
    ['a value of 256 characters', 'k', 'v'.repeat(MAX_TAG_LENGTH + 1)],
    ['a value that is not a string', 'k', 7],
  ] as [string, string, unknown][])(
    'refuses %s on buckets, versions and writes, changing nothing',
    async ([, tagKey, bad], { coffer }) => {
      const tagValue = bad as never;
      const bucket = await coffer.buckets.create();
      const v = await bucket.objects.put('a', blob('a'));

      await expectRefused(coffer, InvalidTagError, () => bucket.setTag(tagKey, tagValue));
      await expectRefused(coffer, InvalidTagError, () => bucket.createTag(tagKey, tagValue));
      await expectRefused(coffer, InvalidTagError, () => v.setTag(tagKey, tagValue));
      await expectRefused(coffer, InvalidTagError, () =>
        bucket.objects.put('b', blob('b'), { tags: { [tagKey]: tagValue } }),
      );
    },
  );

  it('refuses tags that are not an object', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await expectRefused(coffer, InvalidTagError, () =>
      bucket.objects.put('b', blob('b'), { tags: 'x' as never }),
    );
    await expectRefused(coffer, InvalidTagError, () =>
      bucket.objects.put('b', blob('b'), { tags: null as never }),
    );
  });
});

describe('sizes', () => {
  it.for([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', 2 ** 53])(
    'refuses %s as a quota or maximum file size, changing nothing',
    async (value, { coffer }) => {
      const bucket = await coffer.buckets.create();

      await expectRefused(coffer, InvalidArgumentError, () =>
        coffer.buckets.create({ quotaSize: value as never }),
      );
      await expectRefused(coffer, InvalidArgumentError, () =>
        coffer.buckets.create({ maxFileSize: value as never }),
      );
      await expectRefused(coffer, InvalidArgumentError, () => bucket.update({ quotaSize: value as never }));
      if (value !== Number.POSITIVE_INFINITY) {
        await expectRefused(coffer, InvalidArgumentError, () =>
          bucket.objects.list({ limit: value as never }),
        );
      }
    },
  );

  it.for([-1, 1.5, Number.NaN, '10'])(
    'refuses %s as a multipart size or part size',
    async (value, { coffer }) => {
      const bucket = await coffer.buckets.create();

      await expectRefused(coffer, CofferError, () =>
        bucket.multipart.create('a', { size: value as never, chunkSize: 4 }),
      );
      await expectRefused(coffer, CofferError, () =>
        bucket.multipart.create('a', { size: 10, chunkSize: value as never }),
      );
    },
  );

  it('refuses a multipart upload without options', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await expectRefused(coffer, CofferError, () => bucket.multipart.create('a', undefined as never));
  });

  it('refuses non-finite ranges', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', bytes(8));

    await expectRefused(coffer, InvalidArgumentError, () => v.slice(Number.NaN, 3));
    await expectRefused(coffer, InvalidArgumentError, () => v.stream(0, Number.POSITIVE_INFINITY));
  });

  it.for([-5, 1.5, Number.NaN, 0, 256 * 1024 * 1024 + 1, 2 ** 40, Number.MAX_SAFE_INTEGER])(
    'refuses %s as a coffer chunk size at open',
    async (chunkSize) => {
      const error = await caught(() => freshCoffer({ chunkSize }));

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'chunkSize' });
    },
  );

  it.for([1, 256 * 1024 * 1024])(
    'accepts %s as a coffer chunk size and uses it as given',
    async (chunkSize) => {
      const coffer = await freshCoffer({ chunkSize, worker: false });
      try {
        expect(coffer.context.settings.chunkSize).toBe(chunkSize);
      } finally {
        await dispose(coffer);
      }
    },
  );
});

describe('sources', () => {
  it.for([
    ['a string', 'text'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['a plain object', { size: 3 }],
    ['an array', [1, 2, 3]],
  ] as [string, unknown][])('refuses %s as a source, changing nothing', async ([, bad], { coffer }) => {
    const source = bad as never;
    const bucket = await coffer.buckets.create();
    const upload = await bucket.multipart.create('m', { size: 10, chunkSize: 4 });

    await expectRefused(coffer, InvalidArgumentError, () => bucket.objects.put('a', source));
    await expectRefused(coffer, InvalidArgumentError, () => upload.putPart(0, source));
  });

  it('refuses a stream that delivers something other than bytes, and keeps nothing of it', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    const source = new ReadableStream<unknown>({
      start(controller) {
        controller.enqueue(new Uint8Array([1, 2, 3, 4, 5]));
        controller.enqueue('six');
        controller.close();
      },
    });

    await expectRefused(coffer, InvalidArgumentError, () => bucket.objects.put('a', source as never));
  });

  it('keeps the previous head when a stream fails midway', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('before'));
    const before = await snapshotOf(coffer);

    const error = await caught(() => bucket.objects.put('a', streamOf(['new ', 'bytes'], new Error('cut'))));

    expect(error.message).toMatch(/cut/);
    expect(await snapshotOf(coffer)).toEqual(before);
    expect(await (await (await bucket.objects.get('a'))!.blob()).text()).toBe('before');
  });
});

describe('corrupted rows', () => {
  it('reports a missing chunk as an integrity error, not as short bytes', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', bytes(10));
    await coffer.context.db.chunks.delete([v.fileId!, 4]);

    await expectRefused(coffer, IntegrityError, () => v.blob());
    await expectRefused(coffer, IntegrityError, () => v.slice(4, 6));
  });

  it('reports a version whose file instance is gone as not found', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', bytes(10));
    await coffer.context.db.files.delete(v.fileId!);

    await expectRefused(coffer, NotFoundError, () => v.blob());
    await expectRefused(coffer, NotFoundError, () => v.verifyChecksum());
  });

  it('detects a truncated chunk with a fixity check', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', bytes(10));
    const { db } = coffer.context;
    await db.chunks.put({ dataId: v.fileId!, offset: 4, size: 4, data: bytes(2).buffer });

    const result = await v.verifyChecksum();

    expect(result.ok).toBe(false);
    expect(await caught(() => v.blob())).toBeInstanceOf(IntegrityError);
  });

  it('refuses to reach a version of another bucket through a forged id', async ({ coffer }) => {
    const a = await coffer.buckets.create();
    const b = await coffer.buckets.create();
    const secret = await a.objects.put('k', blob('secret'));

    expect(await b.objects.get('k', { versionId: secret.versionId })).toBeUndefined();
    expect(await b.multipart.get('not-an-upload')).toBeUndefined();
  });
});
