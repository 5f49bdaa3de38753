import { type Coffer, type CofferOptions, openCoffer } from '@coffer/core';
import { createMD5 } from 'hash-wasm';

/** Bytes in a mebibyte. */
export const MiB = 1024 * 1024;

/** A coffer on a fresh database (in the worker unless told otherwise). */
export const freshCoffer = (options: Partial<CofferOptions> = {}): Promise<Coffer> =>
  openCoffer({ name: `worker-test-${crypto.randomUUID()}`, ...options });

/** Close a coffer and delete its database. */
export async function dispose(coffer: Coffer): Promise<void> {
  coffer.close();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(coffer.name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** Random bytes of `size`, as a Blob, with their md5 computed here as the reference. */
export async function randomFile(
  size: number,
  type = 'application/octet-stream',
): Promise<{ blob: Blob; md5: string }> {
  const md5 = await createMD5();
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (let offset = 0; offset < size; offset += MiB) {
    const part = new Uint8Array(Math.min(MiB, size - offset));
    for (let at = 0; at < part.length; at += 65536) crypto.getRandomValues(part.subarray(at, at + 65536));
    md5.update(part);
    parts.push(part);
  }
  return { blob: new Blob(parts, { type }), md5: `md5:${md5.digest('hex')}` };
}

/** The md5 of a Blob, read as a stream. */
export async function md5Of(blob: Blob): Promise<string> {
  const md5 = await createMD5();
  const reader = blob.stream().getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) md5.update(next.value);
  return `md5:${md5.digest('hex')}`;
}

/** Every way the main thread could read a Blob's bytes. */
const blobReads = [
  [Blob.prototype, 'arrayBuffer'],
  [Blob.prototype, 'stream'],
  [Blob.prototype, 'text'],
  [Blob.prototype, 'bytes'],
  [FileReader.prototype, 'readAsArrayBuffer'],
  [FileReader.prototype, 'readAsBinaryString'],
  [FileReader.prototype, 'readAsDataURL'],
  [FileReader.prototype, 'readAsText'],
  [Response.prototype, 'arrayBuffer'],
  [Response.prototype, 'blob'],
] as const;

/**
 * Count the calls, on this thread, of every method that reads a Blob's bytes while `run`
 * runs. The methods keep working; they are only counted.
 */
export async function countBlobReads(run: () => Promise<unknown>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const originals = blobReads.map(([target, method]) => {
    const original = (target as unknown as Record<string, (...args: unknown[]) => unknown>)[method]!;
    const name = `${target.constructor.name}.${method}`;
    Object.defineProperty(target, method, {
      configurable: true,
      writable: true,
      value(this: unknown, ...args: unknown[]) {
        counts[name] = (counts[name] ?? 0) + 1;
        return original.apply(this, args);
      },
    });
    return () =>
      Object.defineProperty(target, method, { configurable: true, writable: true, value: original });
  });
  try {
    await run();
  } finally {
    for (const restore of originals) restore();
  }
  return counts;
}

/** Counts the workers started and terminated while installed in place of the global `Worker`. */
export function countWorkers(): { started: number; terminated: number; restore(): void } {
  const Original = globalThis.Worker;
  const counts = {
    started: 0,
    terminated: 0,
    restore: () => {
      globalThis.Worker = Original;
    },
  };
  globalThis.Worker = class extends Original {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      counts.started++;
    }
    override terminate(): void {
      counts.terminated++;
      super.terminate();
    }
  };
  return counts;
}
