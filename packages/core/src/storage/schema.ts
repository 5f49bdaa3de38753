import { Dexie, type EntityTable, type Table } from 'dexie';
import type { BucketId, FileId, RecordId, UploadId, VersionId } from '../ids.js';

/** IndexedDB cannot index booleans: flags are stored as 0 or 1. */
export type Flag = 0 | 1;

/** A storage root. Only `idb` (IndexedDB chunks) exists today. */
export interface LocationRow {
  name: string;
  isDefault: Flag;
  created: number;
}

/** A bucket, as stored. */
export interface BucketRow {
  id: BucketId;
  location: string;
  storageClass: string;
  size: number;
  quotaSize: number | null;
  maxFileSize: number | null;
  locked: Flag;
  deleted: Flag;
  created: number;
  updated: number;
}

/** One tag of a bucket. */
export interface BucketTagRow {
  bucketId: BucketId;
  key: string;
  value: string;
}

/** One object version; `fileId === null` makes it a delete marker. */
export interface ObjectVersionRow {
  versionId: VersionId;
  bucketId: BucketId;
  key: string;
  fileId: FileId | null;
  /** Copied from the file instance, which never changes once readable; 0 for a marker. */
  size: number;
  /** Copied from the file instance; `null` for a marker. */
  checksum: string | null;
  mimetype: string | null;
  isHead: Flag;
  /** Monotonic across the database: orders versions created in the same millisecond. */
  seq: number;
  /** `-seq`, so that one index lists a key's versions newest first. */
  rank: number;
  created: number;
  updated: number;
}

/** The single head of `(bucketId, key)`: the guarantee of one head per key. */
export interface HeadRow {
  bucketId: BucketId;
  key: string;
  versionId: VersionId;
}

/** One tag of an object version. */
export interface ObjectTagRow {
  versionId: VersionId;
  key: string;
  value: string;
}

/** A run of bytes stored as chunks under one `dataId`. */
export interface Extent {
  dataId: string;
  size: number;
  /** Every chunk of the extent holds `chunkSize` bytes but the last. */
  chunkSize: number;
}

/** The stored bytes of one or more versions (invenio's FileInstance). */
export interface FileRow {
  id: FileId;
  location: string;
  size: number;
  checksum: string | null;
  sha256: string | null;
  readable: Flag;
  writable: Flag;
  lastCheck: boolean | null;
  lastCheckAt: number | null;
  /** The bytes in order; a plain upload has one extent, a completed multipart one per part. */
  extents: Extent[];
  /** `extents[].dataId`, indexed so that garbage collection can tell which data is in use. */
  dataIds: string[];
  created: number;
  /** Also a heartbeat: a write in progress touches it with every chunk. */
  updated: number;
}

/** A chunk of bytes: a Blob where the browser stores Blobs well, else an ArrayBuffer. */
export interface ChunkRow {
  dataId: string;
  offset: number;
  size: number;
  data: Blob | ArrayBuffer;
}

/** A record, with its current JSON. */
export interface RecordRow {
  id: RecordId;
  revisionId: number;
  data: Record<string, unknown>;
  deleted: Flag;
  created: number;
  updated: number;
}

/** A previous revision of a record. */
export interface RecordRevisionRow {
  recordId: RecordId;
  revisionId: number;
  data: Record<string, unknown>;
  created: number;
}

/** The link between a record and the bucket it owns. */
export interface RecordBucketRow {
  recordId: RecordId;
  bucketId: BucketId;
}

/** A multipart upload in progress. */
export interface MultipartUploadRow {
  uploadId: UploadId;
  bucketId: BucketId;
  key: string;
  fileId: FileId;
  size: number;
  chunkSize: number;
  completed: Flag;
  mimetype: string | null;
  created: number;
  updated: number;
  expires: number;
}

/** One uploaded part of a multipart upload. */
export interface PartRow {
  uploadId: UploadId;
  partNumber: number;
  dataId: string;
  size: number;
  checksum: string;
  created: number;
  updated: number;
}

/** Small named values: the version sequence, the chunk probe result. */
export interface MetaRow {
  key: string;
  value: unknown;
}

/** The Dexie database of one coffer. Schema versions are migrations: never edit an old one. */
export class CofferDb extends Dexie {
  locations!: EntityTable<LocationRow, 'name'>;
  buckets!: EntityTable<BucketRow, 'id'>;
  bucketTags!: Table<BucketTagRow, [BucketId, string]>;
  objects!: EntityTable<ObjectVersionRow, 'versionId'>;
  heads!: Table<HeadRow, [BucketId, string]>;
  objectTags!: Table<ObjectTagRow, [VersionId, string]>;
  files!: EntityTable<FileRow, 'id'>;
  chunks!: Table<ChunkRow, [string, number]>;
  records!: EntityTable<RecordRow, 'id'>;
  recordRevisions!: Table<RecordRevisionRow, [RecordId, number]>;
  recordsBuckets!: Table<RecordBucketRow, [RecordId, BucketId]>;
  multipartUploads!: EntityTable<MultipartUploadRow, 'uploadId'>;
  parts!: Table<PartRow, [UploadId, number]>;
  meta!: EntityTable<MetaRow, 'key'>;

  constructor(name: string) {
    super(name);
    this.version(1).stores({
      locations: 'name',
      buckets: 'id, deleted',
      bucketTags: '[bucketId+key]',
      objects: 'versionId, [bucketId+isHead+key], [bucketId+key+rank], bucketId, fileId',
      heads: '[bucketId+key]',
      objectTags: '[versionId+key]',
      files: 'id, [size+checksum], *dataIds, writable',
      chunks: '[dataId+offset]',
      records: 'id, [deleted+updated]',
      recordRevisions: '[recordId+revisionId]',
      recordsBuckets: '[recordId+bucketId], bucketId',
      multipartUploads: 'uploadId, bucketId, [bucketId+key], fileId, expires',
      parts: '[uploadId+partNumber], dataId',
      meta: 'key',
    });
  }
}
