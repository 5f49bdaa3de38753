import type { Coffer, CofferRecord } from '@coffer/core';
import { describe, expect } from 'vitest';
import { blob, bytes, bytesOf, caught } from '../helpers/coffer.js';
import { counts, type ExportedBag, exportedBag, forged, it } from './transfer-fixtures.js';

/** A record in `target` with one file: what a hostile bag must not touch. */
async function bystander(target: Coffer): Promise<CofferRecord> {
  const record = await target.records.create({ title: 'Not in the bag' });
  await record.files!.set('mine.txt', blob('the bystander’s bytes'));
  return record;
}

/** A bag of one record with one file, made in `coffer`. */
async function oneRecordBag(coffer: Coffer): Promise<ExportedBag & { recordId: string; bucketId: string }> {
  const record = await coffer.records.create({ title: 'In the bag' });
  await record.files!.set('site.jpg', bytes(11, 1));
  return { ...(await exportedBag(coffer, record.id)), recordId: record.id, bucketId: record.bucketId! };
}

/** Point every reference a record document makes to its bucket (`buckets`, `_bucket`, `_files`) at `bucketId`. */
const claimBucket = (bucketId: string) => (json: Record<string, unknown>) => {
  json.buckets = [bucketId];
  const revisions = json.revisions as { data: Record<string, unknown> }[];
  for (const data of [json.data as Record<string, unknown>, ...revisions.map((r) => r.data)]) {
    data._bucket = bucketId;
    for (const entry of (data._files ?? []) as Record<string, unknown>[]) entry.bucket = bucketId;
  }
};

/** `bag` forged so that its record and its bucket document take `mine`'s bucket (its id and every reference). */
const takingBucketOf = (bag: ExportedBag, mine: CofferRecord): Blob =>
  forged(bag, {
    record: claimBucket(mine.bucketId!),
    bucket: (json) => {
      json.id = mine.bucketId;
    },
  });

/** The bystander's file still reads back, and its record still lists it. */
async function expectUntouched(target: Coffer, record: CofferRecord): Promise<void> {
  const again = await target.records.get(record.id);
  expect(again.bucketId).toBe(record.bucketId);
  const file = await again.files!.get('mine.txt');
  expect(await (await file!.blob()).text()).toBe('the bystander’s bytes');
  expect(await again.files!.keys()).toEqual(['mine.txt']);
}

const modes = ['skip', 'replace', 'new-ids'] as const;

describe('import and bucket ownership', { timeout: 30_000 }, () => {
  it.for(modes)(
    'refuses a record whose _bucket names the bucket of a record here (onConflict %s), changing nothing',
    async (onConflict, { coffer, target }) => {
      const mine = await bystander(target);
      const bag = await oneRecordBag(coffer);
      const hostile = forged(bag, {
        record: (json) => {
          (json.data as Record<string, unknown>)._bucket = mine.bucketId;
        },
      });
      const before = await counts(target);

      const error = await caught(() => target.import(hostile, { onConflict }));

      expect(error).toMatchObject({
        name: 'InvalidBagError',
        reason: 'foreign-bucket',
        recordId: bag.recordId,
        bucketId: mine.bucketId,
      });
      expect(await counts(target)).toEqual(before);
      await expectUntouched(target, mine);
    },
  );

  it('refuses a record whose earlier revision names another bucket in _bucket', async ({
    coffer,
    target,
  }) => {
    const mine = await bystander(target);
    const bag = await oneRecordBag(coffer);
    const hostile = forged(bag, {
      record: (json) => {
        const revisions = json.revisions as { data: Record<string, unknown> }[];
        revisions[0]!.data._bucket = mine.bucketId;
      },
    });

    const error = await caught(() => target.import(hostile));

    expect(error).toMatchObject({ reason: 'foreign-bucket', bucketId: mine.bucketId });
  });

  it('refuses a bag in which two records claim the same bucket', async ({ coffer, target }) => {
    const bag = await oneRecordBag(coffer);
    const other = await coffer.records.create({ title: 'Second' }, { withBucket: false });
    const withOther = await exportedBag(coffer, bag.recordId);
    const otherRecord = `${withOther.base}data/records/${other.id}/record.json`;
    const hostile = forged(
      { ...withOther, record: otherRecord, bucket: withOther.bucket },
      { record: claimBucket(bag.bucketId) },
    );
    const before = await counts(target);

    const error = await caught(() => target.import(hostile));

    expect(error).toMatchObject({ reason: 'foreign-bucket', bucketId: bag.bucketId });
    expect(await counts(target)).toEqual(before);
  });

  it('with "replace", refuses a new record that brings the bucket of a record here, changing nothing', async ({
    coffer,
    target,
  }) => {
    const mine = await bystander(target);
    const hostile = takingBucketOf(await oneRecordBag(coffer), mine);
    const before = await counts(target);

    const error = await caught(() => target.import(hostile, { onConflict: 'replace' }));

    expect(error).toMatchObject({
      name: 'ImportConflictError',
      code: 'IMPORT_CONFLICT',
      bucketId: mine.bucketId,
      recordId: mine.id,
    });
    expect(await counts(target)).toEqual(before);
    await expectUntouched(target, mine);
  });

  it('with "replace", refuses a bucket no record in the bag owns that has the id of a record’s bucket here', async ({
    coffer,
    target,
  }) => {
    const mine = await bystander(target);
    const loose = await coffer.buckets.create();
    await loose.objects.put('loose.txt', blob('loose bytes'));
    const bag = await exportedBag(coffer, 'none');
    const document = Object.keys(bag.entries).find((name) =>
      name.endsWith(`buckets/${loose.id}/bucket.json`),
    )!;
    const hostile = forged(
      { ...bag, bucket: document },
      {
        bucket: (json) => {
          json.id = mine.bucketId;
        },
      },
    );

    const error = await caught(() => target.import(hostile, { onConflict: 'replace' }));

    expect(error).toMatchObject({ code: 'IMPORT_CONFLICT', bucketId: mine.bucketId, recordId: mine.id });
    await expectUntouched(target, mine);
  });

  it('with "skip", leaves a record here alone when a bag record brings its bucket', async ({
    coffer,
    target,
  }) => {
    const mine = await bystander(target);
    const hostile = takingBucketOf(await oneRecordBag(coffer), mine);

    const report = await target.import(hostile);

    expect(report.records).toMatchObject({ imported: 0, skipped: 1 });
    await expectUntouched(target, mine);
  });
});

describe('import of record revisions, times and ids', { timeout: 30_000 }, () => {
  it('refuses a record whose revisions are numbered above its revision, changing nothing', async ({
    coffer,
    target,
  }) => {
    const bag = await oneRecordBag(coffer);
    const hostile = forged(bag, {
      record: (json) => {
        const revisions = json.revisions as { revisionId: number }[];
        revisions.push({ ...revisions[0]!, revisionId: 5 });
      },
    });
    const before = await counts(target);

    const error = await caught(() => target.import(hostile));

    expect(error).toMatchObject({
      reason: 'invalid-document',
      path: bag.record.slice(bag.base.length),
    });
    expect(await counts(target)).toEqual(before);
  });

  it('refuses record revisions out of order', async ({ coffer, target }) => {
    const record = await coffer.records.create({ title: 'v0' });
    record.data.title = 'v1';
    await record.commit();
    const bag = await exportedBag(coffer, record.id);
    const hostile = forged(bag, {
      record: (json) => {
        (json.revisions as unknown[]).reverse();
      },
    });

    const error = await caught(() => target.import(hostile));

    expect(error).toMatchObject({ reason: 'invalid-document' });
  });

  const future = '9999-12-31T23:59:59.999Z';
  it.for([
    {
      field: 'a file’s last fixity check',
      edits: {
        bucket: (json: Record<string, unknown>) => {
          const file = (json.files as Record<string, unknown>[])[0]!;
          file.lastCheck = true;
          file.lastCheckAt = future;
        },
      },
    },
    {
      field: 'a record’s last update',
      edits: {
        record: (json: Record<string, unknown>) => {
          json.updated = future;
        },
      },
    },
    {
      field: 'the export time',
      edits: {
        index: (json: Record<string, unknown>) => {
          json.exported = future;
        },
      },
    },
  ])('refuses $field dated in the future, changing nothing', async ({ edits }, { coffer, target }) => {
    const bag = await oneRecordBag(coffer);
    const before = await counts(target);

    const error = await caught(() => target.import(forged(bag, edits)));

    expect(error).toMatchObject({ name: 'InvalidBagError', reason: 'invalid-document' });
    expect(await counts(target)).toEqual(before);
  });

  it('lets a record imported with all its revisions be changed again', async ({ coffer, target }) => {
    const record = await coffer.records.create({ title: 'v0' });
    record.data.title = 'v1';
    await record.commit();

    await target.import(await coffer.export({ includeVersions: true }));
    const copy = await target.records.get(record.id);
    copy.data.title = 'v2';
    await copy.commit();
    await copy.files!.set('late.txt', blob('late'));

    expect(copy.revisionId).toBe(3);
  });

  it.for(['..', '.'])(
    'refuses a record id of "%s", which has no working URL',
    async (id, { coffer, target }) => {
      const bag = await oneRecordBag(coffer);

      const error = await caught(() =>
        target.import(
          forged(bag, {
            record: (json) => {
              json.id = id;
            },
          }),
        ),
      );

      expect(error).toMatchObject({ reason: 'invalid-document', path: bag.record.slice(bag.base.length) });
    },
  );

  it.for(['..', '.'])('refuses a bucket id of "%s"', async (id, { coffer, target }) => {
    const bag = await oneRecordBag(coffer);

    const error = await caught(() =>
      target.import(
        forged(bag, {
          record: claimBucket(id),
          bucket: (json) => {
            json.id = id;
          },
        }),
      ),
    );

    expect(error).toMatchObject({ reason: 'invalid-document' });
  });

  it('still imports a record without a bucket, and one whose bucket the bag holds', async ({
    coffer,
    target,
  }) => {
    await coffer.records.create({ title: 'no bucket' }, { withBucket: false });
    const bag = await oneRecordBag(coffer);

    const report = await target.import(bag.zip);

    expect(report.records.imported).toBe(2);
    const copy = await target.records.get(bag.recordId);
    expect(await bytesOf(await (await copy.files!.get('site.jpg'))!.blob())).toEqual(bytes(11, 1));
  });
});
