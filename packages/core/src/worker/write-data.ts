import { createMD5, createSHA256, type IHasher } from 'hash-wasm';
import { AbortError, InvalidArgumentError, throwIfAborted, UnexpectedFileSizeError } from '../errors.js';
import type { FileId } from '../ids.js';
import { sizeLimitError } from '../model/limits.js';
import { deleteData, putChunks, readStream } from '../storage/chunks.js';
import { mapStorageError } from '../storage/map-storage-error.js';
import { writableFileRow } from '../storage/rows.js';
import type { ChunkRow, CofferDb } from '../storage/schema.js';
import type {
  ByteSource,
  DigestRequest,
  HashOutcome,
  HashRequest,
  IngestFileRequest,
  OperationHooks,
  WriteDataRequest,
  WriteResult,
  WriteSettings,
} from './protocol.js';
import { toWire } from './transfer.js';

/** One chunk's worth of a source: a Blob slice (no bytes read yet) or bytes in memory. */
type SourceChunk = Blob | Uint8Array;

const MiB = 1024 * 1024;

/**
 * Knobs of the write path. The defaults are the ones `bench/` measured best (see
 * BENCHMARKS.md); a request may carry `tuning` to override them, for the benchmarks only.
 */
export interface WriteTuning {
  /**
   * Chunks stored as Blob slices of a Blob source are grouped into one transaction up to this
   * many bytes (a slice is a handle: grouping costs no memory). Chunks held as bytes in memory
   * always go one per transaction, so that at most two are in memory.
   */
  txBytes: number;
  /** Touch the file's heartbeat at most once per this many milliseconds (0: with every chunk). */
  heartbeatMs: number;
  /**
   * How the digests read a Blob source stored as Blob chunks: each chunk as a stream, each
   * chunk as one `arrayBuffer()`, or the whole source as one stream while the chunks (handles)
   * are written.
   */
  hashRead: 'stream' | 'buffer' | 'whole';
}

export const defaultTuning: WriteTuning = { txBytes: 32 * MiB, heartbeatMs: 1000, hashRead: 'whole' };

/**
 * The bytes per stored chunk of `source` written with `settings`: `blobChunkSize` for a Blob
 * source stored as Blob chunks (slices are handles, so their size costs no memory), else
 * `chunkSize`.
 */
export const storedChunkSize = (settings: WriteSettings, source: unknown): number =>
  source instanceof Blob && settings.chunkStorage === 'blob'
    ? (settings.blobChunkSize ?? settings.chunkSize)
    : settings.chunkSize;

/** Cut a source into chunks of `chunkSize` bytes (the last may be shorter). */
async function* chunksOf(source: ByteSource, chunkSize: number): AsyncGenerator<SourceChunk> {
  if (source instanceof Blob) {
    for (let offset = 0; offset < source.size; offset += chunkSize) {
      yield source.slice(offset, offset + chunkSize);
    }
    return;
  }
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    for (let offset = 0; offset < bytes.length; offset += chunkSize) {
      yield bytes.subarray(offset, offset + chunkSize);
    }
    return;
  }
  const reader = source.getReader();
  let buffer = new Uint8Array(chunkSize);
  let filled = 0;
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      if (!(value instanceof Uint8Array)) {
        throw Object.assign(new InvalidArgumentError('A source stream must deliver Uint8Array chunks.'), {
          argument: 'source',
        });
      }
      for (let at = 0; at < value.length; ) {
        const take = Math.min(chunkSize - filled, value.length - at);
        buffer.set(value.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === chunkSize) {
          yield buffer;
          buffer = new Uint8Array(chunkSize);
          filled = 0;
        }
      }
    }
    if (filled > 0) yield buffer.subarray(0, filled);
  } catch (error) {
    ended = true;
    await reader.cancel(error).catch(() => undefined);
    throw error;
  } finally {
    // The consumer stopped early (a size limit, an abort, a failed chunk write): tell the
    // source to stop producing.
    if (!ended) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** Check the source's type, and its size where it is known before reading. */
export function sourceSize(source: unknown): number | undefined {
  if (source instanceof Blob) return source.size;
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) return source.byteLength;
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) return undefined;
  throw Object.assign(
    new InvalidArgumentError('A source must be a Blob, File, ArrayBuffer, Uint8Array or ReadableStream.', {
      actual: Object.prototype.toString.call(source),
    }),
    { argument: 'source' },
  );
}

class Digests {
  private constructor(
    private readonly md5: IHasher,
    private readonly sha256: IHasher | null,
  ) {}

  static async create(sha256: boolean): Promise<Digests> {
    return new Digests(await createMD5(), sha256 ? await createSHA256() : null);
  }

  /** Start over, for the next source. */
  reset(): void {
    this.md5.init();
    this.sha256?.init();
  }

  update(bytes: Uint8Array): void {
    this.md5.update(bytes);
    this.sha256?.update(bytes);
  }

  async updateFrom(
    blob: Blob,
    signal: AbortSignal | undefined,
    read: WriteTuning['hashRead'] = 'stream',
  ): Promise<void> {
    if (read === 'buffer') {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      throwIfAborted(signal);
      return this.update(bytes);
    }
    const reader = blob.stream().getReader();
    try {
      for (;;) {
        throwIfAborted(signal);
        const { done, value } = await reader.read();
        if (done) return;
        this.update(value);
      }
    } finally {
      reader.releaseLock();
    }
  }

  result(size: number): WriteResult {
    return {
      size,
      checksum: `md5:${this.md5.digest('hex')}`,
      sha256: this.sha256 ? `sha256:${this.sha256.digest('hex')}` : null,
    };
  }
}

/** The digests read a Blob source in slices of this many bytes, one stream each, whatever its chunks. */
const HASH_WINDOW = 32 * MiB;
/** Hashing gives other tasks a turn after this many bytes. */
const YIELD_EVERY = 4 * MiB;

/**
 * A pace for hashing: called with the bytes hashed so far, it returns a turn of the event loop
 * to wait for once every {@link YIELD_EVERY} bytes. This lets messages in (an abort, progress
 * acknowledgements): reads that are already buffered resolve without giving them a turn.
 */
function pacer(): (position: number) => Promise<void> | undefined {
  let yielded = 0;
  return (position) => {
    if (position - yielded < YIELD_EVERY) return undefined;
    yielded = position;
    return yieldToEventLoop();
  };
}

/**
 * Hash `source` into `digests` through one stream per `window` bytes. `beforeRead` runs before
 * each read (to throw on an abort); `afterRead` after each, with the bytes of `source` hashed so
 * far, and what it returns is waited for. Returns the bytes hashed.
 */
async function hashInWindows(
  source: Blob,
  window: number,
  digests: Digests,
  beforeRead: () => void,
  afterRead: (loaded: number) => Promise<void> | undefined,
): Promise<number> {
  let loaded = 0;
  for (let offset = 0; offset < source.size; offset += window) {
    const reader = source
      .slice(offset, offset + window)
      .stream()
      .getReader();
    let ended = false;
    try {
      for (;;) {
        beforeRead();
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        digests.update(value);
        loaded += value.length;
        const wait = afterRead(loaded);
        if (wait) await wait;
      }
    } finally {
      if (!ended) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  }
  return loaded;
}

/** Resolve in a new task (a message to self: no timer clamping). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      channel.port2.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Writes chunk rows in order, one transaction at a time. A transaction takes every row queued
 * while the one before it ran, up to `txBytes` (at least one row), so that writes start as
 * soon as a chunk is known and group only when IndexedDB is the slower side.
 */
class ChunkWriter {
  private readonly queue: { row: ChunkRow; inMemory: boolean }[] = [];
  /** Queued rows that hold bytes in memory (not Blob handles). */
  private queuedInMemory = 0;
  private running: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private stopped = false;
  private lastBeat = Number.NEGATIVE_INFINITY;
  private wake: (() => void) | undefined;

  constructor(
    private readonly db: CofferDb,
    private readonly tuning: WriteTuning,
    private readonly heartbeat: FileId | undefined,
  ) {}

  add(row: ChunkRow, inMemory: boolean): void {
    this.queue.push({ row, inMemory });
    if (inMemory) this.queuedInMemory++;
    this.next();
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /**
   * Wait until no row holding bytes is queued (`all` false), or until every row is written
   * (`all` true). Throws the failure of a write.
   */
  async settled(all: boolean): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      if (all ? !this.running && this.queue.length === 0 : this.queuedInMemory === 0) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Drop the queued rows and wait for the running transaction. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    this.queuedInMemory = 0;
    await this.running?.catch(() => undefined);
  }

  private next(): void {
    if (this.running || this.failure || this.stopped || this.queue.length === 0) return;
    let bytes = 0;
    let take = 0;
    while (
      take < this.queue.length &&
      (take === 0 || bytes + this.queue[take]!.row.size <= this.tuning.txBytes)
    ) {
      bytes += this.queue[take]!.row.size;
      take++;
    }
    const taken = this.queue.splice(0, take);
    for (const { inMemory } of taken) if (inMemory) this.queuedInMemory--;
    this.running = putChunks(
      this.db,
      taken.map(({ row }) => row),
      this.beat(),
    ).then(
      () => {
        this.running = undefined;
        this.next();
        this.notify();
      },
      (error: unknown) => {
        this.running = undefined;
        this.failure = { error };
        this.notify();
      },
    );
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The heartbeat to touch in the transaction starting now, if one is due. */
  private beat(): FileId | undefined {
    if (this.heartbeat === undefined) return undefined;
    const now = Date.now();
    if (now - this.lastBeat < this.tuning.heartbeatMs) return undefined;
    this.lastBeat = now;
    return this.heartbeat;
  }
}

/**
 * Write a source as chunks under `dataId`, hashing it in the same pass. The write of chunk n
 * overlaps the hashing of chunk n and the reading of chunk n + 1. On failure the chunks
 * written so far are deleted (or left to garbage collection if even that fails).
 */
export async function writeData(
  db: CofferDb,
  request: WriteDataRequest,
  { signal, onProgress }: OperationHooks = {},
): Promise<WriteResult> {
  const total = sourceSize(request.source);
  const context = {
    bucketId: request.bucketId ?? '',
    ...(request.key === undefined ? {} : { key: request.key }),
  };
  const checkSize = (loaded: number) => {
    if (request.sizeLimit && loaded > request.sizeLimit.limit)
      throw sizeLimitError(request.sizeLimit, loaded, context);
    if (request.expectedSize !== undefined && loaded > request.expectedSize) {
      throw new UnexpectedFileSizeError('The source is bigger than expected.', {
        ...context,
        expected: request.expectedSize,
        actual: loaded,
      });
    }
  };
  if (total !== undefined) checkSize(total);

  const tuning: WriteTuning = { ...defaultTuning, ...(request as { tuning?: Partial<WriteTuning> }).tuning };
  const writer = new ChunkWriter(db, tuning, request.heartbeat);
  const source = request.source;
  const chunkSize = storedChunkSize(request, source);
  try {
    throwIfAborted(signal);
    const digests = await Digests.create(request.sha256);
    let loaded = 0;
    const whole = source instanceof Blob && request.chunkStorage === 'blob' && tuning.hashRead === 'whole';
    if (whole) {
      // Every chunk is a slice (a handle), known before any byte is read: the writer stores
      // them while the digests read the source in windows of one stream each.
      for (let offset = 0; offset < source.size; offset += chunkSize) {
        const slice = source.slice(offset, offset + chunkSize);
        const data = slice.size >= request.inlineBelow ? slice : await slice.arrayBuffer();
        writer.add({ dataId: request.dataId, offset, size: slice.size, data }, false);
      }
      const pace = pacer();
      loaded = await hashInWindows(
        source,
        HASH_WINDOW,
        digests,
        () => {
          throwIfAborted(signal);
          writer.throwIfFailed();
        },
        (read) => {
          onProgress?.({ loaded: read, total });
          return pace(read);
        },
      );
      if (loaded !== source.size) {
        // The slices stored and the bytes hashed must be the same bytes.
        throw new UnexpectedFileSizeError('The source changed while it was read.', {
          ...context,
          expected: source.size,
          actual: loaded,
        });
      }
    }
    for await (const chunk of whole ? [] : chunksOf(source, chunkSize)) {
      throwIfAborted(signal);
      writer.throwIfFailed();
      const offset = loaded;
      const size = chunk instanceof Blob ? chunk.size : chunk.length;
      checkSize(offset + size);
      let data: Blob | ArrayBuffer;
      let bytes: Uint8Array | undefined;
      if (chunk instanceof Blob && request.chunkStorage === 'blob' && size >= request.inlineBelow) {
        // The slice goes to IndexedDB as a handle, so its bytes never enter this heap to be
        // stored; they are read once, for the digests, while IndexedDB copies them.
        data = chunk;
      } else {
        bytes = chunk instanceof Blob ? new Uint8Array(await chunk.arrayBuffer()) : chunk;
        // A view would store its whole underlying buffer (dexie#665): copy out exactly these bytes.
        data =
          request.chunkStorage === 'blob' && size >= request.inlineBelow
            ? new Blob([bytes as Uint8Array<ArrayBuffer>])
            : bytes.slice().buffer;
      }
      // The chunk is written while it (and the next ones) are hashed.
      writer.add({ dataId: request.dataId, offset, size, data }, bytes !== undefined);
      if (bytes) digests.update(bytes);
      else await digests.updateFrom(chunk as Blob, signal, tuning.hashRead);
      // Bytes in memory: wait until this chunk's write has started before reading the next,
      // so that memory holds two chunks at most. Slices are handles, and never wait here.
      await writer.settled(false);
      loaded += size;
      onProgress?.({ loaded, total });
    }
    await writer.settled(true);
    if (request.expectedSize !== undefined && loaded !== request.expectedSize) {
      throw new UnexpectedFileSizeError('The source is smaller than expected.', {
        ...context,
        expected: request.expectedSize,
        actual: loaded,
      });
    }
    if (total === undefined || loaded === 0) onProgress?.({ loaded, total: loaded });
    return digests.result(loaded);
  } catch (error) {
    await writer.stop();
    await deleteData(db, [request.dataId]).catch(() => undefined);
    throw signal?.aborted
      ? new AbortError('The write was aborted.', { cause: signal.reason })
      : mapStorageError(error);
  }
}

/**
 * Invenio's file-instance state machine, first half: create the file instance writable and
 * unreadable, then stream the bytes into it. The caller's commit makes it readable. On failure
 * the file instance and its chunks are removed.
 */
export async function ingestFile(
  db: CofferDb,
  request: IngestFileRequest,
  hooks: OperationHooks = {},
): Promise<WriteResult> {
  await db.files.add(
    writableFileRow({
      id: request.fileId,
      location: request.location,
      size: 0,
      extents: [{ dataId: request.fileId, size: 0, chunkSize: storedChunkSize(request, request.source) }],
    }),
  );
  try {
    return await writeData(db, { ...request, dataId: request.fileId, heartbeat: request.fileId }, hooks);
  } catch (error) {
    await db.files.delete(request.fileId).catch(() => undefined);
    throw error;
  }
}

/** Read stored bytes back (with {@link readStream}: windows of chunks) and digest them. */
export async function digestData(
  db: CofferDb,
  request: DigestRequest,
  { signal, onProgress }: OperationHooks = {},
): Promise<WriteResult> {
  const total = request.extents.reduce((sum, e) => sum + e.size, 0);
  const digests = await Digests.create(request.sha256);
  let loaded = 0;
  const reader = readStream(db, request.extents, 0, total).getReader();
  try {
    for (;;) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      if (done) break;
      digests.update(value);
      loaded += value.length;
      onProgress?.({ loaded, total });
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
  return digests.result(loaded);
}

/**
 * Digest Blob sources one after the other, without storing them (the caller stores each as one
 * stored Blob meanwhile). A source is read in windows of one stream each, giving other tasks a
 * turn every few MiB; one under `bytesBelow` is read at once and its bytes sent back, to be
 * stored inline. A source that cannot be read fails alone; an abort fails the call.
 */
export async function hashSources(
  request: HashRequest,
  { signal, onProgress }: OperationHooks = {},
): Promise<HashOutcome[]> {
  const total = request.sources.reduce((sum, source) => sum + source.size, 0);
  const digests = spareDigests.get(request.sha256)?.pop() ?? (await Digests.create(request.sha256));
  try {
    return await hashEach(request, digests, total, { signal, onProgress });
  } finally {
    spareDigests.get(request.sha256)?.push(digests);
  }
}

/** Hashers of finished calls, kept for the next (instantiating hash-wasm costs a little each time). */
const spareDigests = new Map<boolean, Digests[]>([
  [false, []],
  [true, []],
]);

/** Sources up to this size are read with one `arrayBuffer()` (one round trip to the blob store). */
const READ_AT_ONCE = 4 * MiB;

async function hashEach(
  request: HashRequest,
  digests: Digests,
  total: number,
  { signal, onProgress }: OperationHooks,
): Promise<HashOutcome[]> {
  const outcomes: HashOutcome[] = [];
  const read = smallReads(request.sources, request.bytesBelow);
  let done = 0;
  const pace = pacer();
  for (const [index, source] of request.sources.entries()) {
    throwIfAborted(signal);
    digests.reset();
    let loaded = 0;
    try {
      if (!(source instanceof Blob)) throw sourceTypeError(source);
      let bytes: ArrayBuffer | undefined;
      if (source.size < request.bytesBelow) {
        bytes = await read(index);
        digests.update(new Uint8Array(bytes));
        loaded = bytes.byteLength;
      } else if (source.size <= READ_AT_ONCE) {
        const whole = new Uint8Array(await source.arrayBuffer());
        throwIfAborted(signal);
        digests.update(whole);
        loaded = whole.length;
      } else {
        loaded = await hashInWindows(
          source,
          HASH_WINDOW,
          digests,
          () => throwIfAborted(signal),
          (read) => {
            onProgress?.({ loaded: done + read, total });
            return pace(done + read);
          },
        );
      }
      if (loaded !== source.size) {
        throw new UnexpectedFileSizeError('The source changed while it was read.', {
          expected: source.size,
          actual: loaded,
        });
      }
      outcomes.push({ ok: true, result: digests.result(loaded), bytes });
    } catch (error) {
      if (signal?.aborted) throw new AbortError('The write was aborted.', { cause: signal.reason });
      outcomes.push({ ok: false, error: toWire(mapStorageError(error)) });
    }
    done += source.size;
    if (source.size <= READ_AT_ONCE) onProgress?.({ loaded: done, total });
  }
  return outcomes;
}

/** Small sources are read together, this many bytes at a time at most. */
const SMALL_READ_BYTES = 8 * MiB;

/**
 * The bytes of source `index` (smaller than `below`): runs of small sources are read as one
 * composed Blob (one read instead of one per source, each a round trip to the browser's blob
 * store) and cut apart. If a run cannot be read whole, each of its sources is read alone, so
 * that only the unreadable one fails.
 */
function smallReads(sources: readonly Blob[], below: number): (index: number) => Promise<ArrayBuffer> {
  const runs = new Map<number, { start: number; end: number; bytes: Promise<ArrayBuffer | undefined> }>();
  return async (index) => {
    let run = runs.get(index);
    if (!run) {
      let end = index;
      let size = 0;
      while (
        end < sources.length &&
        sources[end] instanceof Blob &&
        sources[end]!.size < below &&
        (end === index || size + sources[end]!.size <= SMALL_READ_BYTES)
      ) {
        size += sources[end]!.size;
        end++;
      }
      const bytes =
        end - index > 1
          ? new Blob(sources.slice(index, end)).arrayBuffer().catch(() => undefined)
          : undefined;
      run = { start: index, end, bytes: Promise.resolve(bytes) };
      for (let i = index; i < end; i++) runs.set(i, run);
    }
    runs.delete(index);
    const whole = await run.bytes;
    if (!whole) return sources[index]!.arrayBuffer();
    let offset = 0;
    for (let i = run.start; i < index; i++) offset += sources[i]!.size;
    return whole.slice(offset, offset + sources[index]!.size);
  };
}

const sourceTypeError = (source: unknown) =>
  Object.assign(
    new InvalidArgumentError('A source must be a Blob, File, ArrayBuffer, Uint8Array or ReadableStream.', {
      actual: Object.prototype.toString.call(source),
    }),
    { argument: 'source' },
  );
