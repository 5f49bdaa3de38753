import type { Bucket, Coffer, ObjectVersion } from '@coffer/core';
import { describe, expect } from 'vitest';
import { blob, bytes, caught, it, rowCounts, streamOf } from '../helpers/coffer.js';

const ALL = 'abcdefghijkl';

/** A Blob whose bytes from `failAt` on cannot be read, like a File deleted from disk mid-upload. */
class UnreadableTailBlob extends Blob {
  constructor(
    parts: BlobPart[],
    private readonly failAt: number,
  ) {
    super(parts);
  }

  override slice(start = 0, end = this.size): Blob {
    if (end <= this.failAt) return super.slice(start, end);
    const failure = new DOMException('The file could not be read.', 'NotReadableError');
    return new (class extends Blob {
      override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
        return new ReadableStream({ pull: (controller) => controller.error(failure) });
      }
      override arrayBuffer(): Promise<ArrayBuffer> {
        return Promise.reject(failure);
      }
    })([super.slice(start, end)]);
  }
}

/** A bucket with one version of `a.txt` ("first"), the state every failed write must leave. */
async function bucketWithHead(coffer: Coffer): Promise<{ bucket: Bucket; head: ObjectVersion }> {
  const bucket = await coffer.buckets.create();
  const head = await bucket.objects.put('a.txt', blob('first'));
  return { bucket, head };
}

/** Assert that `a.txt` still has exactly its first version as head and nothing else was stored. */
async function expectUnchanged(coffer: Coffer, bucket: Bucket, head: ObjectVersion): Promise<void> {
  const versions = await bucket.objects.versions('a.txt');
  expect(versions.map((v) => [v.versionId, v.isHead])).toEqual([[head.versionId, true]]);
  expect(await (await (await bucket.objects.get('a.txt'))!.blob()).text()).toBe('first');
  expect(await rowCounts(coffer)).toEqual({ files: 1, chunks: 2, objects: 1, heads: 1 });
  expect((await coffer.context.db.buckets.get(bucket.id))!.size).toBe(5);
}

describe('failed and aborted writes', () => {
  it('changes nothing when the signal is aborted before the write', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    const controller = new AbortController();
    controller.abort(new Error('user cancelled'));

    const error = await caught(() =>
      bucket.objects.put('a.txt', blob('second'), { signal: controller.signal }),
    );

    expect(error).toMatchObject({ code: 'ABORTED' });
    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing and removes the written chunks when aborted mid-write', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    const controller = new AbortController();
    const reason = new Error('user cancelled');

    const error = await caught(() =>
      bucket.objects.put('a.txt', bytes(20), {
        signal: controller.signal,
        onProgress: ({ loaded }) => loaded === 8 && controller.abort(reason),
      }),
    );

    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(error.cause).toBe(reason);
    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing when aborted after the last chunk, before the commit', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    const controller = new AbortController();

    const error = await caught(() =>
      bucket.objects.put('a.txt', bytes(8), {
        signal: controller.signal,
        onProgress: ({ loaded, total }) => loaded === total && controller.abort(),
      }),
    );

    expect(error).toMatchObject({ code: 'ABORTED' });
    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing when aborted in the middle of a stream', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    const controller = new AbortController();

    const error = await caught(() =>
      bucket.objects.put('a.txt', streamOf(['abcd', 'efgh', 'ijkl']), {
        signal: controller.signal,
        onProgress: ({ loaded }) => loaded === 4 && controller.abort(),
      }),
    );

    expect(error).toMatchObject({ code: 'ABORTED' });
    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing when the source stream throws, keeping its error as cause', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    const boom = new Error('network lost');

    const error = await caught(() => bucket.objects.put('a.txt', streamOf(['abcd', 'efgh', 'ij'], boom)));

    expect(error).toMatchObject({ code: 'STORAGE' });
    expect(error.cause).toBe(boom);
    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing when the source stream fails before its first byte', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    const boom = new Error('no connection');

    const error = await caught(() => bucket.objects.put('a.txt', streamOf([], boom)));

    expect(error.cause).toBe(boom);
    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing when a Blob cannot be read part-way', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);

    const error = await caught(() => bucket.objects.put('a.txt', new UnreadableTailBlob([ALL], 8)));

    expect(error).toMatchObject({
      code: 'STORAGE',
      cause: expect.objectContaining({ name: 'NotReadableError' }),
    });
    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing when the onProgress callback throws', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);

    await caught(() =>
      bucket.objects.put('a.txt', bytes(12), {
        onProgress: () => {
          throw new Error('observer failed');
        },
      }),
    );

    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing when the bucket is locked during the write', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    const other = (await coffer.buckets.get(bucket.id))!;
    let locking: Promise<void> | undefined;

    const error = await caught(() =>
      bucket.objects.put('a.txt', bytes(12), {
        onProgress: ({ loaded }) => {
          if (loaded === 4) locking = other.lock();
        },
      }),
    );
    await locking;

    expect(error).toMatchObject({ code: 'BUCKET_LOCKED', bucketId: bucket.id, key: 'a.txt' });
    await expectUnchanged(coffer, bucket, head);
  });

  it('changes nothing when the bucket is deleted during the write', async ({ coffer }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    const other = (await coffer.buckets.get(bucket.id))!;
    let deleting: Promise<void> | undefined;

    const error = await caught(() =>
      bucket.objects.put('a.txt', bytes(12), {
        onProgress: ({ loaded }) => {
          if (loaded === 4) deleting = other.delete();
        },
      }),
    );
    await deleting;

    expect(error).toMatchObject({ code: 'BUCKET_DELETED', bucketId: bucket.id });
    await expectUnchanged(coffer, bucket, head);
  });

  it('shows nothing of a write in progress: the old head stays head and the new file is unreadable', async ({
    coffer,
  }) => {
    const { bucket, head } = await bucketWithHead(coffer);
    let seen: Promise<unknown> | undefined;

    await bucket.objects.put('a.txt', bytes(12), {
      onProgress: ({ loaded }) => {
        if (loaded !== 8) return;
        seen = (async () => ({
          head: (await bucket.objects.get('a.txt'))?.versionId,
          versions: (await bucket.objects.versions('a.txt')).length,
          listed: (await bucket.objects.list({ versions: true, withDeleted: true })).length,
          pending: (await coffer.context.db.files.toArray())
            .filter((f) => f.id !== head.fileId)
            .map((f) => [f.readable, f.writable]),
        }))();
      },
    });

    expect(await seen).toEqual({ head: head.versionId, versions: 1, listed: 1, pending: [[0, 1]] });
  });

  it('keeps one head and every version when the same key is written concurrently', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const written = await Promise.all(['1', '22', '333'].map((t) => bucket.objects.put('k', blob(t))));

    const versions = await bucket.objects.versions('k');
    expect(versions).toHaveLength(3);
    expect(versions.filter((v) => v.isHead)).toHaveLength(1);
    expect(new Set(versions.map((v) => v.versionId))).toEqual(new Set(written.map((v) => v.versionId)));
    expect((await bucket.reload()).size).toBe(6);
  });
});

describe('a locked bucket refuses every write', () => {
  const locked = async (coffer: Coffer) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'), { tags: { k: 'v' } });
    const v2 = await bucket.objects.put('a', blob('two'));
    await bucket.lock();
    return { bucket, v1, v2 };
  };

  it('refuses put before writing any byte', async ({ coffer }) => {
    const { bucket } = await locked(coffer);

    const error = await caught(() => bucket.objects.put('b', blob('x')));

    expect(error).toMatchObject({ code: 'BUCKET_LOCKED', bucketId: bucket.id, key: 'b' });
    expect(await rowCounts(coffer)).toMatchObject({ files: 2, objects: 2 });
  });

  it('refuses delete', async ({ coffer }) => {
    const { bucket } = await locked(coffer);

    expect(await caught(() => bucket.objects.delete('a'))).toMatchObject({ code: 'BUCKET_LOCKED', key: 'a' });
    expect(await bucket.objects.get('a')).toBeDefined();
  });

  it('refuses removing a version', async ({ coffer }) => {
    const { bucket, v1 } = await locked(coffer);

    expect(await caught(() => v1.remove())).toMatchObject({ code: 'BUCKET_LOCKED', bucketId: bucket.id });
    expect(await bucket.objects.versions('a')).toHaveLength(2);
  });

  it('refuses restore', async ({ coffer }) => {
    const { bucket, v1 } = await locked(coffer);

    expect(await caught(() => v1.restore())).toMatchObject({ code: 'BUCKET_LOCKED' });
    expect(await bucket.objects.versions('a')).toHaveLength(2);
  });

  it('refuses a copy into it, but allows a copy out of it', async ({ coffer }) => {
    const { bucket, v2 } = await locked(coffer);
    const open = await coffer.buckets.create();
    const outside = await open.objects.put('x', blob('x'));

    const into = await caught(() => outside.copy(bucket, 'x'));
    const out = await v2.copy(open, 'a');

    expect(into).toMatchObject({ code: 'BUCKET_LOCKED', bucketId: bucket.id });
    expect(out.bucketId).toBe(open.id);
  });

  it('refuses version tags and bucket tags', async ({ coffer }) => {
    const { bucket, v1 } = await locked(coffer);

    expect(await caught(() => v1.setTag('k', 'w'))).toMatchObject({ code: 'BUCKET_LOCKED' });
    expect(await caught(() => v1.deleteTag('k'))).toMatchObject({ code: 'BUCKET_LOCKED' });
    expect(await caught(() => bucket.setTag('k', 'v'))).toMatchObject({ code: 'BUCKET_LOCKED' });
  });

  it('refuses being the destination of a sync, and remove', async ({ coffer }) => {
    const { bucket } = await locked(coffer);
    const source = await coffer.buckets.create();
    await source.objects.put('n', blob('n'));

    expect(await caught(() => source.sync(bucket))).toMatchObject({ code: 'BUCKET_LOCKED' });
    expect(await caught(() => bucket.remove())).toMatchObject({ code: 'BUCKET_LOCKED' });
  });

  it('can still be read, snapshotted and synced from', async ({ coffer }) => {
    const { bucket } = await locked(coffer);
    const dest = await coffer.buckets.create();

    const snapshot = await bucket.snapshot();
    const changes = await bucket.sync(dest);

    expect(await (await (await bucket.objects.get('a'))!.blob()).text()).toBe('two');
    expect((await snapshot.objects.list()).map((v) => v.key)).toEqual(['a']);
    expect(changes.map((c) => c.key)).toEqual(['a']);
  });
});

describe('a deleted bucket refuses every write', () => {
  const deleted = async (coffer: Coffer) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    await bucket.delete();
    return { bucket, v1 };
  };

  it('refuses put', async ({ coffer }) => {
    const { bucket } = await deleted(coffer);

    expect(await caught(() => bucket.objects.put('b', blob('x')))).toMatchObject({
      code: 'BUCKET_DELETED',
      bucketId: bucket.id,
    });
    expect((await rowCounts(coffer)).files).toBe(1);
  });

  it('refuses delete, remove, restore and copy into it', async ({ coffer }) => {
    const { bucket, v1 } = await deleted(coffer);
    const other = await coffer.buckets.create();
    const outside = await other.objects.put('x', blob('x'));

    const errors = [
      await caught(() => bucket.objects.delete('a')),
      await caught(() => v1.remove()),
      await caught(() => v1.copy()),
      await caught(() => outside.copy(bucket, 'x')),
    ];

    expect(errors.map((e) => e.code)).toEqual(Array(4).fill('BUCKET_DELETED'));
    expect((await rowCounts(coffer)).objects).toBe(2);
  });
});

describe('keys', () => {
  it('stores and reads back a key of exactly 255 characters', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const key = 'k'.repeat(255);

    await bucket.objects.put(key, blob('x'));

    expect((await bucket.objects.get(key))?.key).toBe(key);
  });

  it('stores unicode keys and keys with path separators', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.objects.put('données/été 2024/😀.txt', blob('x'));

    expect((await bucket.objects.list()).map((v) => v.key)).toEqual(['données/été 2024/😀.txt']);
  });

  it.for([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['with NUL', 'a\0b'],
  ])('refuses a put with a key that is %s and stores nothing', async ([, key], { coffer }) => {
    const bucket = await coffer.buckets.create();

    const error = await caught(() => bucket.objects.put(key!, blob('x')));

    expect(error).toMatchObject({ code: 'INVALID_KEY' });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('refuses invalid keys in get, versions and delete', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const errors = [
      await caught(() => bucket.objects.get('a\0')),
      await caught(() => bucket.objects.versions('')),
      await caught(() => bucket.objects.delete('x'.repeat(300))),
    ];

    expect(errors.map((e) => e.code)).toEqual(['INVALID_KEY', 'INVALID_KEY', 'INVALID_KEY']);
  });
});
