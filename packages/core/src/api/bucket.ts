import { type CofferError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { BucketId } from '../ids.js';
import { validateKey } from '../model/key.js';
import { assertFits, assertWritable, validateSize } from '../model/limits.js';
import { type Tags, tagValue, validateTag } from '../model/tags.js';
import { type ListQuery, toLimits } from '../storage/bucket-store.js';
import type { BucketRow } from '../storage/schema.js';
import type { ByteSource } from '../worker/protocol.js';
import type { CofferContext } from './context.js';
import { withWriteLock } from './maintenance.js';
import { BucketMultipart } from './multipart.js';
import { ObjectVersion } from './object-version.js';
import {
  addWrittenVersion,
  commitOrDiscard,
  commitStagedSoon,
  inCommitTransaction,
  type PutOptions,
  type SourceOptions,
  storesAtCommit,
  writeFile,
  writeMany,
} from './write-file.js';

/**
 * Settings of a new bucket.
 *
 * @example
 * ```ts
 * const bucket = await coffer.buckets.create({ quotaSize: 10 * 1024 ** 3, maxFileSize: 1024 ** 3 });
 * ```
 */
export interface BucketOptions {
  /** Most bytes the bucket may hold (all versions count); `null` (default) is unlimited. */
  quotaSize?: number | null;
  /** Largest single file; `null` (default) is unlimited. */
  maxFileSize?: number | null;
  /** Create it locked. */
  locked?: boolean;
}

/**
 * Options of {@link BucketObjects.list}.
 *
 * @example
 * ```ts
 * let page = await bucket.objects.list({ prefix: 'raw/', limit: 100 });
 * while (page.length === 100) page = await bucket.objects.list({ prefix: 'raw/', limit: 100, after: page.at(-1) });
 * ```
 */
export interface ListOptions {
  /** List every version, not only heads (newest first within a key). */
  versions?: boolean;
  /** Include delete markers. */
  withDeleted?: boolean;
  /** Only keys starting with this. */
  prefix?: string;
  /** At most this many items (default: all). */
  limit?: number;
  /** Continue after this key, or after this version (the last item of the previous page). */
  after?: string | ObjectVersion;
}

/** One file of {@link BucketObjects.putMany}: a key, its bytes, and its version's media type and tags. */
export interface PutManyItem {
  key: string;
  source: ByteSource;
  /** As {@link PutOptions.mimetype}. */
  mimetype?: string | undefined;
  /** As {@link PutOptions.tags}. */
  tags?: PutOptions['tags'];
}

/**
 * What {@link BucketObjects.putMany} did with one file, in the order given: the new head
 * version, or the typed error that left this file out (and changed nothing).
 */
export type PutManyResult =
  | { key: string; ok: true; version: ObjectVersion }
  | { key: string; ok: false; error: CofferError };

/** One change made by {@link Bucket.sync}. */
export type SyncChange =
  | { type: 'add'; key: string; version: ObjectVersion }
  | { type: 'delete'; key: string };

/**
 * A bucket: a container of versioned objects with a size, limits and a lock. Its fields are a
 * snapshot, refreshed by its own writes and by {@link Bucket.reload}.
 *
 * @example
 * ```ts
 * const bucket = await coffer.buckets.create();
 * await bucket.objects.put('data.csv', file);
 * await bucket.setTag('project', 'survey-12');
 * const frozen = await bucket.snapshot({ lock: true }); // shares the bytes
 * await bucket.lock();                                  // every write now throws BucketLockedError
 * ```
 */
export class Bucket {
  /** The objects of this bucket. */
  readonly objects: BucketObjects;
  /** The multipart uploads of this bucket. */
  readonly multipart: BucketMultipart;
  /** @internal */
  row: BucketRow;

  /** @internal */
  constructor(
    private readonly context: CofferContext,
    row: BucketRow,
  ) {
    this.row = row;
    this.objects = new BucketObjects(context, this);
    this.multipart = new BucketMultipart(context, this);
  }

  /** The bucket's id. */
  get id(): BucketId {
    return this.row.id;
  }
  /** Bytes held: every stored version's file size plus open multipart reservations. */
  get size(): number {
    return this.row.size;
  }
  /** Most bytes the bucket may hold; `null` is unlimited, `0` holds nothing. */
  get quotaSize(): number | null {
    return this.row.quotaSize;
  }
  /** Largest single file; `null` is unlimited. */
  get maxFileSize(): number | null {
    return this.row.maxFileSize;
  }
  /** Whether writes are refused. */
  get locked(): boolean {
    return this.row.locked === 1;
  }
  /** Whether the bucket is soft-deleted. */
  get deleted(): boolean {
    return this.row.deleted === 1;
  }
  /** Where the bytes live (`"idb"`). */
  get location(): string {
    return this.row.location;
  }
  /** The storage class, `"S"` (standard) by default. */
  get storageClass(): string {
    return this.row.storageClass;
  }
  /** When the bucket was created. */
  get created(): Date {
    return new Date(this.row.created);
  }
  /** When the bucket last changed. */
  get updated(): Date {
    return new Date(this.row.updated);
  }

  /** Re-read this bucket's fields. @throws {NotFoundError} once it is deleted. */
  async reload(): Promise<this> {
    this.row = await this.context.store.getBucket(this.id);
    return this;
  }

  /** Change the quota or the maximum file size (`null` for unlimited). */
  async update(settings: Pick<BucketOptions, 'quotaSize' | 'maxFileSize'>): Promise<void> {
    const patch: Partial<BucketRow> = {};
    if (settings.quotaSize !== undefined) {
      validateSize('quotaSize', settings.quotaSize, true);
      patch.quotaSize = settings.quotaSize;
    }
    if (settings.maxFileSize !== undefined) {
      validateSize('maxFileSize', settings.maxFileSize, true);
      patch.maxFileSize = settings.maxFileSize;
    }
    this.row = await this.context.store.updateBucket(this.id, () => patch);
  }

  /** Lock the bucket: every write is refused until {@link Bucket.unlock}. */
  async lock(): Promise<void> {
    this.row = await this.context.store.updateBucket(this.id, () => ({ locked: 1 }));
  }

  /** Unlock the bucket: writes are accepted again. */
  async unlock(): Promise<void> {
    this.row = await this.context.store.updateBucket(this.id, () => ({ locked: 0 }));
  }

  /** Soft delete: the bucket disappears from `get` and `list`; its data stays. */
  async delete(): Promise<void> {
    this.row = await this.context.store.updateBucket(this.id, () => ({ deleted: 1 }));
  }

  /**
   * Remove the bucket for good, with every version and tag; bytes are freed by `gc()`.
   *
   * @throws {BucketLockedError} while locked; {@link InvalidOperationError} while a record owns it.
   */
  async remove(): Promise<void> {
    await this.context.store.removeBucket(this.id);
  }

  /**
   * A new bucket with a copy of every live head, sharing their file instances.
   *
   * @param options.lock lock the snapshot (it is locked anyway when this bucket is).
   */
  async snapshot(options: { lock?: boolean } = {}): Promise<Bucket> {
    return new Bucket(this.context, await this.context.store.snapshot(this.id, options.lock ?? false));
  }

  /**
   * Make `dest` mirror this bucket's heads and return what changed.
   *
   * @param options.deleteExtras also delete keys of `dest` this bucket never had.
   */
  async sync(dest: Bucket | BucketId, options: { deleteExtras?: boolean } = {}): Promise<SyncChange[]> {
    const destId = typeof dest === 'string' ? dest : dest.id;
    const changes = await this.context.store.sync(this.id, destId, options.deleteExtras ?? false);
    if (typeof dest !== 'string') await dest.reload();
    return changes.map((change) =>
      change.type === 'add'
        ? { ...change, version: new ObjectVersion(this.context, change.version) }
        : change,
    );
  }

  /** Every tag of the bucket, in a map without a prototype (a tag may be named `constructor`). */
  async tags(): Promise<Tags> {
    return this.context.store.bucketTags(this.id);
  }

  /** One tag's value, or `undefined` when the bucket has no tag of that name. */
  async getTag(key: string): Promise<string | undefined> {
    return tagValue(await this.tags(), key);
  }

  /** Create a tag. @throws {DuplicateTagError} when it exists; {@link InvalidTagError} when invalid. */
  async createTag(key: string, value: string): Promise<void> {
    validateTag(key, value);
    await this.context.store.setBucketTag(this.id, key, value, 'create');
  }

  /** Create or replace a tag. @throws {InvalidTagError} when invalid. */
  async setTag(key: string, value: string): Promise<void> {
    validateTag(key, value);
    await this.context.store.setBucketTag(this.id, key, value, 'upsert');
  }

  /** Delete a tag; deleting a missing tag does nothing. */
  async deleteTag(key: string): Promise<void> {
    await this.context.store.deleteBucketTag(this.id, key);
  }
}

/**
 * The objects of a bucket: `bucket.objects`.
 *
 * @example
 * ```ts
 * const v1 = await bucket.objects.put('site.jpg', file, { onProgress: (p) => console.log(p), signal });
 * await bucket.objects.put('site.jpg', betterFile); // a new head; v1 stays as a version
 * const head = await bucket.objects.get('site.jpg');
 * const versions = await bucket.objects.versions('site.jpg'); // newest first
 * const page = await bucket.objects.list({ prefix: 'raw/', limit: 100 });
 * await bucket.objects.delete('site.jpg'); // a delete marker hides the key
 * ```
 */
export class BucketObjects {
  /** @internal */
  constructor(
    private readonly context: CofferContext,
    private readonly bucket: Bucket,
  ) {}

  /**
   * Store `source` as the new head version of `key`. The previous head stays as an older
   * version. If anything fails (limits, abort, a failing source), nothing changes.
   *
   * @throws {InvalidKeyError} for a bad key; {@link BucketLockedError}; {@link FileSizeError}
   *   subclasses for the quota and the maximum file size; {@link AbortError}.
   */
  async put(key: string, source: ByteSource, options: PutOptions = {}): Promise<ObjectVersion> {
    const write = () => this.commitWrite(key, source, options);
    return storesAtCommit(this.context, source) ? write() : withWriteLock(this.context, write);
  }

  private async commitWrite(key: string, source: ByteSource, options: PutOptions): Promise<ObjectVersion> {
    const { context } = this;
    const bucketRow = await writableRow(context, this.bucket.row, key, source);
    const content = await writeFile(context, bucketRow, key, source, options);
    const { staged } = content;
    const { version, bucket } = await commitOrDiscard(context, content, options.signal, () =>
      staged
        ? commitStagedSoon(context, bucketRow.id, { key, source, options, content: { ...content, staged } })
        : addWrittenVersion(context, bucketRow.id, key, content, options),
    );
    if (bucket) this.bucket.row = bucket;
    return new ObjectVersion(context, version);
  }

  /**
   * Store many files, each as the new head version of its key, each atomically: a file that
   * fails (a bad key or tag, the bucket's limits, a source that cannot be read) changes nothing
   * and gets its typed error in its result; the others land. Small files are hashed together
   * in the worker and committed many per transaction, so a batch of small files costs far
   * less than as many `put` calls. `onProgress` reports the bytes of the whole batch; after an
   * abort, the files not yet stored fail with {@link AbortError}. Files with the same key land
   * in the order given.
   *
   * @example
   * ```ts
   * const results = await bucket.objects.putMany(
   *   [...input.files].map((file) => ({ key: file.name, source: file })),
   *   { onProgress: ({ loaded, total }) => (bar.value = loaded / total!) },
   * );
   * for (const r of results) if (!r.ok) console.warn(r.key, r.error.code);
   * ```
   */
  async putMany(items: readonly PutManyItem[], options: SourceOptions = {}): Promise<PutManyResult[]> {
    if (!Array.isArray(items)) {
      throw new InvalidArgumentError('items must be an array.', { actual: typeof items, argument: 'items' });
    }
    const { context } = this;
    const { signal, onProgress } = options;
    const outcomes = await withWriteLock(context, () =>
      writeMany<ObjectVersion>(
        context,
        this.bucket.id,
        items.map((item) => ({
          key: item?.key,
          source: item?.source,
          options: { mimetype: item?.mimetype, tags: item?.tags, transfer: options.transfer },
        })),
        { signal, onProgress },
        {
          group: (files, commitAll) =>
            inCommitTransaction(context, async () =>
              (await commitAll(files)).map((row) =>
                row instanceof Error ? row : new ObjectVersion(context, row),
              ),
            ),
          single: (file, hooks) => this.commitWrite(file.key, file.source, { ...file.options, ...hooks }),
        },
      ),
    );
    await this.bucket.reload().catch(() => undefined);
    return outcomes.map((o) => (o.ok ? { key: o.key, ok: true, version: o.value } : o));
  }

  /**
   * The live head of `key`, or `undefined` when it has none or it is deleted. With
   * `versionId`, that exact version (delete markers too), or `undefined`.
   */
  async get(key: string, options: { versionId?: string } = {}): Promise<ObjectVersion | undefined> {
    validateKey(key);
    const { store } = this.context;
    if (options.versionId !== undefined) {
      const row = await store.getVersion(options.versionId);
      return row && row.bucketId === this.bucket.id && row.key === key
        ? new ObjectVersion(this.context, row)
        : undefined;
    }
    const head = await store.getHead(this.bucket.id, key);
    return head && head.fileId !== null ? new ObjectVersion(this.context, head) : undefined;
  }

  /** Every version of `key`, delete markers included, newest first. */
  async versions(key: string): Promise<ObjectVersion[]> {
    validateKey(key);
    const rows = await this.context.store.versions(this.bucket.id, key);
    return rows.map((row) => new ObjectVersion(this.context, row));
  }

  /**
   * Heads (or every version) ordered by key; page with `limit` and `after`.
   *
   * @throws {InvalidArgumentError} (`argument`) for a `prefix` that is not a string, an `after`
   *   that is neither a key nor an {@link ObjectVersion}, or a `limit` that is not a
   *   non-negative integer.
   */
  async list(options: ListOptions = {}): Promise<ObjectVersion[]> {
    const rows = await this.context.store.list(this.bucket.id, listQuery(options));
    return rows.map((row) => new ObjectVersion(this.context, row));
  }

  /**
   * Delete `key`: a delete marker becomes its head and hides it; older versions stay.
   *
   * @throws {NotFoundError} when the key has no live head.
   */
  async delete(key: string): Promise<ObjectVersion> {
    validateKey(key);
    const marker = await this.context.store.deleteObject(this.bucket.id, key);
    if (!marker) {
      throw new NotFoundError(`${key} does not exist.`, {
        bucketId: this.bucket.id,
        key,
        resource: 'object',
      });
    }
    await this.bucket.reload();
    return new ObjectVersion(this.context, marker);
  }
}

/**
 * The bucket row a write checks before reading its source: the one held, when it accepts the
 * write (the commit checks again), else the stored one (the held one may be out of date).
 */
async function writableRow(
  context: CofferContext,
  held: BucketRow,
  key: string,
  source: ByteSource,
): Promise<BucketRow> {
  try {
    const limits = toLimits(held);
    assertWritable(limits, key);
    if (source instanceof Blob) assertFits(limits, source.size, key);
    return held;
  } catch {
    return context.store.getWritableBucket(held.id, key);
  }
}

/** The storage query of {@link BucketObjects.list}'s options, checked. */
function listQuery(options: ListOptions): ListQuery {
  const { prefix = '', after, limit = Number.POSITIVE_INFINITY } = options;
  const versions = options.versions ?? false;
  if (typeof prefix !== 'string') throw invalidListOption('prefix', 'a string', prefix);
  if (after !== undefined && typeof after !== 'string' && !(after instanceof ObjectVersion)) {
    throw invalidListOption('after', 'a key or an ObjectVersion', after);
  }
  if (limit !== Number.POSITIVE_INFINITY) validateSize('limit', limit);
  return {
    versions,
    withDeleted: options.withDeleted ?? false,
    prefix,
    limit,
    after:
      after === undefined
        ? undefined
        : typeof after === 'string'
          ? { key: after }
          : { key: after.key, ...(versions ? { rank: -after.sequence } : {}) },
  };
}

const invalidListOption = (argument: string, expected: string, actual: unknown): InvalidArgumentError =>
  new InvalidArgumentError(
    `${argument} must be ${expected}, not ${actual === null ? 'null' : typeof actual}.`,
    {
      expected,
      actual,
      argument,
    },
  );
