import { Dexie } from 'dexie';
import { IntegrityError } from '../errors.js';
import type { FileId } from '../ids.js';
import type { ChunkRow, CofferDb, Extent } from './schema.js';

/** How chunk payloads are stored: Blobs (disk-backed in Chromium and Firefox) or ArrayBuffers. */
export type ChunkStorage = 'blob' | 'buffer';

/**
 * Store chunks in one transaction, touching the file's heartbeat in it when given, so that
 * garbage collection can tell a live write from an abandoned one.
 */
export async function putChunks(
  db: CofferDb,
  chunks: readonly ChunkRow[],
  heartbeat: FileId | undefined,
): Promise<void> {
  await db.transaction('rw', db.chunks, db.files, async () => {
    await db.chunks.bulkPut(chunks as ChunkRow[]);
    if (heartbeat !== undefined) await db.files.update(heartbeat, { updated: Date.now() });
  });
}

/** Delete every chunk of the given data ids. Joins the caller's transaction when there is one. */
export async function deleteData(db: CofferDb, dataIds: readonly string[]): Promise<number> {
  const cache = handles.get(db);
  if (cache) {
    const gone = new Set(dataIds);
    for (const key of [...cache.keys()]) if (gone.has(key.slice(0, key.indexOf('\u0000')))) cache.delete(key);
  }
  let deleted = 0;
  for (const dataId of dataIds) {
    deleted += await db.chunks
      .where('[dataId+offset]')
      .between([dataId, Dexie.minKey], [dataId, Dexie.maxKey], true, true)
      .delete();
  }
  return deleted;
}

/** A part of a byte range: where to find it and which bytes of it to take. */
interface ChunkSpan {
  dataId: string;
  offset: number;
  from: number;
  to: number;
}

/** The chunks that cover bytes `[start, end)` of a file made of `extents`, in order. */
function* spans(extents: readonly Extent[], start: number, end: number): Generator<ChunkSpan> {
  let base = 0;
  for (const extent of extents) {
    const extentEnd = base + extent.size;
    if (extentEnd > start && base < end) {
      const localStart = Math.max(start - base, 0);
      const localEnd = Math.min(end - base, extent.size);
      for (
        let offset = Math.floor(localStart / extent.chunkSize) * extent.chunkSize;
        offset < localEnd;
        offset += extent.chunkSize
      ) {
        const chunkEnd = Math.min(offset + extent.chunkSize, extent.size);
        yield {
          dataId: extent.dataId,
          offset,
          from: Math.max(localStart - offset, 0),
          to: Math.min(localEnd, chunkEnd) - offset,
        };
      }
    }
    base = extentEnd;
  }
}

const missingChunk = (span: ChunkSpan): IntegrityError =>
  new IntegrityError(`Chunk ${span.offset} of data ${span.dataId} is missing.`, {
    expected: { dataId: span.dataId, offset: span.offset },
  });

const cut = (data: Blob | ArrayBuffer, span: ChunkSpan, size: number): Blob | Uint8Array => {
  const whole = span.from === 0 && span.to === size;
  if (data instanceof Blob) return whole ? data : data.slice(span.from, span.to);
  return new Uint8Array(data, span.from, span.to - span.from);
};

/**
 * The pieces of bytes `[start, end)`, read one chunk at a time: memory holds at most one
 * chunk whatever the file's size. Blob chunks come back as Blob handles, not bytes.
 */
export async function* readPieces(
  db: CofferDb,
  extents: readonly Extent[],
  start: number,
  end: number,
): AsyncGenerator<Blob | Uint8Array> {
  for (const span of spans(extents, start, end)) {
    const chunk = await db.chunks.get([span.dataId, span.offset]);
    if (!chunk) throw missingChunk(span);
    yield cut(chunk.data, span, chunk.size);
  }
}

/**
 * Blob handles of chunks recently read by {@link readBlob}, per database, least recently used
 * first. In Chromium, getting a row that holds a Blob costs about 20 ms (a plain row about
 * 1 ms; measured in `bench/`), and reading 64 KiB through a handle held already about 4 ms:
 * range reads reuse the handle. A chunk row is written once under a fresh data id and never
 * changed, and a handle keeps reading the bytes it was got with; entries of data deleted on
 * this thread are dropped at once, the others age out.
 */
const handles = new WeakMap<CofferDb, Map<string, { size: number; data: Blob }>>();
const HANDLES_KEPT = 64;
const handleKey = (dataId: string, offset: number) => `${dataId}\u0000${offset}`;

/**
 * The chunk rows of `wanted`, in order: one `get` for one chunk, one `bulkGet` for more.
 * With `cached`, Blob handles come from (and go to) the handle cache.
 */
async function rowsOf(
  db: CofferDb,
  wanted: readonly ChunkSpan[],
  cached = false,
): Promise<(Blob | Uint8Array)[]> {
  const cache = cached ? (handles.get(db) ?? new Map<string, { size: number; data: Blob }>()) : undefined;
  if (cache) handles.set(db, cache);
  const found: ({ size: number; data: Blob | ArrayBuffer } | undefined)[] = wanted.map((span) => {
    const key = handleKey(span.dataId, span.offset);
    const hit = cache?.get(key);
    if (hit) {
      cache!.delete(key);
      cache!.set(key, hit);
    }
    return hit;
  });
  const missing = wanted.filter((_, i) => !found[i]);
  if (missing.length > 0) {
    const rows =
      missing.length === 1
        ? [await db.chunks.get([missing[0]!.dataId, missing[0]!.offset])]
        : await db.chunks.bulkGet(missing.map((s) => [s.dataId, s.offset] as [string, number]));
    let next = 0;
    for (let i = 0; i < wanted.length; i++) {
      if (found[i]) continue;
      const row = rows[next++];
      found[i] = row;
      if (cache && row?.data instanceof Blob) {
        cache.set(handleKey(row.dataId, row.offset), { size: row.size, data: row.data });
        if (cache.size > HANDLES_KEPT) cache.delete(cache.keys().next().value!);
      }
    }
  }
  return wanted.map((span, i) => {
    const row = found[i];
    if (!row) throw missingChunk(span);
    return cut(row.data, span, row.size);
  });
}

/**
 * Bytes `[start, end)` as one Blob, built from the chunks that cover the range only (a range
 * inside one chunk is one `get`). With Blob chunks this holds handles, not bytes.
 */
export async function readBlob(
  db: CofferDb,
  extents: readonly Extent[],
  start: number,
  end: number,
  type = '',
): Promise<Blob> {
  const parts = await rowsOf(db, [...spans(extents, start, end)], true);
  return new Blob(parts as BlobPart[], { type });
}

/** Rows fetched at once by {@link readStream} while they are Blob handles: at most this many… */
const STREAM_WINDOW_ROWS = 16;
/** …covering at most this many bytes. */
const STREAM_WINDOW_BYTES = 256 * 1024 * 1024;

/**
 * Bytes `[start, end)` as a stream that reads when asked (pull) and stops reading when
 * cancelled. Rows are fetched in windows, the next window while the current one streams. A
 * window starts at one row and grows while the rows are Blobs (handles: no bytes in memory),
 * whose run is streamed as one composed Blob; an ArrayBuffer row brings it back to one row,
 * so that memory holds two chunks of bytes at most.
 */
export function readStream(
  db: CofferDb,
  extents: readonly Extent[],
  start: number,
  end: number,
): ReadableStream<Uint8Array> {
  const wanted = [...spans(extents, start, end)];
  let next = 0;
  let rows = 1;
  const fetchWindow = (): Promise<(Blob | Uint8Array)[]> | undefined => {
    if (next >= wanted.length) return undefined;
    let take = 0;
    let bytes = 0;
    while (next + take < wanted.length && take < rows) {
      const span = wanted[next + take]!;
      if (take > 0 && bytes + (span.to - span.from) > STREAM_WINDOW_BYTES) break;
      bytes += span.to - span.from;
      take++;
    }
    const window = wanted.slice(next, next + take);
    next += take;
    const fetched = rowsOf(db, window);
    fetched.catch(() => undefined);
    return fetched;
  };
  let ahead = fetchWindow();
  let pieces: (Blob | Uint8Array)[] = [];
  let inner: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (inner) {
          const { done, value } = await inner.read();
          if (!done) return controller.enqueue(value);
          inner = undefined;
        }
        if (pieces.length === 0) {
          if (!ahead) return controller.close();
          pieces = await ahead;
          rows = pieces.every((p) => p instanceof Blob) ? Math.min(rows * 2, STREAM_WINDOW_ROWS) : 1;
          ahead = fetchWindow();
        }
        const first = pieces[0]!;
        if (first instanceof Uint8Array) {
          pieces.shift();
          return controller.enqueue(first);
        }
        // A run of Blob pieces streams as one Blob: one stream start instead of one per chunk.
        let run = 1;
        while (run < pieces.length && pieces[run] instanceof Blob) run++;
        const blobs = pieces.splice(0, run) as Blob[];
        inner = (blobs.length === 1 ? blobs[0]! : new Blob(blobs)).stream().getReader();
      }
    },
    async cancel() {
      await inner?.cancel();
      pieces = [];
      ahead = undefined;
      next = wanted.length;
    },
  });
}

const PROBE_ID = '\u0000probe';

/**
 * Whether this browser stores Blobs in IndexedDB and reads them back intact: a write and a
 * read-back of a small Blob. WebKit has failed either half (dexie#1227, #1919; localForage#834).
 */
export async function probeBlobStorage(db: CofferDb): Promise<boolean> {
  const bytes = new Uint8Array([0x63, 0x6f, 0x66, 0x66, 0x65, 0x72, 0x00, 0xff]);
  try {
    await db.chunks.put({ dataId: PROBE_ID, offset: 0, size: bytes.length, data: new Blob([bytes]) });
    const row = await db.chunks.get([PROBE_ID, 0]);
    if (!(row?.data instanceof Blob)) return false;
    const back = new Uint8Array(await row.data.arrayBuffer());
    return back.length === bytes.length && back.every((b, i) => b === bytes[i]);
  } catch {
    return false;
  } finally {
    await db.chunks.delete([PROBE_ID, 0]).catch(() => undefined);
  }
}
