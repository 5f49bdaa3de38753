import { InvalidArgumentError, NotFoundError, RecordExistsError } from '../errors.js';
import { type BucketId, newId, type RecordId } from '../ids.js';
import { validateSize } from '../model/limits.js';
import {
  copyJson,
  copyRecordData,
  type MAX_ID_LENGTH,
  type RecordData,
  validateRecordId,
} from '../model/record.js';
import { newBucketRow } from '../storage/bucket-store.js';
import { RecordStore, recordNotFound } from '../storage/record-store.js';
import type { BucketRow, RecordRow } from '../storage/schema.js';
import { Bucket } from './bucket.js';
import type { Coffer } from './coffer.js';
import type { CofferContext } from './context.js';
import { type SchemaMap, SchemaValidator } from './json-schema.js';
import { RecordFiles } from './record-files.js';

/**
 * Invenio's override points of record creation, given as options instead of by subclassing
 * {@link Records}. Each replaces the method of the same name.
 */
export interface RecordHooks {
  /** Make (or find) the bucket of a new record; `undefined` for none. */
  createBucket?(data: RecordData, coffer: Coffer): Promise<Bucket | undefined> | Bucket | undefined;
  /** Store the bucket's id in the new record's data (default: `data._bucket = bucket.id`). */
  dumpBucket?(data: RecordData, bucket: Bucket): void;
  /** Read the bucket's id from a record's data (default: `data._bucket`). */
  loadBucket?(data: RecordData): string | undefined;
}

/** Options of {@link Records}: the override points and the JSON Schemas records are checked against. */
export interface RecordsOptions extends RecordHooks {
  /**
   * JSON Schemas by URI: data whose `$schema` names one is validated on create and on every
   * write. Ajv is loaded only when this is given.
   */
  schemas?: SchemaMap;
}

/** Options of {@link Records.create}. */
export interface CreateRecordOptions {
  /** Create a bucket for the record through {@link Records.createBucket} (default `true`). */
  withBucket?: boolean;
  /**
   * The record's id (default: a new UUID): 1 to {@link MAX_ID_LENGTH} characters of
   * well-formed Unicode, without NUL, not `.` or `..`; a `/` is fine (a DOI).
   */
  id?: string;
}

/** Options of {@link Records.get} and {@link Records.getMany}. */
export interface GetRecordOptions {
  /** Also return soft-deleted records (the trash). */
  includeDeleted?: boolean;
}

/** Options of {@link Records.list}. */
export interface ListRecordsOptions extends GetRecordOptions {
  /** At most this many records (default: all). */
  limit?: number;
  /** The id of the last record of the previous page. */
  after?: string;
}

/** One stored revision of a record. */
export interface RecordRevision {
  revisionId: number;
  data: RecordData;
  created: Date;
}

/**
 * The records of a coffer: `coffer.records`. Subclass it to override {@link Records.createBucket},
 * {@link Records.dumpBucket} and {@link Records.loadBucket} (Invenio's class methods), then use
 * `new MyRecords(coffer)`; or pass the same functions as {@link RecordsOptions}.
 *
 * @example
 * ```ts
 * const record = await coffer.records.create({ title: 'Survey 12' });
 * record.data.title = 'Survey 12b';
 * await record.commit();
 * await record.files!.set('site.jpg', file);
 * ```
 */
export class Records {
  /** @internal */
  readonly context: CofferContext;
  /** @internal */
  readonly store: RecordStore;
  /** @internal */
  readonly validator: SchemaValidator;
  private readonly madeHere = new Set<BucketId>();

  constructor(
    /** The coffer the records live in. */
    readonly coffer: Coffer,
    options: RecordsOptions = {},
  ) {
    this.context = coffer.context;
    this.store = new RecordStore(this.context.db, this.context.store);
    this.validator = options.schemas
      ? new SchemaValidator(options.schemas)
      : ((coffer.records as Records | undefined)?.validator ?? new SchemaValidator());
    const { createBucket, dumpBucket, loadBucket } = options;
    if (createBucket) this.createBucket = async (data) => createBucket(data, coffer);
    if (dumpBucket) this.dumpBucket = dumpBucket;
    if (loadBucket) this.loadBucket = loadBucket;
  }

  /**
   * Make the bucket of a new record (override point). The default creates an empty bucket in
   * the default location; an override may return an existing bucket, or `undefined` for none.
   */
  async createBucket(_data: RecordData): Promise<Bucket | undefined> {
    const bucket = await this.coffer.buckets.create();
    this.madeHere.add(bucket.id);
    return bucket;
  }

  /** Store the bucket's id in a new record's data (override point; default `_bucket`). */
  dumpBucket(data: RecordData, bucket: Bucket): void {
    data._bucket = bucket.id;
  }

  /** Read the bucket's id from a record's data (override point; default `_bucket`). */
  loadBucket(data: RecordData): string | undefined {
    return typeof data._bucket === 'string' && data._bucket !== '' ? data._bucket : undefined;
  }

  /**
   * Create a record from a copy of `data` (revision 0), with a bucket unless `withBucket` is
   * `false`. If the record cannot be stored, a bucket the default `createBucket` made for it is
   * removed again.
   *
   * @throws {ValidationError} when `data` names a registered `$schema` and does not match it;
   *   {@link RecordExistsError} when `id` is taken; {@link InvalidArgumentError} for data that
   *   is not a JSON object, or an `id` that {@link validateRecordId} refuses (over
   *   {@link MAX_ID_LENGTH} characters, `.`, `..`, a lone surrogate, NUL).
   */
  async create(data: RecordData = {}, options: CreateRecordOptions = {}): Promise<CofferRecord> {
    const json = copyRecordData(data);
    if (options.id !== undefined) validateRecordId(options.id);
    const id = (options.id ?? newId()) as RecordId;
    if (await this.store.find(id))
      throw new RecordExistsError(`Record ${id} already exists.`, { recordId: id });

    const bucket = (options.withBucket ?? true) ? await this.createBucket(json) : undefined;
    if (bucket) this.dumpBucket(json, bucket);
    else refuseForeignBucket(id, this.loadBucket(json));
    try {
      await this.validator.prepare();
      const now = Date.now();
      const row: RecordRow = { id, revisionId: 0, data: json, deleted: 0, created: now, updated: now };
      const bucketRow = await this.store.insert(row, bucket?.id, (stored) => this.validator.check(stored));
      return new CofferRecord(this, row, bucketRow, bucket?.id);
    } catch (error) {
      if (bucket && this.madeHere.has(bucket.id))
        await this.context.store.removeBucket(bucket.id).catch(() => undefined);
      throw error;
    } finally {
      if (bucket) this.madeHere.delete(bucket.id);
    }
  }

  /**
   * Create many records at once, each from a copy of its data (revision 0), each with a
   * bucket unless `withBucket` is `false`: all in one transaction, so either every record is
   * created or none is. With the default {@link createBucket} the buckets are created in the
   * same transaction; an overriding `createBucket` is called for each record first, as
   * {@link create} does.
   *
   * @throws as {@link create}, for the first record that cannot be stored; nothing is created.
   *
   * @example
   * ```ts
   * const records = await coffer.records.createMany(rows.map((row) => ({ title: row.title })), { withBucket: false });
   * ```
   */
  async createMany(
    items: readonly RecordData[],
    options: Pick<CreateRecordOptions, 'withBucket'> = {},
  ): Promise<CofferRecord[]> {
    if (!Array.isArray(items)) {
      throw new InvalidArgumentError('items must be an array.', { actual: typeof items, argument: 'items' });
    }
    const jsons = items.map((data) => copyRecordData(data));
    const ids = jsons.map(() => newId() as RecordId);
    const withBucket = options.withBucket ?? true;
    const defaultBuckets = withBucket && this.createBucket === Records.prototype.createBucket;
    const { settings } = this.context;
    const now = Date.now();
    const newBuckets: BucketRow[] = [];
    const buckets: (Bucket | undefined)[] = [];
    {
      for (const json of jsons) {
        let bucket: Bucket | undefined;
        if (defaultBuckets) {
          const row = newBucketRow(
            {
              location: settings.location,
              storageClass: settings.storageClass,
              quotaSize: null,
              maxFileSize: null,
              locked: false,
            },
            undefined,
            now,
          );
          newBuckets.push(row);
          bucket = new Bucket(this.context, row);
        } else if (withBucket) {
          bucket = await this.createBucket(json);
        }
        buckets.push(bucket);
      }
      for (const [i, json] of jsons.entries()) {
        const bucket = buckets[i];
        if (bucket) this.dumpBucket(json, bucket);
        else refuseForeignBucket(ids[i]!, this.loadBucket(json));
      }
      await this.validator.prepare();
      const rows: RecordRow[] = jsons.map((data, i) => ({
        id: ids[i]!,
        revisionId: 0,
        data,
        deleted: 0,
        created: now,
        updated: now,
      }));
      const bucketRows = await this.store.insertMany(
        rows,
        buckets.map((bucket) => bucket?.id),
        newBuckets,
        (stored) => this.validator.check(stored),
      );
      return rows.map((row, i) => new CofferRecord(this, row, bucketRows[i], buckets[i]?.id));
    }
  }

  /**
   * The record `id`, with its bucket loaded.
   *
   * @throws {NotFoundError} (`resource: 'record'`) when it does not exist, or is soft-deleted
   *   and `includeDeleted` is not set.
   */
  async get(id: RecordId | string, options: GetRecordOptions = {}): Promise<CofferRecord> {
    const row = await this.store.find(id);
    if (!row || (row.deleted && !options.includeDeleted)) throw recordNotFound(id);
    return (await this.load([row]))[0] as CofferRecord;
  }

  /** The records among `ids` that exist (soft-deleted ones only with `includeDeleted`), in the order of `ids`. */
  async getMany(
    ids: readonly (RecordId | string)[],
    options: GetRecordOptions = {},
  ): Promise<CofferRecord[]> {
    const rows = await this.store.findMany(ids);
    return this.load(
      rows.filter((row): row is RecordRow => !!row && (!row.deleted || !!options.includeDeleted)),
    );
  }

  /**
   * Records by last update, newest first. Page with `limit` and `after` (the id of the last
   * record of the previous page).
   *
   * @throws {NotFoundError} when `after` names no record.
   */
  async list(options: ListRecordsOptions = {}): Promise<CofferRecord[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (limit !== Number.POSITIVE_INFINITY) validateSize('limit', limit);
    const { after } = options;
    if (after !== undefined && typeof after !== 'string') {
      throw new InvalidArgumentError(
        `after must be a record id, not ${after === null ? 'null' : typeof after}.`,
        {
          expected: 'a record id',
          actual: after,
          argument: 'after',
        },
      );
    }
    const rows = await this.store.list({
      limit,
      after: options.after as RecordId | undefined,
      includeDeleted: options.includeDeleted ?? false,
    });
    return this.load(rows);
  }

  private async load(rows: RecordRow[]): Promise<CofferRecord[]> {
    const bucketIds = rows.map((row) => this.loadBucket(row.data));
    const buckets = await this.store.findBuckets(bucketIds);
    return rows.map(
      (row, index) => new CofferRecord(this, row, buckets[index], bucketIds[index] as BucketId),
    );
  }
}

/**
 * A record: JSON data with an id, a revision and times, owning at most one bucket. Edit
 * {@link CofferRecord.data} and {@link CofferRecord.commit} it; its files live in
 * {@link CofferRecord.files}.
 *
 * @example
 * ```ts
 * const record = await coffer.records.create({ title: 'Survey 12' });
 * record.data.title = 'Survey 12b';
 * await record.commit();                 // revision 1; RevisionConflictError if changed elsewhere
 * await record.files!.set('site.jpg', file);
 * const history = await record.revisions();
 * await record.revert(0);
 * await record.delete();                 // soft: record.restore() undoes it
 * ```
 */
export class CofferRecord {
  readonly id: RecordId;
  /** The record's JSON: edit it, then {@link CofferRecord.commit}. `_bucket` and `_files` are kept by Coffer. */
  data: RecordData;
  /** The id of the bucket the record owns (from {@link Records.loadBucket}), if any. */
  readonly bucketId: BucketId | undefined;
  /**
   * The record's files (Invenio's `FilesIterator`); `undefined` when the record has no bucket.
   * Present for a soft-deleted bucket, whose writes are refused.
   */
  readonly files: RecordFiles | undefined;
  private row: RecordRow;
  private ownBucket: Bucket | undefined;
  /** The stored revision `data._files` was last taken from. */
  private filesRevision: number;
  /** Revisions stored by writes through `files`, by the revision each started from. */
  private readonly filesWrites = new Map<number, RecordRow>();

  /** @internal */
  constructor(
    /** @internal */
    readonly records: Records,
    row: RecordRow,
    bucketRow: BucketRow | undefined,
    bucketId: BucketId | undefined,
  ) {
    this.id = row.id;
    this.row = row;
    this.data = copyJson(row.data);
    this.filesRevision = row.revisionId;
    this.bucketId = bucketId;
    this.ownBucket = bucketRow && new Bucket(records.context, bucketRow);
    this.files = bucketRow ? new RecordFiles(records, this, bucketRow.id) : undefined;
  }

  /** The record's bucket; `undefined` without one, or when the bucket is soft-deleted. */
  get bucket(): Bucket | undefined {
    return this.ownBucket?.deleted ? undefined : this.ownBucket;
  }

  /**
   * The stored revision this record's data is based on; 0 at creation. Bumped by
   * {@link CofferRecord.commit}, and by writes through {@link CofferRecord.files} when the
   * record was up to date before them.
   */
  get revisionId(): number {
    return this.row.revisionId;
  }
  get created(): Date {
    return new Date(this.row.created);
  }
  get updated(): Date {
    return new Date(this.row.updated);
  }
  /** Whether the record is soft-deleted (or, after `delete({ force: true })`, gone). */
  get deleted(): boolean {
    return this.row.deleted === 1;
  }

  /**
   * Store the edited {@link CofferRecord.data} as a new revision. A `_bucket` the edit lost or
   * changed is put back, so that a record never loses its bucket; a record created without a
   * bucket cannot name one (that would take over another record's files).
   *
   * @throws {RevisionConflictError} (`expected`, `actual`) when another writer (another tab)
   *   stored a revision since this record was read; {@link ValidationError};
   *   {@link RecordDeletedError}; {@link NotFoundError} after a hard delete;
   *   {@link InvalidArgumentError} when `data` is not a JSON object (`null`, a string, a number,
   *   an array), or names a bucket while the record has none; refused before anything is stored.
   */
  async commit(): Promise<void> {
    const data = copyRecordData(this.data);
    this.keepBucket(this.data);
    this.keepBucket(data);
    await this.store(data);
  }

  /** Every stored revision, oldest first, the current one included. */
  async revisions(): Promise<RecordRevision[]> {
    const rows = await this.records.store.revisions(this.id);
    return rows.map((row) => ({
      revisionId: row.revisionId,
      data: row.data as RecordData,
      created: new Date(row.created),
    }));
  }

  /**
   * Revert the record's metadata to revision `revisionId`, as a new revision (history is
   * append-only). Every field of that revision comes back except `_files`: the files stay as
   * they are now. The bucket is the truth, and a revert never touches it (a locked bucket
   * changes nothing), so `_files` is rebuilt in the same transaction from the bucket's live
   * heads, in the record's current order, each entry with its current extra metadata
   * (descriptions, rename lineage); files deleted since that revision do not come back, and
   * files added since stay. `_bucket` is kept. Unsaved edits of {@link CofferRecord.data} are
   * replaced by the stored result.
   *
   * To bring back an old file, restore one of its versions instead (`version.restore()`, or
   * {@link RecordFiles.restoreVersion}).
   *
   * @throws {NotFoundError} (`resource: 'revision'`) for an unknown revision;
   *   {@link RevisionConflictError} when another writer stored a revision since this record
   *   was read; as {@link CofferRecord.commit}.
   */
  async revert(revisionId: number): Promise<void> {
    const { validator, store } = this.records;
    await validator.prepare();
    this.row = await store.revert(
      this.id,
      this.revisionId,
      revisionId,
      this.files?.bucketId,
      (data) => {
        this.keepBucket(data);
        return data;
      },
      (stored) => validator.check(stored),
    );
    this.data = copyJson(this.row.data);
    this.filesRevision = Math.max(this.filesRevision, this.row.revisionId);
    this.pruneFilesWrites();
  }

  /**
   * Soft delete (default): the record and its history stay, `get` refuses it and `list` hides
   * it until {@link CofferRecord.restore}. With `force`, the record and its revisions are
   * removed. Either way the bucket and its files stay (a forced delete unlinks it), as in Invenio.
   *
   * @throws {NotFoundError} when the record is already gone.
   */
  async delete(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) {
      await this.records.store.remove(this.id);
      this.row = { ...this.row, deleted: 1 };
    } else {
      this.row = await this.records.store.setDeleted(this.id, true);
    }
  }

  /** Undo a soft delete. @throws {NotFoundError} after a hard delete. */
  async restore(): Promise<void> {
    this.row = await this.records.store.setDeleted(this.id, false);
  }

  /** Re-read the data, revision and bucket, dropping unsaved edits. @throws {NotFoundError} once hard-deleted. */
  async reload(): Promise<this> {
    const row = await this.records.store.find(this.id);
    if (!row) throw recordNotFound(this.id);
    this.row = row;
    this.data = copyJson(row.data);
    this.filesRevision = row.revisionId;
    this.pruneFilesWrites();
    if (this.bucketId !== undefined) {
      const [bucketRow] = await this.records.store.findBuckets([this.bucketId]);
      if (bucketRow && this.ownBucket) this.ownBucket.row = bucketRow;
    }
    return this;
  }

  /**
   * @internal Take in a write made through `files` (a merge on the stored row, from revision
   * `before` to `row.revisionId`): the newest stored `_files`, the bucket, and the revision.
   *
   * The revision moves only along writes that started where this record stands, so that
   * unsaved edits based on an older revision still conflict at commit. Writes of this record's
   * own `files` can finish in any order; each one's step is kept until the record reaches the
   * revision it started from.
   */
  applyFilesWrite(write: { row: RecordRow; before: number; bucket: BucketRow | undefined }): void {
    const { row, before, bucket } = write;
    if (row.revisionId >= this.filesRevision) {
      if ('_files' in row.data) this.data._files = copyJson(row.data._files) as RecordData['_files'];
      this.filesRevision = row.revisionId;
    }
    if (row.revisionId !== before) {
      this.filesWrites.set(before, row);
      for (let next = this.filesWrites.get(this.row.revisionId); next; ) {
        this.filesWrites.delete(this.row.revisionId);
        this.row = next;
        next = this.filesWrites.get(this.row.revisionId);
      }
      this.pruneFilesWrites();
    }
    if (this.ownBucket && bucket && bucket.updated >= this.ownBucket.row.updated) this.ownBucket.row = bucket;
  }

  /** Forget the steps of writes that started before the record's current revision. */
  private pruneFilesWrites(): void {
    for (const from of this.filesWrites.keys()) if (from < this.row.revisionId) this.filesWrites.delete(from);
  }

  private keepBucket(data: RecordData): void {
    const named = this.records.loadBucket(data);
    if (this.bucketId === undefined) {
      refuseForeignBucket(this.id, named);
      return;
    }
    if (named === this.bucketId) return;
    this.records.dumpBucket(data, this.ownBucket ?? ({ id: this.bucketId } as Bucket));
  }

  private async store(data: RecordData): Promise<void> {
    const { validator } = this.records;
    await validator.prepare();
    this.row = await this.records.store.commit(
      this.id,
      this.revisionId,
      () => data,
      (stored) => validator.check(stored),
    );
    this.filesRevision = Math.max(this.filesRevision, this.row.revisionId);
    this.pruneFilesWrites();
  }
}

/**
 * Refuse data that names a bucket for a record that owns none: a bucket is linked when its
 * record is created, and naming one otherwise would take over the files of its owner.
 */
function refuseForeignBucket(recordId: string, named: string | undefined): void {
  if (named === undefined) return;
  throw new InvalidArgumentError(`Record ${recordId} has no bucket: its data cannot name bucket ${named}.`, {
    recordId,
    bucketId: named,
    argument: 'data',
  });
}
