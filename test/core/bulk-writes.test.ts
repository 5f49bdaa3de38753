import type { Coffer, PutManyResult } from '@coffer/core';
import { createMD5 } from 'hash-wasm';
import { describe, expect } from 'vitest';
import { blob, bytes, caught, itWith, rowCounts, streamOf } from '../helpers/coffer.js';

/** Chunks of 1 KiB, small files inline below 16 bytes: small Blobs are batched. */
const it = itWith({ chunkSize: 1024, inlineBelow: 16 });
/** 4-byte chunks: nearly every file is too big to batch and takes the single-file path. */
const itSingle = itWith({ chunkSize: 4, inlineBelow: 0 });

/**
 * A Blob whose bytes cannot be read through its own methods (a file removed from disk after it
 * was chosen). Node composes a Blob from a subclass's bytes without those methods, so it is
 * made big enough (over `inlineBelow`) to be read alone.
 */
class UnreadableBlob extends Blob {
  private failure = new DOMException('The file could not be read.', 'NotReadableError');
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return new ReadableStream({ pull: (controller) => controller.error(this.failure) });
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.reject(this.failure);
  }
  override slice(): Blob {
    return this;
  }
}

const md5 = async (text: string) => `md5:${(await createMD5()).update(text).digest('hex')}`;

const summary = (results: PutManyResult[]) =>
  results.map((r) => (r.ok ? [r.key, 'ok'] : [r.key, (r.error as { code?: string }).code]));

async function liveKeys(coffer: Coffer, bucketId: string): Promise<string[]> {
  const bucket = (await coffer.buckets.get(bucketId))!;
  return (await bucket.objects.list()).map((v) => v.key);
}

describe('objects.putMany', () => {
  it('stores every file as the head of its key, in order, with its md5 and bytes', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const texts = ['alpha', 'a longer text than sixteen bytes', '', 'delta'];

    const results = await bucket.objects.putMany(
      texts.map((text, i) => ({
        key: `f${i}.txt`,
        source: blob(text),
        mimetype: 'text/plain',
        tags: { i: `${i}` },
      })),
    );

    expect(summary(results)).toEqual(texts.map((_, i) => [`f${i}.txt`, 'ok']));
    for (const [i, text] of texts.entries()) {
      const r = results[i]!;
      if (!r.ok) throw r.error;
      expect(r.version).toMatchObject({
        key: `f${i}.txt`,
        size: text.length,
        checksum: await md5(text),
        isHead: true,
      });
      expect(await (await r.version.blob()).text()).toBe(text);
      expect(await r.version.getTag('i')).toBe(`${i}`);
      expect(r.version.mimetype).toBe('text/plain');
    }
    expect(bucket.size).toBe(texts.join('').length);
    expect(await liveKeys(coffer, bucket.id)).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']);
  });

  it('takes ArrayBuffers, Uint8Arrays and streams beside Blobs', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const view = bytes(20).subarray(3, 9);

    const results = await bucket.objects.putMany([
      { key: 'buffer', source: bytes(5).buffer },
      { key: 'view', source: view },
      { key: 'stream', source: streamOf(['str', 'eam']) },
      { key: 'big', source: new Blob([bytes(3000)]) },
    ]);

    expect(summary(results)).toEqual([
      ['buffer', 'ok'],
      ['view', 'ok'],
      ['stream', 'ok'],
      ['big', 'ok'],
    ]);
    expect(results.map((r) => r.ok && r.version.size)).toEqual([5, 6, 6, 3000]);
    expect(view).toEqual(bytes(20).subarray(3, 9));
  });

  it('reports one progress for the batch, growing to the total bytes', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const progress: { loaded: number; total: number | undefined }[] = [];

    await bucket.objects.putMany(
      [
        { key: 'a', source: blob('12345') },
        { key: 'b', source: new Blob([bytes(2000)]) },
        { key: 'c', source: blob('123') },
      ],
      { onProgress: (p) => progress.push(p) },
    );

    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.total === 2008)).toBe(true);
    expect(progress.map((p) => p.loaded)).toEqual([...progress.map((p) => p.loaded)].sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual({ loaded: 2008, total: 2008 });
  });

  it('leaves out each failing file with its typed error, and stores the others', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ maxFileSize: 10 });

    const results = await bucket.objects.putMany([
      { key: 'good-1', source: blob('one') },
      { key: '', source: blob('bad key') },
      { key: 'unreadable', source: new UnreadableBlob(['twenty bytes, unread']) },
      { key: 'too-big', source: blob('eleven byte') },
      { key: 'bad-tag', source: blob('x'), tags: { '': 'empty name' } },
      { key: 'not-bytes', source: 'text' as unknown as Blob },
      { key: 'good-2', source: blob('two') },
    ]);

    expect(summary(results)).toEqual([
      ['good-1', 'ok'],
      ['', 'INVALID_KEY'],
      ['unreadable', 'STORAGE'],
      ['too-big', 'MAX_FILE_SIZE_EXCEEDED'],
      ['bad-tag', 'INVALID_TAG'],
      ['not-bytes', 'INVALID_ARGUMENT'],
      ['good-2', 'ok'],
    ]);
    expect(await rowCounts(coffer)).toEqual({ files: 2, chunks: 2, objects: 2, heads: 2 });
    expect((await bucket.reload()).size).toBe(6);
  });

  it('re-checks the quota file by file in the commit: the files that fit land', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });

    const results = await bucket.objects.putMany([
      { key: 'a', source: blob('1234') },
      { key: 'b', source: blob('12345') },
      { key: 'c', source: blob('12') },
      { key: 'd', source: blob('1') },
    ]);

    expect(summary(results)).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
      ['c', 'BUCKET_QUOTA_EXCEEDED'],
      ['d', 'ok'],
    ]);
    expect(bucket.size).toBe(10);
    expect(await rowCounts(coffer)).toEqual({ files: 3, chunks: 3, objects: 3, heads: 3 });
  });

  it('changes nothing in a locked bucket, every file failing with BucketLockedError', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.lock();

    const results = await bucket.objects.putMany([
      { key: 'a', source: blob('one') },
      { key: 'b', source: new Blob([bytes(3000)]) },
    ]);

    expect(summary(results)).toEqual([
      ['a', 'BUCKET_LOCKED'],
      ['b', 'BUCKET_LOCKED'],
    ]);
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('deduplicates identical files within the batch and against stored ones', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const first = await bucket.objects.put('stored', blob('same bytes'));

    const results = await bucket.objects.putMany([
      { key: 'a', source: blob('same bytes') },
      { key: 'b', source: blob('same bytes') },
      { key: 'c', source: blob('other') },
    ]);

    const ids = results.map((r) => r.ok && r.version.fileId);
    expect(ids[0]).toBe(first.fileId);
    expect(ids[1]).toBe(first.fileId);
    expect(ids[2]).not.toBe(first.fileId);
    expect(await rowCounts(coffer)).toEqual({ files: 2, chunks: 2, objects: 4, heads: 4 });
  });

  it('stores bytes given twice in one batch once', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const results = await bucket.objects.putMany([
      { key: 'a', source: blob('twin bytes') },
      { key: 'b', source: blob('twin bytes') },
    ]);

    expect(results.map((r) => r.ok && r.version.fileId)).toEqual([
      results[0]!.ok && results[0]!.version.fileId,
      results[0]!.ok && results[0]!.version.fileId,
    ]);
    expect(await rowCounts(coffer)).toEqual({ files: 1, chunks: 1, objects: 2, heads: 2 });
    expect(bucket.size).toBe(20);
  });

  it('moves the head of a key stored before the batch, keeping the old version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const old = await bucket.objects.put('a', blob('old'));

    await bucket.objects.putMany([
      { key: 'a', source: blob('new') },
      { key: 'b', source: blob('bee') },
    ]);

    const versions = await bucket.objects.versions('a');
    expect(versions.map((v) => [v.versionId === old.versionId, v.isHead])).toEqual([
      [false, true],
      [true, false],
    ]);
    expect(await (await (await bucket.objects.get('a'))!.blob()).text()).toBe('new');
    expect(bucket.size).toBe(9);
    expect(await coffer.context.db.heads.count()).toBe(2);
  });

  it('lands two files of one key in the order given, the second as head', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.objects.putMany([
      { key: 'a', source: blob('first') },
      { key: 'a', source: blob('second') },
    ]);

    const versions = await bucket.objects.versions('a');
    expect(await Promise.all(versions.map(async (v) => [await (await v.blob()).text(), v.isHead]))).toEqual([
      ['second', true],
      ['first', false],
    ]);
  });

  it('fails only the file whose rows cannot be stored when its group transaction fails', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    // A write IndexedDB refuses for one file's chunk (as a full disk would) fails its group's
    // transaction; the files are then committed one by one.
    coffer.context.db.chunks.hook('creating', (_key, row) => {
      if (row.size === 7) throw new DOMException('The disk is full.', 'UnknownError');
    });

    const results = await bucket.objects.putMany([
      { key: 'a', source: blob('one') },
      { key: 'broken', source: blob('seven!!') },
      { key: 'c', source: blob('three') },
    ]);

    expect(summary(results)).toEqual([
      ['a', 'ok'],
      ['broken', 'STORAGE'],
      ['c', 'ok'],
    ]);
    expect(await rowCounts(coffer)).toEqual({ files: 2, chunks: 2, objects: 2, heads: 2 });
  });

  it('fails every file with AbortError when the signal is aborted before, changing nothing', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    const controller = new AbortController();
    controller.abort();

    const results = await bucket.objects.putMany([{ key: 'a', source: blob('one') }], {
      signal: controller.signal,
    });

    expect(summary(results)).toEqual([['a', 'ABORTED']]);
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('keeps the files committed before an abort, and fails the rest with AbortError', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const controller = new AbortController();
    // No pull before the write reads it (highWaterMark 0).
    const aborting = new ReadableStream<Uint8Array>(
      {
        pull(stream) {
          controller.abort();
          stream.enqueue(new TextEncoder().encode('late'));
        },
      },
      { highWaterMark: 0 },
    );

    const results = await bucket.objects.putMany(
      [
        { key: 'before', source: blob('one') },
        { key: 'stream', source: aborting },
        { key: 'after', source: blob('three') },
      ],
      { signal: controller.signal },
    );

    expect(summary(results)).toEqual([
      ['before', 'ok'],
      ['stream', 'ABORTED'],
      ['after', 'ABORTED'],
    ]);
    expect(await rowCounts(coffer)).toEqual({ files: 1, chunks: 1, objects: 1, heads: 1 });
  });

  itSingle('writes files too big to batch one by one, in chunks, each atomic', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ maxFileSize: 12 });

    const results = await bucket.objects.putMany([
      { key: 'a', source: blob('abcdefghij') },
      { key: 'b', source: blob('abcdefghijklm') },
      { key: 'c', source: blob('xyz') },
    ]);

    expect(summary(results)).toEqual([
      ['a', 'ok'],
      ['b', 'MAX_FILE_SIZE_EXCEEDED'],
      ['c', 'ok'],
    ]);
    expect(await rowCounts(coffer)).toEqual({ files: 2, chunks: 4, objects: 2, heads: 2 });
  });

  it('refuses items that are not an array', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const error = await caught(() => bucket.objects.putMany('a' as never));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'items' });
  });
});

describe('record.files.setMany', () => {
  it('stores the files with their _files entries in order, in one revision per batch', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('existing.txt', blob('old'), { metadata: { note: 'kept' } });
    const revision = record.revisionId;

    const results = await record.files!.setMany([
      { key: 'a.txt', source: blob('alpha'), metadata: { description: 'A' } },
      { key: 'existing.txt', source: blob('new bytes') },
      { key: 'b.txt', source: blob('beta') },
    ]);

    expect(results.map((r) => [r.key, r.ok])).toEqual([
      ['a.txt', true],
      ['existing.txt', true],
      ['b.txt', true],
    ]);
    const first = results[0]!;
    expect(first.ok && first.file.get('description')).toBe('A');
    expect(record.revisionId).toBe(revision + 1);
    const reloaded = await coffer.records.get(record.id);
    expect(reloaded.data._files!.map((e) => [e.key, e.size])).toEqual([
      ['existing.txt', 9],
      ['a.txt', 5],
      ['b.txt', 4],
    ]);
    expect((await reloaded.files!.get('existing.txt'))!.get('note')).toBe('kept');
  });

  it('leaves out each failing file with its typed error; the others land with their entries', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({});
    await record.bucket!.update({ maxFileSize: 8 });

    const results = await record.files!.setMany([
      { key: 'ok-1', source: blob('one') },
      { key: 'reserved', source: blob('two'), metadata: { key: 'not allowed' } },
      { key: 'too-big', source: blob('123456789') },
      { key: 'unreadable', source: new UnreadableBlob(['twenty bytes, unread']) },
      { key: 'ok-2', source: blob('three') },
    ]);

    expect(results.map((r) => [r.key, r.ok ? 'ok' : (r.error as { code: string }).code])).toEqual([
      ['ok-1', 'ok'],
      ['reserved', 'RESERVED_METADATA'],
      ['too-big', 'MAX_FILE_SIZE_EXCEEDED'],
      ['unreadable', 'STORAGE'],
      ['ok-2', 'ok'],
    ]);
    expect((await coffer.records.get(record.id)).data._files!.map((e) => e.key)).toEqual(['ok-1', 'ok-2']);
    expect(await rowCounts(coffer)).toEqual({ files: 2, chunks: 2, objects: 2, heads: 2 });
  });

  itSingle('mixes batched and single files and keeps the order of _files', async ({ coffer }) => {
    const record = await coffer.records.create({});

    await record.files!.setMany([
      { key: 'small', source: blob('abc') },
      { key: 'chunked', source: blob('abcdefghij') },
      { key: 'stream', source: streamOf(['x', 'y']) },
    ]);

    expect((await coffer.records.get(record.id)).data._files!.map((e) => e.key)).toEqual([
      'small',
      'chunked',
      'stream',
    ]);
  });

  it('refuses a deleted record before reading anything', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.delete();

    const error = await caught(() => record.files!.setMany([{ key: 'a', source: blob('a') }]));

    expect(error).toMatchObject({ code: 'RECORD_DELETED' });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });
});

describe('records.createMany', () => {
  it('creates every record at revision 0, each with its own bucket', async ({ coffer }) => {
    const records = await coffer.records.createMany([{ title: 'one' }, { title: 'two' }, { title: 'three' }]);

    expect(records.map((r) => [r.data.title, r.revisionId])).toEqual([
      ['one', 0],
      ['two', 0],
      ['three', 0],
    ]);
    const bucketIds = new Set(records.map((r) => r.bucketId));
    expect(bucketIds.size).toBe(3);
    for (const record of records) {
      const stored = await coffer.records.get(record.id);
      expect(stored.data).toEqual({ title: record.data.title, _bucket: record.bucketId });
      await stored.files!.set('a.txt', blob('works'));
      expect(await stored.files!.keys()).toEqual(['a.txt']);
    }
  });

  it('creates records without buckets when withBucket is false', async ({ coffer }) => {
    const records = await coffer.records.createMany([{ n: 1 }, { n: 2 }], { withBucket: false });

    expect(records.map((r) => [r.bucketId, r.files])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ]);
    expect(await coffer.context.db.buckets.count()).toBe(0);
    expect(await coffer.context.db.records.count()).toBe(2);
  });

  it('creates nothing when one record is refused', async ({ coffer }) => {
    const error = await caught(() =>
      coffer.records.createMany([{ n: 1 }, { n: 2, _bucket: 'someone-elses' }], { withBucket: false }),
    );

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await coffer.context.db.records.count()).toBe(0);
  });

  it('creates nothing, buckets included, when data is not a JSON object', async ({ coffer }) => {
    const error = await caught(() => coffer.records.createMany([{ n: 1 }, 'text' as never]));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await coffer.context.db.records.count()).toBe(0);
    expect(await coffer.context.db.buckets.count()).toBe(0);
  });
});

describe('concurrent single puts (group commit)', () => {
  it('lands each put on its own terms: those over the quota fail, the others land', async ({ coffer }) => {
    const bucket = await coffer.buckets.create({ quotaSize: 10 });

    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => bucket.objects.put(`f${i}`, blob('x'))),
    );

    const failed = settled.filter((s) => s.status === 'rejected');
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(10);
    expect(failed.map((s) => (s as PromiseRejectedResult).reason.code)).toEqual(
      Array(10).fill('BUCKET_QUOTA_EXCEEDED'),
    );
    expect((await bucket.reload()).size).toBe(10);
    expect(await rowCounts(coffer)).toEqual({ files: 1, chunks: 1, objects: 10, heads: 10 });
  });

  it('keeps one head for many concurrent puts of one key, every version kept', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const versions = await Promise.all(
      Array.from({ length: 12 }, (_, i) => bucket.objects.put('same', blob(`v${i}`))),
    );

    const stored = await bucket.objects.versions('same');
    expect(stored).toHaveLength(12);
    expect(stored.filter((v) => v.isHead)).toHaveLength(1);
    const head = (await bucket.objects.get('same'))!;
    expect(versions.map((v) => v.versionId)).toContain(head.versionId);
    expect(new Set(stored.map((v) => v.sequence)).size).toBe(12);
  });
});
