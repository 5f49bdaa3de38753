import {
  type DBCore,
  type DBCoreKeyRange,
  type DBCoreMutateRequest,
  type DBCoreTransaction,
  Dexie,
  type EntityTable,
  type Middleware,
  type Table,
} from 'dexie';
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
  /**
   * Set while the bytes are only on the sync remote (a version pulled with `bodies: 'lazy'`):
   * the S3 key and version id to fetch them from. Such a file is neither readable nor
   * writable and has no extents; the first read fills it in one transaction (see
   * {@link isLazyFile}). Absent on every other file: no index, no schema version.
   */
  remote?: { key: string; versionId: string };
}

/** Whether a file instance's bytes are on the sync remote only, waiting for a first read. */
export const isLazyFile = (file: FileRow): boolean =>
  file.readable === 0 && file.writable === 0 && file.remote !== undefined;

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

// --- Sync state (schema version 2): what `sync/` knows about the remote. ---

/** A small named value of sync: the device id, the journal and push sequences, the status. */
export interface SyncStateRow {
  key: string;
  value: unknown;
}

/** How far the pull has read another device's journal. */
export interface SyncCheckpointRow {
  device: string;
  /** The last journal key applied (the `start-after` of the next listing). */
  lastKey: string;
  seq: number;
}

/** The sync state of one object version of a record's bucket. */
export interface SyncVersionRow {
  versionId: VersionId;
  bucketId: BucketId;
  recordId: RecordId;
  key: string;
  /** The versions of the key this one follows (the leaves before it on the device that wrote it). */
  parents: string[];
  size: number;
  /** `"md5:<hex>"`; `null` for a delete marker. */
  checksum: string | null;
  marker: Flag;
  /** Where the bytes (or the marker) are on the remote, once known. */
  remoteKey: string | null;
  remoteVersionId: string | null;
  /** `uploaded`: on the remote, not yet in a sent journal entry; `pushed`: in one; `pulled`: from another device. */
  state: 'uploaded' | 'pushed' | 'pulled';
}

/** The sync state of one record: the change its local revision stands at. */
export interface SyncRecordRow {
  recordId: RecordId;
  /** The change the record is at; `null` before its first change. */
  head: string | null;
  /** The local revision and deleted flag that equal `head`'s state; anything else is dirty. */
  revisionId: number;
  deleted: Flag;
  /** The next change made from this record is a conflict resolution. */
  resolving: Flag;
}

/** One change of a record, known locally: made here or pulled. */
export interface SyncChangeRow {
  change: string;
  recordId: RecordId;
  bucketId: BucketId | null;
  parents: string[];
  /** The record data with `_files` stripped to keys and extra metadata. */
  data: Record<string, unknown>;
  deleted: Flag;
  /** 0 while it waits for a push (made here), 1 once sent or when pulled. */
  pushed: Flag;
  /** Local order: changes are pushed in the order they were made. */
  seq: number;
}

/** A field that two changes set to different values; shown until resolved. */
export interface SyncConflictRow {
  id: string;
  recordId: RecordId;
  /** The merge change that made the conflict. */
  change: string;
  /** The field path, e.g. `["title"]` or `["_files", "a.txt", "description"]`. */
  path: string[];
  base: unknown;
  local: unknown;
  remote: unknown;
  /** The side whose value the merge kept. */
  winner: 'local' | 'remote';
  created: number;
}

/** A multipart upload of one version to the remote, so that a new session resumes it. */
export interface SyncUploadRow {
  versionId: VersionId;
  key: string;
  uploadId: string;
  partSize: number;
  /** Parts the remote acknowledged, 1-based. */
  parts: { partNumber: number; etag: string; size: number }[];
  created: number;
}

/** The journal entry being sent: stored before it is sent, so that a retry sends the same one. */
export interface SyncOutboxRow {
  seq: number;
  key: string;
  body: string;
  /** What the entry commits once sent. */
  versions: string[];
  changes: string[];
}

/** A pulled operation local rules refused (bucket locked, over quota): retried on every sync. */
export interface SyncInboxRow {
  id: string;
  recordId: RecordId;
  device: string;
  seq: number;
  /** The operation as read from the journal. */
  op: unknown;
  code: string;
  message: string;
  created: number;
}

// --- Schema version 3: record writes in order, so that a push finds dirty records in O(changed). ---

/**
 * The last write of one record (add, put or delete, by any code, in any tab): `seq` is
 * monotonic across the database and unique, given inside the writing transaction (see
 * {@link recordWrites}). A push captures the records with `seq` above the one it captured
 * last; no clock decides anything.
 */
export interface RecordWriteRow {
  recordId: RecordId;
  seq: number;
}

/** `DBCoreRangeType.Any` (a const enum, which isolated modules cannot read). */
const ANY_KEY = { type: 3 } as unknown as DBCoreKeyRange;

/**
 * A DBCore middleware that gives every write of `records` a row in `recordWrites`, in the same
 * transaction: a transaction that may write `records` also takes `recordWrites`, and each
 * mutation puts `{ recordId, seq }` with the next seq (the greatest stored one + 1, counted in
 * memory within one transaction, so seqs never repeat). Whatever writes records (the API, an
 * import, a pulled change, a purge) is covered without knowing about sync. Its own writes are
 * not observed by `liveQuery` (nothing shows `recordWrites`).
 */
export const recordWrites: Middleware<DBCore> = {
  stack: 'dbcore',
  name: 'coffer-record-writes',
  // Below Dexie's own middlewares (hooks, cache, observability: levels -1 to 2), right on
  // IndexedDB: this one awaits between requests, which would lose the zone those depend on.
  level: -2,
  create(down) {
    const next = new WeakMap<DBCoreTransaction, Promise<number>>();
    const writes = () => down.table('recordWrites');
    /** The next `count` seqs of this transaction, the first returned. */
    const take = (trans: DBCoreTransaction, count: number): Promise<number> => {
      const previous =
        next.get(trans) ??
        (async () => {
          const table = writes();
          const index = table.schema.indexes.find((i) => i.name === 'seq');
          const cursor = await table.openCursor({
            trans,
            values: false,
            reverse: true,
            query: { index: index!, range: ANY_KEY },
          });
          return cursor ? (cursor.key as number) + 1 : 1;
        })();
      next.set(
        trans,
        previous.then((first) => first + count),
      );
      return previous;
    };
    const idsOf = async (table: ReturnType<typeof down.table>, req: DBCoreMutateRequest) => {
      if (req.type === 'deleteRange') {
        const found = await table.query({
          trans: req.trans,
          values: false,
          query: { index: table.schema.primaryKey, range: req.range },
        });
        return found.result as unknown[];
      }
      if (req.type === 'delete') return req.keys;
      const ids = [...(req.keys ?? []), ...req.values.map((value) => (value as { id?: unknown })?.id)];
      if (req.type === 'put' && req.updates) ids.push(...req.updates.keys);
      return ids;
    };
    return {
      ...down,
      transaction(stores, mode, options) {
        const widen = mode === 'readwrite' && stores.includes('records') && !stores.includes('recordWrites');
        return down.transaction(widen ? [...stores, 'recordWrites'] : stores, mode, options);
      },
      table(name) {
        const table = down.table(name);
        if (name !== 'records') return table;
        return {
          ...table,
          async mutate(req) {
            const ids = [...new Set((await idsOf(table, req)).filter((id) => typeof id === 'string'))];
            const result = await table.mutate(req);
            if (ids.length > 0) {
              const first = await take(req.trans, ids.length);
              await writes().mutate({
                type: 'put',
                trans: req.trans,
                values: ids.map((recordId, i) => ({ recordId, seq: first + i })),
              });
            }
            return result;
          },
        };
      },
    };
  },
};

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
  syncState!: EntityTable<SyncStateRow, 'key'>;
  syncCheckpoints!: EntityTable<SyncCheckpointRow, 'device'>;
  syncVersions!: EntityTable<SyncVersionRow, 'versionId'>;
  syncRecords!: EntityTable<SyncRecordRow, 'recordId'>;
  syncChanges!: EntityTable<SyncChangeRow, 'change'>;
  syncConflicts!: EntityTable<SyncConflictRow, 'id'>;
  syncUploads!: EntityTable<SyncUploadRow, 'versionId'>;
  syncOutbox!: EntityTable<SyncOutboxRow, 'seq'>;
  syncInbox!: EntityTable<SyncInboxRow, 'id'>;
  recordWrites!: EntityTable<RecordWriteRow, 'recordId'>;

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
    // Version 2: sync. Versions are read in `seq` order to find what a push sends.
    this.version(2).stores({
      objects: 'versionId, [bucketId+isHead+key], [bucketId+key+rank], bucketId, fileId, seq',
      syncState: 'key',
      syncCheckpoints: 'device',
      syncVersions: 'versionId, [size+checksum], bucketId',
      syncRecords: 'recordId',
      syncChanges: 'change, recordId, [pushed+seq]',
      syncConflicts: 'id, recordId',
      syncUploads: 'versionId',
      syncOutbox: 'seq',
      syncInbox: 'id, recordId',
    });
    // Version 3: every record write gets a seq (the `recordWrites` middleware), so that a push
    // reads only the records written since its last capture. Existing records (and records
    // sync knows that are gone) get one each, so the first push after the upgrade looks at
    // every one of them once.
    this.version(3)
      .stores({ recordWrites: 'recordId, seq' })
      .upgrade(async (tx) => {
        const ids = new Set<string>([
          ...((await tx.table('records').toCollection().primaryKeys()) as string[]),
          ...((await tx.table('syncRecords').toCollection().primaryKeys()) as string[]),
        ]);
        let seq = 0;
        await tx.table('recordWrites').bulkPut([...ids].map((recordId) => ({ recordId, seq: ++seq })));
      });
    this.use(recordWrites);
  }
}
