import { createMD5, createSHA256, type IHasher } from 'hash-wasm';
import { AbortError, InvalidArgumentError, throwIfAborted, UnexpectedFileSizeError } from '../errors.js';
import type { FileId } from '../ids.js';
import { sizeLimitError } from '../model/limits.js';
import { deleteData, putChunks, readStream } from '../storage/chunks.js';
import { mapStorageError } from '../storage/map-storage-error.js';
import { writableFileRow } from '../storage/rows.js';
import type { ChunkRow, CofferDb } from '../storage/schema.js';
import { pieceReader } from './pieces.js';
import type {
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
 * Whether a stream source is gathered whole into one stored Blob while it is hashed: with Blob
 * chunks, when its size is known beforehand (`expectedSize`, which the write then holds it to),
 * fits in one stored Blob chunk (`blobChunkSize`) and is not stored inline, and where the
 * platform gathers a stream into a Blob outside the JS heap (`Response.blob()`).
 */
const gathersWhole = (
  settings: WriteSettings & { expectedSize?: number | undefined },
  source: unknown,
): settings is WriteSettings & { expectedSize: number } =>
  typeof ReadableStream !== 'undefined' &&
  source instanceof ReadableStream &&
  typeof Response !== 'undefined' &&
  settings.chunkStorage === 'blob' &&
  settings.expectedSize !== undefined &&
  settings.expectedSize > 0 &&
  settings.expectedSize >= settings.inlineBelow &&
  settings.expectedSize <= (settings.blobChunkSize ?? settings.chunkSize);

/**
 * The bytes per stored chunk of `source` written with `settings`: `blobChunkSize` for a Blob
 * source stored as Blob chunks (slices are handles, so their size costs no memory) and for a
 * stream gathered whole (see {@link gathersWhole}), else `chunkSize`.
 */
export const storedChunkSize = (
  settings: WriteSettings & { expectedSize?: number | undefined },
  source: unknown,
): number =>
  (source instanceof Blob && settings.chunkStorage === 'blob') || gathersWhole(settings, source)
    ? (settings.blobChunkSize ?? settings.chunkSize)
    : settings.chunkSize;

/** Cut a Blob or bytes in memory into chunks of `chunkSize` bytes (the last may be shorter). */
function* chunksOf(source: Blob | ArrayBuffer | Uint8Array, chunkSize: number): Generator<SourceChunk> {
  if (source instanceof Blob) {
    for (let offset = 0; offset < source.size; offset += chunkSize) {
      yield source.slice(offset, offset + chunkSize);
    }
    return;
  }
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    yield bytes.subarray(offset, offset + chunkSize);
  }
}

/** The pieces of a stream as they arrive, each checked to be bytes. */
async function* piecesOf(source: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = source.getReader();
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        return;
      }
      if (!(value instanceof Uint8Array)) {
        throw new InvalidArgumentError('A source stream must deliver Uint8Array chunks.', {
          argument: 'source',
        });
      }
      yield value;
    }
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

/** The error for a source of a type the pipeline does not read. */
const sourceTypeError = (source: unknown) =>
  new InvalidArgumentError('A source must be a Blob, File, ArrayBuffer, Uint8Array or ReadableStream.', {
    actual: Object.prototype.toString.call(source),
    argument: 'source',
  });

/** Check the source's type, and its size where it is known before reading. */
export function sourceSize(source: unknown): number | undefined {
  if (source instanceof Blob) return source.size;
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) return source.byteLength;
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) return undefined;
  throw sourceTypeError(source);
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
 * soon as a chunk is known and group only when IndexedDB is the slower side. Rows added as
 * `held` (bytes in memory, or a Blob built from a stream's bytes) are counted until written,
 * so that the caller can wait for them with {@link ChunkWriter.drained} before reading on.
 */
class ChunkWriter {
  private readonly queue: { row: ChunkRow; held: boolean }[] = [];
  /** Held rows queued or in the running transaction. */
  private held = 0;
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

  add(row: ChunkRow, held: boolean): void {
    this.queue.push({ row, held });
    if (held) this.held++;
    this.next();
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Wait until at most `limit` held rows are not yet written. Throws the failure of a write. */
  async drained(limit: number): Promise<void> {
    await this.until(() => this.held <= limit);
  }

  /** Wait until every row is written. Throws the failure of a write. */
  async settled(): Promise<void> {
    await this.until(() => !this.running && this.queue.length === 0);
  }

  /** Drop the queued rows and wait for the running transaction. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    this.held = 0;
    await this.running?.catch(() => undefined);
  }

  private async until(done: () => boolean): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      if (done()) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
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
    const held = taken.filter((entry) => entry.held).length;
    this.running = putChunks(
      this.db,
      taken.map(({ row }) => row),
      this.beat(),
    ).then(
      () => {
        this.running = undefined;
        if (!this.stopped) this.held -= held;
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
 * A stream's bytes are gathered into one Blob every this many bytes: creating a Blob copies them
 * out of the JS heap, so the heap holds about this much of a stream whatever the chunk size.
 */
const STREAM_GROUP = 2 * MiB;
/** Chunks of a stream not yet written, at most, while the next one is read. */
const STREAM_PENDING = 1;

/** Assembles one chunk at a time from a stream's pieces, and hashes the bytes it keeps. */
interface ChunkBuilder {
  /** Bytes added since the last `take()`. */
  readonly size: number;
  add(piece: Uint8Array): void;
  /** The chunk's data, to store, and a fresh start for the next chunk. */
  take(): Blob | ArrayBuffer;
}

/**
 * For Blob chunks: pieces are copied into one reused buffer of {@link STREAM_GROUP} bytes (or
 * `inlineBelow`, if larger); a full buffer is hashed and turned into a Blob (which copies the
 * bytes out of the JS heap), and a chunk is a Blob of those Blobs. No chunk-sized buffer exists,
 * and the digests read the same copy that is stored. A chunk under `inlineBelow` (a short last
 * one) never filled the buffer, and is stored as its bytes.
 */
class BlobChunkBuilder implements ChunkBuilder {
  size = 0;
  private readonly capacity: number;
  private group: Uint8Array<ArrayBuffer> | undefined;
  private filled = 0;
  private groups: Blob[] = [];

  constructor(
    private readonly digests: Digests,
    private readonly inlineBelow: number,
  ) {
    this.capacity = Math.max(STREAM_GROUP, inlineBelow);
  }

  add(piece: Uint8Array): void {
    this.group ??= new Uint8Array(this.capacity);
    for (let at = 0; at < piece.length; ) {
      const take = Math.min(this.capacity - this.filled, piece.length - at);
      this.group.set(take === piece.length ? piece : piece.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.capacity) this.seal();
    }
    this.size += piece.length;
  }

  take(): Blob | ArrayBuffer {
    const size = this.size;
    this.size = 0;
    if (size < this.inlineBelow) {
      const bytes = (this.group ?? new Uint8Array(0)).slice(0, this.filled);
      this.filled = 0;
      this.digests.update(bytes);
      return bytes.buffer;
    }
    if (this.filled > 0) this.seal();
    const chunk = new Blob(this.groups);
    this.groups = [];
    return chunk;
  }

  private seal(): void {
    const bytes = this.group!.subarray(0, this.filled);
    this.digests.update(bytes);
    this.groups.push(new Blob([bytes]));
    this.filled = 0;
  }
}

/**
 * For ArrayBuffer chunks (or chunks all under `inlineBelow`): each piece is copied into the
 * chunk's buffer as it arrives and the copy hashed; a full buffer is stored as it is.
 */
class BufferChunkBuilder implements ChunkBuilder {
  size = 0;
  private buffer: Uint8Array<ArrayBuffer> | undefined;

  constructor(
    private readonly digests: Digests,
    private readonly chunkSize: number,
  ) {}

  add(piece: Uint8Array): void {
    this.buffer ??= new Uint8Array(this.chunkSize);
    this.buffer.set(piece, this.size);
    this.digests.update(this.buffer.subarray(this.size, this.size + piece.length));
    this.size += piece.length;
  }

  take(): ArrayBuffer {
    const buffer = this.buffer ?? new Uint8Array(0);
    const size = this.size;
    this.buffer = undefined;
    this.size = 0;
    return size === buffer.length ? buffer.buffer : buffer.slice(0, size).buffer;
  }
}

/**
 * Write a stream as chunks of `chunkSize` bytes, hashing it as it comes. The next pieces are
 * read while a chunk is written, but the stream waits (backpressure) while the chunk before
 * that is still being written. Returns the bytes written.
 */
async function writeStream(
  source: ReadableStream<Uint8Array>,
  request: WriteDataRequest,
  chunkSize: number,
  {
    digests,
    writer,
    checkSize,
    signal,
    onProgress,
  }: OperationHooks & { digests: Digests; writer: ChunkWriter; checkSize: (loaded: number) => void },
): Promise<number> {
  const chunk: ChunkBuilder =
    request.chunkStorage === 'blob' && chunkSize >= request.inlineBelow
      ? new BlobChunkBuilder(digests, request.inlineBelow)
      : new BufferChunkBuilder(digests, chunkSize);
  const pace = pacer();
  let loaded = 0;
  let reported = 0;
  let offset = 0;
  const report = (bytes: number) => {
    reported = bytes;
    onProgress?.({ loaded: bytes, total: undefined });
  };
  // Sizes are checked, and progress reported, at every chunk (as for other sources), and
  // progress also every STREAM_GROUP bytes within a chunk.
  const store = async () => {
    const size = chunk.size;
    checkSize(offset + size);
    writer.add({ dataId: request.dataId, offset, size, data: chunk.take() }, true);
    offset += size;
    await writer.drained(STREAM_PENDING);
    report(offset);
  };
  for await (const piece of piecesOf(source)) {
    throwIfAborted(signal);
    writer.throwIfFailed();
    for (let at = 0; at < piece.length; ) {
      const take = Math.min(chunkSize - chunk.size, piece.length - at);
      chunk.add(take === piece.length ? piece : piece.subarray(at, at + take));
      at += take;
      if (chunk.size === chunkSize) await store();
    }
    loaded += piece.length;
    if (loaded - reported >= STREAM_GROUP) report(loaded);
    const wait = pace(loaded);
    if (wait) await wait;
  }
  if (chunk.size > 0) await store();
  return loaded;
}

/**
 * Gather a stream into one Blob, hashing it as it comes: one reader loop hashes each piece and
 * hands it on to `Response.blob()`, which copies it out of the JS heap, so the hashing overlaps
 * the download and the heap holds a few pieces at most. The forwarding stream asks for a piece
 * only when the Blob's side has taken the one before (no queue grows). `checkSize` fails it at
 * the first byte over a limit; returns the Blob and the bytes hashed (which the Blob holds,
 * exactly).
 */
async function gatherStream(
  source: ReadableStream<Uint8Array>,
  {
    digests,
    checkSize,
    signal,
    onProgress,
  }: OperationHooks & { digests: Digests; checkSize: (loaded: number) => void },
): Promise<{ blob: Blob; loaded: number }> {
  const reader = pieceReader(source);
  const pace = pacer();
  let loaded = 0;
  let reported = 0;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  const forward = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          throwIfAborted(signal);
          const value = await reader.read();
          if (stopped) return;
          if (value === undefined) return controller.close();
          if (!(value instanceof Uint8Array)) {
            throw new InvalidArgumentError('A source stream must deliver Uint8Array chunks.', {
              argument: 'source',
            });
          }
          checkSize(loaded + value.length);
          digests.update(value);
          loaded += value.length;
          controller.enqueue(value);
          if (loaded - reported >= STREAM_GROUP) {
            reported = loaded;
            onProgress?.({ loaded, total: undefined });
          }
          await pace(loaded);
        } catch (error) {
          failure = { error };
          controller.error(error);
          await reader.cancel(error).catch(() => undefined);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  try {
    const blob = await new Response(forward).blob();
    if (blob.size !== loaded) {
      // The Blob stored and the bytes hashed must be the same bytes.
      throw new UnexpectedFileSizeError('The gathered body differs from the bytes read.', {
        expected: loaded,
        actual: blob.size,
      });
    }
    return { blob, loaded };
  } catch (error) {
    stopped = true;
    await reader.cancel(error).catch(() => undefined);
    throw failure ? failure.error : error;
  } finally {
    reader.releaseLock();
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
  const spare = spareDigests.get(request.sha256);
  let digests: Digests | undefined;
  try {
    throwIfAborted(signal);
    digests = spare?.pop() ?? (await Digests.create(request.sha256));
    digests.reset();
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
    } else if (source instanceof Blob || source instanceof ArrayBuffer || source instanceof Uint8Array) {
      for (const chunk of chunksOf(source, chunkSize)) {
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
        // Bytes in memory: wait until the chunk before this one is written before reading the
        // next, so that memory holds two chunks at most. Slices are handles, and never wait here.
        await writer.drained(1);
        loaded += size;
        onProgress?.({ loaded, total });
      }
    } else if (gathersWhole(request, source)) {
      const gathered = await gatherStream(source, {
        digests,
        checkSize,
        signal,
        onProgress,
      });
      loaded = gathered.loaded;
      // A short body is refused before it is stored.
      if (loaded === request.expectedSize) {
        writer.add({ dataId: request.dataId, offset: 0, size: loaded, data: gathered.blob }, false);
        onProgress?.({ loaded, total: undefined });
      }
    } else {
      loaded = await writeStream(source, request, chunkSize, {
        digests,
        writer,
        checkSize,
        signal,
        onProgress,
      });
    }
    await writer.settled();
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
  } finally {
    if (digests) spare?.push(digests);
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
