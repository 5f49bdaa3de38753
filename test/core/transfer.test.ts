import { unzipSync } from 'fflate';
import { describe, expect } from 'vitest';
import { blob, bytes, caught, dispose, freshCoffer } from '../helpers/coffer.js';
import { checkBag } from './bagit-checker.js';
import { baseOf, counts, dump, fillCoffer, it, ODD_KEYS, unzip } from './transfer-fixtures.js';

const bagOf = async (zip: Blob) => checkBag(new Uint8Array(await zip.arrayBuffer()));

// Filling, exporting and importing a coffer of 4-byte chunks takes seconds on a loaded machine.
describe('export and import', { timeout: 30_000 }, () => {
  it('restores records, revisions, buckets, versions, markers, metadata, tags and checksums exactly', async ({
    coffer,
    target,
  }) => {
    await fillCoffer(coffer);
    const before = await dump(coffer);

    const zip = await coffer.export({ includeVersions: true });
    const report = await target.import(zip);

    const after = await dump(target);
    expect(after.records).toEqual(before.records);
    expect(after.revisions).toEqual(before.revisions);
    expect(after.links).toEqual(before.links);
    expect(after.buckets).toEqual(before.buckets);
    expect(after.bucketTags).toEqual(before.bucketTags);
    expect(after.versions).toEqual(before.versions);
    expect(after.order).toEqual(before.order);
    expect(after.heads).toEqual(before.heads);
    expect(after.objectTags).toEqual(before.objectTags);
    expect(after.files).toEqual(before.files);
    expect(after.contents).toEqual(before.contents);
    expect(report).toMatchObject({
      records: { imported: 2, replaced: 0, skipped: 0 },
      buckets: { imported: 3, replaced: 0, skipped: 0 },
      versions: { imported: before.versions.length, skipped: 0 },
      files: { imported: before.files.length, reused: 0, skipped: 0 },
    });
  });

  it('reads back files and record file listings through the API after an import', async ({
    coffer,
    target,
  }) => {
    const ids = await fillCoffer(coffer);
    const survey = await coffer.records.get(ids.survey);

    await target.import(await coffer.export());

    const copy = await target.records.get(survey!.id);
    expect(await copy.files!.dumps()).toEqual(await survey!.files!.dumps());
    const site = await copy.files!.get('site.jpg');
    expect(new Uint8Array(await (await site!.blob()).arrayBuffer())).toEqual(bytes(11, 1));
  });

  it('exports only live heads and current revisions unless asked for versions', async ({
    coffer,
    target,
  }) => {
    await fillCoffer(coffer);
    const source = await dump(coffer);

    await target.import(await coffer.export());

    const { versions, revisions } = await dump(target);
    expect(versions).toHaveLength(source.versions.filter((v) => v.isHead && v.fileId !== null).length);
    expect(versions.every((v) => v.isHead === 1 && v.fileId !== null)).toBe(true);
    expect(revisions.map((r) => [r.recordId, r.revisionId])).toEqual(
      source.records.map((r) => [r.id, r.revisionId]),
    );
  });

  it('exports the selected records and their buckets only', async ({ coffer, target }) => {
    const ids = await fillCoffer(coffer);
    const survey = await coffer.records.get(ids.survey);

    await target.import(await coffer.export({ records: [survey!], includeVersions: true }));

    expect((await target.records.list()).map((r) => r.id)).toEqual([survey!.id]);
    expect((await target.buckets.list()).map((b) => b.id)).toEqual([survey!.bucketId]);
  });

  it('refuses to export a record that does not exist', async ({ coffer }) => {
    const error = await caught(() => coffer.export({ records: ['nope'] }));

    expect(error).toMatchObject({ code: 'NOT_FOUND', recordId: 'nope' });
  });

  it('reports progress in bytes up to the total', async ({ coffer, target }) => {
    await fillCoffer(coffer);
    const exported: number[] = [];
    const imported: number[] = [];

    const zip = await coffer.export({ onProgress: ({ loaded, total }) => exported.push(loaded / total!) });
    await target.import(zip, { onProgress: ({ loaded, total }) => imported.push(loaded / total!) });

    expect(exported.at(-1)).toBe(1);
    expect(imported.at(-1)).toBe(1);
    expect(exported).toEqual([...exported].sort((a, b) => a - b));
  });

  it('skips records and buckets that exist, by default', async ({ coffer }) => {
    const ids = await fillCoffer(coffer);
    const zip = await coffer.export({ includeVersions: true });
    const survey = await coffer.records.get(ids.survey);
    survey!.data.title = 'Changed here';
    await survey!.commit();
    const before = await dump(coffer);

    const report = await coffer.import(zip);

    expect(report).toMatchObject({
      records: { imported: 0, skipped: 2 },
      buckets: { imported: 0, skipped: 3 },
    });
    expect(await dump(coffer)).toEqual(before);
  });

  it('replaces existing records and their buckets with onConflict "replace"', async ({ coffer }) => {
    const ids = await fillCoffer(coffer);
    const original = await dump(coffer);
    const zip = await coffer.export({ includeVersions: true });
    const survey = await coffer.records.get(ids.survey);
    survey!.data.title = 'Changed here';
    await survey!.commit();
    await survey!.files!.set('new.txt', blob('added after the export'));

    const report = await coffer.import(zip, { onConflict: 'replace' });

    const restored = await dump(coffer);
    expect(report).toMatchObject({
      records: { imported: 2, replaced: 2 },
      buckets: { imported: 3, replaced: 3 },
    });
    expect(restored.records).toEqual(original.records);
    expect(restored.versions).toEqual(original.versions);
    expect(restored.heads).toEqual(original.heads);
    expect(restored.revisions).toEqual(original.revisions);
  });

  it('imports copies under fresh ids with onConflict "new-ids", rewriting _bucket and _files', async ({
    coffer,
  }) => {
    const ids = await fillCoffer(coffer);
    const survey = await coffer.records.get(ids.survey);
    const zip = await coffer.export({ records: [survey!.id], includeVersions: true });

    const report = await coffer.import(zip, { onConflict: 'new-ids' });

    const copyId = report.ids.records[survey!.id]!;
    expect(copyId).not.toBe(survey!.id);
    const copy = await coffer.records.get(copyId);
    expect(copy.data._bucket).toBe(report.ids.buckets[survey!.bucketId!]);
    expect(copy.bucketId).toBe(copy.data._bucket);
    const entries = await copy.files!.dumps();
    expect(entries.map((e) => [e.key, e.bucket, e.checksum, e.description])).toEqual(
      (await survey!.files!.dumps()).map((e) => [e.key, copy.bucketId, e.checksum, e.description]),
    );
    expect(copy.data._files).toEqual(entries);
    expect(report.files).toMatchObject({ imported: 0, reused: 5 });
  });

  it('produces a bag that an independent RFC 8493 checker finds complete and valid', async ({ coffer }) => {
    await fillCoffer(coffer);

    const { problems, files, info } = await bagOf(
      await coffer.export({ includeVersions: true, sha256: true }),
    );

    expect(problems).toEqual([]);
    expect([...files.keys()].filter((p) => !p.startsWith('data/')).sort()).toEqual([
      'README.txt',
      'bag-info.txt',
      'bagit.txt',
      'manifest-md5.txt',
      'manifest-sha256.txt',
      'tagmanifest-md5.txt',
      'tagmanifest-sha256.txt',
    ]);
    expect(Object.fromEntries(info)).toMatchObject({
      'Bagging-Date': expect.stringMatching(/^\d{4}-\d\d-\d\d$/),
      'Payload-Oxum': expect.stringMatching(/^\d+\.\d+$/),
      'Coffer-Version': expect.any(String),
    });
  });

  it('lays out each record with its JSON, its bucket and its files under their keys', async ({ coffer }) => {
    const ids = await fillCoffer(coffer);
    const survey = await coffer.records.get(ids.survey);
    const odd = await coffer.records.get(ids.odd);

    const { files } = await bagOf(await coffer.export({ includeVersions: true }));

    const paths = [...files.keys()];
    const root = `data/records/${survey!.id}/`;
    expect(paths).toEqual(
      expect.arrayContaining([
        'data/coffer.json',
        `${root}record.json`,
        `${root}bucket.json`,
        `${root}files/site.jpg`,
        `${root}files/notes.txt`,
        `${root}files/empty.bin`,
      ]),
    );
    expect(paths.filter((p) => p.startsWith(`${root}versions/`))).toEqual([
      expect.stringMatching(/\/notes\.txt$/),
      expect.stringMatching(/\/gone\.txt$/),
    ]);
    const record = JSON.parse(new TextDecoder().decode(files.get(`${root}record.json`)));
    expect(record).toMatchObject({ id: survey!.id, data: { title: 'Survey 12 (revised)' } });
    const oddRoot = `data/records/${odd!.id}/files/`;
    expect(paths).toEqual(
      expect.arrayContaining([
        `${oddRoot}ñandú/fotos/北京.jpg`,
        `${oddRoot}__/escape.txt`,
        `${oddRoot}a`,
        `${oddRoot}a~2/b`,
        `${oddRoot}A~3`,
        `${oddRoot}_41 100_`,
        `${oddRoot}line_break.txt`,
        `${oddRoot}dir/_/x`,
        `${oddRoot}_/dot`,
        `${oddRoot}copy-of-site.jpg`,
      ]),
    );
    expect(paths.filter((p) => p.includes('/..') || p.includes('//') || p.includes('%'))).toEqual([]);
    expect(ODD_KEYS).toHaveLength(9);
  });

  it('writes a file instance shared by two records under each record', async ({ coffer }) => {
    const ids = await fillCoffer(coffer);

    const { files } = await bagOf(await coffer.export());

    const site = bytes(11, 1);
    const copies = [...files].filter(([, b]) => b.length === site.length && b.every((x, i) => x === site[i]));
    expect(copies.map(([path]) => path).sort()).toEqual(
      [`data/records/${ids.survey}/files/site.jpg`, `data/records/${ids.odd}/files/copy-of-site.jpg`].sort(),
    );
  });

  it('writes ZIP64 fields that other readers and its own import understand', async ({ coffer, target }) => {
    await fillCoffer(coffer);
    const source = await dump(coffer);
    const { exportBag } = await import('../../packages/core/src/worker/export-bag.js');

    const zip = await exportBag(coffer.context.db, {
      includeVersions: true,
      includeRevisions: true,
      sha256: false,
      bagName: 'zip64',
      cofferName: coffer.name,
      cofferVersion: '0.0.0',
      forceZip64: true,
    });

    expect(Object.keys(unzipSync(new Uint8Array(await zip.arrayBuffer())))).toContain('zip64/bagit.txt');
    await target.import(zip);
    expect((await dump(target)).contents).toEqual(source.contents);
  });

  it('round-trips a coffer stored as ArrayBuffer chunks', async () => {
    const source = await freshCoffer({ chunkSize: 4, chunkStorage: 'buffer' });
    const target = await freshCoffer({ chunkSize: 7, chunkStorage: 'buffer' });
    try {
      await fillCoffer(source);

      await target.import(await source.export({ includeVersions: true }));

      expect((await dump(target)).contents).toEqual((await dump(source)).contents);
    } finally {
      await dispose(source);
      await dispose(target);
    }
  });

  it('refuses to export bytes that no longer match their checksum', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a.txt', blob('abcdefgh'));
    const { db } = coffer.context;
    const [chunk] = await db.chunks.filter((c) => !c.dataId.startsWith('\u0000')).toArray();
    await db.chunks.put({ ...chunk!, data: new Blob(['zzzz']) });

    const error = await caught(() => coffer.export());

    expect(error).toMatchObject({ code: 'INTEGRITY', expected: expect.stringMatching(/^md5:/) });
  });

  it('stops an export when its signal fires', async ({ coffer }) => {
    await fillCoffer(coffer);
    const controller = new AbortController();

    const error = await caught(() =>
      coffer.export({ signal: controller.signal, onProgress: () => controller.abort() }),
    );

    expect(error).toMatchObject({ code: 'ABORTED' });
  });

  it('stops an import when its signal fires, changing nothing', async ({ coffer, target }) => {
    await fillCoffer(coffer);
    const zip = await coffer.export({ includeVersions: true });
    const before = await counts(target);
    const controller = new AbortController();

    const error = await caught(() =>
      target.import(zip, {
        signal: controller.signal,
        onProgress: ({ loaded }) => loaded > 20 && controller.abort(),
      }),
    );

    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(await counts(target)).toEqual(before);
  });

  it('puts the bag in one base directory named after the export', async ({ coffer }) => {
    await fillCoffer(coffer);

    const entries = await unzip(await coffer.export({ name: 'field notes/2025' }));

    expect(baseOf(entries)).toBe('field-notes-2025/');
  });
});
