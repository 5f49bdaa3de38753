import { type Collection, Dexie, type IndexableType, type Table } from 'dexie';
import type { BucketId, FileId, RecordId } from '../ids.js';
import type { HeadSummary } from '../model/record.js';
import { deleteData } from './chunks.js';
import {
  type BucketRow,
  type CofferDb,
  type Extent,
  type FileRow,
  isLazyFile,
  type ObjectVersionRow,
} from './schema.js';

/** The bounds of every compound key that begins with `prefix`, for `Collection.between`. */
export const prefixRange = (...prefix: IndexableType[]) =>
  [
    [...prefix, Dexie.minKey],
    [...prefix, Dexie.maxKey],
  ] as const;

/**
 * The rows of `table` whose compound `index` begins with `prefix`, e.g. every tag of a version:
 * `startingWith(db.objectTags, '[versionId+key]', versionId)`.
 *
 * @template T the row
 * @template K the primary key
 * @template I the row as inserted
 */
export const startingWith = <T, K, I>(
  table: Table<T, K, I>,
  index: string,
  ...prefix: IndexableType[]
): Collection<T, K, I> => table.where(index).between(...prefixRange(...prefix));

/** `bucket` with `delta` bytes added to its size (never below 0), updated at `now`. */
/** A live head version (one with a file) as a record's file list reads it. */
export const toHead = (row: ObjectVersionRow): HeadSummary & { fileId: string } => ({
  bucketId: row.bucketId,
  key: row.key,
  versionId: row.versionId,
  fileId: row.fileId as string,
  size: row.size,
  checksum: row.checksum,
});

export const resized = (bucket: BucketRow, delta: number, now = Date.now()): BucketRow => ({
  ...bucket,
  size: Math.max(bucket.size + delta, 0),
  updated: now,
});

/** The tables `BucketStore.addVersion` writes: a transaction that adds a version holds them all. */
export const versionTables = (db: CofferDb) => [
  db.buckets,
  db.objects,
  db.heads,
  db.objectTags,
  db.files,
  db.chunks,
  db.meta,
];

/**
 * Delete a bucket with its versions, markers, tags, heads, uploads and record links; file
 * instances stay for garbage collection. Runs inside the caller's transaction.
 */
export async function deleteBucketRows(db: CofferDb, bucketId: BucketId): Promise<void> {
  const versionIds = await db.objects.where('bucketId').equals(bucketId).primaryKeys();
  for (const versionId of versionIds)
    await startingWith(db.objectTags, '[versionId+key]', versionId).delete();
  await db.objects.bulkDelete(versionIds);
  await startingWith(db.heads, '[bucketId+key]', bucketId).delete();
  await startingWith(db.bucketTags, '[bucketId+key]', bucketId).delete();
  const uploadIds = await db.multipartUploads.where('bucketId').equals(bucketId).primaryKeys();
  for (const uploadId of uploadIds) await startingWith(db.parts, '[uploadId+partNumber]', uploadId).delete();
  await db.multipartUploads.bulkDelete(uploadIds);
  await db.recordsBuckets.where('bucketId').equals(bucketId).delete();
  await db.buckets.delete(bucketId);
}

/** Delete a record with its revisions and bucket links; the buckets stay. Runs inside the caller's transaction. */
export async function deleteRecordRows(db: CofferDb, recordId: RecordId): Promise<void> {
  await startingWith(db.recordRevisions, '[recordId+revisionId]', recordId).delete();
  await startingWith(db.recordsBuckets, '[recordId+bucketId]', recordId).delete();
  await db.records.delete(recordId);
}

/**
 * Drop a file instance that never became readable, with its chunks. A readable file is never
 * touched here. Failures are left for garbage collection.
 */
export async function discardWrittenFile(db: CofferDb, fileId: FileId): Promise<void> {
  await db
    .transaction('rw', db.files, db.chunks, async () => {
      const file = await db.files.get(fileId);
      if (!file || file.readable || isLazyFile(file)) return;
      await deleteData(db, file.dataIds);
      await db.files.delete(fileId);
    })
    .catch(() => undefined);
}

/**
 * A new file instance in Invenio's first state: writable, not readable, no checksum yet.
 * Every write path (a plain write, a multipart upload) starts from this row.
 */
/**
 * The file instance of a version whose bytes are on the sync remote only (pulled with
 * `bodies: 'lazy'`): neither readable nor writable, no extents, and where to fetch them.
 */
export const lazyFileRow = (
  file: {
    id: FileId;
    location: string;
    size: number;
    checksum: string;
    remote: { key: string; versionId: string };
  },
  now = Date.now(),
): FileRow => ({
  ...writableFileRow({ id: file.id, location: file.location, size: file.size, extents: [] }, now),
  checksum: file.checksum,
  writable: 0,
  remote: { key: file.remote.key, versionId: file.remote.versionId },
});

/**
 * A lazy file instance made readable by bytes written and verified elsewhere: it keeps its id,
 * size and md5 (the versions that share it stay as they are), takes their chunks, and forgets
 * the remote.
 */
export function filledLazyFile(
  lazy: FileRow,
  bytes: Pick<FileRow, 'sha256' | 'extents' | 'dataIds'>,
  now = Date.now(),
): FileRow {
  const { remote: _remote, ...rest } = lazy;
  return {
    ...rest,
    sha256: bytes.sha256,
    readable: 1,
    writable: 0,
    extents: bytes.extents,
    dataIds: bytes.dataIds,
    updated: now,
  };
}

export const writableFileRow = (
  file: { id: FileId; location: string; size: number; extents: Extent[] },
  now = Date.now(),
): FileRow => ({
  ...file,
  checksum: null,
  sha256: null,
  readable: 0,
  writable: 1,
  lastCheck: null,
  lastCheckAt: null,
  dataIds: file.extents.map((extent) => extent.dataId),
  created: now,
  updated: now,
});
