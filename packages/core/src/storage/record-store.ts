import { Dexie } from 'dexie';
import { NotFoundError, RecordDeletedError, RecordExistsError, RevisionConflictError } from '../errors.js';
import type { BucketId, RecordId } from '../ids.js';
import {
  buildEntries,
  type FileEntry,
  filesField,
  type OrderedEntry,
  orderOf,
  type RecordData,
} from '../model/record.js';
import { type BucketStore, bucketNotFound } from './bucket-store.js';
import { mapErrors } from './map-storage-error.js';
import { deleteRecordRows, startingWith, toHead, versionTables } from './rows.js';
import type { BucketRow, CofferDb, ObjectVersionRow, RecordRevisionRow, RecordRow } from './schema.js';

/** Options of a record listing. */
export interface RecordListQuery {
  limit: number;
  /** The id of the last record of the previous page. */
  after: RecordId | undefined;
  includeDeleted: boolean;
}

/**
 * A change of a record's files: bucket writes made in the record's transaction, given the
 * current entries (the bucket's live heads in the record's order), returning the new order.
 */
export type FilesChange<T> = (current: FileEntry[]) => Promise<{ order: OrderedEntry[]; result: T }>;

/** What a write to a record left behind. */
export interface RecordWrite<T = undefined> {
  /** The stored row after the write (the same revision as `before` when nothing changed). */
  row: RecordRow;
  /** The stored revision the write started from. */
  before: number;
  /** The record's bucket after the write (`undefined` when it has none). */
  bucket: BucketRow | undefined;
  result: T;
}

/** Checks the data a write is about to store (JSON Schema validation); throws to refuse. */
export type DataCheck = (data: RecordData) => void;

export const recordNotFound = (recordId: string): NotFoundError =>
  new NotFoundError(`Record ${recordId} does not exist.`, { recordId, resource: 'record' });

export const revisionNotFound = (recordId: string, revisionId: number): NotFoundError =>
  new NotFoundError(`Record ${recordId} has no revision ${revisionId}.`, {
    recordId,
    expected: revisionId,
    resource: 'revision',
  });

/**
 * Records, their revisions and their bucket links. A write through `record.files` runs the
 * bucket store's own operations inside the record's transaction, so that the new version, the
 * record's `_files` and its new revision commit together or not at all.
 *
 * Every write that changes a record's data refuses a missing record and a deleted one, stores
 * the data as revision `revisionId + 1` and keeps it in `recordRevisions`. A data commit also
 * refuses a record whose stored revision is not the writer's (optimistic concurrency); a write
 * of files does not: it is a merge on the stored row, made in one transaction.
 */
export class RecordStore {
  constructor(
    private readonly db: CofferDb,
    private readonly buckets: BucketStore,
  ) {}

  private get recordTables() {
    const { db } = this;
    return [db.records, db.recordRevisions, db.recordsBuckets];
  }

  private get allTables() {
    return [...this.recordTables, ...versionTables(this.db)];
  }

  // --- Reads ---

  async find(id: string): Promise<RecordRow | undefined> {
    return mapErrors(() => this.db.records.get(id as RecordId));
  }

  async findMany(ids: readonly string[]): Promise<(RecordRow | undefined)[]> {
    return mapErrors(() => this.db.records.bulkGet(ids as RecordId[]));
  }

  /** Buckets by id, deleted ones included; `undefined` for a missing id or none. */
  async findBuckets(ids: readonly (string | undefined)[]): Promise<(BucketRow | undefined)[]> {
    const wanted = ids.filter((id): id is string => id !== undefined) as BucketId[];
    const rows = await mapErrors(() => this.db.buckets.bulkGet(wanted));
    const byId = new Map(rows.flatMap((row) => (row ? [[row.id as string, row] as const] : [])));
    return ids.map((id) => (id === undefined ? undefined : byId.get(id)));
  }

  /** Records by `updated`, newest first (ties by id, descending); deleted ones only when asked. */
  async list(query: RecordListQuery): Promise<RecordRow[]> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('r', db.records, async () => {
        const after = query.after === undefined ? undefined : await db.records.get(query.after);
        if (query.after !== undefined && !after) throw recordNotFound(query.after);
        const page = (deleted: 0 | 1) => {
          const upper = after ? [deleted, after.updated] : [deleted, Dexie.maxKey];
          return db.records
            .where('[deleted+updated]')
            .between([deleted, Dexie.minKey], upper, true, true)
            .reverse()
            .filter((row) => !after || row.updated < after.updated || row.id < after.id)
            .limit(query.limit)
            .toArray();
        };
        if (!query.includeDeleted) return page(0);
        const merged = [...(await page(0)), ...(await page(1))].sort(
          (a, b) => b.updated - a.updated || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
        );
        return merged.slice(0, query.limit);
      }),
    );
  }

  async revisions(id: RecordId): Promise<RecordRevisionRow[]> {
    return mapErrors(() => startingWith(this.db.recordRevisions, '[recordId+revisionId]', id).toArray());
  }

  async revision(id: RecordId, revisionId: number): Promise<RecordRevisionRow | undefined> {
    return mapErrors(() => this.db.recordRevisions.get([id, revisionId]));
  }

  /** The bucket's live heads, by key. */
  async liveHeads(bucketId: BucketId): Promise<ObjectVersionRow[]> {
    return this.buckets.list(bucketId, {
      versions: false,
      withDeleted: false,
      prefix: '',
      limit: Number.POSITIVE_INFINITY,
      after: undefined,
    });
  }

  async countLive(bucketId: BucketId): Promise<number> {
    return mapErrors(() =>
      startingWith(this.db.objects, '[bucketId+isHead+key]', bucketId, 1)
        .filter((row) => row.fileId !== null)
        .count(),
    );
  }

  /**
   * The record's files in its order, read in one transaction: the bucket's live heads with the
   * metadata of the stored `_files`.
   */
  async files(
    recordId: RecordId,
    bucketId: BucketId,
  ): Promise<{ entries: FileEntry[]; heads: Map<string, ObjectVersionRow> }> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('r', db.records, db.objects, async () => {
        const row = await db.records.get(recordId);
        if (!row) throw recordNotFound(recordId);
        const heads = await this.liveHeads(bucketId);
        return {
          entries: buildEntries(heads.map(toHead), orderOf(row.data._files)),
          heads: new Map(heads.map((head) => [head.key, head])),
        };
      }),
    );
  }

  /** The live head of `key` with its extra metadata from the stored `_files`, or `undefined`. */
  async file(
    recordId: RecordId,
    bucketId: BucketId,
    key: string,
  ): Promise<{ head: ObjectVersionRow; extra: Record<string, unknown> } | undefined> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('r', db.records, db.objects, async () => {
        const row = await db.records.get(recordId);
        if (!row) throw recordNotFound(recordId);
        const head = await this.buckets.getHead(bucketId, key);
        if (!head || head.fileId === null) return undefined;
        return { head, extra: orderOf(row.data._files).find((entry) => entry.key === key)?.extra ?? {} };
      }),
    );
  }

  // --- Writes ---

  /**
   * Store a new record (revision 0) and link it to its bucket.
   *
   * @throws {RecordExistsError} when the id is taken; {@link NotFoundError} when the bucket is missing.
   */
  async insert(
    row: RecordRow,
    bucketId: BucketId | undefined,
    check: DataCheck,
  ): Promise<BucketRow | undefined> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', [...this.recordTables, db.buckets], async () => {
        if (await db.records.get(row.id)) {
          throw new RecordExistsError(`Record ${row.id} already exists.`, { recordId: row.id });
        }
        check(row.data);
        const bucket = bucketId === undefined ? undefined : await db.buckets.get(bucketId);
        if (bucketId !== undefined && !bucket) throw bucketNotFound(bucketId);
        await db.records.add(row);
        await db.recordRevisions.add({
          recordId: row.id,
          revisionId: row.revisionId,
          data: row.data,
          created: row.updated,
        });
        if (bucketId !== undefined) await db.recordsBuckets.put({ recordId: row.id, bucketId });
        return bucket;
      }),
    );
  }

  /**
   * Store new records (revision 0) in one transaction, all or none: `newBuckets` are added,
   * then each record is linked to its bucket (one of those, or an existing one).
   *
   * @throws {RecordExistsError} when an id is taken (or given twice); {@link NotFoundError}
   *   when an existing bucket is missing; whatever `check` throws.
   */
  async insertMany(
    rows: readonly RecordRow[],
    bucketIds: readonly (BucketId | undefined)[],
    newBuckets: readonly BucketRow[],
    check: DataCheck,
  ): Promise<(BucketRow | undefined)[]> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', [...this.recordTables, db.buckets], async () => {
        const seen = new Set<string>();
        for (const row of rows) {
          if (seen.has(row.id)) {
            throw new RecordExistsError(`Record ${row.id} already exists.`, { recordId: row.id });
          }
          seen.add(row.id);
          check(row.data);
        }
        if (newBuckets.length > 0) await db.buckets.bulkAdd(newBuckets as BucketRow[]);
        const made = new Map(newBuckets.map((bucket) => [bucket.id, bucket]));
        const others = [
          ...new Set(bucketIds.filter((id): id is BucketId => id !== undefined && !made.has(id))),
        ];
        for (const [i, bucket] of (await db.buckets.bulkGet(others)).entries()) {
          if (!bucket) throw bucketNotFound(others[i]!);
          made.set(bucket.id, bucket);
        }
        const links = rows.flatMap((row, i) => {
          const bucketId = bucketIds[i];
          return bucketId === undefined ? [] : [{ recordId: row.id, bucketId }];
        });
        await Promise.all([
          // The ids are new UUIDs: a taken one is refused by the primary key (one lookup per
          // row would double the cost of the batch).
          db.records.bulkAdd(rows as RecordRow[]).catch((error: unknown) => {
            const failed = (error as { failuresByPos?: Record<number, Error> }).failuresByPos;
            const at = failed ? Number(Object.keys(failed)[0]) : -1;
            if (at >= 0 && failed?.[at]?.name === 'ConstraintError') {
              const { id } = rows[at]!;
              throw new RecordExistsError(`Record ${id} already exists.`, { recordId: id });
            }
            throw error;
          }),
          db.recordRevisions.bulkAdd(
            rows.map((row) => ({
              recordId: row.id,
              revisionId: row.revisionId,
              data: row.data,
              created: row.updated,
            })),
          ),
          links.length > 0 ? db.recordsBuckets.bulkPut(links) : undefined,
        ]);
        return bucketIds.map((id) => (id === undefined ? undefined : made.get(id)));
      }),
    );
  }

  /** Store `next(row)` as the record's new revision. */
  async commit(
    id: RecordId,
    expectedRevision: number,
    next: (row: RecordRow) => RecordData,
    check: DataCheck,
  ): Promise<RecordRow> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.recordTables, async () => {
        const row = await this.writable(id, expectedRevision);
        return this.storeRevision(row, next(row), check);
      }),
    );
  }

  /**
   * Run `change` (bucket writes) in the record's transaction, then store the new `_files`,
   * rebuilt from the bucket's heads in the order `change` returns, as a new revision. Nothing
   * is stored when `_files` is unchanged.
   *
   * A merge on the current stored row: `change` sees the stored `_files`, only `_files` changes,
   * the rest of the stored data is kept, and no revision is expected, so it never conflicts.
   * Concurrent calls (in one tab or several) commit one after the other, each on the row the
   * previous one left.
   */
  async changeFiles<T>(
    id: RecordId,
    bucketId: BucketId,
    change: FilesChange<T>,
    check: DataCheck,
  ): Promise<RecordWrite<T>> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.allTables, async () => {
        const row = await this.live(id);
        const before = buildEntries((await this.liveHeads(bucketId)).map(toHead), orderOf(row.data._files));
        const { order, result } = await change(before);
        const entries = buildEntries((await this.liveHeads(bucketId)).map(toHead), order);
        const files = filesField(row.data, entries);
        const unchanged = files === undefined || JSON.stringify(files) === JSON.stringify(row.data._files);
        const stored = unchanged ? row : await this.storeRevision(row, { ...row.data, _files: files }, check);
        return { row: stored, before: row.revisionId, bucket: await db.buckets.get(bucketId), result };
      }),
    );
  }

  /**
   * Store the data of revision `revisionId` as the record's new revision, with the files the
   * record has now: a revert is of the metadata, never of the files.
   *
   * - Every field but `_files` comes from the old revision (then `prepare`, which puts `_bucket` back).
   * - `_files` is rebuilt in the same transaction from the bucket's live heads (the truth), in the
   *   current order, each entry with its current extra metadata (description, rename lineage…);
   *   entries of files deleted since stay out. A record without a bucket keeps its current `_files`.
   * - The bucket is only read, so a locked bucket changes nothing.
   *
   * @throws {NotFoundError} (`resource: 'revision'`) for an unknown revision; as {@link commit}.
   */
  async revert(
    id: RecordId,
    expectedRevision: number,
    revisionId: number,
    bucketId: BucketId | undefined,
    prepare: (data: RecordData) => RecordData,
    check: DataCheck,
  ): Promise<RecordRow> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.allTables, async () => {
        const row = await this.writable(id, expectedRevision);
        const revision = await db.recordRevisions.get([id, revisionId]);
        if (!revision) throw revisionNotFound(id, revisionId);
        const { _files: _old, ...fields } = revision.data as RecordData;
        const data = prepare(fields as RecordData);
        delete data._files;
        const current = (row.data as RecordData)._files;
        if (bucketId === undefined) {
          if (current !== undefined) data._files = current;
        } else {
          const entries = buildEntries((await this.liveHeads(bucketId)).map(toHead), orderOf(current));
          const files = filesField(current === undefined ? data : { ...data, _files: current }, entries);
          if (files !== undefined) data._files = files;
        }
        return this.storeRevision(row, data, check);
      }),
    );
  }

  /** Soft delete (`deleted: true`) or restore; the data and the bucket link stay. */
  async setDeleted(id: RecordId, deleted: boolean): Promise<RecordRow> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', db.records, async () => {
        const row = await db.records.get(id);
        if (!row) throw recordNotFound(id);
        const updated: RecordRow = { ...row, deleted: deleted ? 1 : 0, updated: Date.now() };
        await db.records.put(updated);
        return updated;
      }),
    );
  }

  /** Hard delete: the record, its revisions and its bucket links. The bucket stays. */
  async remove(id: RecordId): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', this.recordTables, async () => {
        if (!(await db.records.get(id))) throw recordNotFound(id);
        await deleteRecordRows(db, id);
      }),
    );
  }

  /** Check, without writing, that the record exists and is not deleted: a write of files is accepted. */
  async checkLive(id: RecordId): Promise<void> {
    await mapErrors(() => this.db.transaction('r', this.db.records, () => this.live(id)));
  }

  /** The stored record. @throws {NotFoundError}; {@link RecordDeletedError}. */
  private async live(id: RecordId): Promise<RecordRow> {
    const row = await this.db.records.get(id);
    if (!row) throw recordNotFound(id);
    if (row.deleted) throw new RecordDeletedError(`Record ${id} is deleted.`, { recordId: id });
    return row;
  }

  /** The stored record, if its stored revision is `expectedRevision`. @throws {RevisionConflictError}; as {@link live}. */
  private async writable(id: RecordId, expectedRevision: number): Promise<RecordRow> {
    const row = await this.live(id);
    if (row.revisionId !== expectedRevision) {
      throw new RevisionConflictError(
        `Record ${id} is at revision ${row.revisionId}, not ${expectedRevision}: another writer changed it.`,
        { recordId: id, expected: expectedRevision, actual: row.revisionId },
      );
    }
    return row;
  }

  private async storeRevision(row: RecordRow, data: RecordData, check: DataCheck): Promise<RecordRow> {
    check(data);
    const now = Math.max(Date.now(), row.updated);
    const next: RecordRow = { ...row, data, revisionId: row.revisionId + 1, updated: now };
    await this.db.records.put(next);
    await this.db.recordRevisions.add({ recordId: row.id, revisionId: next.revisionId, data, created: now });
    return next;
  }
}
