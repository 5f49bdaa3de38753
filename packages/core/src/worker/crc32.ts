import { createCRC32, type IHasher } from 'hash-wasm';
import { AbortError, throwIfAborted, UnexpectedFileSizeError } from '../errors.js';
import { mapStorageError } from '../storage/map-storage-error.js';
import type { Crc32Request, OperationHooks } from './protocol.js';

/** Hashing gives other tasks a turn (an abort, progress acknowledgements) after this many bytes. */
const YIELD_EVERY = 4 * 1024 * 1024;

/** A hasher of a finished call, kept for the next (instantiating hash-wasm costs a little). */
let spare: IHasher | undefined;

/**
 * The CRC-32 (ZIP's, polynomial 0xedb88320) of each source in turn, as unsigned 32-bit integers,
 * with one progress over all of them. Each source is read as a stream, never whole.
 *
 * @throws {UnexpectedFileSizeError} when a source delivers another number of bytes than its size;
 *   `StorageError` when one cannot be read; {@link AbortError} when `signal` fires.
 */
export async function crc32Sources(
  request: Crc32Request,
  { signal, onProgress }: OperationHooks = {},
): Promise<number[]> {
  const total = request.sources.reduce((sum, source) => sum + source.size, 0);
  const hasher = spare ?? (await createCRC32());
  spare = undefined;
  const crcs: number[] = [];
  let done = 0;
  let yielded = 0;
  try {
    for (const source of request.sources) {
      throwIfAborted(signal);
      hasher.init();
      let read = 0;
      const reader = source.stream().getReader();
      try {
        for (;;) {
          throwIfAborted(signal);
          const { done: ended, value } = await reader.read();
          if (ended) break;
          hasher.update(value);
          read += value.length;
          onProgress?.({ loaded: done + read, total });
          if (done + read - yielded >= YIELD_EVERY) {
            yielded = done + read;
            await nextTask();
          }
        }
      } finally {
        await reader.cancel().catch(() => undefined);
        reader.releaseLock();
      }
      if (read !== source.size) {
        throw new UnexpectedFileSizeError('The source changed while it was read.', {
          expected: source.size,
          actual: read,
        });
      }
      const digest = hasher.digest('binary');
      crcs.push(new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0));
      done += source.size;
    }
    onProgress?.({ loaded: total, total });
    return crcs;
  } catch (error) {
    if (signal?.aborted) throw new AbortError('The CRC-32 was aborted.', { cause: signal.reason });
    throw mapStorageError(error);
  } finally {
    spare = hasher;
  }
}

/** Resolve in a new task (a message to self: no timer clamping). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
