import {
  type Coffer,
  type CofferRecord,
  FileObject,
  InvalidOperationError,
  openCoffer,
  type RecordFiles,
  recordFileFactory,
  sortedFilesFromBucket,
} from '@coffer/core';
import { describe, expect, vi } from 'vitest';
import { blob, bytes, bytesOf, caught, heldStream, it } from '../helpers/coffer.js';

const MD5_A = 'md5:7fc56270e7a70fa81a5935b72eacbe29';

/** A record with a bucket, and its files. */
async function withFiles(
  coffer: Coffer,
  ...keys: string[]
): Promise<{ record: CofferRecord; files: RecordFiles }> {
  const record = await coffer.records.create({ title: 'Survey 12' });
  for (const key of keys) await record.files!.set(key, blob(key));
  return { record, files: record.files! };
}

/** What is stored for the record, read back from the database. */
const stored = async (coffer: Coffer, record: CofferRecord) => coffer.records.get(record.id);

describe('record.files.set', () => {
  it('stores a file and writes its Invenio-shaped entry to _files, in memory and stored', async ({
    coffer,
  }) => {
    const { record, files } = await withFiles(coffer);

    const file = await files.set('a.txt', blob('A'));

    const entry = {
      bucket: record.bucketId,
      checksum: MD5_A,
      file_id: file.fileId,
      key: 'a.txt',
      size: 1,
      version_id: file.versionId,
    };
    expect(record.data._files).toEqual([entry]);
    expect((await stored(coffer, record)).data._files).toEqual([entry]);
    expect(record.revisionId).toBe(1);
    expect((await stored(coffer, record)).revisionId).toBe(1);
  });

  it('returns a FileObject with the head fields', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);

    const file = await files.set('notes/a.txt', blob('A'), { mimetype: 'text/markdown', tags: { by: 'me' } });

    expect(file).toBeInstanceOf(FileObject);
    expect(file).toMatchObject({
      key: 'notes/a.txt',
      bucketId: record.bucketId,
      size: 1,
      checksum: MD5_A,
      mimetype: 'text/markdown',
      isHead: true,
    });
    expect(file.created).toBeInstanceOf(Date);
    expect(await file.version.tags()).toEqual({ by: 'me' });
  });

  it('keeps the extra metadata and the position of an overwritten file', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt', 'c.txt');
    await files.setMetadata('b.txt', { type: 'txt' });

    const second = await files.set('b.txt', blob('new b'));

    expect(record.data._files!.map((e) => e.key)).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(record.data._files![1]).toMatchObject({ type: 'txt', version_id: second.versionId, size: 5 });
    expect(second.get('type')).toBe('txt');
    expect(await files.count()).toBe(3);
  });

  it('stores the metadata it is given with the file', async ({ coffer }) => {
    const { files } = await withFiles(coffer);

    const file = await files.set('a.txt', blob('A'), { metadata: { description: 'North wall' } });

    expect(file.get('description')).toBe('North wall');
    expect((await files.get('a.txt'))?.metadata).toEqual({ description: 'North wall' });
  });

  it('refuses reserved names in the metadata before writing anything', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);

    const error = await caught(() => files.set('a.txt', blob('A'), { metadata: { key: 'b.txt' } }));

    expect(error).toMatchObject({ code: 'RESERVED_METADATA', field: 'key' });
    expect(record.revisionId).toBe(0);
    expect(await coffer.context.db.files.count()).toBe(0);
  });

  it('changes nothing when the write fails on the bucket quota', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');
    await record.bucket!.update({ quotaSize: 6 });

    const error = await caught(() => files.set('big.txt', blob('0123456789')));

    expect(error).toMatchObject({ code: 'BUCKET_QUOTA_EXCEEDED', key: 'big.txt' });
    expect(record.revisionId).toBe(1);
    expect((await stored(coffer, record)).data._files!.map((e) => e.key)).toEqual(['a.txt']);
    expect(await coffer.context.db.files.count()).toBe(1);
  });

  it('changes nothing when the write is aborted', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);
    const controller = new AbortController();
    controller.abort();

    const error = await caught(() => files.set('a.txt', blob('A'), { signal: controller.signal }));

    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(record.revisionId).toBe(0);
    expect(await files.count()).toBe(0);
  });

  it('keeps unsaved edits of the data out of the file write; a later commit stores them', async ({
    coffer,
  }) => {
    const { record, files } = await withFiles(coffer);
    record.data.title = 'edited';

    await files.set('a.txt', blob('A'));
    const afterSet = await stored(coffer, record);
    await record.commit();

    expect(afterSet.data).toMatchObject({ title: 'Survey 12', _files: [{ key: 'a.txt' }] });
    expect(record.data.title).toBe('edited');

    expect((await stored(coffer, record)).data).toMatchObject({
      title: 'edited',
      _files: [{ key: 'a.txt' }],
    });
    expect(record.revisionId).toBe(2);
  });

  it('keeps the bucket size of the record in step', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);

    await files.set('a.txt', blob('AAAA'));

    expect(record.bucket!.size).toBe(4);
  });
});

/** A second connection to the same database: another tab. */
const otherTab = (coffer: Coffer): Promise<Coffer> =>
  openCoffer({ name: coffer.name, chunkSize: 4, inlineBelow: 0 });

/** The keys each stored revision added to `_files`, in revision order: the commit order. */
async function commitOrder(record: CofferRecord): Promise<string[]> {
  const order: string[] = [];
  for (const revision of await record.revisions()) {
    for (const entry of revision.data._files ?? []) if (!order.includes(entry.key)) order.push(entry.key);
  }
  return order;
}

describe('concurrent writes through record.files', () => {
  it('lands every one of many uploads at once on one record, in commit order', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);
    const keys = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt', 'f.txt'];

    const results = await Promise.allSettled(keys.map((key) => files.set(key, blob(`${key} bytes`))));

    expect(results.map((r) => r.status)).toEqual(keys.map(() => 'fulfilled'));
    const row = await stored(coffer, record);
    expect(row.revisionId).toBe(keys.length);
    expect(row.data._files!.map((e) => e.key).sort()).toEqual(keys);
    expect(row.data._files!.map((e) => e.key)).toEqual(await commitOrder(record));
    expect(record.revisionId).toBe(keys.length);
    expect(record.data._files).toEqual(row.data._files);
    expect(await files.dumps()).toEqual(row.data._files);
    expect(record.bucket!.size).toBe(keys.reduce((n, key) => n + `${key} bytes`.length, 0));
    const heads = await coffer.context.db.heads.toArray();
    expect(heads.map((h) => h.key).sort()).toEqual(keys);
  });

  it('keeps one head and one entry when uploads of the same key race', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);

    const [first, second] = await Promise.all([
      files.set('a.txt', blob('one')),
      files.set('a.txt', blob('two!')),
    ]);

    const versions = await record.bucket!.objects.versions('a.txt');
    expect(versions.map((v) => v.versionId).sort()).toEqual([first.versionId, second.versionId].sort());
    expect(versions.filter((v) => v.isHead)).toHaveLength(1);
    const row = await stored(coffer, record);
    expect(row.data._files).toEqual([
      expect.objectContaining({ key: 'a.txt', version_id: versions[0]!.versionId }),
    ]);
    expect(record.data._files).toEqual(row.data._files);
    expect(record.revisionId).toBe(2);
  });

  it('mixes uploads with metadata, order and rename changes without a conflict', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt');

    await Promise.all([
      files.set('c.txt', blob('C')),
      files.setMetadata('a.txt', { type: 'txt' }),
      files.set('d.txt', blob('D')),
      files.rename('b.txt', 'z.txt'),
    ]);

    const row = await stored(coffer, record);
    expect(row.revisionId).toBe(6);
    expect(row.data._files!.map((e) => e.key).sort()).toEqual(['a.txt', 'c.txt', 'd.txt', 'z.txt']);
    expect(row.data._files!.find((e) => e.key === 'a.txt')).toMatchObject({ type: 'txt' });
    expect(record.revisionId).toBe(6);
    expect(record.data._files).toEqual(row.data._files);
    record.data.title = 'after';
    await record.commit();
    expect((await stored(coffer, record)).data).toMatchObject({ title: 'after', _files: row.data._files });
  });

  it('lands uploads from two tabs at once on the same record, in commit order', async ({ coffer }) => {
    const tab2 = await otherTab(coffer);
    try {
      const { record: mine } = await withFiles(coffer);
      const theirs = await tab2.records.get(mine.id);
      const mineKeys = ['m1.txt', 'm2.txt', 'm3.txt'];
      const theirKeys = ['t1.txt', 't2.txt', 't3.txt'];

      const results = await Promise.allSettled([
        ...mineKeys.map((key) => mine.files!.set(key, blob(key))),
        ...theirKeys.map((key) => theirs.files!.set(key, blob(key))),
      ]);

      expect(results.map((r) => r.status)).toEqual(results.map(() => 'fulfilled'));
      const row = await stored(coffer, mine);
      expect(row.revisionId).toBe(6);
      expect(row.data._files!.map((e) => e.key).sort()).toEqual([...mineKeys, ...theirKeys].sort());
      expect(row.data._files!.map((e) => e.key)).toEqual(await commitOrder(mine));
      expect((await coffer.context.db.heads.toArray()).length).toBe(6);
      // Each tab's record is as current as its own writes let it be, never ahead of the database.
      for (const record of [mine, theirs]) {
        expect(record.revisionId).toBeLessThanOrEqual(6);
        expect(record.data._files!.length).toBeLessThanOrEqual(6);
      }
      // The tab whose write committed last holds the stored _files in memory.
      const last = (await commitOrder(mine)).at(-1)!;
      const lastWriter = mineKeys.includes(last) ? mine : theirs;
      expect(lastWriter.data._files).toEqual(row.data._files);
    } finally {
      tab2.close();
    }
  });

  it('moves the revision of an up-to-date record, so that its next commit succeeds', async ({ coffer }) => {
    const tab2 = await otherTab(coffer);
    try {
      const { record: mine } = await withFiles(coffer);
      const theirs = await tab2.records.get(mine.id);

      await theirs.files!.set('t.txt', blob('T'));
      await mine.reload();
      await mine.files!.set('m.txt', blob('M'));
      mine.data.title = 'mine';
      await mine.commit();

      expect(mine.revisionId).toBe(3);
      expect((await stored(coffer, mine)).data).toMatchObject({
        title: 'mine',
        _files: [{ key: 't.txt' }, { key: 'm.txt' }],
      });
      // The other tab stayed at revision 1: its data edits are refused, not lost over mine.
      theirs.data.title = 'theirs';
      expect(await caught(() => theirs.commit())).toMatchObject({
        code: 'REVISION_CONFLICT',
        expected: 1,
        actual: 3,
      });
    } finally {
      tab2.close();
    }
  });

  it('refuses a write to a deleted record before writing any bytes', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);
    const tab2 = await otherTab(coffer);
    try {
      await (await tab2.records.get(record.id)).delete();

      const error = await caught(() => files.set('a.txt', blob('A')));

      expect(error).toMatchObject({ code: 'RECORD_DELETED', recordId: record.id });
      expect(await coffer.context.db.files.count()).toBe(0);
    } finally {
      tab2.close();
    }
  });
});

describe('record.files reads', () => {
  it('gets a live file, and undefined for a missing one', async ({ coffer }) => {
    const { files } = await withFiles(coffer, 'a.txt');

    expect((await files.get('a.txt'))?.key).toBe('a.txt');
    expect(await files.get('missing.txt')).toBeUndefined();
  });

  it('tells whether a key is live', async ({ coffer }) => {
    const { files } = await withFiles(coffer, 'a.txt', 'b.txt');
    await files.delete('b.txt');

    expect([await files.has('a.txt'), await files.has('b.txt'), await files.has('c.txt')]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('iterates the files in record order', async ({ coffer }) => {
    const { files } = await withFiles(coffer, 'c.txt', 'a.txt', 'b.txt');

    const keys: string[] = [];
    for await (const file of files) keys.push(file.key);

    expect(keys).toEqual(['c.txt', 'a.txt', 'b.txt']);
    expect(await files.keys()).toEqual(keys);
  });

  it('does not add _files to a record that has none when it is read or flushed', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);

    await files.dumps();
    await files.count();
    for await (const _ of files) void _;
    await files.flush();

    expect('_files' in (await stored(coffer, record)).data).toBe(false);
    expect(record.revisionId).toBe(0);
  });

  it('puts extra metadata into dumps', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');
    await files.setMetadata('a.txt', { type: 'txt', page: { n: 1 } });

    const dumps = await files.dumps();

    expect(dumps).toEqual([
      {
        bucket: record.bucketId,
        checksum: expect.stringMatching(/^md5:[0-9a-f]{32}$/),
        file_id: expect.any(String),
        key: 'a.txt',
        size: 5,
        version_id: expect.any(String),
        type: 'txt',
        page: { n: 1 },
      },
    ]);
    expect(dumps).toEqual(record.data._files);
  });
});

describe('record.files.delete', () => {
  it('hides the file behind a delete marker and drops its entry', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt');

    await files.delete('a.txt');

    expect(record.data._files!.map((e) => e.key)).toEqual(['b.txt']);
    const versions = await record.bucket!.objects.versions('a.txt');
    expect(versions.map((v) => v.isDeleteMarker)).toEqual([true, false]);
    expect(record.revisionId).toBe(3);
  });

  it('refuses to delete a key with no live file', async ({ coffer }) => {
    const { files } = await withFiles(coffer, 'a.txt');
    await files.delete('a.txt');

    const error = await caught(() => files.delete('a.txt'));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'object', key: 'a.txt' });
  });

  it('leaves an empty _files after the last file is deleted', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');

    await files.delete('a.txt');

    expect((await stored(coffer, record)).data._files).toEqual([]);
    expect(await files.count()).toBe(0);
  });
});

describe('record.files.rename', () => {
  it('keeps the position and the metadata, and shares the file', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt', 'c.txt');
    await files.setMetadata('a.txt', { type: 'txt' });
    const before = await files.get('a.txt');

    const renamed = await files.rename('a.txt', 'z.txt');

    expect(record.data._files!.map((e) => e.key)).toEqual(['z.txt', 'b.txt', 'c.txt']);
    expect(record.data._files![0]).toMatchObject({ type: 'txt', file_id: before!.fileId });
    expect(renamed).toMatchObject({ key: 'z.txt', fileId: before!.fileId });
    expect(await files.has('a.txt')).toBe(false);
  });

  it('carries the tags over to the new key', async ({ coffer }) => {
    const { files } = await withFiles(coffer);
    await files.set('a.txt', blob('A'), { tags: { source: 'camera' } });

    const renamed = await files.rename('a.txt', 'b.txt');

    expect(await renamed.version.tags()).toEqual({ source: 'camera' });
  });

  it('refuses a target key that holds a live file', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt');

    const error = await caught(() => files.rename('a.txt', 'b.txt'));

    expect(error).toMatchObject({ code: 'KEY_EXISTS', key: 'b.txt' });
    expect(record.revisionId).toBe(2);
  });

  it('accepts a target key that exists only as a delete marker', async ({ coffer }) => {
    const { files } = await withFiles(coffer, 'a.txt', 'b.txt');
    await files.delete('b.txt');

    await files.rename('a.txt', 'b.txt');

    expect(await files.keys()).toEqual(['b.txt']);
  });

  it('refuses to rename a key with no live file, or a key to itself', async ({ coffer }) => {
    const { files } = await withFiles(coffer, 'a.txt');

    const missing = await caught(() => files.rename('nope.txt', 'b.txt'));
    const same = await caught(() => files.rename('a.txt', 'a.txt'));

    expect(missing).toMatchObject({ code: 'NOT_FOUND', key: 'nope.txt' });
    expect(same).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'newKey' });
  });
});

describe('record.files.sortBy', () => {
  it('reverses the order', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt', 'c.txt');

    await files.sortBy(['c.txt', 'b.txt', 'a.txt']);

    expect(record.data._files!.map((e) => e.key)).toEqual(['c.txt', 'b.txt', 'a.txt']);
    expect(await files.keys()).toEqual(['c.txt', 'b.txt', 'a.txt']);
  });

  it('takes file ids as well as keys', async ({ coffer }) => {
    const { files } = await withFiles(coffer, 'a.txt', 'b.txt');
    const b = await files.get('b.txt');

    await files.sortBy([b!.fileId]);

    expect(await files.keys()).toEqual(['b.txt', 'a.txt']);
  });

  it('keeps the metadata of unlisted files, which follow in their current order', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt', 'c.txt', 'd.txt');
    await files.sortBy(['d.txt', 'c.txt', 'b.txt', 'a.txt']);
    await files.setMetadata('c.txt', { type: 'txt' });

    await files.sortBy(['a.txt']);

    expect(record.data._files!.map((e) => e.key)).toEqual(['a.txt', 'd.txt', 'c.txt', 'b.txt']);
    expect(record.data._files![2]).toMatchObject({ key: 'c.txt', type: 'txt' });
  });

  it('works on a locked bucket', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt');
    await record.bucket!.lock();

    await files.sortBy(['b.txt']);

    expect(await files.keys()).toEqual(['b.txt', 'a.txt']);
  });

  it('refuses an item that names no live file', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');

    const error = await caught(() => files.sortBy(['a.txt', 'zzz']));

    expect(error).toMatchObject({ code: 'NOT_FOUND', key: 'zzz' });
    expect(record.revisionId).toBe(1);
  });
});

describe('record.files.setMetadata', () => {
  it('merges a patch, and null deletes a field', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');
    await files.setMetadata('a.txt', { type: 'txt', description: 'old' });

    const file = await files.setMetadata('a.txt', { description: null, page: 2 });

    expect(file.metadata).toEqual({ type: 'txt', page: 2 });
    expect((await stored(coffer, record)).data._files![0]).not.toHaveProperty('description');
  });

  it.for(['bucket', 'key', 'version_id', 'file_id', 'checksum', 'size', 'bucket_id', 'is_head', 'mimetype'])(
    'refuses to set the reserved name %s',
    async (name, { coffer }) => {
      const { record, files } = await withFiles(coffer, 'a.txt');

      const error = await caught(() => files.setMetadata('a.txt', { [name]: 'x' }));

      expect(error).toBeInstanceOf(InvalidOperationError);
      expect(error).toMatchObject({ code: 'RESERVED_METADATA', field: name });
      expect(record.revisionId).toBe(1);
    },
  );

  it('refuses a key with no live file', async ({ coffer }) => {
    const { files } = await withFiles(coffer);

    const error = await caught(() => files.setMetadata('a.txt', { type: 'txt' }));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'object', key: 'a.txt' });
  });

  it('is reachable from the FileObject', async ({ coffer }) => {
    const { record } = await withFiles(coffer, 'a.txt');
    const file = await record.files!.get('a.txt');

    const updated = await file!.setMetadata({ description: 'North wall' });

    expect(updated.get('description')).toBe('North wall');
    expect(record.data._files![0]!.description).toBe('North wall');
  });
});

describe('a bucket modified directly', () => {
  it('shows the direct write in record.files, and flush() writes it to _files', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'b.txt');
    await record.bucket!.objects.put('a.txt', blob('A'));

    const countBefore = await files.count();
    const keysBefore = await files.keys();
    const filesBefore = record.data._files!.length;
    await files.flush();

    expect([countBefore, filesBefore]).toEqual([2, 1]);
    expect(keysBefore).toEqual(['b.txt', 'a.txt']);
    expect((await stored(coffer, record)).data._files!.map((e) => e.key)).toEqual(['b.txt', 'a.txt']);
    expect(record.data._files).toHaveLength(2);
    expect(record.revisionId).toBe(2);
  });

  it('drops directly deleted files and refreshes overwritten ones on flush, keeping metadata', async ({
    coffer,
  }) => {
    const { record, files } = await withFiles(coffer, 'a.txt', 'b.txt');
    await files.setMetadata('b.txt', { type: 'txt' });
    await record.bucket!.objects.delete('a.txt');
    const newB = await record.bucket!.objects.put('b.txt', blob('BB'));

    await files.flush();

    expect(record.data._files).toEqual([
      expect.objectContaining({ key: 'b.txt', version_id: newB.versionId, type: 'txt' }),
    ]);
  });

  it('stores no new revision when flush() finds nothing to repair', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');

    await files.flush();

    expect(record.revisionId).toBe(1);
    expect(await record.revisions()).toHaveLength(2);
  });
});

describe('FileObject', () => {
  it('reads its entry fields and its extra metadata with get()', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);
    await files.set('a.txt', blob('A'), { metadata: { type: 'txt' } });

    const file = (await files.get('a.txt'))!;

    expect([
      file.get('key'),
      file.get('size'),
      file.get('bucket'),
      file.get('type'),
      file.get('nope'),
    ]).toEqual(['a.txt', 1, record.bucketId, 'txt', undefined]);
    expect(file.dumps()).toEqual(record.data._files![0]);
  });

  it('gets the head, an older version or a delete marker with getVersion()', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');
    const first = (await files.get('a.txt'))!;
    const second = await files.set('a.txt', blob('AA'));
    const marker = await record.bucket!.objects.put('other.txt', blob('o'));

    expect((await second.getVersion())?.versionId).toBe(second.versionId);
    expect((await second.getVersion(first.versionId))?.isHead).toBe(false);
    expect(await second.getVersion(marker.versionId)).toBeUndefined();
    expect(await second.getVersion('no-such-version')).toBeUndefined();
    expect((await second.versions()).map((v) => v.versionId)).toEqual([second.versionId, first.versionId]);
  });

  it('finds a delete marker of its key by version id', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');
    const file = (await files.get('a.txt'))!;
    const marker = await record.bucket!.objects.delete('a.txt');

    expect((await file.getVersion(marker.versionId))?.isDeleteMarker).toBe(true);
    expect(await file.getVersion()).toBeUndefined();
  });

  it('reads its bytes as a Blob and as a stream', async ({ coffer }) => {
    const { files } = await withFiles(coffer);
    const file = await files.set('a.txt', blob('Hello world!'));

    const text = await (await file.blob()).text();
    const streamed = await new Response(await file.stream()).text();

    expect([text, streamed]).toEqual(['Hello world!', 'Hello world!']);
  });

  it('has the service-worker URL of the record file', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer);

    const file = await files.set('notes/a b.txt', blob('A'));

    expect(file.url).toBe(`/coffer/records/${record.id}/files/notes/a%20b.txt`);
  });
});

describe('a locked or deleted bucket', () => {
  it('refuses set, delete and rename with BUCKET_LOCKED and changes nothing', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');
    await record.bucket!.lock();

    const errors = [
      await caught(() => files.set('b.txt', blob('B'))),
      await caught(() => files.delete('a.txt')),
      await caught(() => files.rename('a.txt', 'b.txt')),
    ];

    for (const error of errors) {
      expect(error).toBeInstanceOf(InvalidOperationError);
      expect(error).toMatchObject({ code: 'BUCKET_LOCKED', bucketId: record.bucketId });
    }
    expect(record.revisionId).toBe(1);
    expect(await files.keys()).toEqual(['a.txt']);
  });

  it('still lets metadata change on a locked bucket', async ({ coffer }) => {
    const { record, files } = await withFiles(coffer, 'a.txt');
    await record.bucket!.lock();

    await files.setMetadata('a.txt', { type: 'txt' });

    expect(record.data._files![0]!.type).toBe('txt');
  });

  it('refuses writes to a deleted bucket with BUCKET_DELETED; the record shows no bucket', async ({
    coffer,
  }) => {
    const { record } = await withFiles(coffer, 'a.txt');
    await record.bucket!.delete();
    const reloaded = await coffer.records.get(record.id);

    const set = await caught(() => reloaded.files!.set('b.txt', blob('B')));
    const del = await caught(() => reloaded.files!.delete('a.txt'));

    expect(reloaded.bucket).toBeUndefined();
    expect(await reloaded.files!.keys()).toEqual(['a.txt']);
    expect(set).toMatchObject({ code: 'BUCKET_DELETED' });
    expect(del).toMatchObject({ code: 'BUCKET_DELETED' });
  });
});

describe('recordFileFactory and sortedFilesFromBucket', () => {
  it('returns the file of a record, or undefined', async ({ coffer }) => {
    const { record } = await withFiles(coffer, 'a.txt');
    const bare = await coffer.records.create({}, { withBucket: false });

    expect((await recordFileFactory(record, 'a.txt'))?.key).toBe('a.txt');
    expect(await recordFileFactory(record, 'b.txt')).toBeUndefined();
    expect(await recordFileFactory(record, '')).toBeUndefined();
    expect(await recordFileFactory(bare, 'a.txt')).toBeUndefined();
  });

  it('orders the listed keys first, the others after them by key', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    for (const key of ['d', 'a', 'c', 'b']) await bucket.objects.put(key, blob(key));

    const sorted = await sortedFilesFromBucket(bucket, ['c', 'missing', 'a']);

    expect(sorted.map((v) => v.key)).toEqual(['c', 'a', 'b', 'd']);
  });
});

/**
 * Just enough of the Web Locks API for one tab: shared and exclusive modes, and `ifAvailable`.
 * Node has no `navigator.locks`; a request that would have to wait is not modelled and throws.
 */
class OneTabLocks {
  private readonly held = new Map<string, { mode: LockMode; count: number }>();
  readonly requests: { name: string; mode: LockMode }[] = [];

  async request(
    name: string,
    options: LockOptions,
    callback: (lock: { name: string; mode: LockMode } | null) => Promise<unknown>,
  ): Promise<unknown> {
    const mode = options.mode ?? 'exclusive';
    this.requests.push({ name, mode });
    const held = this.held.get(name);
    if (held && (mode === 'exclusive' || held.mode === 'exclusive')) {
      if (options.ifAvailable) return callback(null);
      throw new Error('OneTabLocks does not model a request that waits.');
    }
    this.held.set(name, { mode, count: (held?.count ?? 0) + 1 });
    try {
      return await callback({ name, mode });
    } finally {
      const now = this.held.get(name)!;
      if (now.count === 1) this.held.delete(name);
      else now.count -= 1;
    }
  }
}

describe('record.files.set and gc', () => {
  it('holds the shared write lock, so gc({ graceMs: 0 }) during the write leaves it alone', async ({
    coffer,
  }) => {
    const locks = new OneTabLocks();
    vi.stubGlobal('navigator', { locks });
    try {
      const record = await coffer.records.create({ title: 'Survey 12' });
      const { source, release } = heldStream();
      let loaded = 0;
      const writing = record.files!.set('a.bin', source, {
        onProgress: (p) => {
          loaded = p.loaded;
        },
      });
      await vi.waitFor(() => expect(loaded).toBeGreaterThanOrEqual(8));
      const { db } = coffer.context;
      const chunksDuringWrite = await db.chunks.count();

      const freed = await coffer.gc({ graceMs: 0 });
      const chunksAfterGc = await db.chunks.count();
      release();
      const file = await writing;

      expect(freed).toMatchObject({ writesInProgress: true, files: 0, abandonedWrites: 0, chunks: 0 });
      expect(chunksDuringWrite).toBeGreaterThanOrEqual(2);
      expect(chunksAfterGc).toBe(chunksDuringWrite);
      expect(file.size).toBe(16);
      expect(await bytesOf(await file.blob())).toEqual(new Uint8Array([...bytes(8), ...bytes(8, 8)]));
      expect(locks.requests).toContainEqual({ name: `coffer:${coffer.name}:writes`, mode: 'shared' });
      // Once the write is done, the lock is free again and gc can run without skipping anything.
      expect(await coffer.gc({ graceMs: 0 })).toMatchObject({ writesInProgress: false, files: 0 });
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
