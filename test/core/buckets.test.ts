import { InvalidOperationError } from '@coffer/core';
import { describe, expect } from 'vitest';
import { blob, caught, it, rowCounts } from '../helpers/coffer.js';

describe('buckets.create', () => {
  it('creates an empty, unlimited, unlocked bucket in the default location', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    expect(bucket).toMatchObject({
      size: 0,
      quotaSize: null,
      maxFileSize: null,
      locked: false,
      deleted: false,
      location: 'idb',
      storageClass: 'S',
    });
    expect(bucket.created).toBeInstanceOf(Date);
  });

  it('creates a bucket with the given limits and lock', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 100, maxFileSize: 10, locked: true });

    const stored = await coffer.buckets.get(bucket.id);

    expect(stored).toMatchObject({ quotaSize: 100, maxFileSize: 10, locked: true });
  });

  it.for([
    ['quotaSize', -1],
    ['maxFileSize', 1.5],
    ['quotaSize', Number.NaN],
  ] as const)('rejects %s = %s and creates nothing', async ([option, value], { coffer }) => {
    const error = await caught(() => coffer.buckets.create({ [option]: value }));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: option });
    expect(await coffer.buckets.list()).toEqual([]);
  });

  it('gives each bucket its own id', async ({ coffer }) => {
    const one = await coffer.buckets.create();
    const two = await coffer.buckets.create();

    expect(one.id).not.toBe(two.id);
  });
});

describe('buckets.get and buckets.list', () => {
  it('returns undefined for an unknown id', async ({ coffer }) => {
    expect(await coffer.buckets.get('nope')).toBeUndefined();
  });

  it('hides a deleted bucket from get and list', async ({ coffer }) => {
    const kept = await coffer.buckets.create();
    const gone = await coffer.buckets.create();

    await gone.delete();

    expect(await coffer.buckets.get(gone.id)).toBeUndefined();
    expect((await coffer.buckets.list()).map((b) => b.id)).toEqual([kept.id]);
  });
});

describe('bucket.update', () => {
  it('changes the quota and the maximum file size', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.update({ quotaSize: 50, maxFileSize: 5 });

    expect(bucket).toMatchObject({ quotaSize: 50, maxFileSize: 5 });
    expect(await coffer.buckets.get(bucket.id)).toMatchObject({ quotaSize: 50, maxFileSize: 5 });
  });

  it('makes a limit unlimited again with null, leaving the other alone', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 50, maxFileSize: 5 });

    await bucket.update({ quotaSize: null });

    expect(await coffer.buckets.get(bucket.id)).toMatchObject({ quotaSize: null, maxFileSize: 5 });
  });

  it('accepts a quota below the current size, refusing only further writes', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('12345'));

    await bucket.update({ quotaSize: 2 });

    expect(bucket).toMatchObject({ quotaSize: 2, size: 5 });
    expect(await caught(() => bucket.objects.put('b', blob('1')))).toMatchObject({
      code: 'BUCKET_QUOTA_EXCEEDED',
    });
  });

  it('rejects an invalid limit and keeps the old one', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });

    const error = await caught(() => bucket.update({ quotaSize: -5 }));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'quotaSize', actual: -5 });
    expect(await coffer.buckets.get(bucket.id)).toMatchObject({ quotaSize: 10 });
  });
});

describe('bucket.lock and unlock', () => {
  it('stores the lock and lifts it', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.lock();
    const locked = (await coffer.buckets.get(bucket.id))!.locked;
    await bucket.unlock();

    expect(locked).toBe(true);
    expect((await coffer.buckets.get(bucket.id))!.locked).toBe(false);
  });

  it('accepts writes again once unlocked', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ locked: true });

    await bucket.unlock();

    expect(await bucket.objects.put('a', blob('x'))).toMatchObject({ key: 'a' });
  });
});

describe('bucket.delete', () => {
  it('soft-deletes: the row and its objects stay in the database', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('x'));

    await bucket.delete();

    expect(bucket.deleted).toBe(true);
    expect(await coffer.context.db.buckets.get(bucket.id)).toMatchObject({ deleted: 1 });
    expect((await rowCounts(coffer)).objects).toBe(1);
  });

  it('makes reload fail with NOT_FOUND', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.delete();

    expect(await caught(() => bucket.reload())).toMatchObject({
      code: 'NOT_FOUND',
      resource: 'bucket',
      bucketId: bucket.id,
    });
  });
});

describe('bucket.remove', () => {
  it('removes the bucket, every version, marker, head and tag, keeping file instances for gc', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    await bucket.setTag('owner', 'me');
    await bucket.objects.put('a', blob('x'), { tags: { k: 'v' } });
    await bucket.objects.put('a', blob('y'));
    await bucket.objects.put('b', blob('z'));
    await bucket.objects.delete('b');

    await bucket.remove();

    const { db } = coffer.context;
    expect(await db.buckets.get(bucket.id)).toBeUndefined();
    expect(await rowCounts(coffer)).toMatchObject({ objects: 0, heads: 0, files: 3 });
    expect(await db.objectTags.count()).toBe(0);
    expect(await db.bucketTags.count()).toBe(0);
  });

  it('leaves other buckets untouched', async ({ coffer }) => {
    const gone = await coffer.buckets.create();
    const kept = await coffer.buckets.create();
    await gone.objects.put('a', blob('x'));
    await kept.objects.put('a', blob('y'), { tags: { k: 'v' } });
    await kept.setTag('k', 'v');

    await gone.remove();

    expect(await (await (await kept.objects.get('a'))!.blob()).text()).toBe('y');
    expect(await kept.tags()).toEqual({ k: 'v' });
    expect(await (await kept.objects.get('a'))!.tags()).toEqual({ k: 'v' });
  });

  it('removes a soft-deleted bucket too', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.delete();

    await bucket.remove();

    expect(await coffer.context.db.buckets.get(bucket.id)).toBeUndefined();
  });

  it('refuses to remove a locked bucket and keeps everything', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('x'));
    await bucket.lock();

    const error = await caught(() => bucket.remove());

    expect(error).toMatchObject({ code: 'BUCKET_LOCKED', bucketId: bucket.id });
    expect((await rowCounts(coffer)).objects).toBe(1);
  });

  it('fails with NOT_FOUND for a bucket already removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.remove();

    expect(await caught(() => bucket.remove())).toMatchObject({ code: 'NOT_FOUND', bucketId: bucket.id });
  });
});

describe('bucket.snapshot', () => {
  it('copies every live head into a new bucket, sharing the file instances', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a = await bucket.objects.put('a', blob('aaa'));
    const b = await bucket.objects.put('b', blob('bb'));

    const snapshot = await bucket.snapshot();

    const heads = await snapshot.objects.list();
    expect(snapshot.id).not.toBe(bucket.id);
    expect(heads.map((v) => [v.key, v.fileId, v.isHead])).toEqual([
      ['a', a.fileId, true],
      ['b', b.fileId, true],
    ]);
    expect(heads.map((v) => v.versionId)).not.toContain(a.versionId);
    expect((await rowCounts(coffer)).files).toBe(2);
  });

  it('copies neither history nor deleted keys', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('1'));
    await bucket.objects.put('a', blob('22'));
    await bucket.objects.put('gone', blob('x'));
    await bucket.objects.delete('gone');

    const snapshot = await bucket.snapshot();

    const all = await snapshot.objects.list({ versions: true, withDeleted: true });
    expect(all.map((v) => [v.key, v.size])).toEqual([['a', 2]]);
  });

  it('has the size of the copied heads only', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('1'));
    await bucket.objects.put('a', blob('22'));
    await bucket.objects.put('b', blob('333'));

    const snapshot = await bucket.snapshot();

    expect(bucket.size).toBe(6);
    expect(snapshot.size).toBe(5);
    expect((await coffer.buckets.get(snapshot.id))!.size).toBe(5);
  });

  it('copies the tags of each head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('1'), { tags: { k: 'v' } });

    const snapshot = await bucket.snapshot();

    expect(await (await snapshot.objects.get('a'))!.tags()).toEqual({ k: 'v' });
  });

  it('copies the location, storage class, quota and maximum file size', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 100, maxFileSize: 10 });

    const snapshot = await bucket.snapshot();

    expect(snapshot).toMatchObject({ location: 'idb', storageClass: 'S', quotaSize: 100, maxFileSize: 10 });
  });

  it('is unlocked by default and locked when asked', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('1'));

    const open = await bucket.snapshot();
    const frozen = await bucket.snapshot({ lock: true });

    expect(open.locked).toBe(false);
    expect(frozen.locked).toBe(true);
    expect((await coffer.buckets.get(frozen.id))!.locked).toBe(true);
    expect(await frozen.objects.get('a')).toBeDefined();
  });

  it('is locked when the source is locked, which stays as it was', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('1'));
    await bucket.lock();

    const snapshot = await bucket.snapshot();

    expect(snapshot.locked).toBe(true);
    expect(await snapshot.objects.get('a')).toBeDefined();
    expect((await coffer.buckets.get(bucket.id))!.locked).toBe(true);
  });

  it('does not follow later writes to the source', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('old'));
    const snapshot = await bucket.snapshot();

    await bucket.objects.put('a', blob('new'));
    await bucket.objects.put('b', blob('b'));

    expect((await snapshot.objects.list()).map((v) => v.key)).toEqual(['a']);
    expect(await (await (await snapshot.objects.get('a'))!.blob()).text()).toBe('old');
  });

  it('copies every head even when the source holds more than its lowered quota', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('aaaa'));
    await bucket.objects.put('b', blob('bbbb'));
    await bucket.update({ quotaSize: 5, maxFileSize: 2 });

    const snapshot = await bucket.snapshot();

    expect((await snapshot.objects.list()).map((v) => v.key)).toEqual(['a', 'b']);
    expect(snapshot).toMatchObject({ size: 8, quotaSize: 5, maxFileSize: 2 });
  });

  it('snapshots an empty bucket as an empty bucket', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const snapshot = await bucket.snapshot();

    expect(snapshot.size).toBe(0);
    expect(await snapshot.objects.list()).toEqual([]);
  });

  it('refuses to snapshot a deleted bucket and creates no bucket', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.delete();

    const error = await caught(() => bucket.snapshot());

    expect(error).toBeInstanceOf(InvalidOperationError);
    expect(error).toMatchObject({ code: 'BUCKET_DELETED', bucketId: bucket.id });
    expect(await coffer.context.db.buckets.count()).toBe(1);
  });
});

describe('bucket.sync', () => {
  it('adds the keys the destination lacks, sharing file instances', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    const a = await source.objects.put('a', blob('aaa'));

    const changes = await source.sync(dest);

    const copied = await dest.objects.get('a');
    expect(copied).toMatchObject({ fileId: a.fileId, key: 'a' });
    expect(changes).toEqual([
      { type: 'add', key: 'a', version: expect.objectContaining({ versionId: copied!.versionId }) },
    ]);
  });

  it('adds a new version where the file differs', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    const old = await dest.objects.put('a', blob('old'));
    const fresh = await source.objects.put('a', blob('new'));

    const changes = await source.sync(dest);

    expect(changes.map((c) => [c.type, c.key])).toEqual([['add', 'a']]);
    expect((await dest.objects.versions('a')).map((v) => v.fileId)).toEqual([fresh.fileId, old.fileId]);
  });

  it('changes nothing where the destination head has the same file', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('a'));
    await source.sync(dest);

    const changes = await source.sync(dest);

    expect(changes).toEqual([]);
    expect(await dest.objects.versions('a')).toHaveLength(1);
  });

  it('deletes in the destination a key the source deleted', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('a'));
    await source.sync(dest);
    await source.objects.delete('a');

    const changes = await source.sync(dest);

    expect(changes).toEqual([{ type: 'delete', key: 'a' }]);
    expect(await dest.objects.get('a')).toBeUndefined();
    expect((await dest.objects.versions('a'))[0]!.isDeleteMarker).toBe(true);
  });

  it('ignores a key deleted in the source that the destination never had or already deleted', async ({
    coffer,
  }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('a'));
    await source.objects.put('b', blob('b'));
    await source.sync(dest);
    await dest.objects.delete('b');
    await source.objects.delete('a');
    await source.objects.delete('b');
    await source.objects.put('c', blob('c'));
    await source.objects.delete('c');
    await source.sync(dest);

    const changes = await source.sync(dest);

    expect(changes).toEqual([]);
    expect(await dest.objects.versions('c')).toEqual([]);
  });

  it('re-adds a key that is deleted in the destination', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    const a = await source.objects.put('a', blob('a'));
    await source.sync(dest);
    await dest.objects.delete('a');

    const changes = await source.sync(dest);

    expect(changes.map((c) => c.type)).toEqual(['add']);
    expect((await dest.objects.get('a'))?.fileId).toBe(a.fileId);
  });

  it('keeps keys the source never had unless deleteExtras is set', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await dest.objects.put('extra', blob('x'));

    const changes = await source.sync(dest);

    expect(changes).toEqual([]);
    expect(await dest.objects.get('extra')).toBeDefined();
  });

  it('deletes keys the source never had with deleteExtras', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('a'));
    await dest.objects.put('extra', blob('x'));

    const changes = await source.sync(dest, { deleteExtras: true });

    expect(changes.map((c) => [c.type, c.key])).toEqual([
      ['add', 'a'],
      ['delete', 'extra'],
    ]);
    expect(await dest.objects.get('extra')).toBeUndefined();
    expect((await dest.objects.versions('extra'))[1]).toMatchObject({ isDeleteMarker: false });
  });

  it('with deleteExtras, leaves an extra key that is already deleted alone', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await dest.objects.put('extra', blob('x'));
    await dest.objects.delete('extra');

    const changes = await source.sync(dest, { deleteExtras: true });

    expect(changes).toEqual([]);
    expect(await dest.objects.versions('extra')).toHaveLength(2);
  });

  it('with deleteExtras, counts a key deleted in the source as present and deletes it once', async ({
    coffer,
  }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('a'));
    await source.sync(dest);
    await source.objects.delete('a');

    const changes = await source.sync(dest, { deleteExtras: true });

    expect(changes).toEqual([{ type: 'delete', key: 'a' }]);
    expect(await dest.objects.versions('a')).toHaveLength(2);
  });

  it('refreshes the destination Bucket size and counts the added versions', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('aaa'));
    await source.objects.put('b', blob('bb'));

    await source.sync(dest);

    expect(dest.size).toBe(5);
  });

  it('accepts the destination by id', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('a'));

    await source.sync(dest.id);

    expect(await dest.objects.get('a')).toBeDefined();
  });

  it('refuses a locked destination and changes nothing', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('a'));
    await dest.lock();

    const error = await caught(() => source.sync(dest));

    expect(error).toMatchObject({ code: 'BUCKET_LOCKED', bucketId: dest.id });
    expect(await dest.objects.list({ versions: true, withDeleted: true })).toEqual([]);
  });

  it('refuses a deleted destination', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await dest.delete();

    expect(await caught(() => source.sync(dest.id))).toMatchObject({
      code: 'BUCKET_DELETED',
      bucketId: dest.id,
    });
  });

  it('refuses to sync from a deleted bucket', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.delete();

    const error = await caught(() => source.sync(dest));

    expect(error).toBeInstanceOf(InvalidOperationError);
    expect(error).toMatchObject({ code: 'BUCKET_DELETED', bucketId: source.id });
  });

  it('syncs from a locked source', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    await source.objects.put('a', blob('a'));
    await source.lock();

    expect((await source.sync(dest)).map((c) => c.type)).toEqual(['add']);
  });

  it('changes nothing at all when one key overflows the destination quota', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create({ quotaSize: 4 });
    await source.objects.put('a', blob('aaa'));
    await source.objects.put('b', blob('bbb'));

    const error = await caught(() => source.sync(dest));

    expect(error).toMatchObject({
      code: 'BUCKET_QUOTA_EXCEEDED',
      bucketId: dest.id,
      key: 'b',
      limit: 1,
      actual: 3,
    });
    expect(await dest.objects.list()).toEqual([]);
    expect((await dest.reload()).size).toBe(0);
  });
});
