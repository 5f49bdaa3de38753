import { describe, expect } from 'vitest';
import { blob, caught, it, rowCounts } from '../helpers/coffer.js';

describe('put', () => {
  it('creates the first version of a key as its head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v1 = await bucket.objects.put('a.txt', blob('one'));

    expect(v1).toMatchObject({
      bucketId: bucket.id,
      key: 'a.txt',
      isHead: true,
      size: 3,
      isDeleteMarker: false,
    });
    expect((await bucket.objects.get('a.txt'))?.versionId).toBe(v1.versionId);
  });

  it('makes the new version head and keeps the previous one', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a.txt', blob('one'));

    const v2 = await bucket.objects.put('a.txt', blob('two!'));

    const versions = await bucket.objects.versions('a.txt');
    expect(versions.map((v) => [v.versionId, v.isHead])).toEqual([
      [v2.versionId, true],
      [v1.versionId, false],
    ]);
    expect(await (await (await bucket.objects.get('a.txt'))!.blob()).text()).toBe('two!');
  });

  it('keeps exactly one head per key after many writes', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    for (let i = 0; i < 5; i++) await bucket.objects.put('a', blob(`v${i}`));

    const versions = await bucket.objects.versions('a');

    expect(versions.filter((v) => v.isHead)).toHaveLength(1);
    expect((await rowCounts(coffer)).heads).toBe(1);
  });

  it('orders versions written in the same millisecond by their sequence', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const written = await Promise.all([0, 1, 2, 3].map(() => bucket.objects.put('a', blob('x'))));

    const versions = await bucket.objects.versions('a');

    const bySequence = [...written].sort((a, b) => b.sequence - a.sequence).map((v) => v.versionId);
    expect(versions.map((v) => v.versionId)).toEqual(bySequence);
    expect(versions[0]!.isHead).toBe(true);
  });

  it('keeps versions of different keys apart', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('a'));
    await bucket.objects.put('b', blob('b'));

    expect(await bucket.objects.versions('a')).toHaveLength(1);
    expect(await bucket.objects.versions('b')).toHaveLength(1);
  });

  it('keeps the same key in two buckets apart', async ({ coffer }) => {
    const one = await coffer.buckets.create();
    const two = await coffer.buckets.create();
    await one.objects.put('a', blob('one'));

    await two.objects.put('a', blob('two'));

    expect(await (await (await one.objects.get('a'))!.blob()).text()).toBe('one');
    expect(await one.objects.versions('a')).toHaveLength(1);
  });

  it('stores a given mimetype and returns it instead of the guess', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('data.bin', blob('x'), { mimetype: 'text/plain' });

    expect(v.storedMimetype).toBe('text/plain');
    expect((await bucket.objects.get('data.bin'))?.mimetype).toBe('text/plain');
  });

  it('guesses the mimetype from the key when none is given', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('table.csv.gz', blob('x'));

    expect(v.storedMimetype).toBeNull();
    expect(v.mimetype).toBe('application/gzip');
  });

  it('ignores the source Blob type when choosing the mimetype', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('photo.jpg', blob('x', 'text/html'));

    expect(v.mimetype).toBe('image/jpeg');
  });

  it('serves the blob with the version mimetype', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('notes.md', blob('# hi'));

    expect((await v.blob()).type).toBe('text/markdown');
  });

  it('rejects an empty mimetype', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const error = await caught(() => bucket.objects.put('a', blob('x'), { mimetype: '' }));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'mimetype' });
  });

  it('stores tags given with the write on the new version only', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('1'), { tags: { source: 'camera' } });

    const v2 = await bucket.objects.put('a', blob('2'), { tags: { source: 'scanner' } });

    expect(await v1.tags()).toEqual({ source: 'camera' });
    expect(await v2.tags()).toEqual({ source: 'scanner' });
  });

  it('rejects invalid tags before writing anything', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const error = await caught(() => bucket.objects.put('a', blob('x'), { tags: { k: '' } }));

    expect(error).toMatchObject({ code: 'INVALID_TAG', tag: 'k' });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('refreshes the bucket size of the Bucket it was called on', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.objects.put('a', blob('12345'));

    expect(bucket.size).toBe(5);
  });

  it('fails with NOT_FOUND for a bucket that was removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.remove();

    const error = await caught(() => bucket.objects.put('a', blob('x')));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'bucket', bucketId: bucket.id });
  });
});

describe('get', () => {
  it('returns undefined for a key that was never written', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    expect(await bucket.objects.get('nothing')).toBeUndefined();
  });

  it('returns an older version by its versionId', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    await bucket.objects.put('a', blob('two'));

    const got = await bucket.objects.get('a', { versionId: v1.versionId });

    expect(got).toMatchObject({ versionId: v1.versionId, isHead: false });
    expect(await (await got!.blob()).text()).toBe('one');
  });

  it('returns undefined for a versionId of another key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('one'));

    expect(await bucket.objects.get('b', { versionId: v.versionId })).toBeUndefined();
  });

  it('returns undefined for a versionId of another bucket', async ({ coffer }) => {
    const one = await coffer.buckets.create();
    const two = await coffer.buckets.create();
    const v = await one.objects.put('a', blob('one'));

    expect(await two.objects.get('a', { versionId: v.versionId })).toBeUndefined();
  });

  it('returns undefined for an unknown versionId', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));

    expect(await bucket.objects.get('a', { versionId: crypto.randomUUID() })).toBeUndefined();
  });

  it('rejects an invalid key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    expect(await caught(() => bucket.objects.get(''))).toMatchObject({ code: 'INVALID_KEY' });
  });

  it('exposes the file instance of a version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('Hello world!'));

    const file = await v.file();

    expect(file).toMatchObject({
      id: v.fileId,
      size: 12,
      checksum: 'md5:86fb269d190d2c85f6e0468ceca42a20',
      sha256: null,
      readable: true,
      writable: false,
      lastCheck: null,
      lastCheckAt: null,
    });
  });
});

describe('delete', () => {
  it('hides the key behind a delete marker that becomes head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));

    const marker = await bucket.objects.delete('a');

    expect(marker).toMatchObject({
      key: 'a',
      isHead: true,
      isDeleteMarker: true,
      fileId: null,
      size: 0,
      checksum: null,
    });
    expect(await bucket.objects.get('a')).toBeUndefined();
    expect((await bucket.objects.versions('a')).map((v) => v.versionId)).toEqual([
      marker.versionId,
      v1.versionId,
    ]);
  });

  it('keeps the marker reachable by its versionId', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));
    const marker = await bucket.objects.delete('a');

    const got = await bucket.objects.get('a', { versionId: marker.versionId });

    expect(got).toMatchObject({ isDeleteMarker: true, isHead: true });
  });

  it('keeps the hidden version readable by its versionId', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    await bucket.objects.delete('a');

    const got = await bucket.objects.get('a', { versionId: v1.versionId });

    expect(await (await got!.blob()).text()).toBe('one');
  });

  it('fails with NOT_FOUND for a key that was never written', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const error = await caught(() => bucket.objects.delete('ghost'));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'object', key: 'ghost', bucketId: bucket.id });
  });

  it('fails with NOT_FOUND for a key that is already deleted, adding no second marker', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));
    await bucket.objects.delete('a');

    const error = await caught(() => bucket.objects.delete('a'));

    expect(error).toMatchObject({ code: 'NOT_FOUND', key: 'a' });
    expect(await bucket.objects.versions('a')).toHaveLength(2);
  });

  it('lets a later write bring the key back as a new head above the marker', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));
    await bucket.objects.delete('a');

    const v3 = await bucket.objects.put('a', blob('three'));

    expect((await bucket.objects.get('a'))?.versionId).toBe(v3.versionId);
    expect((await bucket.objects.versions('a')).map((v) => v.isDeleteMarker)).toEqual([false, true, false]);
  });

  it('has no bytes to read from a marker', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));
    const marker = await bucket.objects.delete('a');

    expect(await caught(() => marker.blob())).toMatchObject({
      code: 'NOT_FOUND',
      resource: 'file',
      key: 'a',
    });
    expect(await caught(() => marker.file())).toMatchObject({
      code: 'NOT_FOUND',
      versionId: marker.versionId,
    });
  });
});

describe('remove', () => {
  it('removes a non-head version and leaves the head alone', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    const v2 = await bucket.objects.put('a', blob('two'));

    await v1.remove();

    expect((await bucket.objects.versions('a')).map((v) => [v.versionId, v.isHead])).toEqual([
      [v2.versionId, true],
    ]);
  });

  it('makes the newest remaining version head when the head is removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    const v2 = await bucket.objects.put('a', blob('two'));
    const v3 = await bucket.objects.put('a', blob('three'));

    await v3.remove();

    expect((await bucket.objects.get('a'))?.versionId).toBe(v2.versionId);
    expect((await bucket.objects.versions('a')).map((v) => [v.versionId, v.isHead])).toEqual([
      [v2.versionId, true],
      [v1.versionId, false],
    ]);
  });

  it('makes a marker head when it is the newest remaining version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));
    const marker = await bucket.objects.delete('a');
    const v3 = await bucket.objects.put('a', blob('three'));

    await v3.remove();

    expect(await bucket.objects.get('a')).toBeUndefined();
    expect((await bucket.objects.versions('a'))[0]).toMatchObject({
      versionId: marker.versionId,
      isHead: true,
    });
  });

  it('removes a delete marker and uncovers the version below it', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    const marker = await bucket.objects.delete('a');

    await marker.remove();

    expect((await bucket.objects.get('a'))?.versionId).toBe(v1.versionId);
  });

  it('leaves the key with no head and no row in heads when the last version is removed', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));

    await v1.remove();

    expect(await bucket.objects.versions('a')).toEqual([]);
    expect(await rowCounts(coffer)).toMatchObject({ objects: 0, heads: 0 });
  });

  it('keeps the heads table pointing at the new head after removing the head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    const v2 = await bucket.objects.put('a', blob('two'));

    await v2.remove();

    expect(await coffer.context.db.heads.get([bucket.id, 'a'])).toMatchObject({ versionId: v1.versionId });
  });

  it('removes the version tags with it', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'), { tags: { k: 'v' } });

    await v1.remove();

    expect(await coffer.context.db.objectTags.count()).toBe(0);
  });

  it('keeps the file instance for garbage collection', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));

    await v1.remove();

    expect(await coffer.context.db.files.get(v1.fileId!)).toMatchObject({ readable: 1 });
  });

  it('fails with NOT_FOUND when the version is already removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    await v1.remove();

    const error = await caught(() => v1.remove());

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'version', versionId: v1.versionId });
  });
});

describe('restore', () => {
  it('appends a new head sharing the old version file instance', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    const v2 = await bucket.objects.put('a', blob('two'));

    const v3 = await v1.restore();

    expect(v3).toMatchObject({ key: 'a', isHead: true, fileId: v1.fileId, checksum: v1.checksum, size: 3 });
    expect(v3.versionId).not.toBe(v1.versionId);
    expect((await bucket.objects.versions('a')).map((v) => v.versionId)).toEqual([
      v3.versionId,
      v2.versionId,
      v1.versionId,
    ]);
  });

  it('leaves the restored-from version as it was', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    await bucket.objects.put('a', blob('two'));

    await v1.restore();

    expect(await bucket.objects.get('a', { versionId: v1.versionId })).toMatchObject({
      isHead: false,
      fileId: v1.fileId,
    });
  });

  it('carries the tags and the stored mimetype forward', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'), {
      tags: { a: '1', b: '2' },
      mimetype: 'text/x-one',
    });
    await bucket.objects.put('a', blob('two'));

    const v3 = await v1.restore();

    expect(await v3.tags()).toEqual({ a: '1', b: '2' });
    expect(v3.mimetype).toBe('text/x-one');
  });

  it('brings back a deleted key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    await bucket.objects.delete('a');

    await v1.restore();

    expect(await (await (await bucket.objects.get('a'))!.blob()).text()).toBe('one');
  });

  it('refuses to restore the head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));

    const error = await caught(() => v1.restore());

    expect(error).toMatchObject({ code: 'INVALID_OPERATION', versionId: v1.versionId, key: 'a' });
    expect(await bucket.objects.versions('a')).toHaveLength(1);
  });

  it('refuses to restore a delete marker that is head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));
    const marker = await bucket.objects.delete('a');

    expect(await caught(() => marker.restore())).toMatchObject({ code: 'INVALID_OPERATION' });
  });

  it('refuses to restore a delete marker that is not head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));
    const marker = await bucket.objects.delete('a');
    await bucket.objects.put('a', blob('two'));

    const error = await caught(() => marker.restore());

    expect(error).toMatchObject({ code: 'INVALID_OPERATION', versionId: marker.versionId });
    expect(await bucket.objects.versions('a')).toHaveLength(3);
  });
});

describe('copy', () => {
  it('copies a version onto itself as a new head, the old one second', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));

    const v2 = await v1.copy();

    expect((await bucket.objects.versions('a')).map((v) => [v.versionId, v.isHead])).toEqual([
      [v2.versionId, true],
      [v1.versionId, false],
    ]);
    expect(v2.fileId).toBe(v1.fileId);
  });

  it('copies to another key of the same bucket, sharing the file instance', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));

    const copy = await v1.copy(bucket, 'b');

    expect(copy).toMatchObject({ bucketId: bucket.id, key: 'b', isHead: true, fileId: v1.fileId });
    expect((await bucket.objects.get('a'))?.versionId).toBe(v1.versionId);
    expect((await rowCounts(coffer)).files).toBe(1);
  });

  it('copies to another bucket by id and moves that bucket head', async ({ coffer }) => {
    const source = await coffer.buckets.create();
    const dest = await coffer.buckets.create();
    const old = await dest.objects.put('a', blob('old'));
    const v1 = await source.objects.put('a', blob('new'));

    const copy = await v1.copy(dest.id);

    expect((await dest.objects.versions('a')).map((v) => v.versionId)).toEqual([
      copy.versionId,
      old.versionId,
    ]);
    expect(await (await (await dest.objects.get('a'))!.blob()).text()).toBe('new');
  });

  it('copies the tags', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'), { tags: { a: '1', b: '2' } });

    const copy = await v1.copy(bucket, 'b');

    expect(await copy.tags()).toEqual({ a: '1', b: '2' });
    expect(await coffer.context.db.objectTags.count()).toBe(4);
  });

  it('refuses to copy a delete marker', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('one'));
    const marker = await bucket.objects.delete('a');

    expect(await caught(() => marker.copy(bucket, 'b'))).toMatchObject({
      code: 'INVALID_OPERATION',
      key: 'a',
    });
    expect(await bucket.objects.versions('b')).toEqual([]);
  });

  it('refuses an invalid target key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));

    expect(await caught(() => v1.copy(bucket, 'x'.repeat(256)))).toMatchObject({ code: 'INVALID_KEY' });
  });

  it('fails with NOT_FOUND for a target bucket that does not exist', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));

    const error = await caught(() => v1.copy('no-such-bucket' as typeof bucket.id));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'bucket', bucketId: 'no-such-bucket' });
  });

  it('still reads the copy after the source version is removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('one'));
    const copy = await v1.copy(bucket, 'b');

    await v1.remove();

    expect(await (await copy.blob()).text()).toBe('one');
  });
});

describe('list', () => {
  it('lists live heads ordered by key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('c', blob('c'));
    await bucket.objects.put('a', blob('a1'));
    await bucket.objects.put('b', blob('b'));
    await bucket.objects.put('a', blob('a2'));

    const heads = await bucket.objects.list();

    expect(heads.map((v) => [v.key, v.size])).toEqual([
      ['a', 2],
      ['b', 1],
      ['c', 1],
    ]);
  });

  it('leaves deleted keys out unless asked for them', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('a'));
    await bucket.objects.put('b', blob('b'));
    await bucket.objects.delete('a');

    expect((await bucket.objects.list()).map((v) => v.key)).toEqual(['b']);
    expect((await bucket.objects.list({ withDeleted: true })).map((v) => [v.key, v.isDeleteMarker])).toEqual([
      ['a', true],
      ['b', false],
    ]);
  });

  it('lists every version by key, newest first within a key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const b1 = await bucket.objects.put('b', blob('b1'));
    const a1 = await bucket.objects.put('a', blob('a1'));
    const b2 = await bucket.objects.put('b', blob('b2'));

    const all = await bucket.objects.list({ versions: true });

    expect(all.map((v) => v.versionId)).toEqual([a1.versionId, b2.versionId, b1.versionId]);
  });

  it('lists markers among versions only with withDeleted', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a1 = await bucket.objects.put('a', blob('a1'));
    const marker = await bucket.objects.delete('a');

    expect((await bucket.objects.list({ versions: true })).map((v) => v.versionId)).toEqual([a1.versionId]);
    expect(
      (await bucket.objects.list({ versions: true, withDeleted: true })).map((v) => v.versionId),
    ).toEqual([marker.versionId, a1.versionId]);
  });

  it('lists only keys with the prefix', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    for (const key of ['a/1', 'a/2', 'ab', 'b/1', 'a']) await bucket.objects.put(key, blob(key));

    expect((await bucket.objects.list({ prefix: 'a/' })).map((v) => v.key)).toEqual(['a/1', 'a/2']);
    expect((await bucket.objects.list({ prefix: 'a', versions: true })).map((v) => v.key)).toEqual([
      'a',
      'a/1',
      'a/2',
      'ab',
    ]);
  });

  it('lists keys with the prefix followed by any character, even U+FFFF', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    for (const key of ['a', 'a\uffffz', 'a\uffff', 'b', '`']) await bucket.objects.put(key, blob(key));

    const heads = await bucket.objects.list({ prefix: 'a' });
    const versions = await bucket.objects.list({ prefix: 'a', versions: true });
    const ffff = await bucket.objects.list({ prefix: 'a\uffff' });

    expect(heads.map((v) => v.key)).toEqual(['a', 'a\uffff', 'a\uffffz']);
    expect(versions.map((v) => v.key)).toEqual(['a', 'a\uffff', 'a\uffffz']);
    expect(ffff.map((v) => v.key)).toEqual(['a\uffff', 'a\uffffz']);
  });

  it('pages through heads with limit and after', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    for (const key of ['e', 'd', 'c', 'b', 'a']) await bucket.objects.put(key, blob(key));

    const first = await bucket.objects.list({ limit: 2 });
    const second = await bucket.objects.list({ limit: 2, after: first.at(-1)! });
    const third = await bucket.objects.list({ limit: 2, after: second.at(-1)!.key });

    expect([first, second, third].map((page) => page.map((v) => v.key))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e'],
    ]);
  });

  it('pages through versions without skipping or repeating one, even inside a key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const written = [];
    for (const key of ['a', 'a', 'a', 'b', 'b']) written.push(await bucket.objects.put(key, blob(key)));
    const seen: string[] = [];

    let page = await bucket.objects.list({ versions: true, limit: 2 });
    while (page.length > 0) {
      seen.push(...page.map((v) => v.versionId));
      page = await bucket.objects.list({ versions: true, limit: 2, after: page.at(-1)! });
    }

    const expected = [written[2], written[1], written[0], written[4], written[3]].map((v) => v!.versionId);
    expect(seen).toEqual(expected);
  });

  it('continues a version listing after a whole key when after is a key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('1'));
    await bucket.objects.put('a', blob('2'));
    const b = await bucket.objects.put('b', blob('3'));

    const page = await bucket.objects.list({ versions: true, after: 'a' });

    expect(page.map((v) => v.versionId)).toEqual([b.versionId]);
  });

  it('counts only listed items against the limit when markers are skipped', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    for (const key of ['a', 'b', 'c', 'd']) await bucket.objects.put(key, blob(key));
    await bucket.objects.delete('a');
    await bucket.objects.delete('b');

    const page = await bucket.objects.list({ limit: 2 });

    expect(page.map((v) => v.key)).toEqual(['c', 'd']);
  });

  it('pages within a prefix, starting at the prefix when after sorts before it', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    for (const key of ['a', 'p/1', 'p/2', 'p/3', 'q']) await bucket.objects.put(key, blob(key));

    const first = await bucket.objects.list({ prefix: 'p/', after: 'a', limit: 2 });
    const second = await bucket.objects.list({ prefix: 'p/', after: first.at(-1)!, limit: 2 });

    expect(first.map((v) => v.key)).toEqual(['p/1', 'p/2']);
    expect(second.map((v) => v.key)).toEqual(['p/3']);
  });

  it('returns an empty page after the last key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('a'));

    expect(await bucket.objects.list({ after: 'a' })).toEqual([]);
    expect(await bucket.objects.list({ prefix: 'a', after: 'zzz' })).toEqual([]);
  });

  it('returns nothing for a limit of 0 and rejects a negative limit', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('a'));

    expect(await bucket.objects.list({ limit: 0 })).toEqual([]);
    expect(await caught(() => bucket.objects.list({ limit: -1 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'limit',
    });
  });

  it('lists nothing of another bucket', async ({ coffer }) => {
    const one = await coffer.buckets.create();
    const two = await coffer.buckets.create();
    await one.objects.put('a', blob('a'));

    expect(await two.objects.list({ versions: true, withDeleted: true })).toEqual([]);
  });

  it('orders keys by code unit, with unicode keys after ASCII ones', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    for (const key of ['é', 'z', 'B', 'a']) await bucket.objects.put(key, blob(key));

    expect((await bucket.objects.list()).map((v) => v.key)).toEqual(['B', 'a', 'z', 'é']);
  });
});
