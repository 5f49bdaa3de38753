import { Dexie } from 'dexie';
import {
  BucketDeletedError,
  BucketLockedError,
  type CofferError,
  DuplicateTagError,
  InvalidOperationError,
  NotFoundError,
} from '../errors.js';
import { type BucketId, type FileId, newId, type RecordId, type VersionId } from '../ids.js';
import { assertFits, assertWritable, type BucketLimits } from '../model/limits.js';
import { type Tags, tagMap } from '../model/tags.js';
import { deleteData } from './chunks.js';
import { mapErrors } from './map-storage-error.js';
import { deleteBucketRows, filledLazyFile, resized, startingWith, versionTables } from './rows.js';
import {
  type BucketRow,
  type ChunkRow,
  type CofferDb,
  type FileRow,
  isLazyFile,
  type ObjectVersionRow,
} from './schema.js';

/** Settings of a new bucket. */
export interface NewBucket {
  location: string;
  storageClass: string;
  quotaSize: number | null;
  maxFileSize: number | null;
  locked: boolean;
}

/** The file a new version points to: bytes just written, or an existing file instance. */
export type VersionContent =
  | { kind: 'written'; fileId: FileId; size: number; checksum: string; sha256: string | null }
  | { kind: 'linked'; fileId: FileId }
  | { kind: 'marker' };

/** A new version to add as head. */
export interface NewVersion {
  bucketId: BucketId;
  key: string;
  content: VersionContent;
  mimetype: string | null;
  tags: Tags;
  /** Link an existing readable file with the same size and checksum instead of keeping new bytes. */
  dedupe: boolean;
  /** Write even to a locked bucket: only snapshots filling their new bucket do this. */
  ignoreLock?: boolean;
}

/** A new head version of {@link BucketStore.addStagedVersions}: bytes hashed, rows not yet stored. */
export interface StagedVersion extends Omit<NewVersion, 'content' | 'bucketId' | 'ignoreLock'> {
  content: Extract<VersionContent, { kind: 'written' }>;
  /** The file instance (writable, as first created) and its chunks, to store with the version. */
  staged: { file: FileRow; chunks: ChunkRow[] };
}

/** Options of a listing. */
export interface ListQuery {
  versions: boolean;
  withDeleted: boolean;
  prefix: string;
  limit: number;
  after: { key: string; rank?: number } | undefined;
}

/** One change made by a sync. */
export type SyncChange =
  | { type: 'add'; key: string; version: ObjectVersionRow }
  | { type: 'delete'; key: string };

/** The row of a new, empty bucket. */
export const newBucketRow = (
  settings: NewBucket,
  id: BucketId = newId<BucketId>(),
  now = Date.now(),
): BucketRow => ({
  id,
  location: settings.location,
  storageClass: settings.storageClass,
  size: 0,
  quotaSize: settings.quotaSize,
  maxFileSize: settings.maxFileSize,
  locked: settings.locked ? 1 : 0,
  deleted: 0,
  created: now,
  updated: now,
});

/**
 * The row of a new head version of `key`, numbered `seq` and written at `now`: it holds `file`,
 * or is a delete marker without one.
 */
const newHeadRow = (
  bucketId: BucketId,
  key: string,
  mimetype: string | null,
  file: Pick<FileRow, 'id' | 'size' | 'checksum'> | undefined,
  seq: number,
  now: number,
): ObjectVersionRow => ({
  versionId: newId<VersionId>(),
  bucketId,
  key,
  fileId: file?.id ?? null,
  size: file?.size ?? 0,
  checksum: file?.checksum ?? null,
  mimetype,
  isHead: 1,
  seq,
  rank: -seq,
  created: now,
  updated: now,
});

/** The parts of a stored bucket that the model's write rules read. */
export const toLimits = (row: BucketRow): BucketLimits => ({
  id: row.id,
  size: row.size,
  quotaSize: row.quotaSize,
  maxFileSize: row.maxFileSize,
  locked: row.locked === 1,
  deleted: row.deleted === 1,
});

/**
 * Buckets, object versions and their tags: each method is one short transaction that applies
 * the model's rules (or joins the caller's transaction, so that records can add their own
 * writes to the same commit). No method awaits anything but IndexedDB.
 */
export class BucketStore {
  constructor(private readonly db: CofferDb) {}

  private get versionTables() {
    return versionTables(this.db);
  }

  // --- Buckets ---

  async createBucket(settings: NewBucket, id: BucketId = newId<BucketId>()): Promise<BucketRow> {
    const row = newBucketRow(settings, id);
    await mapErrors(() => this.db.buckets.add(row));
    return row;
  }

  /** The bucket, or `undefined` when missing (or deleted, unless asked). */
  async findBucket(id: string, withDeleted = false): Promise<BucketRow | undefined> {
    const row = await mapErrors(() => this.db.buckets.get(id as BucketId));
    return row && (withDeleted || row.deleted === 0) ? row : undefined;
  }

  /** The id of the record that owns bucket `id`, or `undefined` when no record does. */
  async ownerOf(id: BucketId): Promise<RecordId | undefined> {
    const link = await mapErrors(() => this.db.recordsBuckets.where('bucketId').equals(id).first());
    return link?.recordId;
  }

  /** @throws {NotFoundError} when the bucket is missing or deleted. */
  async getBucket(id: string): Promise<BucketRow> {
    const row = await this.findBucket(id);
    if (!row) throw bucketNotFound(id);
    return row;
  }

  /**
   * The bucket, if it accepts writes to `key`.
   *
   * @throws {NotFoundError} when missing; {@link BucketDeletedError}; {@link BucketLockedError}.
   */
  async getWritableBucket(id: string, key?: string): Promise<BucketRow> {
    const row = await this.findBucket(id, true);
    if (!row) throw bucketNotFound(id);
    assertWritable(toLimits(row), key);
    return row;
  }

  async listBuckets(withDeleted = false): Promise<BucketRow[]> {
    return mapErrors(() =>
      withDeleted ? this.db.buckets.toArray() : this.db.buckets.where('deleted').equals(0).toArray(),
    );
  }

  async updateBucket(
    id: BucketId,
    change: (row: BucketRow) => Partial<BucketRow> | undefined,
  ): Promise<BucketRow> {
    return mapErrors(() =>
      this.db.transaction('rw', this.db.buckets, async () => {
        const row = await this.getBucket(id);
        const patch = change(row);
        if (!patch) return row;
        const updated = { ...row, ...patch, updated: Date.now() };
        await this.db.buckets.put(updated);
        return updated;
      }),
    );
  }

  /**
   * Remove a bucket for good: every version, marker, tag and upload. File instances stay
   * for garbage collection. Refused while locked, or while a record owns the bucket.
   */
  async removeBucket(id: BucketId): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction(
        'rw',
        [
          db.buckets,
          db.bucketTags,
          db.objects,
          db.heads,
          db.objectTags,
          db.recordsBuckets,
          db.multipartUploads,
          db.parts,
        ],
        async () => {
          const row = await db.buckets.get(id);
          if (!row) throw bucketNotFound(id);
          if (row.locked) throw new BucketLockedError(id);
          if ((await db.recordsBuckets.where('bucketId').equals(id).count()) > 0) {
            throw new InvalidOperationError(`Bucket ${id} belongs to a record; delete the record first.`, {
              bucketId: id,
            });
          }
          await deleteBucketRows(db, id);
        },
      ),
    );
  }

  // --- Bucket tags ---

  async bucketTags(bucketId: BucketId): Promise<Tags> {
    const rows = await mapErrors(() =>
      startingWith(this.db.bucketTags, '[bucketId+key]', bucketId).toArray(),
    );
    return tagMap(rows);
  }

  async setBucketTag(
    bucketId: BucketId,
    key: string,
    value: string,
    mode: 'create' | 'upsert',
  ): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', db.buckets, db.bucketTags, async () => {
        await this.getWritableBucket(bucketId);
        if (mode === 'create' && (await db.bucketTags.get([bucketId, key]))) {
          throw new DuplicateTagError(`Bucket ${bucketId} already has tag ${key}.`, { bucketId, tag: key });
        }
        await db.bucketTags.put({ bucketId, key, value });
      }),
    );
  }

  async deleteBucketTag(bucketId: BucketId, key: string): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', db.buckets, db.bucketTags, async () => {
        await this.getWritableBucket(bucketId);
        await db.bucketTags.delete([bucketId, key]);
      }),
    );
  }

  // --- Versions: reads ---

  async getVersion(versionId: string): Promise<ObjectVersionRow | undefined> {
    return mapErrors(() => this.db.objects.get(versionId as VersionId));
  }

  /** The head of a key, marker or not. */
  async getHead(bucketId: BucketId, key: string): Promise<ObjectVersionRow | undefined> {
    return mapErrors(() => this.db.objects.where('[bucketId+isHead+key]').equals([bucketId, 1, key]).first());
  }

  /** Every version of a key, markers included, newest first. */
  async versions(bucketId: BucketId, key: string): Promise<ObjectVersionRow[]> {
    return mapErrors(() => startingWith(this.db.objects, '[bucketId+key+rank]', bucketId, key).toArray());
  }

  /** Heads (or every version) ordered by key, newest first within a key; paginated. */
  async list(bucketId: BucketId, query: ListQuery): Promise<ObjectVersionRow[]> {
    const { prefix, after, limit, withDeleted } = query;
    const end = prefixEnd(prefix);
    const startKey = after && after.key >= prefix ? after.key : prefix;
    const keep = (row: ObjectVersionRow) =>
      (withDeleted || row.fileId !== null) && (!prefix || row.key.startsWith(prefix));
    return mapErrors(() => {
      if (!query.versions) {
        // Rows are read with getAll (a JS filter on the Collection would walk a cursor, one
        // round trip per row) and markers dropped here; a page that lost rows to markers
        // reads on after its last key.
        return this.db.transaction('r', this.db.objects, async () => {
          const rows: ObjectVersionRow[] = [];
          let from = startKey;
          let inclusive = !(after && after.key >= prefix);
          while (rows.length < limit) {
            const want = limit - rows.length;
            const range = this.db.objects
              .where('[bucketId+isHead+key]')
              .between([bucketId, 1, from], [bucketId, 1, end ?? Dexie.maxKey], inclusive, false);
            const batch = await (Number.isFinite(want) ? range.limit(want) : range).toArray();
            for (const row of batch) if (keep(row) && rows.length < limit) rows.push(row);
            if (batch.length < want || batch.length === 0) break;
            from = batch[batch.length - 1]!.key;
            inclusive = false;
          }
          return rows;
        });
      }
      const lower =
        after && after.key >= prefix
          ? [bucketId, after.key, after.rank ?? Dexie.maxKey]
          : [bucketId, prefix, Dexie.minKey];
      // `[bucketId, end]` sorts before every `[bucketId, end, rank]` and after every smaller key.
      return this.db.objects
        .where('[bucketId+key+rank]')
        .between(lower, [bucketId, end ?? Dexie.maxKey], !after, false)
        .filter(keep)
        .limit(limit)
        .toArray();
    });
  }

  async versionTags(versionId: VersionId): Promise<Tags> {
    const rows = await mapErrors(() =>
      startingWith(this.db.objectTags, '[versionId+key]', versionId).toArray(),
    );
    return tagMap(rows);
  }

  async getFile(fileId: FileId): Promise<FileRow | undefined> {
    return mapErrors(() => this.db.files.get(fileId));
  }

  // --- Versions: writes ---

  /**
   * The last step of every write: in one transaction, re-check the bucket, make new bytes
   * readable (or link an identical file instance and drop them), insert the version, move the
   * head and update the bucket's size. Joins the caller's transaction when there is one.
   */
  async addVersion(version: NewVersion): Promise<{ version: ObjectVersionRow; bucket: BucketRow }> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.versionTables, async () => {
        // Requests of one transaction run in the order they are made: the reads go out
        // together, then the writes, instead of one round trip each.
        // The head's id comes from `heads` (a get; a query on `objects` would open a cursor).
        const [bucket, previous, seqRow] = await Promise.all([
          db.buckets.get(version.bucketId),
          db.heads.get([version.bucketId, version.key]),
          db.meta.get('seq'),
        ]);
        if (!bucket) throw bucketNotFound(version.bucketId);
        if (bucket.deleted) throw new BucketDeletedError(bucket.id, { key: version.key });
        if (bucket.locked && !version.ignoreLock)
          throw new BucketLockedError(bucket.id, { key: version.key });

        const file = await this.resolveContent(version);
        if (file) assertFits(toLimits(bucket), file.size, version.key);

        const now = Date.now();
        const seq = ((seqRow?.value as number | undefined) ?? 0) + 1;
        const row = newHeadRow(bucket.id, version.key, version.mimetype, file, seq, now);
        const updatedBucket = resized(bucket, row.size, now);
        const tags = Object.entries(version.tags).map(([key, value]) => ({
          versionId: row.versionId,
          key,
          value,
        }));
        await Promise.all([
          db.meta.put({ key: 'seq', value: seq }),
          previous ? db.objects.update(previous.versionId, { isHead: 0, updated: now }) : undefined,
          db.objects.add(row),
          db.heads.put({ bucketId: bucket.id, key: version.key, versionId: row.versionId }),
          tags.length > 0 ? db.objectTags.bulkPut(tags) : undefined,
          db.buckets.put(updatedBucket),
        ]);
        return { version: row, bucket: updatedBucket };
      }),
    );
  }

  /** The file a new version will point to, made readable (or deduplicated) on the way. */
  private async resolveContent(version: NewVersion): Promise<FileRow | undefined> {
    const { db } = this;
    const { content } = version;
    if (content.kind === 'marker') return undefined;
    if (content.kind === 'linked') {
      const file = await db.files.get(content.fileId);
      // A copy or restore shares a lazy file too: its bytes come with the first read of either.
      if (!file || !(file.readable || isLazyFile(file)))
        throw new NotFoundError(`File ${content.fileId} is not readable.`, { fileId: content.fileId });
      return file;
    }
    const [written, candidates] = await Promise.all([
      db.files.get(content.fileId),
      // getAll and a filter here: a filter on the query would walk a cursor.
      version.dedupe
        ? db.files.where('[size+checksum]').equals([content.size, content.checksum]).toArray()
        : [],
    ]);
    const twins = candidates.filter(
      (f) =>
        f.readable === 1 &&
        // Bytes that failed their last fixity check must not gain new versions.
        f.lastCheck !== false &&
        (f.sha256 === null || content.sha256 === null || f.sha256 === content.sha256),
    );
    if (!written?.writable) {
      throw new InvalidOperationError(`File ${content.fileId} is not being written.`, {
        fileId: content.fileId,
      });
    }
    const twin = twins.find((f) => f.location === written.location);
    if (twin) {
      await deleteData(db, written.dataIds);
      await db.files.delete(written.id);
      return twin;
    }
    const readable: FileRow = {
      ...written,
      size: content.size,
      checksum: content.checksum,
      sha256: content.sha256,
      readable: 1,
      writable: 0,
      extents: written.extents.map((e) => ({ ...e, size: content.size })),
      updated: Date.now(),
    };
    // The bytes of a file sync left on the server (same size and md5): they fill it, shared.
    const lazy = candidates.find((f) => isLazyFile(f) && f.location === written.location);
    if (lazy) {
      const filled = filledLazyFile(lazy, readable, readable.updated);
      await db.files.put(filled);
      await db.files.delete(written.id);
      return filled;
    }
    await db.files.put(readable);
    return readable;
  }

  /**
   * Add many new head versions of files hashed before they were stored, in the caller's
   * transaction (or one of their own), with the rules of {@link addVersion} applied file by
   * file in order: a file the bucket refuses (missing, deleted, locked, over a limit) gets its
   * error and changes nothing, the others land. Each file's staged rows (its file instance and
   * chunks) are inserted readable, or not at all when dedupe links an identical readable file
   * (one stored earlier, or one earlier in the same call). The reads go out together, then
   * the writes, so the cost does not grow by a round trip per file.
   */
  async addStagedVersions(
    bucketId: BucketId,
    versions: readonly StagedVersion[],
  ): Promise<{ results: (ObjectVersionRow | CofferError)[]; bucket: BucketRow | undefined }> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.versionTables, async () => {
        const keys = [...new Set(versions.map((v) => v.key))];
        const [stored, heads, seqRow, candidates] = await Promise.all([
          db.buckets.get(bucketId),
          db.heads.bulkGet(keys.map((key) => [bucketId, key] as [BucketId, string])),
          db.meta.get('seq'),
          Promise.all(
            versions.map((v) =>
              v.dedupe
                ? db.files.where('[size+checksum]').equals([v.content.size, v.content.checksum]).toArray()
                : [],
            ),
          ),
        ]);
        let bucket = stored;
        const headOf = new Map<string, VersionId>();
        for (const [i, key] of keys.entries()) {
          const head = heads[i];
          if (head) headOf.set(key, head.versionId);
        }
        let seq = (seqRow?.value as number | undefined) ?? 0;
        const now = Date.now();
        const files: FileRow[] = [];
        /** Lazy file instances (bytes on the sync remote only) that staged bytes fill. */
        const filled: FileRow[] = [];
        const chunks: ChunkRow[] = [];
        const rows = new Map<VersionId, ObjectVersionRow>();
        const unheaded: VersionId[] = [];
        const tags: { versionId: VersionId; key: string; value: string }[] = [];
        const results: (ObjectVersionRow | CofferError)[] = [];
        for (const [i, version] of versions.entries()) {
          const { content, staged } = version;
          try {
            if (!bucket) throw bucketNotFound(bucketId);
            assertWritable(toLimits(bucket), version.key);
            assertFits(toLimits(bucket), content.size, version.key);
          } catch (error) {
            results.push(error as CofferError);
            continue;
          }
          const sameBytes = (f: FileRow) =>
            f.readable === 1 &&
            // Bytes that failed their last fixity check must not gain new versions.
            f.lastCheck !== false &&
            f.location === staged.file.location &&
            f.size === content.size &&
            f.checksum === content.checksum &&
            (f.sha256 === null || content.sha256 === null || f.sha256 === content.sha256);
          let file = version.dedupe
            ? (candidates[i]!.find(sameBytes) ?? files.find(sameBytes) ?? filled.find(sameBytes))
            : undefined;
          if (!file) {
            const ready = {
              size: content.size,
              checksum: content.checksum,
              sha256: content.sha256,
              readable: 1 as const,
              writable: 0 as const,
              extents: staged.file.extents.map((e) => ({ ...e, size: content.size })),
              dataIds: staged.file.dataIds,
              updated: now,
            };
            // The bytes of a file sync left on the server (same size and md5): they fill it, shared.
            const lazy = version.dedupe
              ? candidates[i]!.find((f) => isLazyFile(f) && f.location === staged.file.location)
              : undefined;
            if (lazy) {
              file = filledLazyFile(lazy, ready, now);
              filled.push(file);
            } else {
              file = { ...staged.file, ...ready };
              files.push(file);
            }
            chunks.push(...staged.chunks);
          }
          seq++;
          const row = newHeadRow(bucketId, version.key, version.mimetype, file, seq, now);
          const previous = headOf.get(version.key);
          if (previous !== undefined) {
            const pending = rows.get(previous);
            if (pending) rows.set(previous, { ...pending, isHead: 0 });
            else unheaded.push(previous);
          }
          headOf.set(version.key, row.versionId);
          rows.set(row.versionId, row);
          for (const [key, value] of Object.entries(version.tags))
            tags.push({ versionId: row.versionId, key, value });
          bucket = resized(bucket, row.size, now);
          results.push(row);
        }
        if (rows.size === 0) return { results, bucket };
        await Promise.all([
          files.length > 0 ? db.files.bulkAdd(files) : undefined,
          filled.length > 0 ? db.files.bulkPut(filled) : undefined,
          chunks.length > 0 ? db.chunks.bulkAdd(chunks) : undefined,
          ...unheaded.map((id) => db.objects.update(id, { isHead: 0, updated: now })),
          db.objects.bulkAdd([...rows.values()]),
          db.heads.bulkPut([...headOf].map(([key, versionId]) => ({ bucketId, key, versionId }))),
          tags.length > 0 ? db.objectTags.bulkPut(tags) : undefined,
          db.meta.put({ key: 'seq', value: seq }),
          db.buckets.put(bucket!),
        ]);
        // A version that another of this call replaced as head is returned as stored.
        return {
          results: results.map((r) => (r instanceof Error ? r : (rows.get(r.versionId) ?? r))),
          bucket,
        };
      }),
    );
  }

  /**
   * Hide a key behind a delete marker. Returns the marker, or `undefined` when the key has no
   * live head. A marker frees nothing: the versions it hides still count in the bucket's size.
   */
  async deleteObject(bucketId: BucketId, key: string): Promise<ObjectVersionRow | undefined> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.versionTables, async () => {
        await this.getWritableBucket(bucketId, key);
        const head = await this.getHead(bucketId, key);
        if (!head || head.fileId === null) return undefined;
        const { version } = await this.addVersion({
          bucketId,
          key,
          content: { kind: 'marker' },
          mimetype: null,
          tags: {},
          dedupe: false,
        });
        return version;
      }),
    );
  }

  /**
   * Remove one version for good, and its tags; the bucket's size drops by its bytes. If it was
   * the head, the newest remaining version becomes head. The file instance stays for gc.
   */
  async removeVersion(versionId: VersionId): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', this.versionTables, async () => {
        const row = await db.objects.get(versionId);
        if (!row) throw versionNotFound(versionId);
        const bucket = await db.buckets.get(row.bucketId);
        if (!bucket) throw bucketNotFound(row.bucketId);
        assertWritable(toLimits(bucket), row.key);
        await db.objects.delete(versionId);
        await startingWith(db.objectTags, '[versionId+key]', versionId).delete();
        if (row.isHead) {
          const next = await startingWith(db.objects, '[bucketId+key+rank]', row.bucketId, row.key).first();
          if (next) {
            await db.objects.update(next.versionId, { isHead: 1 });
            await db.heads.put({ bucketId: row.bucketId, key: row.key, versionId: next.versionId });
          } else {
            await db.heads.delete([row.bucketId, row.key]);
          }
        }
        await db.buckets.put(resized(bucket, -row.size));
      }),
    );
  }

  /**
   * Add a new head in `bucketId`/`key` sharing the file instance and tags of `versionId`:
   * Invenio's `copy()`, and `restore()` when the target is the version's own key.
   */
  async copyVersion(
    versionId: VersionId,
    target: { bucketId: BucketId; key: string },
    mode: 'copy' | 'restore',
  ): Promise<{ version: ObjectVersionRow; bucket: BucketRow }> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.versionTables, async () => {
        const source = await db.objects.get(versionId);
        if (!source) throw versionNotFound(versionId);
        const context = { bucketId: source.bucketId, key: source.key, versionId };
        if (mode === 'restore' && source.isHead) {
          throw new InvalidOperationError('Cannot restore the latest version.', context);
        }
        if (source.fileId === null) throw new InvalidOperationError('Cannot copy a delete marker.', context);
        return this.addVersion({
          bucketId: target.bucketId,
          key: target.key,
          content: { kind: 'linked', fileId: source.fileId },
          mimetype: source.mimetype,
          tags: await this.versionTags(versionId),
          dedupe: false,
        });
      }),
    );
  }

  /**
   * A new bucket holding a copy of every live head (sharing file instances, tags copied),
   * locked when asked or when the source is. Settings, max file size included, are copied.
   */
  async snapshot(bucketId: BucketId, lock: boolean): Promise<BucketRow> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.versionTables, async () => {
        const source = await db.buckets.get(bucketId);
        if (!source) throw bucketNotFound(bucketId);
        if (source.deleted) throw new BucketDeletedError(bucketId);
        // Limits and lock apply once the copies are in: a snapshot mirrors the source even
        // when the source holds more than its quota (lowered after the files were written).
        let snapshot = await this.createBucket({
          location: source.location,
          storageClass: source.storageClass,
          quotaSize: null,
          maxFileSize: null,
          locked: false,
        });
        const heads = await this.list(bucketId, {
          versions: false,
          withDeleted: false,
          prefix: '',
          limit: Number.POSITIVE_INFINITY,
          after: undefined,
        });
        for (const head of heads) {
          ({ bucket: snapshot } = await this.copyVersion(
            head.versionId,
            { bucketId: snapshot.id, key: head.key },
            'copy',
          ));
        }
        snapshot = {
          ...snapshot,
          quotaSize: source.quotaSize,
          maxFileSize: source.maxFileSize,
          locked: lock || source.locked === 1 ? 1 : 0,
        };
        await db.buckets.put(snapshot);
        return snapshot;
      }),
    );
  }

  /**
   * Make `destId`'s heads mirror `sourceId`'s: add what is new or changed, delete what the
   * source deleted, and with `deleteExtras` delete keys the source never had.
   */
  async sync(sourceId: BucketId, destId: BucketId, deleteExtras: boolean): Promise<SyncChange[]> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.versionTables, async () => {
        const source = await db.buckets.get(sourceId);
        if (!source) throw bucketNotFound(sourceId);
        if (source.deleted) throw new BucketDeletedError(sourceId);
        await this.getWritableBucket(destId);
        const all = {
          versions: false,
          withDeleted: true,
          prefix: '',
          limit: Number.POSITIVE_INFINITY,
          after: undefined,
        };
        const sourceHeads = await this.list(sourceId, all);
        const destHeads = new Map((await this.list(destId, all)).map((row) => [row.key, row]));
        const changes: SyncChange[] = [];
        for (const head of sourceHeads) {
          const current = destHeads.get(head.key);
          if (head.fileId === null) {
            if (current && current.fileId !== null) {
              await this.deleteObject(destId, head.key);
              changes.push({ type: 'delete', key: head.key });
            }
          } else if (!current || current.fileId !== head.fileId) {
            const { version } = await this.copyVersion(
              head.versionId,
              { bucketId: destId, key: head.key },
              'copy',
            );
            changes.push({ type: 'add', key: head.key, version });
          }
        }
        if (deleteExtras) {
          const sourceKeys = new Set(sourceHeads.map((row) => row.key));
          for (const [key, row] of destHeads) {
            if (!sourceKeys.has(key) && row.fileId !== null) {
              await this.deleteObject(destId, key);
              changes.push({ type: 'delete', key });
            }
          }
        }
        return changes;
      }),
    );
  }

  // --- Version tags ---

  async setVersionTag(
    versionId: VersionId,
    key: string,
    value: string,
    mode: 'create' | 'upsert',
  ): Promise<void> {
    const { db } = this;
    await this.changeVersionTags(versionId, async (row) => {
      if (mode === 'create' && (await db.objectTags.get([versionId, key]))) {
        throw new DuplicateTagError(`Version ${versionId} already has tag ${key}.`, {
          bucketId: row.bucketId,
          key: row.key,
          versionId,
          tag: key,
        });
      }
      await db.objectTags.put({ versionId, key, value });
    });
  }

  async deleteVersionTag(versionId: VersionId, key: string): Promise<void> {
    await this.changeVersionTags(versionId, () => this.db.objectTags.delete([versionId, key]));
  }

  private async changeVersionTags(
    versionId: VersionId,
    change: (version: ObjectVersionRow) => Promise<unknown>,
  ): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', db.objects, db.buckets, db.objectTags, async () => {
        const row = await db.objects.get(versionId);
        if (!row) throw versionNotFound(versionId);
        await this.getWritableBucket(row.bucketId, row.key);
        await change(row);
      }),
    );
  }
}

/**
 * The first string after every string that starts with `prefix` (its last code unit raised by
 * one), or `undefined` when no string is: the exclusive upper bound of a prefix query.
 */
function prefixEnd(prefix: string): string | undefined {
  const trimmed = prefix.replace(/\uffff+$/, '');
  if (!trimmed) return undefined;
  return trimmed.slice(0, -1) + String.fromCharCode(trimmed.charCodeAt(trimmed.length - 1) + 1);
}

/** The {@link NotFoundError} for a missing bucket. */
export const bucketNotFound = (bucketId: string): NotFoundError =>
  new NotFoundError(`Bucket ${bucketId} does not exist.`, { bucketId, resource: 'bucket' });

/** The {@link NotFoundError} for a missing version. */
export const versionNotFound = (versionId: string): NotFoundError =>
  new NotFoundError(`Version ${versionId} does not exist.`, { versionId, resource: 'version' });
