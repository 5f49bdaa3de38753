import { type Coffer, type CofferRecord, type FileEntry, liveQuery } from '@coffer/core';
import { describe, expect, onTestFinished, vi } from 'vitest';
import { blob, type it as cofferIt } from '../helpers/coffer.js';

/** A liveQuery subscription that keeps every value it emitted. */
function watch<T>(query: () => Promise<T>) {
  const values: T[] = [];
  const errors: unknown[] = [];
  const subscription = liveQuery(query).subscribe({
    next: (value) => values.push(value),
    error: (error) => errors.push(error),
  });
  onTestFinished(() => subscription.unsubscribe());
  return {
    values,
    /** The first value (the query's initial run). */
    async first(): Promise<T> {
      await vi.waitFor(() => expect(values.length).toBeGreaterThan(0), { timeout: 5000 });
      return values[0] as T;
    },
    /**
     * Run `action`, then wait until the query emits a value (after the ones seen so far) that
     * passes `check`. Fails when the query never re-runs with fresh results.
     */
    async after(action: () => Promise<unknown>, check: (value: T) => void): Promise<T> {
      await vi.waitFor(() => expect(values.length).toBeGreaterThan(0), { timeout: 5000 });
      const seen = values.length;
      await action();
      await vi.waitFor(
        () => {
          expect(errors).toEqual([]);
          expect(values.length).toBeGreaterThan(seen);
          check(values.at(-1) as T);
        },
        { timeout: 5000, interval: 10 },
      );
      return values.at(-1) as T;
    },
  };
}

const keysOf = (entries: FileEntry[]) => entries.map((e) => e.key);

async function recordWith(coffer: Coffer, ...keys: string[]) {
  const record = await coffer.records.create({ title: 'Survey 12' });
  for (const key of keys) await record.files!.set(key, blob(key));
  return record;
}

const dumpsOf = (record: CofferRecord) => watch(() => record.files!.dumps());

/**
 * The liveQuery cases, shared by the node project (fake-indexeddb) and the browser project
 * (Chromium, with the worker).
 */
export function liveQueryCases(it: typeof cofferIt): void {
  describe('liveQuery over record.files.dumps()', () => {
    it('re-runs after files.set', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      const dumps = dumpsOf(record);

      await dumps.after(
        () => record.files!.set('b.txt', blob('b')),
        (value) => expect(keysOf(value)).toEqual(['a.txt', 'b.txt']),
      );
    });

    it('re-runs after ObjectVersion.restore()', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      await record.files!.set('a.txt', blob('a 2'));
      const [, older] = await record.bucket!.objects.versions('a.txt');
      const dumps = dumpsOf(record);
      expect((await dumps.first())[0]?.size).toBe(3);

      const restored = await dumps.after(
        () => older!.restore(),
        (value) => expect(value[0]).toMatchObject({ key: 'a.txt', file_id: older!.fileId, size: 5 }),
      );
      expect(restored[0]?.version_id).not.toBe(older!.versionId);
    });

    it('re-runs after ObjectVersion.remove() of the head', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      await record.files!.set('a.txt', blob('a 2'));
      const [head, older] = await record.bucket!.objects.versions('a.txt');
      const dumps = dumpsOf(record);
      expect((await dumps.first())[0]?.version_id).toBe(head!.versionId);

      await dumps.after(
        () => head!.remove(),
        (value) =>
          expect(value).toEqual([expect.objectContaining({ version_id: older!.versionId, size: 5 })]),
      );
    });

    it('re-runs after ObjectVersion.remove() of the only version', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt', 'b.txt');
      const [only] = await record.bucket!.objects.versions('a.txt');
      const dumps = dumpsOf(record);

      await dumps.after(
        () => only!.remove(),
        (value) => expect(keysOf(value)).toEqual(['b.txt']),
      );
    });

    it('re-runs after ObjectVersion.copy() to another key', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      const [head] = await record.bucket!.objects.versions('a.txt');
      const dumps = dumpsOf(record);

      await dumps.after(
        () => head!.copy(record.bucketId!, 'copy.txt'),
        (value) => expect(keysOf(value)).toEqual(['a.txt', 'copy.txt']),
      );
    });

    it('re-runs after files.delete', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt', 'b.txt');
      const dumps = dumpsOf(record);

      await dumps.after(
        () => record.files!.delete('a.txt'),
        (value) => expect(keysOf(value)).toEqual(['b.txt']),
      );
    });

    it('re-runs after files.rename', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt', 'b.txt');
      const dumps = dumpsOf(record);

      await dumps.after(
        () => record.files!.rename('a.txt', 'z.txt'),
        (value) => expect(keysOf(value)).toEqual(['z.txt', 'b.txt']),
      );
    });

    it('re-runs after files.sortBy', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt', 'b.txt', 'c.txt');
      const dumps = dumpsOf(record);

      await dumps.after(
        () => record.files!.sortBy(['c.txt', 'b.txt']),
        (value) => expect(keysOf(value)).toEqual(['c.txt', 'b.txt', 'a.txt']),
      );
    });

    it('re-runs after files.setMetadata', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      const dumps = dumpsOf(record);

      await dumps.after(
        () => record.files!.setMetadata('a.txt', { description: 'North wall' }),
        (value) => expect(value[0]).toMatchObject({ key: 'a.txt', description: 'North wall' }),
      );
    });

    it('re-runs after a direct bucket.objects.put and delete', async ({ coffer }) => {
      const record = await recordWith(coffer, 'b.txt');
      const dumps = dumpsOf(record);

      await dumps.after(
        () => record.bucket!.objects.put('a.txt', blob('direct')),
        (value) => expect(keysOf(value)).toEqual(['b.txt', 'a.txt']),
      );
      await dumps.after(
        () => record.bucket!.objects.delete('b.txt'),
        (value) => expect(keysOf(value)).toEqual(['a.txt']),
      );
    });

    it('re-runs after a write from another coffer on the same database (another tab)', async ({ coffer }) => {
      const { openCoffer } = await import('@coffer/core');
      const record = await recordWith(coffer, 'a.txt');
      const tab2 = await openCoffer({ name: coffer.name, chunkSize: 4, inlineBelow: 0 });
      onTestFinished(() => tab2.close());
      const theirs = await tab2.records.get(record.id);
      const dumps = dumpsOf(record);

      await dumps.after(
        () => theirs.files!.set('b.txt', blob('b')),
        (value) => expect(keysOf(value)).toEqual(['a.txt', 'b.txt']),
      );
    });
  });

  describe('liveQuery with a querier that is not an async function', () => {
    // As a UI controller calls it: `liveQuery(() => query(...args))`, where `query` is an async
    // function that awaits several Coffer reads in turn (here: the record, its files, its bucket).
    const view = (coffer: Coffer, id: string) => {
      const query = async () => {
        const record = await coffer.records.get(id);
        const files: { key: string; versionId: string; size: number }[] = [];
        for await (const file of record.files!)
          files.push({ key: file.key, versionId: file.versionId, size: file.size });
        const bucket = await record.bucket!.reload();
        return { files, locked: bucket.locked, rev: record.revisionId };
      };
      return watch(() => query());
    };

    it('re-runs after restore, remove, copy and a direct put', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      await record.files!.set('a.txt', blob('a 2'));
      const files = view(coffer, record.id);
      const [head, older] = await record.bucket!.objects.versions('a.txt');

      const restored = await files.after(
        () => older!.restore(),
        (value) => expect(value.files).toEqual([expect.objectContaining({ key: 'a.txt', size: 5 })]),
      );
      const newHead = (await record.bucket!.objects.get('a.txt'))!;
      expect(restored.files[0]?.versionId).toBe(newHead.versionId);
      await files.after(
        () => newHead.remove(),
        (value) => expect(value.files).toEqual([{ key: 'a.txt', versionId: head!.versionId, size: 3 }]),
      );
      await files.after(
        () => head!.copy(record.bucketId!, 'b.txt'),
        (value) => expect(value.files.map((f) => f.key)).toEqual(['a.txt', 'b.txt']),
      );
      await files.after(
        () => record.bucket!.objects.put('c.txt', blob('c')),
        (value) => expect(value.files.map((f) => f.key)).toEqual(['a.txt', 'b.txt', 'c.txt']),
      );
    });

    it('re-runs after files.set, setMetadata, sortBy, rename, delete and a bucket lock', async ({
      coffer,
    }) => {
      const record = await recordWith(coffer, 'a.txt');
      const files = view(coffer, record.id);
      const keys = (value: { files: { key: string }[] }) => value.files.map((f) => f.key);

      await files.after(
        () => record.files!.set('b.txt', blob('b')),
        (value) => expect(keys(value)).toEqual(['a.txt', 'b.txt']),
      );
      await files.after(
        () => record.files!.sortBy(['b.txt']),
        (value) => expect(keys(value)).toEqual(['b.txt', 'a.txt']),
      );
      await files.after(
        () => record.files!.rename('a.txt', 'z.txt'),
        (value) => expect(keys(value)).toEqual(['b.txt', 'z.txt']),
      );
      await files.after(
        () => record.files!.delete('b.txt'),
        (value) => expect(keys(value)).toEqual(['z.txt']),
      );
      await files.after(
        () => record.bucket!.lock(),
        (value) => expect(value.locked).toBe(true),
      );
    });

    it('re-runs a record list and a promise chain after a direct bucket write', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      const chained = watch(() =>
        coffer.records.get(record.id).then((r) => r.files!.dumps().then((d) => d.map((e) => e.key))),
      );
      const listed = watch(() =>
        coffer.records.list().then((rs) => rs.map((r) => ({ id: r.id, size: r.bucket?.size }))),
      );

      await chained.after(
        () => record.bucket!.objects.put('b.txt', blob('b')),
        (value) => expect(value).toEqual(['a.txt', 'b.txt']),
      );
      await listed.after(
        () => record.bucket!.objects.put('c.txt', blob('ccc')),
        (value) => expect(value).toEqual([{ id: record.id, size: 9 }]),
      );
    });
  });

  describe('liveQuery over listings and buckets', () => {
    it('re-runs a file listing (for await of record.files) after restore and remove', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      await record.files!.set('a.txt', blob('a 2'));
      const listing = watch(async () => {
        const out: { key: string; versionId: string; size: number }[] = [];
        for await (const file of record.files!)
          out.push({ key: file.key, versionId: file.versionId, size: file.size });
        return out;
      });
      const [head, older] = await record.bucket!.objects.versions('a.txt');

      const restored = await listing.after(
        () => older!.restore(),
        (value) => expect(value).toEqual([expect.objectContaining({ key: 'a.txt', size: 5 })]),
      );
      expect(restored[0]?.versionId).not.toBe(head!.versionId);
      const newHead = (await record.bucket!.objects.get('a.txt'))!;
      await listing.after(
        () => newHead.remove(),
        (value) => expect(value).toEqual([{ key: 'a.txt', versionId: head!.versionId, size: 3 }]),
      );
    });

    it('re-runs bucket.objects.list() and versions() after restore and remove', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      await record.files!.set('a.txt', blob('a 2'));
      const bucket = record.bucket!;
      const list = watch(async () => (await bucket.objects.list()).map((v) => [v.key, v.size]));
      const versions = watch(async () => (await bucket.objects.versions('a.txt')).map((v) => v.size));
      const [, older] = await bucket.objects.versions('a.txt');
      expect(await versions.first()).toEqual([3, 5]);

      await list.after(
        () => older!.restore(),
        (value) => expect(value).toEqual([['a.txt', 5]]),
      );
      await vi.waitFor(() => expect(versions.values.at(-1)).toEqual([5, 3, 5]));
      await versions.after(
        () => older!.remove(),
        (value) => expect(value).toEqual([5, 3]),
      );
    });

    it('re-runs a bucket read after lock, unlock and update', async ({ coffer }) => {
      const record = await recordWith(coffer, 'a.txt');
      const bucketId = record.bucketId!;
      const state = watch(async () => {
        const bucket = await coffer.buckets.get(bucketId);
        return { locked: bucket?.locked, quotaSize: bucket?.quotaSize, size: bucket?.size };
      });
      expect(await state.first()).toMatchObject({ locked: false, size: 5 });

      await state.after(
        () => record.bucket!.lock(),
        (value) => expect(value.locked).toBe(true),
      );
      await state.after(
        () => record.bucket!.unlock(),
        (value) => expect(value.locked).toBe(false),
      );
      await state.after(
        () => record.bucket!.update({ quotaSize: 100 }),
        (value) => expect(value.quotaSize).toBe(100),
      );
    });

    it('re-runs a record read after commit and files.set', async ({ coffer }) => {
      const record = await recordWith(coffer);
      const reads = watch(async () => {
        const stored = await coffer.records.get(record.id);
        return { title: stored.data.title, files: (stored.data._files ?? []).length, rev: stored.revisionId };
      });

      record.data.title = 'edited';
      await reads.after(
        () => record.commit(),
        (value) => expect(value).toEqual({ title: 'edited', files: 0, rev: 1 }),
      );
      await reads.after(
        () => record.files!.set('a.txt', blob('a')),
        (value) => expect(value).toEqual({ title: 'edited', files: 1, rev: 2 }),
      );
    });
  });
}
