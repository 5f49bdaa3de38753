import {
  type CofferError,
  InvalidArgumentError,
  InvalidKeyError,
  KeyExistsError,
  NotFoundError,
} from '../errors.js';
import type { BucketId, VersionId } from '../ids.js';
import { validateKey } from '../model/key.js';
import { assertWritable } from '../model/limits.js';
import {
  extraOf,
  type FileEntry,
  type OrderedEntry,
  orderOf,
  patchMetadata,
  type RecordData,
  reorder,
  sortByKeys,
} from '../model/record.js';
import { bucketNotFound, toLimits } from '../storage/bucket-store.js';
import type { FilesChange } from '../storage/record-store.js';
import type { ObjectVersionRow } from '../storage/schema.js';
import type { ByteSource } from '../worker/protocol.js';
import type { Bucket } from './bucket.js';
import { FileObject } from './file-object.js';
import { withWriteLock } from './maintenance.js';
import { ObjectVersion } from './object-version.js';
import type { CofferRecord, Records } from './records.js';
import {
  addWrittenVersion,
  type BulkFile,
  commitOrDiscard,
  type PutOptions,
  type SourceOptions,
  storesAtCommit,
  writeFile,
  writeMany,
} from './write-file.js';

/** Options of {@link RecordFiles.set}. */
export interface SetFileOptions extends PutOptions {
  /** Extra metadata for the file's `_files` entry, merged over what it has (`null` deletes a field). */
  metadata?: Record<string, unknown> | undefined;
}

/** One file of {@link RecordFiles.setMany}. */
export interface SetManyItem {
  key: string;
  source: ByteSource;
  /** As {@link SetFileOptions.metadata}. */
  metadata?: Record<string, unknown> | undefined;
  /** As {@link PutOptions.mimetype}. */
  mimetype?: string | undefined;
  /** As {@link PutOptions.tags}. */
  tags?: PutOptions['tags'];
}

/**
 * What {@link RecordFiles.setMany} did with one file, in the order given: the stored file, or
 * the typed error that left it out (and changed nothing).
 */
export type SetManyResult =
  | { key: string; ok: true; file: FileObject }
  | { key: string; ok: false; error: CofferError };

const toOrder = (entries: readonly FileEntry[]): OrderedEntry[] =>
  entries.map((entry) => ({ key: entry.key, extra: extraOf(entry) }));

/** The `_files` metadata a file of {@link RecordFiles.setMany} carries through the bulk write. */
const metadataOf = (file: BulkFile): Record<string, unknown> | undefined =>
  (file as BulkFile & { metadata?: Record<string, unknown> }).metadata;

/**
 * `order` with the entry of `key` patched with `metadata` (a written file): an existing entry
 * keeps its place and extra metadata, a new key goes last.
 */
function withEntry(
  order: OrderedEntry[],
  key: string,
  metadata: Record<string, unknown> | undefined,
): OrderedEntry[] {
  const patched = (extra: Record<string, unknown>) => (metadata ? patchMetadata(extra, metadata) : extra);
  return order.some((entry) => entry.key === key)
    ? order.map((entry) => (entry.key === key ? { key, extra: patched(entry.extra) } : entry))
    : [...order, { key, extra: patched({}) }];
}

/**
 * One earlier name of a file, in the `renamedFrom` list of its `_files` entry (newest first),
 * kept by {@link RecordFiles.rename}: the old key and the version of it the rename copied.
 */
export interface RenamedFrom {
  key: string;
  versionId: string;
}

/** The `renamedFrom` list of an entry's extra metadata, read defensively. */
export function renamedFrom(extra: Record<string, unknown>): RenamedFrom[] {
  const list = extra.renamedFrom;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (item): item is RenamedFrom => typeof item?.key === 'string' && typeof item?.versionId === 'string',
  );
}

const objectNotFound = (bucketId: string, key: string, recordId: string): NotFoundError =>
  new NotFoundError(`${key} is not a file of record ${recordId}.`, {
    bucketId,
    key,
    recordId,
    resource: 'object',
  });

/**
 * The files of a record (Invenio's `FilesIterator`): the live heads of its bucket, in the
 * record's order, with the extra metadata of `_files`.
 *
 * The bucket is the truth: reads look at its heads, so files written to the bucket directly
 * show up (after the ones `_files` lists, by key) and deleted ones disappear; {@link flush}
 * writes that state back to `_files`.
 *
 * Every write through here is a merge on the record as stored, in one transaction: it reads the
 * stored record, applies the change to the bucket and to the stored `_files` (never to unsaved
 * edits of {@link CofferRecord.data}), stores a new revision (keeping the previous one) and
 * commits. It does not expect a revision, so it never fails with `RevisionConflictError`:
 * several writes at once on one record (many uploads), or from several tabs, all land, in the
 * order their transactions commit, with one head per key. Afterwards `record.data._files`
 * shows the stored `_files`, and `record.revisionId` moves to the new revision only when the
 * record was up to date with the stored one before the write; a record that is behind (another
 * tab committed meanwhile) stays behind, so that its next {@link CofferRecord.commit} of data
 * edits still fails with `RevisionConflictError` instead of overwriting the other tab's edits.
 *
 * Invenio's `len(files)` is {@link count} (a getter cannot wait), `key in files` is
 * {@link has}, `files[key]` is {@link get}, `files[key] = stream` is {@link set} and
 * `del files[key]` is {@link delete}.
 *
 * @example
 * ```ts
 * await record.files!.set('site.jpg', file, { metadata: { description: 'North wall' } });
 * for await (const file of record.files!) console.log(file.key, file.get('description'));
 * ```
 */
export class RecordFiles {
  /** @internal */
  constructor(
    private readonly records: Records,
    /** The record these files belong to. */
    readonly record: CofferRecord,
    /** The bucket holding the files. */
    readonly bucketId: BucketId,
  ) {}

  /**
   * Store `source` as the new head of `key`. An existing entry keeps its extra metadata and
   * its place in the order; a new key goes last. If anything fails, nothing changes.
   *
   * Several `set` calls may run at once (on this record, or on the same record in other tabs):
   * each lands as its own entry, in the order the writes commit.
   *
   * @throws {BucketLockedError}, {@link BucketDeletedError}, {@link FileSizeError} subclasses,
   *   {@link InvalidKeyError}, {@link ReservedMetadataError}, {@link AbortError},
   *   {@link RecordDeletedError}, {@link ValidationError}.
   */
  async set(key: string, source: ByteSource, options: SetFileOptions = {}): Promise<FileObject> {
    const { metadata, ...put } = options;
    validateKey(key);
    if (metadata !== undefined) patchMetadata({}, metadata);
    // Like `bucket.objects.put`: hold the coffer's shared write lock from the first chunk to
    // the commit, so that gc in any tab sees this unfinished write as live, not abandoned.
    // (A write that stores nothing before its commit needs no lock.)
    const write = () => this.setLocked(key, source, put, metadata);
    return storesAtCommit(this.records.context, source)
      ? write()
      : withWriteLock(this.records.context, write);
  }

  private async setLocked(
    key: string,
    source: ByteSource,
    put: PutOptions,
    metadata: Record<string, unknown> | undefined,
  ): Promise<FileObject> {
    const { context } = this.records;
    await this.records.store.checkLive(this.record.id);
    const bucket = await context.store.findBucket(this.bucketId, true);
    if (!bucket) throw bucketNotFound(this.bucketId);
    const content = await writeFile(context, bucket, key, source, put);
    return commitOrDiscard(context, content, put.signal, () =>
      this.write(async (current) => {
        const { version } = await addWrittenVersion(context, this.bucketId, key, content, put);
        return { order: withEntry(toOrder(current), key, metadata), result: version };
      }),
    ).then((version) => this.fileObject(version));
  }

  /**
   * Store many files, as {@link set} does each, each atomically: a file that fails (a bad key,
   * reserved metadata, the bucket's limits, a source that cannot be read) changes nothing and
   * gets its typed error in its result; the others land, with their `_files` entries, in the
   * order given. Small files are hashed together in the worker and committed many per
   * transaction (one new revision per transaction, not per file). `onProgress` reports the
   * bytes of the whole batch; after an abort, the files not yet stored fail with
   * {@link AbortError}.
   *
   * @throws {RecordDeletedError} when the record is deleted; {@link NotFoundError} when its
   *   bucket is missing; {@link InvalidArgumentError} when `items` is not an array.
   *
   * @example
   * ```ts
   * const results = await record.files!.setMany(
   *   [...input.files].map((file) => ({ key: file.name, source: file, metadata: { from: 'camera' } })),
   * );
   * const failed = results.filter((r) => !r.ok);
   * ```
   */
  async setMany(items: readonly SetManyItem[], options: SourceOptions = {}): Promise<SetManyResult[]> {
    if (!Array.isArray(items)) {
      throw new InvalidArgumentError('items must be an array.', { actual: typeof items, argument: 'items' });
    }
    const { context } = this.records;
    const files = items.map((item) => ({
      key: item?.key,
      source: item?.source,
      options: { mimetype: item?.mimetype, tags: item?.tags, transfer: options.transfer },
      metadata: item?.metadata,
    }));
    const outcomes = await withWriteLock(context, async () => {
      await this.records.store.checkLive(this.record.id);
      if (!(await context.store.findBucket(this.bucketId, true))) throw bucketNotFound(this.bucketId);
      return writeMany<FileObject>(
        context,
        this.bucketId,
        files,
        { signal: options.signal, onProgress: options.onProgress },
        {
          validate: (file) => {
            const metadata = metadataOf(file);
            if (metadata !== undefined) patchMetadata({}, metadata);
          },
          group: async (prepared, commitAll) => {
            const versions = await this.write(async (current) => {
              const result = await commitAll(prepared);
              let order = toOrder(current);
              for (const [i, file] of prepared.entries()) {
                if (!(result[i] instanceof Error)) order = withEntry(order, file.key, metadataOf(file));
              }
              return { order, result };
            });
            return versions.map((v) => (v instanceof Error ? v : this.fileObject(v)));
          },
          single: (file, hooks) =>
            this.setLocked(file.key, file.source, { ...file.options, ...hooks }, metadataOf(file)),
        },
      );
    });
    return outcomes.map((o) => (o.ok ? { key: o.key, ok: true, file: o.value } : o));
  }

  /** The live file `key` with its metadata, or `undefined`. */
  async get(key: string): Promise<FileObject | undefined> {
    validateKey(key);
    const found = await this.records.store.file(this.record.id, this.bucketId, key);
    return found && new FileObject(this.records.context, this.record, found.head, found.extra);
  }

  /** Whether `key` has a live head in the bucket. */
  async has(key: string): Promise<boolean> {
    validateKey(key);
    const head = await this.records.context.store.getHead(this.bucketId, key);
    return !!head && head.fileId !== null;
  }

  /**
   * Delete `key`: a delete marker hides it (older versions stay) and its entry leaves `_files`.
   *
   * @throws {NotFoundError} (`resource: 'object'`) when `key` has no live head;
   *   {@link BucketLockedError}; {@link BucketDeletedError}.
   */
  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.write(async (current) => {
      await this.assertWritable(key);
      const marker = await this.records.context.store.deleteObject(this.bucketId, key);
      if (!marker) throw objectNotFound(this.bucketId, key, this.record.id);
      return { order: toOrder(current).filter((entry) => entry.key !== key), result: undefined };
    });
  }

  /** The number of live files in the bucket (Invenio's `len(files)`). */
  async count(): Promise<number> {
    return this.records.store.countLive(this.bucketId);
  }

  /** The keys of the live files, in the record's order. */
  async keys(): Promise<string[]> {
    return (await this.dumps()).map((entry) => entry.key);
  }

  /**
   * Rename `oldKey` to `newKey`: a new head of `newKey` sharing the file and its tags, and a
   * delete marker on `oldKey` (Invenio's storage semantics). The entry keeps its place and its
   * metadata, and records where the file came from: `{ key: oldKey, versionId }` (the version
   * of `oldKey` the rename copied) goes first in its `renamedFrom` list (of such `{ key,
   * versionId }` items, newest first), so that {@link history} follows the file through its
   * renames.
   *
   * @throws {KeyExistsError} when `newKey` holds a live file; {@link NotFoundError} when
   *   `oldKey` holds none; {@link InvalidArgumentError} when both are the same;
   *   {@link BucketLockedError}; {@link BucketDeletedError}.
   */
  async rename(oldKey: string, newKey: string): Promise<FileObject> {
    validateKey(oldKey);
    validateKey(newKey);
    if (oldKey === newKey) {
      throw new InvalidArgumentError(`Cannot rename ${oldKey} to itself.`, {
        key: oldKey,
        argument: 'newKey',
      });
    }
    const { store } = this.records.context;
    const version = await this.write(async (current) => {
      await this.assertWritable(oldKey);
      const taken = await store.getHead(this.bucketId, newKey);
      if (taken && taken.fileId !== null) {
        throw new KeyExistsError(`${newKey} already holds a file.`, { bucketId: this.bucketId, key: newKey });
      }
      const head = await store.getHead(this.bucketId, oldKey);
      if (!head || head.fileId === null) throw objectNotFound(this.bucketId, oldKey, this.record.id);
      const { version } = await store.copyVersion(
        head.versionId,
        { bucketId: this.bucketId, key: newKey },
        'copy',
      );
      await store.deleteObject(this.bucketId, oldKey);
      const order = toOrder(current).map((entry) =>
        entry.key === oldKey
          ? {
              key: newKey,
              extra: {
                ...entry.extra,
                renamedFrom: [{ key: oldKey, versionId: head.versionId }, ...renamedFrom(entry.extra)],
              },
            }
          : entry,
      );
      return { order, result: version };
    });
    return this.fileObject(version);
  }

  /**
   * Every version of the file `key`, newest first, across its renames: the versions of `key`,
   * then those of each earlier name in its `renamedFrom` list up to the version the rename
   * copied (later versions under an old name belong to another file). Each version keeps the
   * key it was written under, so a version from before a rename shows its old name.
   * Delete markers are included, as in `bucket.objects.versions`.
   */
  async history(key: string): Promise<ObjectVersion[]> {
    validateKey(key);
    const { store } = this.records.context;
    const entry = (await this.dumps()).find((e) => e.key === key);
    const rows = await store.versions(this.bucketId, key);
    for (const earlier of renamedFrom(entry ?? {})) {
      const cut = await store.getVersion(earlier.versionId);
      if (!cut || cut.bucketId !== this.bucketId || cut.key !== earlier.key) continue;
      rows.push(...(await store.versions(this.bucketId, earlier.key)).filter((row) => row.seq <= cut.seq));
    }
    const seen = new Set<string>();
    return rows
      .filter((row) => !seen.has(row.versionId) && !!seen.add(row.versionId))
      .sort((a, b) => b.seq - a.seq)
      .map((row) => new ObjectVersion(this.records.context, row));
  }

  /**
   * Make `versionId` the current version of `key` again: a new head of `key` sharing its file
   * and tags, with `_files` updated in the same transaction (the entry keeps its place and
   * metadata). The version may be one of `key`, or one from before a rename (see
   * {@link history}): restoring that brings its bytes back under the file's current name.
   * Restoring a deleted file brings back the entry it had when it was last in `_files` (its
   * description, other metadata and rename history: {@link history} follows it again), read
   * from the record's revisions; it goes last in the order.
   *
   * @throws {NotFoundError} (`resource: 'version'`) when `versionId` is not in the file's
   *   history; {@link InvalidOperationError} for the current version or a delete marker;
   *   {@link BucketLockedError}; {@link BucketDeletedError}.
   */
  async restoreVersion(key: string, versionId: string): Promise<FileObject> {
    validateKey(key);
    const { store } = this.records.context;
    const inHistory = (await this.history(key)).some((version) => version.versionId === versionId);
    if (!inHistory) {
      throw new NotFoundError(`${versionId} is not a version of ${key}.`, {
        bucketId: this.bucketId,
        key,
        versionId,
        resource: 'version',
      });
    }
    const earlier = await this.lastEntry(key);
    const version = await this.write(async (current) => {
      await this.assertWritable(key);
      const source = await store.getVersion(versionId);
      const mode = source?.key === key ? 'restore' : 'copy';
      const { version } = await store.copyVersion(
        versionId as VersionId,
        { bucketId: this.bucketId, key },
        mode,
      );
      const known = current.some((entry) => entry.key === key);
      const order = known ? toOrder(current) : [...toOrder(current), { key, extra: earlier?.extra ?? {} }];
      return { order, result: version };
    });
    return this.fileObject(version);
  }

  /**
   * Put the listed files first, in the given order; the others follow in their current order
   * and keep their metadata. Each item is a key or a file id. Works on a locked bucket: it
   * changes only the record.
   *
   * @throws {NotFoundError} when an item names no live file.
   */
  async sortBy(keysOrFileIds: readonly string[]): Promise<void> {
    await this.write(async (current) => {
      const keys = keysOrFileIds.map((id) => {
        const entry = current.find((e) => e.key === id) ?? current.find((e) => e.file_id === id);
        if (!entry) throw objectNotFound(this.bucketId, id, this.record.id);
        return entry.key;
      });
      return { order: reorder(toOrder(current), keys), result: undefined };
    });
  }

  /**
   * Merge `patch` into the extra metadata of `key`'s entry; a `null` value deletes a field.
   * Changes only the record, so it works on a locked bucket.
   *
   * @throws {ReservedMetadataError} (`field`) for a reserved name such as `key`, `bucket`,
   *   `version_id`, `file_id`, `checksum` or `size`; {@link NotFoundError} when `key` is not live.
   */
  async setMetadata(key: string, patch: Record<string, unknown>): Promise<FileObject> {
    validateKey(key);
    patchMetadata({}, patch);
    const head = await this.write(async (current) => {
      const entry = current.find((e) => e.key === key);
      if (!entry) throw objectNotFound(this.bucketId, key, this.record.id);
      const order = toOrder(current).map((e) =>
        e.key === key ? { key, extra: patchMetadata(e.extra, patch) } : e,
      );
      return {
        order,
        result: (await this.records.context.store.getHead(this.bucketId, key)) as ObjectVersionRow,
      };
    });
    return this.fileObject(head);
  }

  /**
   * Write the bucket's current state to `_files` (Invenio's `flush()`, committed): dead
   * entries leave, live heads missing from it are added after the listed ones, every entry's
   * fields are refreshed, extra metadata is kept. Stores a new revision only when `_files`
   * changes, and never adds an empty `_files` to a record that had none.
   */
  async flush(): Promise<void> {
    await this.write(async (current) => ({ order: toOrder(current), result: undefined }));
  }

  /** The `_files` entries the bucket's live heads make, in the record's order. */
  async dumps(): Promise<FileEntry[]> {
    return (await this.records.store.files(this.record.id, this.bucketId)).entries;
  }

  /** The live files in the record's order, read once when the iteration starts. */
  async *[Symbol.asyncIterator](): AsyncGenerator<FileObject, void, undefined> {
    const { entries, heads } = await this.records.store.files(this.record.id, this.bucketId);
    for (const entry of entries) {
      yield new FileObject(
        this.records.context,
        this.record,
        heads.get(entry.key) as ObjectVersionRow,
        extraOf(entry),
      );
    }
  }

  private async write<T>(change: FilesChange<T>): Promise<T> {
    const { validator, store } = this.records;
    await validator.prepare();
    const write = await store.changeFiles(this.record.id, this.bucketId, change, (data) =>
      validator.check(data as RecordData),
    );
    this.record.applyFilesWrite(write);
    return write.result;
  }

  /** The entry `key` had in the newest revision of the record that lists it in `_files`. */
  private async lastEntry(key: string): Promise<OrderedEntry | undefined> {
    const revisions = await this.records.store.revisions(this.record.id);
    for (let i = revisions.length - 1; i >= 0; i--) {
      const entry = orderOf(revisions[i]!.data._files).find((e) => e.key === key);
      if (entry) return entry;
    }
    return undefined;
  }

  private async assertWritable(key: string): Promise<void> {
    const bucket = await this.records.context.store.findBucket(this.bucketId, true);
    if (!bucket) throw bucketNotFound(this.bucketId);
    assertWritable(toLimits(bucket), key);
  }

  private fileObject(version: ObjectVersionRow): FileObject {
    const entry = (this.record.data._files ?? []).find((e) => e.key === version.key);
    return new FileObject(this.records.context, this.record, version, entry ? extraOf(entry) : {});
  }
}

/**
 * The live file `key` of `record` (Invenio's `record_file_factory`), or `undefined`.
 *
 * @example
 * ```ts
 * const file = await recordFileFactory(record, 'site.jpg');
 * if (file) download.href = `${file.url}?download`;
 * ```
 */
export async function recordFileFactory(record: CofferRecord, key: string): Promise<FileObject | undefined> {
  if (!record.files || typeof key !== 'string') return undefined;
  try {
    return await record.files.get(key);
  } catch (error) {
    if (error instanceof InvalidKeyError) return undefined;
    throw error;
  }
}

/**
 * The live heads of `bucket` in the order of `keys` (Invenio's `sorted_files_from_bucket`):
 * listed keys first, in that order, the others after them by key.
 *
 * @example
 * ```ts
 * const bucket = await coffer.buckets.get(record.bucketId!);
 * const files = await sortedFilesFromBucket(bucket!, ['cover.jpg', 'plan.pdf']);
 * ```
 */
export async function sortedFilesFromBucket(
  bucket: Bucket,
  keys: readonly string[] = [],
): Promise<ObjectVersion[]> {
  return sortByKeys(await bucket.objects.list(), keys);
}
