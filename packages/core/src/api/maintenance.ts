import { InvalidArgumentError, NotFoundError, throwIfAborted } from '../errors.js';
import type { FileId } from '../ids.js';
import { validateSize } from '../model/limits.js';
import { type AbandonRule, type Freed, MaintenanceStore } from '../storage/gc.js';
import { MultipartStore } from '../storage/multipart-store.js';
import type { OperationHooks } from '../worker/protocol.js';
import type { CofferContext } from './context.js';

/**
 * Options of {@link Coffer.gc}.
 *
 * @example
 * ```ts
 * const { files, bytes } = await coffer.gc({ graceMs: 10 * 60 * 1000 });
 * ```
 */
export interface GcOptions {
  signal?: AbortSignal | undefined;
  /**
   * An unfinished write whose heartbeat (its file instance's `updated`, touched with every
   * chunk) is younger than this is left alone, in milliseconds (default one hour).
   */
  graceMs?: number | undefined;
}

/** What {@link Coffer.gc} freed. */
export interface GcResult {
  /** Multipart uploads past their expiry, dropped with their parts; their reservations freed. */
  expiredUploads: number;
  /** File instances removed: no version, part or upload referenced them. */
  files: number;
  /** Of those, unfinished writes abandoned by a closed tab or a crash. */
  abandonedWrites: number;
  /** Chunk rows deleted. */
  chunks: number;
  /** Bytes of the chunks deleted. */
  bytes: number;
  /**
   * Whether unfinished writes were skipped because a write was in progress in this or another
   * tab (Web Locks); the next `gc()` looks at them again.
   */
  writesInProgress: boolean;
}

/** The outcome of one fixity check. */
export interface FixityResult {
  fileId: FileId;
  /** Whether the stored bytes still match the checksum recorded when they were written. */
  ok: boolean;
  /** The recorded checksum, `"md5:<hex>"`. */
  expected: string | null;
  /** The checksum of the bytes read back; `null` when chunks are missing. */
  actual: string | null;
  checkedAt: Date;
}

/**
 * Options of {@link Coffer.verifyChecksums}.
 *
 * @example
 * ```ts
 * const { failed } = await coffer.verifyChecksums({ olderThan: new Date(Date.now() - 30 * 864e5), limit: 500 });
 * ```
 */
export interface VerifyChecksumsOptions extends OperationHooks {
  /** Check only files not checked since this time (default: now, i.e. every file). */
  olderThan?: Date | undefined;
  /** Check at most this many files, least recently checked first (default: all). */
  limit?: number | undefined;
}

/** What {@link Coffer.verifyChecksums} found. */
export interface VerifyChecksumsResult {
  /** Files checked. */
  checked: number;
  /** Bytes read back. */
  bytes: number;
  /** The files whose bytes do not match their checksum (their `lastCheck` is now `false`). */
  failed: FixityResult[];
  /**
   * Files whose bytes are on the sync remote only (pulled with `bodies: 'lazy'`, not read
   * yet): not checked, and not failed either; they are checked once fetched.
   */
  remote: number;
}

const HOUR = 60 * 60 * 1000;

const lockName = (context: CofferContext): string => `coffer:${context.settings.name}:writes`;

const locks = (): LockManager | undefined =>
  typeof navigator === 'undefined' ? undefined : (navigator as Navigator & { locks?: LockManager }).locks;

/**
 * Run a write holding this coffer's shared write lock (Web Locks, across tabs), so that
 * garbage collection, which takes the lock exclusively, never reclaims a write in progress.
 * Where Web Locks are missing the write runs as it is and gc relies on heartbeats alone.
 */
export async function withWriteLock<T>(context: CofferContext, write: () => Promise<T>): Promise<T> {
  const manager = locks();
  if (!manager) return write();
  return manager.request(lockName(context), { mode: 'shared' }, write) as Promise<T>;
}

const maintenanceStore = (context: CofferContext) =>
  new MaintenanceStore(context.db, new MultipartStore(context.db, context.store));

/**
 * Garbage collection: drop expired multipart uploads, file instances that nothing references
 * (and unfinished writes whose heartbeat is older than the grace period, when no write holds
 * the write lock), and chunks that no file instance, part or open upload accounts for.
 */
export async function collectGarbage(context: CofferContext, options: GcOptions = {}): Promise<GcResult> {
  const graceMs = options.graceMs ?? HOUR;
  validateSize('graceMs', graceMs);
  const { signal } = options;
  const store = maintenanceStore(context);
  const now = Date.now();
  const heartbeatCutoff = now - graceMs;
  const result: GcResult = {
    expiredUploads: 0,
    files: 0,
    abandonedWrites: 0,
    chunks: 0,
    bytes: 0,
    writesInProgress: false,
  };
  const count = (freed: Freed) => {
    result.chunks += freed.chunks;
    result.bytes += freed.bytes;
  };

  throwIfAborted(signal);
  for (const uploadId of await store.expiredUploads(now)) {
    throwIfAborted(signal);
    const freed = await store.reapUpload(uploadId, now, heartbeatCutoff);
    if (freed) {
      result.expiredUploads += 1;
      count(freed);
    }
  }

  const removeFiles = async (rule: AbandonRule) => {
    for (const fileId of await store.unreferencedFiles()) {
      throwIfAborted(signal);
      const freed = await store.removeFile(fileId, rule);
      if (freed) {
        result.files += 1;
        if (freed.abandoned) result.abandonedWrites += 1;
        count(freed);
      }
    }
  };
  const manager = locks();
  if (manager) {
    await manager.request(lockName(context), { mode: 'exclusive', ifAvailable: true }, async (lock) => {
      result.writesInProgress = lock === null;
      await removeFiles({ reclaimWritable: lock !== null, heartbeatCutoff });
    });
  } else {
    await removeFiles({ reclaimWritable: true, heartbeatCutoff });
  }

  for (const dataId of await store.orphanData()) {
    throwIfAborted(signal);
    const freed = await store.removeData(dataId);
    if (freed) count(freed);
  }
  return result;
}

/**
 * Fixity check of one file instance: read its bytes back in the byte pipeline (the worker),
 * digest them and compare with the recorded checksum; record the outcome as `lastCheck` and
 * `lastCheckAt`. Storage failures are thrown and leave the last check as it was.
 */
export async function verifyFile(
  context: CofferContext,
  fileId: FileId,
  hooks: OperationHooks = {},
): Promise<FixityResult> {
  const store = maintenanceStore(context);
  const file = await context.store.getFile(fileId);
  if (!file?.readable) {
    throw new NotFoundError(`File ${fileId} is not readable.`, { fileId, resource: 'file' });
  }
  throwIfAborted(hooks.signal);
  let actual: string | null = null;
  let ok = false;
  if (await store.extentsIntact(file.extents)) {
    const digest = await context.pipeline.digest(
      { extents: file.extents, sha256: file.sha256 !== null },
      hooks,
    );
    actual = digest.checksum;
    ok =
      digest.size === file.size &&
      digest.checksum === file.checksum &&
      (file.sha256 === null || digest.sha256 === file.sha256);
  }
  const checkedAt = Date.now();
  await store.recordCheck(fileId, file.checksum, ok, checkedAt);
  return { fileId, ok, expected: file.checksum, actual, checkedAt: new Date(checkedAt) };
}

/**
 * Fixity check of many files, least recently checked first (invenio's scheduled
 * `verify_checksum` task): each is read back in the worker and its `lastCheck` recorded.
 */
export async function verifyFiles(
  context: CofferContext,
  options: VerifyChecksumsOptions = {},
): Promise<VerifyChecksumsResult> {
  const { olderThan, limit = Number.POSITIVE_INFINITY, signal, onProgress } = options;
  if (olderThan !== undefined && !(olderThan instanceof Date && Number.isFinite(olderThan.getTime()))) {
    throw new InvalidArgumentError('olderThan must be a valid Date.', {
      actual: olderThan,
      argument: 'olderThan',
    });
  }
  if (limit !== Number.POSITIVE_INFINITY) validateSize('limit', limit);
  const { files, lazy } = await maintenanceStore(context).filesToCheck(
    olderThan?.getTime() ?? Date.now() + 1,
    limit,
  );
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const result: VerifyChecksumsResult = { checked: 0, bytes: 0, failed: [], remote: lazy };
  for (const file of files) {
    throwIfAborted(signal);
    const before = result.bytes;
    let check: FixityResult;
    try {
      check = await verifyFile(context, file.id, {
        signal,
        onProgress: onProgress && (({ loaded }) => onProgress({ loaded: before + loaded, total })),
      });
    } catch (error) {
      if (error instanceof NotFoundError) continue; // removed by gc since it was listed
      throw error;
    }
    result.checked += 1;
    result.bytes += file.size;
    onProgress?.({ loaded: result.bytes, total });
    if (!check.ok) result.failed.push(check);
  }
  return result;
}
