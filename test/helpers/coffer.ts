import { type Coffer, type CofferOptions, openCoffer } from '@coffer/core';
import { afterEach, test as base } from 'vitest';

/** A coffer on a fresh database, closed and deleted after the test. */
export async function freshCoffer(options: Partial<CofferOptions> = {}): Promise<Coffer> {
  return openCoffer({ name: `test-${crypto.randomUUID()}`, ...options });
}

/** Close a coffer and delete its database. */
export async function dispose(coffer: Coffer): Promise<void> {
  coffer.close();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(coffer.name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/**
 * A function that opens a coffer on a fresh database named `<prefix>-<uuid>` (or `options.name`),
 * each closed and deleted after the test that opened it. Call it at the top of a test file.
 */
export function cofferOpener(prefix: string): (options?: Partial<CofferOptions>) => Promise<Coffer> {
  const opened: Coffer[] = [];
  afterEach(async () => {
    for (const coffer of opened.splice(0)) await dispose(coffer);
  });
  return async (options = {}) => {
    const coffer = await openCoffer({ name: `${prefix}-${crypto.randomUUID()}`, ...options });
    opened.push(coffer);
    return coffer;
  };
}

/** Multipart limits that let 4-byte parts through: at least 4 and at most 64 bytes, 10 parts. */
export const smallMultipart = { minChunkSize: 4, maxChunkSize: 64, maxParts: 10, expiresAfter: 60_000 };

/** `it` with a `coffer` opened with `options` on a fresh database for each test. */
export const itWith = (options: Partial<CofferOptions>) =>
  base.extend<{ coffer: Coffer }>({
    // biome-ignore lint/correctness/noEmptyPattern: Vitest reads fixture dependencies from this pattern.
    coffer: async ({}, use) => {
      const coffer = await freshCoffer(options);
      await use(coffer);
      await dispose(coffer);
    },
  });

/**
 * `it` with a `coffer` on a fresh database for each test. Chunks are 4 bytes, so that small
 * files cross chunk boundaries.
 */
export const it = itWith({ chunkSize: 4, inlineBelow: 0 });

/** {@link it}, with multipart uploads of {@link smallMultipart} parts. */
export const itWithMultipart = itWith({ chunkSize: 4, inlineBelow: 0, multipart: smallMultipart });

/** The bytes of a string, as a Blob. */
export const blob = (text: string, type = ''): Blob => new Blob([text], { type });

/** The text of a Blob. */
export const text = (b: Blob): Promise<string> => b.text();

/** `length` bytes counting up from `seed` (mod 256): distinct content that is easy to check. */
export const bytes = (length: number, seed = 0): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i) % 256;
  return out;
};

/** The bytes of a Blob. */
export const bytesOf = async (b: Blob): Promise<Uint8Array> => new Uint8Array(await b.arrayBuffer());

/** A stream that delivers `pieces` (strings as UTF-8), then `error` if one is given, else ends. */
export function streamOf(pieces: (string | Uint8Array)[], error?: unknown): ReadableStream<Uint8Array> {
  const queue = pieces.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : p));
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next) controller.enqueue(next);
      else if (error !== undefined) controller.error(error);
      else controller.close();
    },
  });
}

/**
 * A stream of `bytes(8)` then `bytes(8, 8)` that holds the second piece back until `release()`:
 * a write caught halfway.
 */
export function heldStream(): { source: ReadableStream<Uint8Array>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      controller.enqueue(bytes(8));
      await gate;
      controller.enqueue(bytes(8, 8));
      controller.close();
    },
  });
  return { source, release };
}

/** Every bytes of a stream, joined. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(next.value);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** How many rows the coffer's tables hold (the Blob-storage probe's chunk excluded). */
export async function rowCounts(
  coffer: Coffer,
): Promise<{ files: number; chunks: number; objects: number; heads: number }> {
  const { db } = coffer.context;
  return {
    files: await db.files.count(),
    chunks: await db.chunks.filter((chunk) => !chunk.dataId.startsWith('\u0000')).count(),
    objects: await db.objects.count(),
    heads: await db.heads.count(),
  };
}

/** Run `operation` and return what it threw; fails the test when it does not throw. */
export async function caught(operation: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await operation();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('Expected the operation to throw.');
}
