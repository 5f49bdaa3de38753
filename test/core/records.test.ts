import {
  type Bucket,
  type Coffer,
  CofferRecord,
  InvalidOperationError,
  openCoffer,
  type RecordData,
  Records,
} from '@coffer/core';
import { describe, expect } from 'vitest';
import { blob, caught, it } from '../helpers/coffer.js';

/** A second connection to the same database: another tab. */
const otherTab = (coffer: Coffer): Promise<Coffer> =>
  openCoffer({ name: coffer.name, chunkSize: 4, inlineBelow: 0 });

/** Record `a` as read here, then committed with title `theirs` by a second tab (close it after). */
async function staleRecord(coffer: Coffer): Promise<{ tab2: Coffer; mine: CofferRecord }> {
  const tab2 = await otherTab(coffer);
  const mine = await coffer.records.create({ title: 'a' });
  const theirs = await tab2.records.get(mine.id);
  theirs.data.title = 'theirs';
  await theirs.commit();
  return { tab2, mine };
}

const links = (coffer: Coffer) => coffer.context.db.recordsBuckets.toArray();

describe('records.create', () => {
  it('creates a record with a bucket whose id is dumped into _bucket', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey 12' });

    expect(record.revisionId).toBe(0);
    expect(record.data).toEqual({ title: 'Survey 12', _bucket: record.bucketId });
    expect(record.bucket?.id).toBe(record.bucketId);
    expect(record.files).toBeDefined();
    expect(record.created).toBeInstanceOf(Date);
    expect(record.updated.getTime()).toBe(record.created.getTime());
    expect(await links(coffer)).toEqual([{ recordId: record.id, bucketId: record.bucketId }]);
  });

  it('reloads the record with the same bucket', async ({ coffer }) => {
    const created = await coffer.records.create({ title: 'a' });

    const record = await coffer.records.get(created.id);

    expect(record.bucket?.id).toBe(created.data._bucket);
    expect(record.data).toEqual(created.data);
  });

  it('creates a record without a bucket when withBucket is false', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' }, { withBucket: false });

    expect(record.data).toEqual({ title: 'a' });
    expect([record.bucketId, record.bucket, record.files]).toEqual([undefined, undefined, undefined]);
    expect(await coffer.buckets.list()).toEqual([]);
    expect(await links(coffer)).toEqual([]);
  });

  it('does not change the data it was given', async ({ coffer }) => {
    const data = { title: 'a', nested: { n: 1 } };

    const record = await coffer.records.create(data);
    record.data.nested = { n: 2 };

    expect(data).toEqual({ title: 'a', nested: { n: 1 } });
  });

  it('takes the id it is given and refuses to reuse it', async ({ coffer }) => {
    const record = await coffer.records.create({}, { id: 'rec-1' });

    const error = await caught(() => coffer.records.create({}, { id: 'rec-1' }));

    expect(record.id).toBe('rec-1');
    expect(error).toMatchObject({ code: 'RECORD_EXISTS', recordId: 'rec-1' });
    expect(await coffer.buckets.list()).toHaveLength(1);
  });

  it('refuses data that is not a JSON object', async ({ coffer }) => {
    const error = await caught(() => coffer.records.create([] as unknown as RecordData));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'data' });
  });

  it('uses a custom createBucket that returns an existing bucket', async ({ coffer }) => {
    const shared = await coffer.buckets.create();
    const custom = await otherTab(coffer);
    const records = new Records(custom, { createBucket: async () => shared });

    const record = await records.create({ title: 'a' });

    expect(record.data._bucket).toBe(shared.id);
    expect(await coffer.buckets.list()).toHaveLength(1);
    custom.close();
  });

  it('creates no bucket when a custom createBucket returns none', async ({ coffer }) => {
    const records = new Records(coffer, { createBucket: () => undefined });

    const record = await records.create({ title: 'a' });

    expect(record.data).toEqual({ title: 'a' });
    expect(record.files).toBeUndefined();
    expect(await coffer.buckets.list()).toEqual([]);
  });

  it('takes the override points by subclassing, as in Invenio', async ({ coffer }) => {
    class NestedRecords extends Records {
      override dumpBucket(data: RecordData, bucket: Bucket): void {
        data._buckets = { record: bucket.id };
      }
      override loadBucket(data: RecordData): string | undefined {
        return (data._buckets as { record?: string } | undefined)?.record;
      }
    }
    const records = new NestedRecords(coffer);

    const created = await records.create({ title: 'a' });
    const record = await records.get(created.id);
    await record.files!.set('a.txt', blob('A'));

    expect(record.data._bucket).toBeUndefined();
    expect(record.data._buckets).toEqual({ record: record.bucketId });
    expect(record.bucket?.id).toBe(record.bucketId);
    expect(await record.bucket!.objects.get('a.txt')).toBeDefined();
  });

  it('takes custom dumpBucket and loadBucket as options of openCoffer', async ({ coffer }) => {
    const custom = await openCoffer({
      name: coffer.name,
      records: {
        dumpBucket: (data, bucket) => {
          data.storage = { bucket: bucket.id };
        },
        loadBucket: (data) => (data.storage as { bucket: string } | undefined)?.bucket,
      },
    });

    const record = await custom.records.get((await custom.records.create({})).id);

    expect(record.data).toEqual({ storage: { bucket: record.bucketId } });
    expect(record.bucket).toBeDefined();
    custom.close();
  });

  it('removes the bucket it made when the record cannot be stored', async ({ coffer }) => {
    const schemas = { 'urn:s': { type: 'object', required: ['title'] } };
    const strict = await openCoffer({ name: coffer.name, schemas });

    await caught(() => strict.records.create({ $schema: 'urn:s' }));

    expect(await coffer.context.db.buckets.count()).toBe(0);
    strict.close();
  });
});

describe('records.get, getMany and list', () => {
  it('refuses a record that does not exist', async ({ coffer }) => {
    const error = await caught(() => coffer.records.get('nope'));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'record', recordId: 'nope' });
  });

  it('refuses a soft-deleted record unless includeDeleted is set', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.delete();

    const error = await caught(() => coffer.records.get(record.id));
    const trashed = await coffer.records.get(record.id, { includeDeleted: true });

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'record' });
    expect(trashed.deleted).toBe(true);
  });

  it('returns the records that exist in the order of the ids', async ({ coffer }) => {
    const a = await coffer.records.create({ n: 'a' });
    const b = await coffer.records.create({ n: 'b' });
    const c = await coffer.records.create({ n: 'c' });
    await c.delete();

    const found = await coffer.records.getMany([b.id, 'missing', c.id, a.id]);
    const withDeleted = await coffer.records.getMany([c.id], { includeDeleted: true });

    expect(found.map((r) => r.data.n)).toEqual(['b', 'a']);
    expect(withDeleted.map((r) => r.data.n)).toEqual(['c']);
  });

  it('lists records by last update, newest first, and hides deleted ones', async ({ coffer }) => {
    const a = await coffer.records.create({ n: 'a' });
    const b = await coffer.records.create({ n: 'b' });
    const c = await coffer.records.create({ n: 'c' });
    await new Promise((resolve) => setTimeout(resolve, 2));
    a.data.n = 'a2';
    await a.commit();
    await new Promise((resolve) => setTimeout(resolve, 2));
    await b.delete();

    const listed = await coffer.records.list();
    const all = await coffer.records.list({ includeDeleted: true });

    expect(listed.map((r) => r.data.n)).toEqual(['a2', 'c']);
    expect(all.map((r) => r.id)).toEqual([b.id, a.id, c.id]);
  });

  it('pages with limit and after, without skipping records that share a millisecond', async ({ coffer }) => {
    for (let i = 0; i < 7; i++) await coffer.records.create({ i }, { withBucket: false });

    const pages: number[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = await coffer.records.list({ limit: 3, ...(after ? { after } : {}) });
      if (page.length === 0) break;
      pages.push(page.map((r) => r.data.i as number));
      after = page.at(-1)!.id;
    }

    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(new Set(pages.flat()).size).toBe(7);
    expect(pages.flat()).toEqual((await coffer.records.list()).map((r) => r.data.i));
  });

  it('pages through the trash too', async ({ coffer }) => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await coffer.records.create({ i }, { withBucket: false })).id);
    for (const id of ids.slice(0, 2)) await (await coffer.records.get(id)).delete();

    const first = await coffer.records.list({ includeDeleted: true, limit: 3 });
    const second = await coffer.records.list({ includeDeleted: true, limit: 3, after: first.at(-1)!.id });

    expect([...first, ...second].map((r) => r.id).sort()).toEqual([...ids].sort());
  });

  it('refuses a page cursor that names no record', async ({ coffer }) => {
    const error = await caught(() => coffer.records.list({ after: 'gone' }));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'record' });
  });
});

describe('record.commit, revisions and revert', () => {
  it('stores the edited data as the next revision', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' });
    record.data.title = 'b';

    await record.commit();

    expect(record.revisionId).toBe(1);
    expect((await coffer.records.get(record.id)).data.title).toBe('b');
    expect(record.updated.getTime()).toBeGreaterThanOrEqual(record.created.getTime());
  });

  it('keeps every revision, oldest first, the current one included', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' }, { withBucket: false });
    record.data.title = 'b';
    await record.commit();
    record.data.title = 'c';
    await record.commit();

    const revisions = await record.revisions();

    expect(revisions.map((r) => [r.revisionId, r.data.title])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
    expect(revisions[0]!.created).toBeInstanceOf(Date);
  });

  it('puts back a _bucket the edit lost, so the bucket is never lost', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' });
    const bucketId = record.bucketId;
    delete record.data._bucket;

    await record.commit();

    expect((await coffer.records.get(record.id)).data._bucket).toBe(bucketId);
    expect(record.data._bucket).toBe(bucketId);
  });

  it('reverts to an earlier revision as a new revision', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' });
    record.data.title = 'b';
    record.data.extra = true;
    await record.commit();

    await record.revert(0);

    expect(record.revisionId).toBe(2);
    expect(record.data).toEqual({ title: 'a', _bucket: record.bucketId });
    expect((await coffer.records.get(record.id)).data).toEqual(record.data);
    expect((await record.revisions()).map((r) => r.data.title)).toEqual(['a', 'b', 'a']);
  });

  it('reverts the metadata and keeps the current files, their order and their metadata', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'first', keywords: ['a'] });
    const keys = Array.from({ length: 9 }, (_, i) => `file-${i + 1}.txt`);
    for (const key of keys) await record.files!.set(key, blob(key));
    for (const key of keys) await record.files!.setMetadata(key, { description: `about ${key}` });
    const order = [...keys].reverse();
    await record.files!.sortBy(order);
    record.data.title = 'second';
    record.data.keywords = ['b'];
    await record.commit();
    await record.bucket!.lock();

    await record.revert(1);

    const stored = await coffer.records.get(record.id);
    expect(stored.data.title).toBe('first');
    expect(stored.data.keywords).toEqual(['a']);
    expect(stored.data._files?.map((f) => [f.key, f.description])).toEqual(
      order.map((key) => [key, `about ${key}`]),
    );
    expect(record.data._files).toEqual(stored.data._files);
    expect(await record.files!.dumps()).toEqual(stored.data._files);
    expect(await record.files!.count()).toBe(9);
    expect(record.revisionId).toBe(stored.revisionId);
  });

  it('reverts to a revision with files that were deleted since without bringing their entries back', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'a' });
    await record.files!.set('gone.txt', blob('x'), { metadata: { description: 'old' } });
    await record.files!.set('kept.txt', blob('y'));
    await record.files!.delete('gone.txt');

    await record.revert(2);

    expect(record.data._files?.map((f) => f.key)).toEqual(['kept.txt']);
    expect((await coffer.records.get(record.id)).data._files?.map((f) => f.key)).toEqual(['kept.txt']);
  });

  it('refuses to revert a record that another tab changed since it was read', async ({ coffer }) => {
    const { tab2, mine } = await staleRecord(coffer);

    const error = await caught(() => mine.revert(0));

    expect(error).toMatchObject({ code: 'REVISION_CONFLICT', expected: 0, actual: 1 });
    tab2.close();
  });

  it('refuses to revert to a revision that does not exist', async ({ coffer }) => {
    const record = await coffer.records.create({});

    const error = await caught(() => record.revert(7));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'revision', recordId: record.id });
  });

  it('refuses a commit when another tab committed in between', async ({ coffer }) => {
    const { tab2, mine } = await staleRecord(coffer);
    mine.data.title = 'mine';

    const error = await caught(() => mine.commit());

    expect(error).toBeInstanceOf(InvalidOperationError);
    expect(error).toMatchObject({ code: 'REVISION_CONFLICT', recordId: mine.id, expected: 0, actual: 1 });
    expect((await coffer.records.get(mine.id)).data.title).toBe('theirs');
    tab2.close();
  });

  it('commits again once the stale record is reloaded', async ({ coffer }) => {
    const tab2 = await otherTab(coffer);
    const mine = await coffer.records.create({ title: 'a' });
    const theirs = await tab2.records.get(mine.id);
    await theirs.commit();

    await mine.reload();
    mine.data.title = 'mine';
    await mine.commit();

    expect(mine.revisionId).toBe(2);
    tab2.close();
  });

  it('accepts a file write from a tab whose record is stale: a merge on the stored record', async ({
    coffer,
  }) => {
    const { tab2, mine } = await staleRecord(coffer);
    mine.data.title = 'mine';

    const file = await mine.files!.set('a.txt', blob('A'));

    const stored = await coffer.records.get(mine.id);
    expect(stored.revisionId).toBe(2);
    expect(stored.data).toMatchObject({
      title: 'theirs',
      _files: [{ key: 'a.txt', version_id: file.versionId }],
    });
    expect(mine.data).toMatchObject({
      title: 'mine',
      _files: [{ key: 'a.txt', version_id: file.versionId }],
    });
    expect((await mine.revisions()).map((r) => [r.revisionId, r.data.title])).toEqual([
      [0, 'a'],
      [1, 'theirs'],
      [2, 'theirs'],
    ]);
    tab2.close();
  });

  it('keeps a stale record behind after a file write, so that its data edits still conflict', async ({
    coffer,
  }) => {
    const { tab2, mine } = await staleRecord(coffer);
    mine.data.title = 'mine';
    await mine.files!.set('a.txt', blob('A'));

    const error = await caught(() => mine.commit());

    expect(mine.revisionId).toBe(0);
    expect(error).toMatchObject({ code: 'REVISION_CONFLICT', expected: 0, actual: 2 });
    expect((await coffer.records.get(mine.id)).data.title).toBe('theirs');
    await mine.reload();
    expect(mine.data).toMatchObject({ title: 'theirs', _files: [{ key: 'a.txt' }] });
    tab2.close();
  });

  it('lets only one of two tabs commit the same revision', async ({ coffer }) => {
    const tab2 = await otherTab(coffer);
    const mine = await coffer.records.create({ n: 0 }, { withBucket: false });
    const theirs = await tab2.records.get(mine.id);
    mine.data.n = 1;
    theirs.data.n = 2;

    const results = await Promise.allSettled([mine.commit(), theirs.commit()]);

    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await coffer.records.get(mine.id)).revisionId).toBe(1);
    tab2.close();
  });
});

describe('record.delete and restore', () => {
  it('soft-deletes: the data, the link and the bucket stay, get and list refuse it', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' });
    await record.files!.set('a.txt', blob('A'));

    await record.delete();

    expect(record.deleted).toBe(true);
    expect(await caught(() => coffer.records.get(record.id))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await coffer.records.list()).toEqual([]);
    expect(await links(coffer)).toHaveLength(1);
    const bucket = await coffer.buckets.get(record.bucketId!);
    expect((await bucket!.objects.list()).map((v) => v.key)).toEqual(['a.txt']);
    expect((await coffer.records.get(record.id, { includeDeleted: true })).data.title).toBe('a');
  });

  it('restores a soft-deleted record', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' });
    await record.delete();

    await record.restore();

    expect(record.deleted).toBe(false);
    expect((await coffer.records.get(record.id)).data.title).toBe('a');
  });

  it('refuses commits and file writes to a soft-deleted record', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' });
    await record.delete();

    const commit = await caught(() => record.commit());
    const write = await caught(() => record.files!.set('a.txt', blob('A')));

    expect(commit).toMatchObject({ code: 'RECORD_DELETED', recordId: record.id });
    expect(write).toMatchObject({ code: 'RECORD_DELETED' });
  });

  it('hard-deletes the record and its revisions; the bucket and its files stay, unlinked', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'a' });
    await record.files!.set('a.txt', blob('A'));

    await record.delete({ force: true });

    expect(await caught(() => coffer.records.get(record.id, { includeDeleted: true }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await links(coffer)).toEqual([]);
    expect(await coffer.context.db.recordRevisions.count()).toBe(0);
    const bucket = await coffer.buckets.get(record.bucketId!);
    expect((await bucket!.objects.list()).map((v) => v.key)).toEqual(['a.txt']);
  });

  it('hard-deletes a soft-deleted record, keeping the bucket', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.delete();

    await record.delete({ force: true });

    expect(await coffer.buckets.list()).toHaveLength(1);
    expect(await coffer.context.db.records.count()).toBe(0);
  });

  it('deletes a record without a bucket, soft and hard', async ({ coffer }) => {
    const soft = await coffer.records.create({}, { withBucket: false });
    const hard = await coffer.records.create({}, { withBucket: false });

    await soft.delete();
    await hard.delete({ force: true });

    expect(await coffer.records.list({ includeDeleted: true })).toHaveLength(1);
  });

  it('refuses to restore a hard-deleted record', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.delete({ force: true });

    expect(await caught(() => record.restore())).toMatchObject({ code: 'NOT_FOUND', resource: 'record' });
  });
});

describe('JSON Schema validation', () => {
  const schemas = {
    'https://example.org/survey.json': {
      type: 'object',
      required: ['title', 'year'],
      properties: { title: { type: 'string' }, year: { type: 'integer', minimum: 1900 } },
    },
    'https://example.org/strict-2020.json': {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { tags: { type: 'array', prefixItems: [{ type: 'string' }] } },
    },
  };

  it('rejects a record that breaks its schema, listing every violation', async ({ coffer }) => {
    const strict = await openCoffer({ name: coffer.name, schemas });

    const error = await caught(() =>
      strict.records.create({ $schema: 'https://example.org/survey.json', year: 1800 }),
    );

    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', expected: 'https://example.org/survey.json' });
    expect(error.errors).toEqual(
      expect.arrayContaining([
        { path: '/title', message: expect.any(String) },
        { path: '/year', message: expect.any(String) },
      ]),
    );
    expect(await coffer.context.db.records.count()).toBe(0);
    strict.close();
  });

  it('accepts a record that matches its schema, and one naming no registered schema', async ({ coffer }) => {
    const strict = await openCoffer({ name: coffer.name, schemas });

    const valid = await strict.records.create({
      $schema: 'https://example.org/survey.json',
      title: 't',
      year: 2001,
    });
    const unknown = await strict.records.create({ $schema: 'https://example.org/other.json' });
    const none = await strict.records.create({ anything: 1 });

    expect([valid, unknown, none].every((r) => r instanceof CofferRecord)).toBe(true);
    strict.close();
  });

  it('rejects a commit that breaks the schema and stores nothing', async ({ coffer }) => {
    const strict = await openCoffer({ name: coffer.name, schemas });
    const record = await strict.records.create({
      $schema: 'https://example.org/survey.json',
      title: 't',
      year: 2001,
    });
    record.data.year = 'last year';

    const error = await caught(() => record.commit());

    expect(error).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ path: '/year', message: expect.any(String) }],
    });
    expect(record.revisionId).toBe(0);
    expect((await strict.records.get(record.id)).data.year).toBe(2001);
    strict.close();
  });

  it('validates against a 2020-12 schema', async ({ coffer }) => {
    const strict = await openCoffer({ name: coffer.name, schemas });

    const error = await caught(() =>
      strict.records.create({ $schema: 'https://example.org/strict-2020.json', tags: [42] }),
    );

    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: '/tags/0' }] });
    strict.close();
  });

  it('validates the record when a file write changes _files', async ({ coffer }) => {
    const fileSchemas = {
      'urn:one-file': { type: 'object', properties: { _files: { type: 'array', maxItems: 1 } } },
    };
    const strict = await openCoffer({ name: coffer.name, schemas: fileSchemas, chunkSize: 4 });
    const record = await strict.records.create({ $schema: 'urn:one-file' });
    await record.files!.set('a.txt', blob('A'));

    const error = await caught(() => record.files!.set('b.txt', blob('B')));

    expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await record.files!.keys()).toEqual(['a.txt']);
    strict.close();
  });
});
