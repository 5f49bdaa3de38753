import { createMD5, createSHA256, type IHasher } from 'hash-wasm';
import { AbortError, InvalidArgumentError, throwIfAborted, UnexpectedFileSizeError } from '../errors.js';
import { sizeLimitError } from '../model/limits.js';
import { deleteData, putChunk, readPieces } from '../storage/chunks.js';
import { mapStorageError } from '../storage/map-storage-error.js';
import type { CofferDb } from '../storage/schema.js';
import type {
  ByteSource,
  DigestRequest,
  IngestFileRequest,
  OperationHooks,
  WriteDataRequest,
  WriteResult,
} from './protocol.js';

/** One chunk's worth of a source: a Blob slice (no bytes read yet) or bytes in memory. */
type SourceChunk = Blob | Uint8Array;

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

  update(bytes: Uint8Array): void {
    this.md5.update(bytes);
    this.sha256?.update(bytes);
  }

  async updateFrom(blob: Blob, signal: AbortSignal | undefined): Promise<void> {
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

  let pendingWrite: Promise<void> = Promise.resolve();
  // The chunk write started but not yet awaited: a failure while hashing must wait for it too,
  // or its chunk could land after the cleanup.
  let writing: Promise<void> | undefined;
  try {
    throwIfAborted(signal);
    const digests = await Digests.create(request.sha256);
    let loaded = 0;
    for await (const chunk of chunksOf(request.source, request.chunkSize)) {
      throwIfAborted(signal);
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
      // Chunk n is written while chunk n and n + 1 are hashed; writes stay in order.
      const write = pendingWrite.then(() =>
        putChunk(db, { dataId: request.dataId, offset, size, data }, request.heartbeat),
      );
      write.catch(() => undefined);
      writing = write;
      if (bytes) digests.update(bytes);
      else await digests.updateFrom(chunk as Blob, signal);
      await pendingWrite;
      pendingWrite = write;
      writing = undefined;
      loaded += size;
      onProgress?.({ loaded, total });
    }
    await pendingWrite;
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
    await pendingWrite.catch(() => undefined);
    await writing?.catch(() => undefined);
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
  const now = Date.now();
  await db.files.add({
    id: request.fileId,
    location: request.location,
    size: 0,
    checksum: null,
    sha256: null,
    readable: 0,
    writable: 1,
    lastCheck: null,
    lastCheckAt: null,
    extents: [{ dataId: request.fileId, size: 0, chunkSize: request.chunkSize }],
    dataIds: [request.fileId],
    created: now,
    updated: now,
  });
  try {
    return await writeData(db, { ...request, dataId: request.fileId, heartbeat: request.fileId }, hooks);
  } catch (error) {
    await db.files.delete(request.fileId).catch(() => undefined);
    throw error;
  }
}

/** Read stored bytes back, one chunk at a time, and digest them. */
export async function digestData(
  db: CofferDb,
  request: DigestRequest,
  { signal, onProgress }: OperationHooks = {},
): Promise<WriteResult> {
  const total = request.extents.reduce((sum, e) => sum + e.size, 0);
  const digests = await Digests.create(request.sha256);
  let loaded = 0;
  for await (const piece of readPieces(db, request.extents, 0, total)) {
    throwIfAborted(signal);
    if (piece instanceof Blob) await digests.updateFrom(piece, signal);
    else digests.update(piece);
    loaded += piece instanceof Blob ? piece.size : piece.length;
    onProgress?.({ loaded, total });
  }
  return digests.result(loaded);
}
