/** Coffers to export, their dumps for field-by-field comparison, and bag surgery for hostile cases. */
import { createHash } from 'node:crypto';
import type { Coffer } from '@coffer/core';
import { type Unzipped, unzipSync, Zip, ZipPassThrough, zipSync } from 'fflate';
import { it as base, blob, bytes, dispose, freshCoffer } from '../helpers/coffer.js';

/** `it` with a source `coffer` and an empty `target`, both with 4-byte chunks. */
export const it = base.extend<{ target: Coffer }>({
  // biome-ignore lint/correctness/noEmptyPattern: Vitest reads fixture dependencies from this pattern.
  target: async ({}, use) => {
    const target = await freshCoffer({ chunkSize: 4, inlineBelow: 0 });
    await use(target);
    await dispose(target);
  },
});

/** Keys that stress the bag's paths: non-ASCII, slashes, dots, case, percent signs, line breaks. */
export const ODD_KEYS = [
  'ñandú/fotos/北京.jpg',
  '../escape.txt',
  'a',
  'a/b',
  'A',
  '%41 100%',
  'line\nbreak.txt',
  'dir//x',
  './dot',
];

/**
 * Fill a coffer with what an export must carry: two records with buckets (one sharing a file
 * instance with the other), revisions, overwritten files, a delete marker, file metadata,
 * version and bucket tags, an empty file, odd keys, and a bucket no record owns.
 */
export async function fillCoffer(coffer: Coffer): Promise<{ survey: string; odd: string; loose: string }> {
  const survey = await coffer.records.create({ title: 'Survey 12', tags: ['north'] });
  const files = survey.files!;
  await files.set('site.jpg', bytes(11, 1), { mimetype: 'image/jpeg', tags: { camera: 'X100' } });
  await files.set('notes.txt', blob('first draft'));
  await files.set('notes.txt', blob('second draft, longer'));
  await files.set('gone.txt', blob('soon gone'));
  await files.delete('gone.txt');
  await files.set('empty.bin', new Uint8Array(0));
  await files.setMetadata('site.jpg', { description: 'North wall', order: 1 });
  await files.sortBy(['notes.txt', 'site.jpg', 'empty.bin']);
  await survey.bucket!.setTag('project', 'Cañón');
  await survey.reload();
  survey.data.title = 'Survey 12 (revised)';
  await survey.commit();

  const odd = await coffer.records.create({ title: 'Odd keys ✓' });
  for (const [i, key] of ODD_KEYS.entries()) await odd.files!.set(key, bytes(5 + i, i));
  await odd.files!.set('copy-of-site.jpg', bytes(11, 1));

  const loose = await coffer.buckets.create({ quotaSize: 1000, maxFileSize: 500 });
  await loose.objects.put('readme.md', blob('# loose'), { tags: { kind: 'doc' } });
  await loose.setTag('owner', 'nobody');
  await loose.lock();
  return { survey: survey.id, odd: odd.id, loose: loose.id };
}

/** Every row of a coffer that an export carries, in a form that compares field by field. */
export async function dump(coffer: Coffer) {
  const { db } = coffer.context;
  const objects = await db.objects.toArray();
  const order = [...objects].sort((a, b) => a.seq - b.seq).map((o) => o.versionId);
  const files = await db.files.toArray();
  const contents: Record<string, string> = {};
  for (const file of files) {
    const parts: BlobPart[] = [];
    for (const extent of file.extents) {
      const chunks = await db.chunks
        .where('[dataId+offset]')
        .between([extent.dataId, 0], [extent.dataId, Infinity])
        .sortBy('offset');
      for (const chunk of chunks) parts.push(chunk.data);
    }
    contents[file.id] = Buffer.from(await new Blob(parts).arrayBuffer()).toString('hex');
  }
  const byId = <T>(rows: T[], key: (row: T) => string) =>
    [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return {
    records: byId(await db.records.toArray(), (r) => r.id),
    revisions: byId(await db.recordRevisions.toArray(), (r) => `${r.recordId}/${r.revisionId}`),
    links: byId(await db.recordsBuckets.toArray(), (r) => `${r.recordId}/${r.bucketId}`),
    buckets: byId(await db.buckets.toArray(), (r) => r.id),
    bucketTags: byId(await db.bucketTags.toArray(), (r) => `${r.bucketId}/${r.key}`),
    versions: byId(
      objects.map(({ seq, rank, ...row }) => row),
      (r) => r.versionId,
    ),
    /** Versions in creation order, per bucket. */
    order: Object.fromEntries(
      [...new Set(objects.map((o) => o.bucketId))].map((id) => [
        id,
        order.filter((v) => objects.find((o) => o.versionId === v)!.bucketId === id),
      ]),
    ),
    heads: byId(await db.heads.toArray(), (r) => `${r.bucketId}/${r.key}`),
    objectTags: byId(await db.objectTags.toArray(), (r) => `${r.versionId}/${r.key}`),
    files: byId(
      files.map(({ extents, dataIds, updated, ...row }) => row),
      (r) => r.id,
    ),
    contents,
  };
}

/** How many rows each table holds (the Blob-storage probe excluded): to show that nothing changed. */
export async function counts(coffer: Coffer): Promise<Record<string, number>> {
  const { db } = coffer.context;
  const out: Record<string, number> = {};
  for (const table of db.tables) {
    out[table.name] =
      table.name === 'chunks'
        ? await db.chunks.filter((c) => !c.dataId.startsWith('\u0000')).count()
        : await table.count();
  }
  return out;
}

/** The entries of a ZIP. */
export const unzip = async (zip: Blob): Promise<Unzipped> =>
  unzipSync(new Uint8Array(await zip.arrayBuffer()));

/** A ZIP of these entries (fflate computes the CRCs), stored unless a deflate `level` is given. */
export const rezip = (entries: Unzipped, level: 0 | 1 | 6 | 9 = 0): Blob =>
  new Blob([zipSync(entries, { level }) as Uint8Array<ArrayBuffer>]);

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

/**
 * Re-seal a bag after surgery, as a forger would: new payload manifest, Payload-Oxum and tag
 * manifest (md5 only), so that only Coffer's own checks of the content can refuse it.
 */
export function reseal(entries: Unzipped, level: 0 | 1 | 6 | 9 = 0): Blob {
  const names = Object.keys(entries);
  const base = names.find((n) => n.endsWith('/bagit.txt'))!.slice(0, -'bagit.txt'.length);
  const payload = names.filter((n) => n.startsWith(`${base}data/`));
  const encode = (path: string) => path.replace(/%/g, '%25').replace(/\n/g, '%0A').replace(/\r/g, '%0D');
  const manifest = payload.map((n) => `${md5(entries[n]!)} ${encode(n.slice(base.length))}\n`).join('');
  const octets = payload.reduce((sum, n) => sum + entries[n]!.length, 0);
  const info = new TextDecoder()
    .decode(entries[`${base}bag-info.txt`])
    .replace(/Payload-Oxum: .*/, `Payload-Oxum: ${octets}.${payload.length}`);
  const out: Unzipped = { ...entries };
  for (const name of names) if (/(tag)?manifest-sha256\.txt$/.test(name)) delete out[name];
  out[`${base}manifest-md5.txt`] = new TextEncoder().encode(manifest);
  out[`${base}bag-info.txt`] = new TextEncoder().encode(info);
  const tagFiles = ['bagit.txt', 'bag-info.txt', 'manifest-md5.txt'];
  out[`${base}tagmanifest-md5.txt`] = new TextEncoder().encode(
    tagFiles.map((t) => `${md5(out[base + t]!)} ${t}\n`).join(''),
  );
  return rezip(out, level);
}

/** The base directory of a bag's entries, e.g. `"coffer-2025-01-01/"`. */
export const baseOf = (entries: Unzipped): string =>
  Object.keys(entries)
    .find((n) => n.endsWith('/bagit.txt'))!
    .slice(0, -'bagit.txt'.length);

/** Recompute only the tag manifest, as a forger who edited a tag file would. */
export function retag(entries: Unzipped, level: 0 | 1 | 6 | 9 = 0): Blob {
  const base = baseOf(entries);
  const out: Unzipped = { ...entries };
  for (const name of Object.keys(out)) if (name.endsWith('tagmanifest-sha256.txt')) delete out[name];
  const tagFiles = Object.keys(out)
    .map((n) => n.slice(base.length))
    .filter((n) => !n.includes('/') && !n.startsWith('tagmanifest-'));
  out[`${base}tagmanifest-md5.txt`] = new TextEncoder().encode(
    tagFiles.map((t) => `${md5(out[base + t]!)} ${t}\n`).join(''),
  );
  return rezip(out, level);
}

/** A ZIP with these entries in order, duplicates allowed (fflate's streaming writer does not check). */
export function zipWithDuplicates(entries: [string, Uint8Array][]): Blob {
  const parts: Uint8Array[] = [];
  const zip = new Zip((error, data) => {
    if (error) throw error;
    parts.push(data);
  });
  for (const [name, data] of entries) {
    const file = new ZipPassThrough(name);
    zip.add(file);
    file.push(data, true);
  }
  zip.end();
  return new Blob(parts as Uint8Array<ArrayBuffer>[]);
}

/** Offsets of the central directory headers in a ZIP, by entry name. */
export function centralHeaders(zip: Uint8Array): Map<string, number> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const out = new Map<string, number>();
  for (let at = 0; at + 46 <= zip.length; at++) {
    if (view.getUint32(at, true) !== 0x02014b50) continue;
    const length = view.getUint16(at + 28, true);
    out.set(new TextDecoder().decode(zip.subarray(at + 46, at + 46 + length)), at);
  }
  return out;
}

/** The text of a ZIP entry. */
export const textOf = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);

/** A string as UTF-8 bytes. */
export const encode = (value: string): Uint8Array<ArrayBuffer> =>
  new TextEncoder().encode(value) as Uint8Array<ArrayBuffer>;

/** A JSON entry with `edit` applied. */
export const editJson = (
  data: Uint8Array | undefined,
  edit: (json: Record<string, unknown>) => void,
): Uint8Array<ArrayBuffer> => {
  const json = JSON.parse(textOf(data));
  edit(json);
  return encode(JSON.stringify(json));
};

/** A coffer's export, unzipped, with the paths of one record's documents in it. */
export interface ExportedBag {
  zip: Blob;
  entries: Unzipped;
  base: string;
  /** The entry name of the record's `record.json`. */
  record: string;
  /** The entry name of the record's `bucket.json`. */
  bucket: string;
}

/** Export `coffer` and find the documents of `recordId` in the bag. */
export async function exportedBag(
  coffer: Coffer,
  recordId: string,
  options: { includeVersions?: boolean } = {},
): Promise<ExportedBag> {
  const zip = await coffer.export({ includeVersions: options.includeVersions ?? true });
  const entries = await unzip(zip);
  const base = baseOf(entries);
  const root = `${base}data/records/${recordId}/`;
  return { zip, entries, base, record: `${root}record.json`, bucket: `${root}bucket.json` };
}

/** The bag with its record and bucket documents edited, resealed as a forger would. */
export function forged(
  bag: ExportedBag,
  edits: {
    record?: (json: Record<string, unknown>) => void;
    bucket?: (json: Record<string, unknown>) => void;
    index?: (json: Record<string, unknown>) => void;
  },
): Blob {
  const out: Unzipped = { ...bag.entries };
  if (edits.record) out[bag.record] = editJson(out[bag.record], edits.record);
  if (edits.bucket) out[bag.bucket] = editJson(out[bag.bucket], edits.bucket);
  const index = `${bag.base}data/coffer.json`;
  if (edits.index) out[index] = editJson(out[index], edits.index);
  return reseal(out);
}

/**
 * A snapshot of a record as the app makes one: a new record whose bucket is synced from the
 * source's (its heads share the source's file instances), then locked.
 */
export async function snapshotOf(coffer: Coffer, recordId: string): Promise<string> {
  const source = await coffer.records.get(recordId);
  const { _bucket, _files, ...data } = source.data as Record<string, unknown>;
  const copy = await coffer.records.create({ ...data, title: `${String(data.title)} (snapshot)` });
  await source.bucket!.sync(copy.bucket!);
  await copy.bucket!.lock();
  return copy.id;
}

/** The bytes of a coffer's head `key` in the bucket of `recordId`, and its checksum. */
export async function headOf(
  coffer: Coffer,
  recordId: string,
  key: string,
): Promise<{ bytes: Uint8Array; checksum: string }> {
  const record = await coffer.records.get(recordId);
  const version = (await record.bucket!.objects.get(key))!;
  return { bytes: new Uint8Array(await (await version.blob()).arrayBuffer()), checksum: version.checksum! };
}
