import { Dexie } from 'dexie';
import { IntegrityError } from '../errors.js';
import type { FileId } from '../ids.js';
import type { ChunkRow, CofferDb, Extent } from './schema.js';

/** How chunk payloads are stored: Blobs (disk-backed in Chromium and Firefox) or ArrayBuffers. */
export type ChunkStorage = 'blob' | 'buffer';

/**
 * Store one chunk, touching the file's heartbeat in the same transaction so that garbage
 * collection can tell a live write from an abandoned one.
 */
export async function putChunk(db: CofferDb, chunk: ChunkRow, heartbeat: FileId | undefined): Promise<void> {
  await db.transaction('rw', db.chunks, db.files, async () => {
    await db.chunks.put(chunk);
    if (heartbeat !== undefined) await db.files.update(heartbeat, { updated: Date.now() });
  });
}

/** Delete every chunk of the given data ids. Joins the caller's transaction when there is one. */
export async function deleteData(db: CofferDb, dataIds: readonly string[]): Promise<number> {
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
 * Bytes `[start, end)` as one Blob, built from the chunks that cover the range only. With
 * Blob chunks this holds handles, not bytes.
 */
export async function readBlob(
  db: CofferDb,
  extents: readonly Extent[],
  start: number,
  end: number,
  type = '',
): Promise<Blob> {
  const wanted = [...spans(extents, start, end)];
  const chunks = await db.chunks.bulkGet(wanted.map((s) => [s.dataId, s.offset] as [string, number]));
  const parts = wanted.map((span, i) => {
    const chunk = chunks[i];
    if (!chunk) throw missingChunk(span);
    return cut(chunk.data, span, chunk.size) as BlobPart;
  });
  return new Blob(parts, { type });
}

/**
 * Bytes `[start, end)` as a stream that reads one chunk at a time, when asked (pull), and
 * stops reading when cancelled.
 */
export function readStream(
  db: CofferDb,
  extents: readonly Extent[],
  start: number,
  end: number,
): ReadableStream<Uint8Array> {
  const pieces = readPieces(db, extents, start, end);
  let inner: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (inner) {
          const { done, value } = await inner.read();
          if (!done) return controller.enqueue(value);
          inner = undefined;
        }
        const next = await pieces.next();
        if (next.done) return controller.close();
        if (next.value instanceof Uint8Array) return controller.enqueue(next.value);
        inner = next.value.stream().getReader();
      }
    },
    async cancel() {
      await inner?.cancel();
      await pieces.return(undefined);
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
