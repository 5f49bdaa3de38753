/**
 * The sync engine: push local versions and record changes to a {@link Remote}, pull other
 * devices' journals back, following docs/sync-protocol.md. It talks to IndexedDB only through
 * `storage/sync-store.ts` and to bytes only through the byte pipeline, and uses no DOM, so it
 * runs in a page, a dedicated worker or Node.
 *
 * @module
 */
import type { Coffer } from '../api/coffer.js';
import type { CofferContext } from '../api/context.js';
import {
  AbortError,
  BodyUnavailableError,
  CofferError,
  IntegrityError,
  InvalidArgumentError,
  NotFoundError,
  SyncAlreadyOpenError,
  SyncError,
  UnexpectedFileSizeError,
} from '../errors.js';
import { type FileId, newId, type RecordId } from '../ids.js';
import { inPool } from '../in-pool.js';
import {
  type JournalEntry,
  MAX_JOURNAL_OPS,
  parseJournalEntry,
  SYNC_FORMAT,
  type VersionOp,
} from '../model/sync-journal.js';
import { md5Hex } from '../model/sync-merge.js';
import type { SyncChangeRow, SyncVersionRow } from '../storage/schema.js';
import type { PendingVersion, PulledContent } from '../storage/sync-store.js';
import { type SyncStatusRow, SyncStore } from '../storage/sync-store.js';
import { fromWire } from '../worker/transfer.js';
import { RemoteError } from './errors.js';
import { deviceOf, entrySeq, fileKey, JOURNAL_PREFIX, journalKey, journalPrefix } from './layout.js';
import type { ListOptions, ListPage, Remote, RemoteVersion } from './remote.js';
import { toConflict, toSyncStatus } from './views.js';

const MiB = 1024 * 1024;

/** Pulled bodies up to this size (and one chunk) are read whole and stored a batch at a time. */
const SMALL_BODY = 64 * 1024;
/**
 * Small pulled bodies hashed and stored together: a batch holds at most 4 MiB, and one fills
 * while the one before is stored.
 */
const SMALL_BATCH = 64;

/** Most version ops in one journal entry: record ops fill the rest up to 1,000. */
const VERSIONS_PER_ENTRY = 500;
/** About the most JSON in one journal entry. */
const ENTRY_CHARS = 1024 * 1024;
/** The largest journal entry a pull reads (an entry is about 1 MiB at most; data may exceed it). */
const MAX_ENTRY_BYTES = 16 * MiB;

/** Retries of requests that failed for a reason that may pass (429, 503, no network). */
export interface RetryOptions {
  /** Attempts per request, the first included (default 6). */
  attempts?: number;
  /** The first wait, in ms (default 500). */
  initialDelay?: number;
  /** The longest wait, in ms (default 60,000). */
  maxDelay?: number;
}

/**
 * Options of {@link openSync}.
 *
 * @example
 * ```ts
 * const sync = openSync(coffer, {
 *   remote: new S3Remote({ endpoint, bucket, region, credentials }),
 *   interval: 30_000,
 *   multipartThreshold: 64 * 1024 ** 2,
 * });
 * ```
 */
export interface SyncOptions {
  /** The server: a versioned object store. */
  remote: Remote;
  /** Milliseconds between background syncs after {@link CofferSync.start} (default 60,000). */
  interval?: number;
  /**
   * Files larger than this go as multipart uploads, resumable part by part (default 64 MiB; at
   * least `partSize`, at most 5 GiB). Below it a file goes in one PUT with `Content-MD5`: faster
   * (its md5 is known from ingest, no part is read back and hashed; 0.78–1.08× a plain PUT against
   * 0.31–0.45× for 8 MiB parts, BENCHMARKS.md), but a PUT cut off is sent again from its first byte.
   */
  multipartThreshold?: number;
  /**
   * Bytes per multipart part, at least 5 MiB (S3's minimum; default 16 MiB: with 4 parts in
   * flight, 0.55–0.59× a plain PUT against 0.48× for 8 MiB parts, and at most 64 MiB to send
   * again after an interruption; 32 MiB parts measured 0.56–0.61×, BENCHMARKS.md).
   */
  partSize?: number;
  /**
   * Parts of one multipart upload in flight at once (default 4; 1 sends them one at a time).
   * Each part's md5 is computed while the others upload. The upload's state is saved after
   * every part, so a reload resumes having lost at most the parts that were in flight.
   */
  partsInFlight?: number;
  /** Backoff of retryable failures (tests shorten it). */
  retry?: RetryOptions;
  /**
   * File requests (PUTs, copies, deletes, GETs) in flight at once (default 8; 1 sends them one
   * at a time). Journal entries still go one at a time and in order.
   */
  concurrency?: number;
  /**
   * How a pull takes file bodies (default `'eager'`). `'lazy'`: metadata only, no body `GET`:
   * a pulled version becomes a head at once with its size, md5 and media type, and its bytes
   * are fetched on first read (a blob, stream or range, the service worker's URL, an export),
   * verified by md5 before they become readable; {@link CofferSync.fetchBodies} fetches a
   * record's ahead of time. For large collections read in part.
   */
  bodies?: 'eager' | 'lazy';
}

/** What one sync did. */
export interface SyncReport {
  versionsPushed: number;
  versionsPulled: number;
  /** Record changes sent (local edits and merges). */
  recordsPushed: number;
  /** Record changes applied from other devices. */
  recordsPulled: number;
  /** Pulled changes that were merged with a local one. */
  recordsMerged: number;
  /** Field conflicts the merges reported. */
  conflicts: number;
  bytesPushed: number;
  bytesPulled: number;
  /** Requests sent to the remote, retries included. */
  requests: number;
}

/** Progress of a sync. */
export interface SyncProgress {
  phase: 'pushing' | 'pulling';
  /** Files (versions) done and known so far in this phase. */
  files: { done: number; total: number };
  /** Bytes sent or received so far in this phase. */
  bytes: number;
}

/** Options of {@link CofferSync.now}. */
export interface SyncNowOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: SyncProgress) => void) | undefined;
}

/** The live state of sync, as stored (so any tab can read it with `liveQuery`). */
export interface SyncStatus {
  phase: SyncStatusRow['phase'];
  /** Local versions not yet pushed. */
  filesToGo: number;
  /** Their bytes (those already uploaded, waiting for their journal entry, not counted). */
  bytesToGo: number;
  lastSuccess: Date | undefined;
  /** The `code` of the last failure, cleared by a success. */
  lastErrorCode: string | undefined;
  lastErrorMessage: string | undefined;
}

/** Where one record stands. */
export type RecordSyncState = 'synced' | 'pending' | 'conflict' | 'error';

/** A field two devices changed to different values. The merge kept `winner`'s value. */
export interface SyncConflict {
  id: string;
  recordId: string;
  /** The field's path in the record data (for a file's metadata: `['_files', key, field]`). */
  path: string[];
  base: unknown;
  local: unknown;
  remote: unknown;
  winner: 'local' | 'remote';
  created: Date;
}

/** How to resolve a conflict: keep one side's value, or set a value of your own. */
export type ConflictChoice = 'local' | 'remote' | { value: unknown };

const emptyReport = (): SyncReport => ({
  versionsPushed: 0,
  versionsPulled: 0,
  recordsPushed: 0,
  recordsPulled: 0,
  recordsMerged: 0,
  conflicts: 0,
  bytesPushed: 0,
  bytesPulled: 0,
  requests: 0,
});

/** The shortest time between two writes of the stored status during a push, in ms. */
const STATUS_EVERY = 250;

/** Read a body whole into one array, failing with `tooLarge()` as soon as it is over `limit` bytes. */
async function readAtMost(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  tooLarge: () => Error,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/** Read a small body whole, refusing one over `limit` bytes. */
async function readText(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  context: { device: string; seq: number },
) {
  const bytes = await readAtMost(
    stream,
    limit,
    () => new SyncError(`Journal entry ${context.device}/${context.seq} is over ${limit} bytes.`, context),
  );
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new SyncError(`Journal entry ${context.device}/${context.seq} is not UTF-8.`, {
      ...context,
      cause,
    });
  }
}

/** The event methods of the global scope, where it has them. */
type GlobalEvents = {
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
};

/** Wait `ms`, or less when the global scope fires a `wakeOn` event (e.g. `online`). */
const sleep = (ms: number, signal: AbortSignal | undefined, wakeOn?: string): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('The sync was aborted.', { cause: signal.reason }));
    const scope = globalThis as GlobalEvents;
    const timer = setTimeout(done, ms);
    function stopListening() {
      signal?.removeEventListener('abort', aborted);
      if (wakeOn) scope.removeEventListener?.(wakeOn, done);
    }
    function done() {
      clearTimeout(timer);
      stopListening();
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      stopListening();
      reject(new AbortError('The sync was aborted.', { cause: signal?.reason }));
    }
    signal?.addEventListener('abort', aborted, { once: true });
    if (wakeOn) scope.addEventListener?.(wakeOn, done);
  });

/** A signal that fires when either fires (`AbortSignal.any` where it exists). */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const controller = new AbortController();
  for (const signal of [a, b]) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

/** Whether an error means "no network" (the status shows `offline`). */
const isOffline = (error: unknown): boolean =>
  error instanceof RemoteError && error.code === 'REMOTE_UNREACHABLE';

/** One sync run: its signal, counters and progress. */
interface Run {
  signal: AbortSignal | undefined;
  /** Attempts per request, when not the sync's (a read waiting for a body tries less). */
  attempts?: number;
  report: SyncReport;
  onProgress: ((progress: SyncProgress) => void) | undefined;
  files: { done: number; total: number };
}

/** A pulled device's journal, read in order. */
interface DeviceQueue {
  device: string;
  keys: { key: string; seq: number }[];
  next: number;
  entry: JournalEntry | undefined;
  failed: boolean;
}

const engines = new WeakMap<Coffer, CofferSync>();

/**
 * Sync of one coffer with one remote. Get it from {@link openSync}; one per coffer.
 *
 * What is synced: every record (data and trash flag), and every file version and delete marker
 * of the buckets records own; renames, file order and file metadata travel in the record's
 * `_files`. Not synced (v1): buckets no record owns, bucket and version tags, bucket settings
 * (quota, max file size, lock), the hard removal of a version; a hard-deleted record travels as
 * trashed.
 *
 * @example
 * ```ts
 * import { openSync, S3Remote } from '@coffer/core/sync';
 * const sync = openSync(coffer, { remote: new S3Remote(options) });
 * const report = await sync.now({ onProgress: ({ phase, files }) => console.log(phase, files) });
 * sync.start({ interval: 30_000 });
 * liveQuery(() => sync.status()).subscribe(renderBadge);
 * for (const conflict of await sync.conflicts()) await sync.resolveConflict(conflict.id, 'local');
 * ```
 */
export class CofferSync {
  private readonly store: SyncStore;
  private readonly context: CofferContext;
  private readonly remote: Remote;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly partsInFlight: number;
  /** Parts are hashed one at a time (the hashing is CPU-bound; uploads overlap it). */
  private hashing: Promise<unknown> = Promise.resolve();
  private readonly retry: Required<RetryOptions>;
  private readonly concurrency: number;
  private interval: number;
  private running: Promise<SyncReport> | undefined;
  private closed = false;
  private readonly closing = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private started = false;
  private readonly onOnline = () => this.wake?.();
  private readonly bodies: 'eager' | 'lazy';
  /** Lazy bodies being fetched, by file instance: concurrent reads share one download. */
  private readonly fetching = new Map<FileId, Promise<void>>();
  private readonly unregisterBodies: () => void;

  /** @internal */
  constructor(
    private readonly coffer: Coffer,
    options: SyncOptions,
  ) {
    const partSize = options.partSize ?? 16 * MiB;
    const threshold = options.multipartThreshold ?? 64 * MiB;
    if (!Number.isSafeInteger(partSize) || partSize < 5 * MiB) {
      throw new InvalidArgumentError('partSize must be an integer of at least 5 MiB.', {
        actual: partSize,
        argument: 'partSize',
      });
    }
    const concurrency = options.concurrency ?? 8;
    const partsInFlight = options.partsInFlight ?? 4;
    for (const [argument, value] of [
      ['concurrency', concurrency],
      ['partsInFlight', partsInFlight],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new InvalidArgumentError(`${argument} must be a positive integer.`, {
          actual: value,
          argument,
        });
      }
    }
    // S3 takes at most 5 GiB in one PUT.
    if (!Number.isSafeInteger(threshold) || threshold < partSize || threshold > 5 * 1024 * MiB) {
      throw new InvalidArgumentError('multipartThreshold must be an integer from partSize to 5 GiB.', {
        actual: threshold,
        argument: 'multipartThreshold',
      });
    }
    this.context = coffer.context;
    // Pulled record data meets the same JSON Schemas as local writes and imports.
    this.store = new SyncStore(this.context.db, this.context.settings, (data) =>
      coffer.records.validator.check(data),
    );
    this.remote = options.remote;
    this.threshold = threshold;
    this.partSize = partSize;
    this.partsInFlight = partsInFlight;
    this.concurrency = concurrency;
    checkBodies(options.bodies);
    this.bodies = options.bodies ?? 'eager';
    this.interval = options.interval ?? 60_000;
    this.retry = {
      attempts: options.retry?.attempts ?? 6,
      initialDelay: options.retry?.initialDelay ?? 500,
      maxDelay: options.retry?.maxDelay ?? 60_000,
    };
    // Reads of files pulled lazily (by this sync or an earlier one) fetch through this sync.
    this.unregisterBodies = this.context.bodies.register({
      fetch: (fileId, fetchOptions) => this.fetchBody(fileId, fetchOptions),
    });
  }

  /**
   * Push, then pull, now. A call while a sync runs joins it (the same report).
   *
   * @throws {RemoteError} when the server cannot be reached or refuses (after retries of
   *   429/503/network failures); {@link SyncError} when another device's journal holds an
   *   invalid entry (nothing of it is applied; the rest of the sync is done first);
   *   {@link IntegrityError} when pulled bytes do not match their md5 (nothing of that entry
   *   is visible); {@link AbortError} when `signal` fires.
   */
  now(options: SyncNowOptions = {}): Promise<SyncReport> {
    if (this.closed) return Promise.reject(closedError());
    if (!this.running) {
      this.running = this.run(options).finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  /** Sync now and then every `interval` ms until {@link CofferSync.stop}; failures back off, `online` wakes it. */
  start(options: { interval?: number } = {}): void {
    if (this.closed) throw closedError();
    if (options.interval !== undefined) this.interval = options.interval;
    if (this.started) return;
    this.started = true;
    (globalThis as GlobalEvents).addEventListener?.('online', this.onOnline);
    this.loop = this.background();
  }

  /** Stop background syncs (a sync in progress finishes); the status shows `paused`. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    (globalThis as GlobalEvents).removeEventListener?.('online', this.onOnline);
    this.wake?.();
    await this.loop;
    await this.running?.catch(() => undefined);
    await this.store.setStatus({ phase: 'paused' });
  }

  /** The stored status: works in any tab with `liveQuery(() => sync.status())`. */
  async status(): Promise<SyncStatus> {
    return toSyncStatus(await this.store.status());
  }

  /**
   * Where a record stands: `conflict` (a conflict waits for a resolution), `error` (a pulled
   * change was refused here, e.g. its bucket is locked), `pending` (local edits or files not
   * pushed yet), else `synced`.
   */
  async recordStatus(recordId: string): Promise<RecordSyncState> {
    return this.store.recordStatus(recordId);
  }

  /** Open conflicts, of one record or of all. */
  async conflicts(recordId?: string): Promise<SyncConflict[]> {
    return (await this.store.conflicts(recordId)).map(toConflict);
  }

  /**
   * Resolve a conflict: keep the `local` or the `remote` value, or set `{ value }` (`undefined`
   * removes the field). The record gets a new local revision, the conflict is cleared, and the
   * next sync pushes the resolution, which clears the same conflict on the other devices.
   *
   * @throws {NotFoundError} (`resource: 'conflict'`) for an unknown or resolved conflict.
   */
  async resolveConflict(id: string, choice: ConflictChoice): Promise<void> {
    const [conflict] = (await this.store.conflicts()).filter((c) => c.id === id);
    const value =
      choice === 'local'
        ? conflict?.local
        : choice === 'remote'
          ? conflict?.remote
          : (choice as { value: unknown }).value;
    await this.store.resolve(id, value === undefined ? { remove: true } : { set: value });
    this.wake?.();
  }

  /** Stop, abort a running sync, and release the coffer for another {@link openSync}. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.started = false;
    this.closing.abort(closedError());
    this.unregisterBodies();
    this.wake?.();
    await this.loop;
    await this.running?.catch(() => undefined);
    await Promise.allSettled(this.fetching.values());
    if (engines.get(this.coffer) === this) engines.delete(this.coffer);
  }

  // --- Lazy bodies ---

  /**
   * Fetch the bytes of a file pulled with `bodies: 'lazy'` into chunked storage, verify their
   * md5 and make the file readable; nothing to do when it is readable already. Concurrent calls
   * for one file share one download. Reads call this through the coffer (`file.blob()`, ...).
   *
   * @throws {BodyUnavailableError} (`offline` when the server cannot be reached, `gone` when it
   *   no longer holds the version, `refused` for another refusal); {@link IntegrityError} when
   *   the bytes do not match their md5 (nothing is kept, the file stays lazy);
   *   {@link NotFoundError} for an unknown file.
   */
  fetchBody(fileId: FileId, options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const running = this.fetching.get(fileId);
    if (running) return running;
    const started = this.fill(fileId, options.signal).finally(() => this.fetching.delete(fileId));
    this.fetching.set(fileId, started);
    return started;
  }

  /**
   * Fetch ahead ("keep offline") the bytes of every version of a record that a lazy pull left
   * on the server, up to `concurrency` at a time.
   *
   * @throws as {@link CofferSync.fetchBody}, for the first file that failed (the others are
   *   fetched all the same).
   */
  async fetchBodies(options: {
    recordId: string;
    signal?: AbortSignal | undefined;
  }): Promise<{ files: number; bytes: number }> {
    const lazy = await this.store.lazyFilesOf(options.recordId as RecordId);
    const done = { files: 0, bytes: 0 };
    const failures: unknown[] = [];
    await inPool(lazy, this.concurrency, async ({ file }) => {
      try {
        await this.fetchBody(file.id, options);
        done.files++;
        done.bytes += file.size;
      } catch (error) {
        failures.push(error);
      }
    });
    if (failures.length > 0) throw failures[0];
    return done;
  }

  private async fill(fileId: FileId, signal: AbortSignal | undefined): Promise<void> {
    const { store } = this;
    const file = await store.file(fileId);
    if (file?.readable) return;
    if (!file?.remote || file.checksum === null) {
      throw new NotFoundError(`File ${fileId} has no bytes here and none on the remote.`, {
        fileId,
        resource: 'file',
      });
    }
    const version = await store.versionOfFile(fileId);
    const context = {
      fileId,
      key: version?.key ?? file.remote.key,
      versionId: version?.versionId ?? file.remote.versionId,
    };
    const run: Run = {
      signal: signal ? anySignal(this.closing.signal, signal) : this.closing.signal,
      attempts: 2,
      report: emptyReport(),
      onProgress: undefined,
      files: { done: 0, total: 1 },
    };
    let content: PulledContent;
    try {
      content = await this.download(run, file.remote, file.size, file.checksum, {
        device: 'remote',
        seq: 0,
        key: context.key,
        versionId: context.versionId,
      });
    } catch (error) {
      if (error instanceof SyncError) {
        throw new BodyUnavailableError(
          `${context.key} (${context.versionId}): the server no longer holds its bytes.`,
          { ...context, reason: 'gone', cause: error },
        );
      }
      if (isOffline(error)) {
        throw new BodyUnavailableError(
          `${context.key} (${context.versionId}) is not on this device, and the server cannot be reached.`,
          { ...context, reason: 'offline', cause: error },
        );
      }
      if (error instanceof RemoteError) {
        throw new BodyUnavailableError(
          `${context.key} (${context.versionId}): the server refused to send its bytes (${error.code}).`,
          { ...context, reason: 'refused', cause: error },
        );
      }
      if (error instanceof IntegrityError) {
        throw new IntegrityError(
          `${context.key} (${context.versionId}): the bytes the server sent do not match their md5; nothing was kept.`,
          { ...context, expected: error.expected, actual: error.actual, cause: error },
        );
      }
      throw error;
    }
    if (content.kind === 'written') await store.fillLazy(fileId, content);
  }

  // --- The run ---

  private async background(): Promise<void> {
    let failures = 0;
    while (this.started && !this.closed) {
      try {
        await this.now();
        failures = 0;
      } catch {
        failures++;
      }
      if (!this.started || this.closed) break;
      const wait = failures === 0 ? this.interval : Math.min(this.interval, this.backoff(failures - 1));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async run(options: SyncNowOptions): Promise<SyncReport> {
    const signal = options.signal ? anySignal(this.closing.signal, options.signal) : this.closing.signal;
    const run: Run = {
      signal,
      report: emptyReport(),
      onProgress: options.onProgress,
      files: { done: 0, total: 0 },
    };
    const errors: unknown[] = [];
    try {
      await this.push(run);
      await this.pull(run, errors);
      if (errors.length > 0) throw errors[0];
      const toGo = await this.store.toGo();
      await this.store.setStatus({
        phase: 'idle',
        filesToGo: toGo.files,
        bytesToGo: toGo.bytes,
        lastSuccess: Date.now(),
        lastErrorCode: null,
        lastErrorMessage: null,
      });
      return run.report;
    } catch (error) {
      const failure = error instanceof CofferError ? error : new CofferError(String(error), { cause: error });
      await this.store
        .setStatus({
          phase: isOffline(error) ? 'offline' : failure instanceof AbortError ? 'idle' : 'error',
          lastErrorCode: failure.code,
          lastErrorMessage: failure.message,
        })
        .catch(() => undefined);
      throw error;
    }
  }

  private backoff(attempt: number, retryAfter?: number): number {
    const ceiling = Math.min(this.retry.maxDelay, this.retry.initialDelay * 2 ** attempt);
    const jittered = ceiling / 2 + Math.random() * (ceiling / 2);
    return retryAfter === undefined
      ? jittered
      : Math.min(this.retry.maxDelay, Math.max(retryAfter, jittered));
  }

  /** One request, retried with backoff while it fails for a reason that may pass. */
  private async call<T>(run: Run, request: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (run.signal?.aborted) throw new AbortError('The sync was aborted.', { cause: run.signal.reason });
      run.report.requests++;
      // Each request gets its own signal, linked to the run's for its duration only: fetch in
      // Node keeps a listener on the signal it is given until the Request is collected, so
      // 50,000 requests on the run's own signal would pile up 50,000 listeners.
      const own = run.signal ? new AbortController() : undefined;
      const forward = () => own?.abort(run.signal?.reason);
      run.signal?.addEventListener('abort', forward, { once: true });
      try {
        return await request(own?.signal);
      } catch (error) {
        if (run.signal?.aborted) throw new AbortError('The sync was aborted.', { cause: run.signal.reason });
        const retryable = error instanceof RemoteError && error.retryable;
        if (!retryable || attempt + 1 >= (run.attempts ?? this.retry.attempts)) throw error;
        // Without network, the wait ends early when it comes back; a 429/503 keeps its Retry-After.
        const offline = error.code === 'REMOTE_UNREACHABLE';
        if (offline) {
          await this.store
            .setStatus({ phase: 'offline', lastErrorCode: error.code, lastErrorMessage: error.message })
            .catch(() => undefined);
        }
        await sleep(this.backoff(attempt, error.retryAfter), run.signal, offline ? 'online' : undefined);
      } finally {
        run.signal?.removeEventListener('abort', forward);
      }
    }
  }

  private progress(run: Run, phase: SyncProgress['phase'], bytes: number) {
    run.onProgress?.({ phase, files: { ...run.files }, bytes });
  }

  // --- Push ---

  private async push(run: Run): Promise<void> {
    const { store } = this;
    const device = await store.deviceId();
    const toGo = await store.toGo();
    run.files = { done: 0, total: toGo.files };
    await store.setStatus({ phase: 'pushing', filesToGo: toGo.files, bytesToGo: toGo.bytes });
    const pending = await store.outbox();
    if (pending) await this.sendEntry(run, pending);
    await store.captureDirty();
    let bytesToGo = toGo.bytes;
    let statusAt = 0;
    const showStatus = () =>
      store.setStatus({ filesToGo: Math.max(0, run.files.total - run.files.done), bytesToGo });
    for (;;) {
      const batch = await store.collectVersions(VERSIONS_PER_ENTRY);
      // Versions of the same bytes go one after the other, so that the later ones find the
      // first on the remote and copy it there.
      const sameBytes = new Map<string, Promise<unknown>>();
      const synced = await inPool(batch.pending, this.concurrency, async (version) => {
        const { row } = version;
        let sync = version.uploaded;
        if (!sync) {
          const same = row.fileId === null ? undefined : `${row.size}:${row.checksum}`;
          const before = same === undefined ? undefined : sameBytes.get(same);
          const uploading = (async () => {
            if (!before) return this.upload(run, version);
            await before.catch(() => undefined);
            // The earlier version of these bytes may be on the remote now: look again.
            return this.upload(run, {
              ...version,
              copy: await this.store.remoteCopy(row.size, row.checksum as string),
            });
          })();
          if (same !== undefined) sameBytes.set(same, uploading);
          sync = await uploading;
          run.report.versionsPushed++;
          bytesToGo = Math.max(0, bytesToGo - row.size);
        }
        run.files.done++;
        if (Date.now() - statusAt >= STATUS_EVERY) {
          statusAt = Date.now();
          await showStatus();
        }
        this.progress(run, 'pushing', run.report.bytesPushed);
        return sync;
      });
      if (batch.pending.length > 0) await showStatus();
      const versionOps = synced.map((sync, i) => versionOp(sync, batch.pending[i]!.row.mimetype));
      const changes: SyncChangeRow[] = [];
      if (batch.done) {
        let chars = versionOps.reduce((n, op) => n + JSON.stringify(op).length, 0);
        for (const change of await store.unpushedChanges(MAX_JOURNAL_OPS - versionOps.length)) {
          const size = JSON.stringify(change.data).length + 200;
          if (changes.length > 0 && chars + size > ENTRY_CHARS) break;
          chars += size;
          changes.push(change);
        }
      }
      if (versionOps.length === 0 && changes.length === 0) {
        await store.advancePushed(batch.scannedTo);
        if (batch.done) break;
        continue;
      }
      const ops = [...versionOps, ...changes.map(recordOp)];
      const row = await store.saveOutbox((seq) => ({
        key: journalKey(device, seq),
        body: JSON.stringify({ format: SYNC_FORMAT, device, seq, ops }),
        versions: batch.pending.map((p) => p.row.versionId),
        changes: changes.map((c) => c.change),
      }));
      await this.sendEntry(run, row, batch.scannedTo);
      run.report.recordsPushed += changes.length;
    }
  }

  /** Send a stored journal entry (the commit point), then mark what it holds as pushed. */
  private async sendEntry(
    run: Run,
    row: { seq: number; key: string; body: string; versions: string[]; changes: string[] },
    pushedSeq?: number,
  ): Promise<void> {
    const body = new Blob([row.body], { type: 'application/json' });
    const md5 = md5Hex(row.body);
    await this.call(run, (signal) =>
      this.remote.putObject(row.key, body, { md5, contentType: 'application/json', signal }),
    );
    await this.store.commitOutbox(row, pushedSeq);
  }

  /** Put one version's bytes (or marker) on the remote and remember where. */
  private async upload(run: Run, pending: PendingVersion): Promise<SyncVersionRow> {
    const { row, recordId } = pending;
    const key = fileKey(recordId, row.key);
    if (row.fileId === null) {
      const marker = await this.call(run, (signal) => this.remote.deleteObject(key, { signal }));
      return this.store.markUploaded(pending, { key, versionId: marker.versionId });
    }
    const checksum = row.checksum as string;
    const md5 = checksum.slice('md5:'.length);
    const { copy } = pending;
    if (copy) {
      const copied = await this.call(run, (signal) => this.remote.copyObject(key, copy, { signal }));
      return this.store.markUploaded(pending, { key, versionId: copied.versionId });
    }
    let stored: RemoteVersion;
    if (row.size > this.threshold) {
      stored = await this.multipart(run, pending, key, md5);
    } else {
      const blob = await this.store.versionBlob(row, 0, row.size, pending.file);
      stored = await this.call(run, (signal) =>
        this.remote.putObject(key, blob, {
          md5,
          contentType: row.mimetype ?? undefined,
          metadata: { md5 },
          signal,
        }),
      );
      run.report.bytesPushed += row.size;
    }
    return this.store.markUploaded(pending, { key, versionId: stored.versionId });
  }

  /**
   * A multipart upload whose state is in IndexedDB: a new session lists the parts the server
   * holds and sends the missing ones. Up to `partsInFlight` parts go at once; each part's md5
   * is computed (one part at a time) while others upload, and the state is saved after every
   * part, in the order the parts finished.
   */
  private async multipart(
    run: Run,
    pending: PendingVersion,
    key: string,
    md5: string,
  ): Promise<RemoteVersion> {
    const { row } = pending;
    const { store, remote } = this;
    let upload = await store.upload(row.versionId);
    if (upload) {
      const known = upload;
      try {
        const listed = await this.call(run, (signal) => remote.listParts(key, known.uploadId, { signal }));
        upload = {
          ...known,
          parts: listed.map(({ partNumber, etag, size }) => ({ partNumber, etag, size })),
        };
        await store.saveUpload(upload);
      } catch (error) {
        if (!(error instanceof RemoteError && error.code === 'REMOTE_NOT_FOUND')) throw error;
        await store.deleteUpload(row.versionId);
        upload = undefined;
      }
    }
    if (!upload) {
      const uploadId = await this.call(run, (signal) =>
        remote.createMultipartUpload(key, {
          md5,
          contentType: row.mimetype ?? undefined,
          metadata: { md5 },
          signal,
        }),
      );
      upload = {
        versionId: row.versionId,
        key,
        uploadId,
        partSize: this.partSize,
        parts: [],
        created: Date.now(),
      };
      await store.saveUpload(upload);
    }
    const current = upload;
    const { uploadId, partSize } = current;
    const count = Math.ceil(row.size / partSize);
    const done = new Map(upload.parts.map((part) => [part.partNumber, part]));
    const bounds = (partNumber: number) => {
      const start = (partNumber - 1) * partSize;
      return { start, end: Math.min(start + partSize, row.size) };
    };
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((partNumber) => {
      const { start, end } = bounds(partNumber);
      return done.get(partNumber)?.size !== end - start;
    });
    const sorted = () => [...done.values()].sort((a, b) => a.partNumber - b.partNumber);
    let saved: Promise<void> = Promise.resolve();
    await inPool(missing, this.partsInFlight, async (partNumber) => {
      const { start, end } = bounds(partNumber);
      const slice = await store.versionBlob(row, start, end);
      const hashed = this.hashing.then(() => this.md5Of(slice, run.signal));
      this.hashing = hashed.catch(() => undefined);
      const partMd5 = await hashed;
      const part = await this.call(run, (signal) =>
        remote.uploadPart(key, uploadId, partNumber, slice, { md5: partMd5, signal }),
      );
      done.set(partNumber, { partNumber, etag: part.etag, size: end - start });
      // Saves go in order, each with every part done when it was queued: the last is the fullest.
      const state = { ...current, parts: sorted() };
      saved = saved.catch(() => undefined).then(() => store.saveUpload(state));
      await saved;
      run.report.bytesPushed += end - start;
      this.progress(run, 'pushing', run.report.bytesPushed);
    });
    const parts = sorted();
    const version = await this.call(run, (signal) =>
      remote.completeMultipartUpload(key, uploadId, parts, { signal }),
    );
    await store.deleteUpload(row.versionId);
    return version;
  }

  /**
   * The md5 of a part, hex, computed by the byte pipeline (in the coffer's worker, where it has
   * one), reading the stored Blob as the ingest does: never whole in memory, off the engine's heap.
   */
  private async md5Of(part: Blob, signal: AbortSignal | undefined): Promise<string> {
    const [outcome] = await this.context.pipeline.hashSources(
      { sources: [part], sha256: false, bytesBelow: 0 },
      { signal },
    );
    if (!outcome) throw new AbortError('The sync was aborted.', { cause: signal?.reason });
    if (!outcome.ok) throw fromWire(outcome.error);
    return outcome.result.checksum.slice('md5:'.length);
  }

  // --- Pull ---

  private async pull(run: Run, errors: unknown[]): Promise<void> {
    const { store } = this;
    const self = await store.deviceId();
    await store.setStatus({ phase: 'pulling' });
    await this.coffer.records.validator.prepare();
    run.files = { done: 0, total: 0 };
    await this.settle(run);
    await this.retryInbox(run);
    const devices: string[] = [];
    for await (const page of this.pages(run, { prefix: JOURNAL_PREFIX, delimiter: '/' })) {
      for (const prefix of page.prefixes) {
        const device = deviceOf(prefix);
        if (device !== undefined && device !== self) devices.push(device);
      }
    }
    const queues: DeviceQueue[] = [];
    for (const device of devices.sort()) {
      const prefix = journalPrefix(device);
      const startAfter = await store.checkpoint(device);
      const keys: DeviceQueue['keys'] = [];
      for await (const page of this.pages(run, { prefix, startAfter })) {
        for (const key of page.keys) {
          const seq = entrySeq(prefix, key);
          if (seq !== undefined) keys.push({ key, seq });
        }
      }
      if (keys.length > 0) queues.push({ device, keys, next: 0, entry: undefined, failed: false });
    }
    const open = () => queues.filter((q) => !q.failed && q.next < q.keys.length);
    while (open().length > 0) {
      let progressed = false;
      for (const queue of open()) {
        while (!queue.failed && queue.next < queue.keys.length) {
          const entry = await this.readEntry(run, queue, errors);
          if (!entry) break;
          const others = open().some((q) => q !== queue);
          if (others && (await this.waitsForOthers(entry))) break;
          await this.applyQueued(run, queue, entry, errors);
          progressed = true;
        }
      }
      if (!progressed) {
        // Every queue waits for a change no journal holds yet: apply the first one as it is.
        const [queue] = open();
        if (queue?.entry) await this.applyQueued(run, queue, queue.entry, errors);
      }
    }
    await this.settle(run);
  }

  /** Move the records that pulled changes to the merge of their leaves. */
  private async settle(run: Run): Promise<void> {
    const settled = await this.store.settle();
    run.report.recordsMerged += settled.merged;
    run.report.conflicts += settled.conflicts;
  }

  /** Every page of a listing. */
  private async *pages(run: Run, options: ListOptions): AsyncGenerator<ListPage> {
    let continuationToken: string | undefined;
    do {
      const page = await this.call(run, (signal) =>
        this.remote.list({ ...options, continuationToken, signal }),
      );
      yield page;
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  /** The queue's next entry, read and checked; `undefined` (and the queue failed) when invalid. */
  private async readEntry(
    run: Run,
    queue: DeviceQueue,
    errors: unknown[],
  ): Promise<JournalEntry | undefined> {
    if (queue.entry) return queue.entry;
    const { key, seq } = queue.keys[queue.next]!;
    const context = { device: queue.device, seq };
    try {
      const text = await this.call(run, async (signal) => {
        const body = await this.remote.getObject(key, { signal });
        return readText(body.stream, MAX_ENTRY_BYTES, context);
      });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (cause) {
        throw new SyncError(`Journal entry ${queue.device}/${seq} is not JSON.`, { ...context, cause });
      }
      const entry = parseJournalEntry(json, context);
      entry.ops.forEach((op, opIndex) => {
        if (op.op === 'version' && op.remote.key !== fileKey(op.recordId, op.key)) {
          throw new SyncError(
            `Journal entry ${queue.device}/${seq}, op ${opIndex}: remote.key is not the key's.`,
            {
              ...context,
              opIndex,
              field: `ops[${opIndex}].remote.key`,
            },
          );
        }
      });
      queue.entry = entry;
      return entry;
    } catch (error) {
      if (!(error instanceof SyncError)) throw error;
      queue.failed = true;
      errors.push(error);
      return undefined;
    }
  }

  /** Whether an entry names a parent change that another device's journal may hold. */
  private async waitsForOthers(entry: JournalEntry): Promise<boolean> {
    const inEntry = new Set<string>();
    for (const op of entry.ops) {
      if (op.op !== 'record') continue;
      for (const parent of op.parents) {
        if (!inEntry.has(parent) && !(await this.store.hasChange(parent))) return true;
      }
      inEntry.add(op.change);
    }
    return false;
  }

  private async applyQueued(
    run: Run,
    queue: DeviceQueue,
    entry: JournalEntry,
    errors: unknown[],
  ): Promise<void> {
    const { key, seq } = queue.keys[queue.next]!;
    try {
      await this.applyEntry(run, queue.device, seq, key, entry);
      queue.next++;
      queue.entry = undefined;
    } catch (error) {
      if (!(error instanceof SyncError || error instanceof IntegrityError)) throw error;
      queue.failed = true;
      errors.push(error);
    }
  }

  /**
   * Fetch the bytes of an entry's new versions (or link identical local ones), verify each md5,
   * then apply the entry in one transaction. On any failure nothing of the entry is visible.
   */
  private async applyEntry(
    run: Run,
    device: string,
    seq: number,
    key: string | undefined,
    entry: Pick<JournalEntry, 'ops'>,
  ): Promise<void> {
    const { store } = this;
    const contents = new Map<string, PulledContent>();
    try {
      const files = entry.ops.filter((op): op is VersionOp => op.op === 'version' && !op.marker);
      const known = await store.knownVersions(files.map((op) => op.versionId));
      // The versions of one entry with the same bytes share one download (or one local file).
      const byBytes = new Map<string, VersionOp[]>();
      for (const op of files) {
        if (known.has(op.versionId)) continue;
        const same = `${op.size}:${op.checksum}`;
        const group = byBytes.get(same);
        if (group) group.push(op);
        else byBytes.set(same, [op]);
      }
      const groups = [...byBytes.values()];
      const linked = await store.linkable(groups.map((group) => group[0] as VersionOp));
      const got = (group: VersionOp[], content: PulledContent) => {
        for (const member of group) contents.set(member.versionId, content);
        if (content.kind === 'written') run.report.bytesPulled += content.size;
        run.files.done++;
        this.progress(run, 'pulling', run.report.bytesPulled);
      };
      const small = this.smallBodies(run, got);
      await inPool(groups, this.concurrency, async (group) => {
        const op = group[0] as VersionOp;
        const checksum = op.checksum as string;
        const local = linked.get(`${op.size}:${checksum}`);
        const context = { device, seq, key: op.key, versionId: op.versionId };
        if (local) got(group, { kind: 'linked', fileId: local });
        else if (this.bodies === 'lazy') {
          // Metadata only: the bytes stay on the server until a first read (fetchBody).
          got(group, { kind: 'lazy', fileId: newId<FileId>(), size: op.size, checksum, remote: op.remote });
        } else if (op.size <= Math.min(SMALL_BODY, this.context.settings.chunkSize)) {
          await small.add(group, await this.getSmall(run, op, context), context);
        } else got(group, await this.download(run, op.remote, op.size, checksum, context));
      });
      await small.flush();
      const applied = await store.applyEntry(device, seq, key, entry.ops, contents);
      run.report.versionsPulled += applied.versions;
      run.report.recordsPulled += applied.records;
    } finally {
      // Bytes of refused ops, or of an entry that failed, never became readable.
      await store.discard(contents.values());
    }
  }

  /**
   * GET the body of a small version ({@link SMALL_BODY}, one chunk) whole, refusing one longer
   * than the op says.
   */
  private async getSmall(run: Run, op: VersionOp, context: PullContext): Promise<Uint8Array<ArrayBuffer>> {
    return this.call(run, async (signal) => {
      const body = await this.remote
        .getObject(op.remote.key, { versionId: op.remote.versionId, signal })
        .catch((error) => {
          throw missingVersion(error, op.remote, context);
        });
      return readAtMost(body.stream, op.size, () =>
        mismatch(context, op.checksum as string, `more than ${op.size} bytes`),
      );
    });
  }

  /**
   * Small pulled bodies, hashed by the byte pipeline and stored (unreadable until the apply) a
   * batch at a time: one pipeline call and one transaction per {@link SMALL_BATCH} bodies
   * instead of a pipeline ingest of two transactions per body. `got` hears of each stored
   * group; a body whose size or md5 differs fails its batch, which then stores nothing.
   */
  private smallBodies(run: Run, got: (group: VersionOp[], content: PulledContent) => void) {
    const { settings, pipeline } = this.context;
    let batch: { group: VersionOp[]; bytes: Uint8Array<ArrayBuffer>; context: PullContext }[] = [];
    let storing: Promise<void> = Promise.resolve();
    const store = async (taken: typeof batch) => {
      const outcomes = await pipeline.hashSources(
        { sources: taken.map(({ bytes }) => new Blob([bytes])), sha256: false, bytesBelow: 0 },
        { signal: run.signal },
      );
      const bodies = taken.map(({ group, bytes, context }, index) => {
        const op = group[0] as VersionOp;
        const outcome = outcomes[index];
        if (!outcome) throw new AbortError('The sync was aborted.', { cause: run.signal?.reason });
        if (!outcome.ok) throw fromWire(outcome.error);
        const { checksum, size } = outcome.result;
        if (checksum !== op.checksum || size !== op.size) {
          throw mismatch(context, op.checksum as string, checksum);
        }
        // Stored as the ingest stores one chunk: inline below `inlineBelow` or without Blobs.
        const data =
          settings.chunkStorage === 'blob' && size >= settings.inlineBelow ? new Blob([bytes]) : bytes.buffer;
        return { fileId: newId<FileId>(), size, data, checksum, group };
      });
      await this.store.stageBodies(bodies, settings.chunkSize);
      for (const { fileId, size, checksum, group } of bodies) {
        got(group, { kind: 'written', fileId, size, checksum });
      }
    };
    const next = (taken: typeof batch) => {
      storing = storing.then(() => store(taken));
      return storing;
    };
    return {
      async add(group: VersionOp[], bytes: Uint8Array<ArrayBuffer>, context: PullContext): Promise<void> {
        batch.push({ group, bytes, context });
        if (batch.length < SMALL_BATCH) return;
        const taken = batch;
        batch = [];
        await next(taken);
      },
      async flush(): Promise<void> {
        const taken = batch;
        batch = [];
        await (taken.length > 0 ? next(taken) : storing);
      },
    };
  }

  /**
   * GET one version into chunked storage through the byte pipeline, then check its md5. A body
   * that fits in one stored Blob chunk (`blobChunkSize`) is stored as one Blob: taken as a Blob
   * where the remote can (a browser's `Response.blob()`) and hashed after, else gathered by the
   * pipeline while it hashes the stream; larger ones, and all where chunks are ArrayBuffers, are
   * streamed chunk by chunk.
   */
  private async download(
    run: Run,
    remote: RemoteVersion,
    size: number,
    checksum: string,
    context: PullContext,
  ): Promise<PulledContent> {
    const { settings, pipeline } = this.context;
    const fileId = newId<FileId>();
    const whole = settings.chunkStorage === 'blob' && size <= (settings.blobChunkSize ?? settings.chunkSize);
    const written = await this.call(run, async (signal) => {
      const body = await this.remote
        .getObject(remote.key, { versionId: remote.versionId, signal })
        .catch((error) => {
          throw missingVersion(error, remote, context);
        });
      return pipeline.ingestFile(
        {
          fileId,
          location: settings.location,
          // The platform's Blob, hashed after the download: in a quiet run (BENCHMARKS.md) this
          // beat hashing the stream while the pipeline gathers it (211.6 against 171.9 MiB/s in
          // the app's sync worker), which moves every byte through JavaScript. Taken only when the
          // server declares the size the journal names (HTTP framing then holds the body to it);
          // any other body streams, and the pipeline stops at the first byte over `expectedSize`
          // instead of storing what a server sends.
          source: whole && body.blob && body.size === size ? await body.blob() : body.stream,
          expectedSize: size,
          chunkSize: settings.chunkSize,
          blobChunkSize: settings.blobChunkSize,
          chunkStorage: settings.chunkStorage,
          inlineBelow: settings.inlineBelow,
          sha256: settings.sha256,
          key: context.key,
        },
        { signal },
      );
    }).catch((error: unknown) => {
      // The server sent more or fewer bytes than the journal names: the body is not that version.
      if (!(error instanceof UnexpectedFileSizeError)) throw error;
      throw new IntegrityError(
        `Version ${context.versionId} of ${context.key} from ${context.device}/${context.seq} is not the ${size} bytes its journal entry names.`,
        {
          key: context.key,
          versionId: context.versionId,
          expected: size,
          actual: error.actual,
          cause: error,
        },
      );
    });
    const content: PulledContent = {
      kind: 'written',
      fileId,
      size: written.size,
      checksum: written.checksum,
    };
    if (written.checksum !== checksum || written.size !== size) {
      await this.store.discard([content]);
      throw mismatch(context, checksum, written.checksum);
    }
    return content;
  }

  /** Retry pulled ops that local rules refused before (a bucket since unlocked, room made). */
  private async retryInbox(run: Run): Promise<void> {
    for (const row of await this.store.inbox()) {
      try {
        await this.applyEntry(run, row.device, row.seq, undefined, {
          ops: [row.op as JournalEntry['ops'][number]],
        });
      } catch (error) {
        if (!(error instanceof IntegrityError || error instanceof SyncError)) throw error;
      }
    }
  }
}

const versionOp = (sync: SyncVersionRow, mimetype: string | null) => ({
  op: 'version',
  recordId: sync.recordId,
  bucketId: sync.bucketId,
  versionId: sync.versionId,
  key: sync.key,
  parents: sync.parents,
  marker: sync.marker === 1,
  size: sync.size,
  checksum: sync.checksum,
  mimetype,
  remote: { key: sync.remoteKey, versionId: sync.remoteVersionId },
});

const recordOp = (change: SyncChangeRow) => ({
  op: 'record',
  recordId: change.recordId,
  bucketId: change.bucketId,
  change: change.change,
  parents: change.parents,
  deleted: change.deleted === 1,
  data: change.data,
});

/** Where a pulled body comes from, for its errors. */
interface PullContext {
  device: string;
  seq: number;
  key: string;
  versionId: string;
}

/** The error for a pulled body the server does not hold (a `SyncError`), or `error` itself. */
function missingVersion(error: unknown, remote: RemoteVersion, context: PullContext): unknown {
  if (!(error instanceof RemoteError && error.code === 'REMOTE_NOT_FOUND')) return error;
  return new SyncError(
    `Journal entry ${context.device}/${context.seq} names version ${remote.versionId} of ${remote.key}, which the server does not hold.`,
    {
      device: context.device,
      seq: context.seq,
      key: context.key,
      versionId: context.versionId,
      cause: error,
    },
  );
}

/** The error for a pulled body that is not the one its op names. */
const mismatch = (context: PullContext, expected: string, actual: string) =>
  new IntegrityError(
    `Version ${context.versionId} of ${context.key} from ${context.device}/${context.seq} does not match its md5.`,
    { key: context.key, versionId: context.versionId, expected, actual },
  );

const closedError = () => new AbortError('This sync is closed.');

/**
 * Refuse a `bodies` option other than `'eager'` or `'lazy'` (also before a remote that names
 * one is stored).
 *
 * @throws {InvalidArgumentError}
 * @internal
 */
export function checkBodies(bodies: unknown): void {
  if (bodies === undefined || bodies === 'eager' || bodies === 'lazy') return;
  throw new InvalidArgumentError("bodies must be 'eager' or 'lazy'.", { actual: bodies, argument: 'bodies' });
}

/**
 * Sync `coffer` with a remote (a versioned S3 bucket through `S3Remote`). One sync per coffer:
 * close it before opening another.
 *
 * This is `openSync` from `@coffer/core/sync`, not the issue's `coffer.sync`, so that bundles
 * that never sync carry none of it (S3 signing, XML, the engine).
 *
 * @throws {SyncAlreadyOpenError} (`SYNC_OPEN`) when the coffer has an open sync;
 *   {@link InvalidArgumentError} for a part size under 5 MiB or a threshold under it.
 * @example
 * ```ts
 * const sync = openSync(coffer, { remote: new S3Remote({ endpoint, bucket, region, credentials }) });
 * await sync.now();
 * ```
 */
export function openSync(coffer: Coffer, options: SyncOptions): CofferSync {
  const open = engines.get(coffer);
  if (open) {
    throw new SyncAlreadyOpenError('This coffer has an open sync: close it first.');
  }
  const engine = new CofferSync(coffer, options);
  engines.set(coffer, engine);
  return engine;
}
