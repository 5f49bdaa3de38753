import { proxy, type Remote, transfer, wrap } from 'comlink';
import {
  AbortError,
  InvalidArgumentError,
  InvalidOperationError,
  StorageError,
  throwIfAborted,
} from '../errors.js';
import type { CofferWorkerApi } from './coffer.worker.js';
import { inLargePieces } from './pieces.js';
import type { BytePipeline, ByteSource, OperationHooks } from './protocol.js';
import { installErrorTransfer } from './transfer.js';

/**
 * The source as it should cross to the worker, and what to transfer with it. Bytes that arrive
 * here are the pipeline's to give away: the API copies the caller's array first unless the
 * caller asked to transfer it (`PutOptions.transfer`). An ArrayBuffer is transferred. A
 * Uint8Array's buffer is transferred when the view covers all of it; a view of part of a
 * buffer is copied once, so that the rest of the buffer stays usable. A ReadableStream is
 * transferred, a byte stream (a fetch body) in pieces of 1 MiB. A Blob or File is cloned, which copies a handle, not its bytes.
 */
function prepareSource(source: ByteSource): [ByteSource, Transferable[]] {
  if (source instanceof ArrayBuffer) return [source, [source]];
  if (source instanceof Uint8Array) {
    if (
      source.buffer instanceof ArrayBuffer &&
      source.byteOffset === 0 &&
      source.byteLength === source.buffer.byteLength
    ) {
      return [source, [source.buffer]];
    }
    const copy = source.slice();
    return [copy, [copy.buffer]];
  }
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    // Each piece of a transferred stream crosses as a message of its own: fewer, larger pieces.
    const pieces = inLargePieces(source);
    return [pieces, [pieces]];
  }
  return [source, []];
}

type Operation = 'ingestFile' | 'writeData' | 'hashSources' | 'crc32' | 'digest' | 'exportBag' | 'importBag';

/**
 * The byte pipeline in a Web Worker: the only main-thread code that knows a Worker exists.
 * The worker starts on the first operation and opens its own connection to database `name`;
 * `close()` terminates it and rejects the operations still running with {@link AbortError}.
 * Concurrent operations run interleaved in the worker, each on its own file instance.
 *
 * A progress callback that throws does not stop the write: its error is reported with
 * `reportError`, since it happens on this thread while the write runs on the other.
 */
export function createWorkerPipeline(name: string): BytePipeline {
  let worker: Worker | undefined;
  let remote: Remote<CofferWorkerApi> | undefined;
  let closed = false;
  let lastJob = 0;
  const pending = new Map<number, (error: unknown) => void>();

  const failPending = (error: unknown) => {
    for (const reject of pending.values()) reject(error);
    pending.clear();
  };

  const stop = () => {
    worker?.terminate();
    worker = undefined;
    remote = undefined;
  };

  const start = (): Remote<CofferWorkerApi> => {
    if (remote) return remote;
    installErrorTransfer();
    const started = new Worker(new URL('./coffer.worker.js', import.meta.url), {
      type: 'module',
      name: `coffer:${name}`,
    });
    // A worker that fails to load, or throws outside any operation, would leave the
    // operations' promises unsettled: fail them, and start afresh on the next operation.
    started.addEventListener('error', (event) => {
      const detail = event instanceof ErrorEvent && event.message ? `: ${event.message}` : '';
      failPending(new StorageError(`The Coffer worker failed${detail}.`));
      if (worker === started) stop();
    });
    worker = started;
    remote = wrap<CofferWorkerApi>(started);
    void remote.open(name);
    return remote;
  };

  const call = <O extends Operation>(
    operation: O,
    request: Parameters<BytePipeline[O]>[0],
    { signal, onProgress }: OperationHooks = {},
  ): Promise<Awaited<ReturnType<BytePipeline[O]>>> =>
    new Promise<Awaited<ReturnType<BytePipeline[O]>>>((resolve, reject) => {
      if (closed) throw new InvalidOperationError('The coffer is closed.');
      throwIfAborted(signal);
      const api = start();
      const job = ++lastJob;
      const onAbort = () => void api.abort(job).catch(() => undefined);
      const settle = () => {
        pending.delete(job);
        signal?.removeEventListener('abort', onAbort);
      };
      pending.set(job, (error) => {
        settle();
        reject(error);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      const progress =
        onProgress &&
        proxy((loaded: Parameters<typeof onProgress>[0]) => {
          try {
            onProgress(loaded);
          } catch (error) {
            reportError(error);
          }
        });
      let message: typeof request = request;
      let transfers: Transferable[] = [];
      if ('source' in request) {
        const [source, moved] = prepareSource(request.source);
        message = { ...request, source };
        transfers = moved;
      }
      (api[operation] as unknown as (...args: unknown[]) => Promise<Awaited<ReturnType<BytePipeline[O]>>>)(
        job,
        transfer(message, transfers),
        progress,
      ).then(
        (result) => {
          settle();
          resolve(result);
        },
        (error: unknown) => {
          settle();
          reject(reframe(error, signal));
        },
      );
    });

  return {
    ingestFile: (request, hooks) => call('ingestFile', request, hooks),
    writeData: (request, hooks) => call('writeData', request, hooks),
    hashSources: (request, hooks) => call('hashSources', request, hooks),
    crc32: (request, hooks) => call('crc32', request, hooks),
    digest: (request, hooks) => call('digest', request, hooks),
    exportBag: (request, hooks) => call('exportBag', request, hooks),
    importBag: (request, hooks) => call('importBag', request, hooks),
    close() {
      if (closed) return;
      closed = true;
      failPending(new AbortError('The coffer was closed during the operation.'));
      stop();
    },
  };
}

/** The error to give the caller for what the worker (or posting to it) threw. */
function reframe(error: unknown, signal: AbortSignal | undefined): unknown {
  if (error instanceof AbortError && signal?.aborted) {
    return new AbortError(error.message, { cause: signal.reason });
  }
  if (error instanceof DOMException && error.name === 'DataCloneError') {
    return new InvalidArgumentError(`The source cannot be sent to the worker: ${error.message}`, {
      cause: error,
      argument: 'source',
    });
  }
  return error;
}
