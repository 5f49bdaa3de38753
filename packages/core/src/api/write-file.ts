import { AbortError, type CofferError, InvalidArgumentError, throwIfAborted } from '../errors.js';
import { type BucketId, type FileId, newId } from '../ids.js';
import { validateKey } from '../model/key.js';
import { assertFits, assertWritable, sizeLimit, validateMimetype } from '../model/limits.js';
import { type Tags, validateTags } from '../model/tags.js';
import {
  type NewVersion,
  type StagedVersion,
  toLimits,
  type VersionContent,
} from '../storage/bucket-store.js';
import { mapErrors, mapStorageError } from '../storage/map-storage-error.js';
import { discardWrittenFile, versionTables, writableFileRow } from '../storage/rows.js';
import type { BucketRow, ChunkRow, CofferDb, FileRow, ObjectVersionRow } from '../storage/schema.js';
import type { ByteSource, HashOutcome, OperationHooks } from '../worker/protocol.js';
import { fromWire } from '../worker/transfer.js';
import { sourceSize, storedChunkSize } from '../worker/write-data.js';
import type { CofferContext } from './context.js';

/**
 * Options of a file write.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await bucket.objects.put('scan.tif', file, {
 *   mimetype: 'image/tiff',
 *   tags: { camera: 'A7' },
 *   signal: controller.signal,
 *   onProgress: ({ loaded, total }) => console.log(loaded, total),
 * });
 * ```
 */
export interface PutOptions extends SourceOptions {
  /** The media type to store (1 to 255 characters); by default it is guessed from the key when read. */
  mimetype?: string | undefined;
  /** Tags of the new version. */
  tags?: Tags | undefined;
}

/**
 * How a write takes the caller's bytes.
 *
 * @example
 * ```ts
 * const bytes = await file.arrayBuffer();
 * await bucket.objects.put('scan.tif', bytes, { transfer: true }); // no copy; `bytes` is now empty
 * ```
 */
export interface SourceOptions extends OperationHooks {
  /**
   * Give an ArrayBuffer or Uint8Array source up instead of copying it (default `false`). By
   * default the write copies the bytes first, so the caller's array stays usable and intact,
   * whatever happens to the write (even an abort). With `true`, the bytes are moved to the
   * worker without a copy and the caller's buffer is detached (left empty), or, without a
   * worker, read in place: do not change it until the write settles. Blobs, Files and streams
   * are never copied.
   */
  transfer?: boolean | undefined;
}

/**
 * The source a write hands to the byte pipeline: a copy of an ArrayBuffer or Uint8Array,
 * unless `transfer` gives it up (the worker pipeline transfers what it is given, detaching it).
 *
 * @throws {InvalidArgumentError} (`argument: 'transfer'`) when `transfer` is not a boolean.
 */
export function sourceToWrite(source: ByteSource, transfer: boolean | undefined): ByteSource {
  validateTransfer(transfer);
  if (transfer) return source;
  if (source instanceof ArrayBuffer) return source.slice(0);
  if (source instanceof Uint8Array) return source.slice();
  return source;
}

function validateTransfer(transfer: unknown): asserts transfer is boolean | undefined {
  if (transfer !== undefined && typeof transfer !== 'boolean') {
    throw new InvalidArgumentError(`transfer must be true or false, not ${typeof transfer}.`, {
      actual: transfer,
      argument: 'transfer',
    });
  }
}

/** Check a write's arguments before anything is touched. */
export function validatePut(key: string, source: ByteSource, options: PutOptions): number | undefined {
  validateKey(key);
  validateTransfer(options.transfer);
  if (options.tags !== undefined) validateTags(options.tags);
  if (options.mimetype !== undefined) validateMimetype(options.mimetype);
  return sourceSize(source);
}

/**
 * Write `source`'s bytes as a new, not yet readable file instance of `bucket` and return the
 * content to commit. Limits are checked before the write when the size is known, while it
 * streams, and again at commit.
 */
export async function writeFile(
  context: CofferContext,
  bucket: BucketRow,
  key: string,
  source: ByteSource,
  options: PutOptions,
): Promise<WrittenContent> {
  const size = validatePut(key, source, options);
  const limits = toLimits(bucket);
  assertWritable(limits, key);
  if (size !== undefined) assertFits(limits, size, key);
  throwIfAborted(options.signal);

  const { settings } = context;
  const fileId = newId<FileId>();
  if (storedWhole(settings, source)) return writeBlob(context, fileId, source, options);
  const written = await context.pipeline.ingestFile(
    {
      fileId,
      location: settings.location,
      source: sourceToWrite(source, options.transfer),
      chunkSize: settings.chunkSize,
      blobChunkSize: settings.blobChunkSize,
      chunkStorage: settings.chunkStorage,
      inlineBelow: settings.inlineBelow,
      sha256: settings.sha256,
      sizeLimit: sizeLimit(limits),
      bucketId: bucket.id,
      key,
    },
    { signal: options.signal, onProgress: options.onProgress },
  );
  return { kind: 'written', fileId, ...written };
}

/**
 * Whether `source` is stored as one stored Blob, itself: a Blob source, with Blob chunks, no
 * larger than a stored chunk of a Blob source (`blobChunkSize`).
 */
const storedWhole = (settings: CofferContext['settings'], source: unknown): source is Blob =>
  source instanceof Blob &&
  settings.chunkStorage === 'blob' &&
  source.size <= storedChunkSize(settings, source);

/**
 * The rows of a file that was hashed before anything of it was stored: its file instance
 * (writable, unreadable) and its chunk, inserted by the commit transaction itself.
 */
export interface StagedRows {
  file: FileRow;
  chunks: ChunkRow[];
}

/** Bytes written (or hashed and staged) for a new version, ready to commit. */
export type WrittenContent = VersionContent & { kind: 'written'; staged?: StagedRows | undefined };

/**
 * Blob sources below this size are hashed first and then stored, file row, chunk and version,
 * in the one commit transaction; larger ones are stored while they are hashed and committed
 * after. Measured in Chromium (`bench --only=onetx`, BENCHMARKS.md): one transaction was
 * 10–20 % faster from 256 KiB to 16 MiB for a settled Blob (its copy into IndexedDB costs next
 * to nothing, so overlapping it gains nothing and the second transaction costs), and even for a
 * freshly built one up to 64 MiB.
 */
export const ONE_TRANSACTION_BELOW = 64 * 1024 * 1024;

/** {@link ONE_TRANSACTION_BELOW}, or `oneTransactionBelow` in the settings (for the benchmarks only). */
const oneTransactionBelow = (context: CofferContext): number =>
  (context.settings as { oneTransactionBelow?: number }).oneTransactionBelow ?? ONE_TRANSACTION_BELOW;

/**
 * Whether a write of `source` stores nothing before its commit transaction (a Blob that fits
 * in one chunk, hashed first): such a write leaves no unfinished rows for garbage collection
 * to mistake, so it needs no write lock.
 */
export const storesAtCommit = (context: CofferContext, source: unknown): boolean =>
  storedWhole(context.settings, source) && source.size < oneTransactionBelow(context);

/** The file instance and chunk of a Blob source hashed before it is stored. */
function stagedRows(context: CofferContext, fileId: FileId, source: Blob, outcome: HashedSource): StagedRows {
  const { size } = outcome.result;
  return {
    file: blobFileRow(context, fileId, source),
    // The bytes came back from hashing when the file is stored inline (an ArrayBuffer row);
    // otherwise the source itself is the stored Blob.
    chunks: size === 0 ? [] : [{ dataId: fileId, offset: 0, size, data: outcome.bytes ?? source }],
  };
}

/** A writable file instance whose bytes are one stored chunk (a Blob source stored whole). */
const blobFileRow = (context: CofferContext, fileId: FileId, source: Blob): FileRow =>
  writableFileRow({
    id: fileId,
    location: context.settings.location,
    size: 0,
    extents: [{ dataId: fileId, size: 0, chunkSize: storedChunkSize(context.settings, source) }],
  });

type HashedSource = Extract<HashOutcome, { ok: true }>;

/** The digests of a hashed source, or its typed error. */
function hashed(outcome: HashOutcome | undefined): HashedSource {
  if (!outcome) throw new AbortError('The write was aborted.');
  if (!outcome.ok) throw fromWire(outcome.error);
  return outcome;
}

/**
 * Write a Blob source no larger than `blobChunkSize` as its own stored Blob, not a slice of it
 * (Chromium copies a whole Blob handed to IndexedDB in the browser process, far faster than
 * the same bytes as slices). Below {@link ONE_TRANSACTION_BELOW} it is hashed first, by the
 * byte pipeline, and staged for the commit transaction; above, it is stored while it is
 * hashed. Larger sources go through the worker's chunked write, in slices of `blobChunkSize`.
 */
async function writeBlob(
  context: CofferContext,
  fileId: FileId,
  source: Blob,
  hooks: OperationHooks,
): Promise<WrittenContent> {
  const { settings, db, pipeline } = context;
  const request = { sources: [source], sha256: settings.sha256, bytesBelow: settings.inlineBelow };
  if (source.size < oneTransactionBelow(context)) {
    const outcome = hashed((await pipeline.hashSources(request, hooks))[0]);
    return {
      kind: 'written',
      fileId,
      ...outcome.result,
      staged: stagedRows(context, fileId, source, outcome),
    };
  }
  // A failed store stops the hashing, and a failed hashing drops what was stored.
  const stop = new AbortController();
  const signal = hooks.signal ? AbortSignal.any([hooks.signal, stop.signal]) : stop.signal;
  const storing = mapErrors(() =>
    db.transaction('rw', db.files, db.chunks, async () => {
      await db.files.add(blobFileRow(context, fileId, source));
      await db.chunks.add({ dataId: fileId, offset: 0, size: source.size, data: source });
    }),
  );
  storing.catch(() => stop.abort());
  const [hashing, stored] = await Promise.allSettled([
    pipeline.hashSources(request, { signal, onProgress: hooks.onProgress }),
    storing,
  ]);
  try {
    throwIfAborted(hooks.signal);
    if (stored.status === 'rejected') throw stored.reason;
    if (hashing.status === 'rejected') throw hashing.reason;
    const outcome = hashed(hashing.value[0]);
    return { kind: 'written', fileId, ...outcome.result };
  } catch (error) {
    if (stored.status === 'fulfilled') await discardWrittenFile(db, fileId);
    throw hooks.signal?.aborted
      ? new AbortError('The write was aborted.', { cause: hooks.signal.reason })
      : error;
  }
}

/** The tables a commit transaction may touch: versions, files, chunks and records. */
const commitTables = (db: CofferDb) => [
  ...versionTables(db),
  db.records,
  db.recordRevisions,
  db.recordsBuckets,
];

/**
 * Commit written content with `commit` (which stores it with {@link addWrittenVersion}); if
 * the commit fails, or the signal fired meanwhile, drop the written bytes so that nothing
 * half-written stays. Staged rows are stored by the commit's own transaction, so that they
 * land with the version or not at all.
 */
export async function commitOrDiscard<T>(
  context: CofferContext,
  content: WrittenContent,
  signal: AbortSignal | undefined,
  commit: () => Promise<T>,
): Promise<T> {
  try {
    throwIfAborted(signal);
    return await commit();
  } catch (error) {
    // Staged rows are stored by the commit itself: nothing of them is left to drop.
    if (!content.staged) await discardWrittenFile(context.db, content.fileId);
    throw error;
  }
}

/** The new head version that written `content` becomes, with the write's mimetype and tags. */
export const writtenVersion = (
  context: CofferContext,
  bucketId: BucketRow['id'],
  key: string,
  content: VersionContent,
  options: PutOptions,
): NewVersion => ({
  bucketId,
  key,
  content,
  mimetype: options.mimetype ?? null,
  tags: options.tags ?? {},
  dedupe: context.settings.dedupe,
});

/** One file of a bulk write: its key, its bytes and the options of its version. */
export interface BulkFile {
  key: string;
  source: ByteSource;
  options: PutOptions;
}

/** A file of a bulk write whose bytes are hashed and staged, ready to commit. */
export interface PreparedFile extends BulkFile {
  content: WrittenContent & { staged: StagedRows };
}

/** What a bulk write did with one file: its result, or the typed error that left it out. */
export type BulkOutcome<T> =
  | { key: string; ok: true; value: T }
  | { key: string; ok: false; error: CofferError };

/**
 * How a bulk write commits: `group` commits prepared files in one transaction, through
 * `commitAll` (it re-checks the bucket for each file and returns its new version, or the error
 * that leaves that file out without failing the others); `single` writes and commits one file
 * that is not batched (a stream, a large file) on its own.
 */
export interface BulkCommitter<T> {
  group(
    files: PreparedFile[],
    commitAll: (files: readonly PreparedFile[]) => Promise<(ObjectVersionRow | CofferError)[]>,
  ): Promise<(T | CofferError)[]>;
  single(file: BulkFile, hooks: OperationHooks): Promise<T>;
  /** Extra checks of a file's arguments, before anything is read. */
  validate?: ((file: BulkFile) => void) | undefined;
}

/** Sources below this size are batched (hashed together, committed many per transaction)… */
const BATCHED_BELOW = 8 * 1024 * 1024;
/** …in groups of at most this many files… */
const GROUP_FILES = 1000;
/** …and this many bytes. */
const GROUP_BYTES = 32 * 1024 * 1024;
/**
 * …of which at most this many come back from hashing as bytes (files stored inline): the only
 * file bytes that enter this thread's heap.
 */
const GROUP_INLINE_BYTES = 8 * 1024 * 1024;

type Segment =
  | { kind: 'single'; index: number }
  | { kind: 'group'; indexes: number[]; bytes: number; inline: number };

/**
 * Write many files to `bucketId`, each atomically: a file that fails (bad key, limits, a
 * source that cannot be read) changes nothing and gets its typed error, the others land. Small
 * Blob and byte sources are hashed together in one call to the byte pipeline, the next group
 * while the previous one commits, and committed many per transaction; if such a transaction
 * fails as a whole (a full disk), its files are committed one per transaction again, so that
 * only the files that cannot be stored fail. One progress covers the batch, in bytes. After an
 * abort, the files not yet committed fail with {@link AbortError}.
 */
export async function writeMany<T>(
  context: CofferContext,
  bucketId: BucketId,
  files: readonly BulkFile[],
  hooks: OperationHooks,
  committer: BulkCommitter<T>,
): Promise<BulkOutcome<T>[]> {
  const { settings } = context;
  const { signal, onProgress } = hooks;
  const outcomes: (BulkOutcome<T> | undefined)[] = files.map(() => undefined);
  const fail = (index: number, error: unknown) => {
    outcomes[index] = { key: files[index]!.key, ok: false, error: mapStorageError(error) };
  };
  const sources: ByteSource[] = [];
  const sizes: number[] = [];
  const segments: Segment[] = [];
  let group: Extract<Segment, { kind: 'group' }> | undefined;
  for (const [index, file] of files.entries()) {
    let size: number | undefined;
    try {
      size = validatePut(file.key, file.source, file.options);
      committer.validate?.(file);
    } catch (error) {
      fail(index, error);
      continue;
    }
    let source = file.source;
    // Bytes in memory join a batch as a Blob: one copy, as a single write makes.
    if (source instanceof ArrayBuffer || source instanceof Uint8Array) {
      source = new Blob([sourceToWrite(source, false) as Uint8Array<ArrayBuffer>]);
    }
    sources[index] = source;
    sizes[index] = size ?? 0;
    const blob = source instanceof Blob ? source : undefined;
    if (
      !blob ||
      blob.size > storedChunkSize(settings, blob) ||
      blob.size >= (settings.chunkStorage === 'blob' ? BATCHED_BELOW : settings.inlineBelow)
    ) {
      group = undefined;
      segments.push({ kind: 'single', index });
      continue;
    }
    const inline = settings.chunkStorage === 'buffer' || blob.size < settings.inlineBelow ? blob.size : 0;
    if (
      !group ||
      group.indexes.length >= GROUP_FILES ||
      group.bytes + blob.size > GROUP_BYTES ||
      group.inline + inline > GROUP_INLINE_BYTES
    ) {
      group = { kind: 'group', indexes: [], bytes: 0, inline: 0 };
      segments.push(group);
    }
    group.indexes.push(index);
    group.bytes += blob.size;
    group.inline += inline;
  }

  const total = sizes.reduce((sum, size) => sum + (size ?? 0), 0);
  let done = 0;
  const report = (loaded: number) => onProgress?.({ loaded: Math.min(loaded, total), total });
  const hashGroup = (segment: Extract<Segment, { kind: 'group' }>) => {
    const hashing = context.pipeline.hashSources(
      {
        sources: segment.indexes.map((i) => sources[i] as Blob),
        sha256: settings.sha256,
        bytesBelow: settings.chunkStorage === 'blob' ? settings.inlineBelow : Number.POSITIVE_INFINITY,
      },
      { signal },
    );
    hashing.catch(() => undefined);
    return hashing;
  };

  let ahead: Promise<HashOutcome[]> | undefined;
  for (const [at, segment] of segments.entries()) {
    if (signal?.aborted) break;
    if (segment.kind === 'single') {
      const file = files[segment.index]!;
      try {
        const value = await committer.single(
          { ...file, source: sources[segment.index]! },
          { signal, onProgress: (p) => report(done + p.loaded) },
        );
        outcomes[segment.index] = { key: file.key, ok: true, value };
      } catch (error) {
        fail(segment.index, error);
      }
      done += sizes[segment.index]!;
      report(done);
      continue;
    }
    let hashedGroup: HashOutcome[];
    try {
      hashedGroup = await (ahead ?? hashGroup(segment));
    } catch {
      break; // aborted
    }
    const following = segments[at + 1];
    ahead = following?.kind === 'group' ? hashGroup(following) : undefined;
    const prepared: { index: number; file: PreparedFile }[] = [];
    for (const [i, index] of segment.indexes.entries()) {
      const file = files[index]!;
      try {
        const outcome = hashed(hashedGroup[i]);
        const fileId = newId<FileId>();
        const staged = stagedRows(context, fileId, sources[index] as Blob, outcome);
        prepared.push({
          index,
          file: { ...file, content: { kind: 'written', fileId, ...outcome.result, staged } },
        });
      } catch (error) {
        fail(index, error);
      }
    }
    const settle = (batch: typeof prepared, values: (T | CofferError)[]) => {
      for (const [i, { index, file }] of batch.entries()) {
        const value = values[i] as T | CofferError;
        outcomes[index] = isError(value)
          ? { key: file.key, ok: false, error: value }
          : { key: file.key, ok: true, value };
      }
    };
    if (prepared.length > 0) {
      try {
        settle(
          prepared,
          await committer.group(
            prepared.map((p) => p.file),
            commitPrepared(context, bucketId),
          ),
        );
      } catch {
        // The transaction failed as a whole: each file on its own, so that only the files
        // that cannot be stored fail.
        for (const one of prepared) {
          try {
            settle([one], await committer.group([one.file], commitPrepared(context, bucketId)));
          } catch (error) {
            fail(one.index, error);
          }
        }
      }
    }
    done += segment.bytes;
    report(done);
  }
  return outcomes.map((outcome, index) => {
    if (outcome) return outcome;
    return {
      key: files[index]!.key,
      ok: false,
      error: new AbortError('The write was aborted.', { cause: signal?.reason }),
    };
  });
}

const isError = (value: unknown): value is CofferError => value instanceof Error;

/** Commit prepared files with {@link BucketStore.addStagedVersions}, in the caller's transaction. */
const commitPrepared =
  (context: CofferContext, bucketId: BucketId) =>
  async (files: readonly PreparedFile[]): Promise<(ObjectVersionRow | CofferError)[]> =>
    (
      await context.store.addStagedVersions(
        bucketId,
        files.map((file) => stagedVersion(context, file)),
      )
    ).results;

const stagedVersion = (context: CofferContext, file: PreparedFile): StagedVersion => ({
  key: file.key,
  content: file.content,
  staged: file.content.staged,
  mimetype: file.options.mimetype ?? null,
  tags: file.options.tags ?? {},
  dedupe: context.settings.dedupe,
});

/**
 * The last step of a single write, in the caller's transaction (or one of its own): add the
 * version of written `content` as the new head of `key`. Staged rows are stored with it.
 */
export async function addWrittenVersion(
  context: CofferContext,
  bucketId: BucketId,
  key: string,
  content: WrittenContent,
  options: PutOptions,
): Promise<{ version: ObjectVersionRow; bucket: BucketRow | undefined }> {
  const { staged } = content;
  if (!staged) return context.store.addVersion(writtenVersion(context, bucketId, key, content, options));
  const { results, bucket } = await context.store.addStagedVersions(bucketId, [
    stagedVersion(context, { key, source: new Blob(), options, content: { ...content, staged } }),
  ]);
  const [result] = results;
  if (result instanceof Error) throw result;
  return { version: result!, bucket };
}

/** Run `work` in one commit transaction (versions, files, chunks and records). */
export function inCommitTransaction<T>(context: CofferContext, work: () => Promise<T>): Promise<T> {
  const { db } = context;
  return mapErrors(() => db.transaction('rw', commitTables(db), work));
}

interface QueuedCommit {
  file: PreparedFile;
  resolve: (added: { version: ObjectVersionRow; bucket: BucketRow | undefined }) => void;
  reject: (error: unknown) => void;
}

/** Staged single writes waiting for their bucket's next commit, per coffer and bucket. */
const commitQueues = new WeakMap<
  CofferContext,
  Map<BucketId, { queued: QueuedCommit[]; running: boolean }>
>();

/**
 * Commit one staged file as the new head of its key, together with the other staged single
 * writes to the same bucket that are ready meanwhile (a group commit): concurrent small puts
 * share one transaction instead of queueing one each behind the bucket's row. Each file keeps
 * its own outcome: one the bucket refuses gets its error and the others land; if the shared
 * transaction fails as a whole, each file is committed again on its own.
 */
export function commitStagedSoon(
  context: CofferContext,
  bucketId: BucketId,
  file: PreparedFile,
): Promise<{ version: ObjectVersionRow; bucket: BucketRow | undefined }> {
  const queues = commitQueues.get(context) ?? new Map();
  commitQueues.set(context, queues);
  const queue = queues.get(bucketId) ?? { queued: [], running: false };
  queues.set(bucketId, queue);
  const promise = new Promise<{ version: ObjectVersionRow; bucket: BucketRow | undefined }>(
    (resolve, reject) => queue.queued.push({ file, resolve, reject }),
  );
  if (!queue.running) void drain(context, bucketId, queue, queues);
  return promise;
}

async function drain(
  context: CofferContext,
  bucketId: BucketId,
  queue: { queued: QueuedCommit[]; running: boolean },
  queues: Map<BucketId, unknown>,
): Promise<void> {
  queue.running = true;
  while (queue.queued.length > 0) {
    const batch = queue.queued.splice(0, GROUP_FILES);
    const settle = (
      items: QueuedCommit[],
      results: (ObjectVersionRow | CofferError)[],
      bucket?: BucketRow,
    ) => {
      for (const [i, item] of items.entries()) {
        const result = results[i]!;
        if (result instanceof Error) item.reject(result);
        else item.resolve({ version: result, bucket });
      }
    };
    const commit = (items: QueuedCommit[]) =>
      context.store.addStagedVersions(
        bucketId,
        items.map((item) => stagedVersion(context, item.file)),
      );
    try {
      const { results, bucket } = await commit(batch);
      settle(batch, results, bucket);
    } catch {
      for (const item of batch) {
        try {
          const { results, bucket } = await commit([item]);
          settle([item], results, bucket);
        } catch (error) {
          item.reject(error);
        }
      }
    }
  }
  queue.running = false;
  queues.delete(bucketId);
}
