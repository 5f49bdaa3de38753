import type { Coffer, FileId } from '@coffer/core';
import { writableFileRow } from '../../packages/core/src/storage/rows.js';

/** Flip one bit of byte `at` of a file's stored bytes, in place, as disk corruption would. */
export async function flipStoredByte(coffer: Coffer, fileId: FileId, at: number): Promise<void> {
  const { db } = coffer.context;
  const file = await db.files.get(fileId);
  if (!file) throw new Error(`no file ${fileId}`);
  let base = 0;
  for (const extent of file.extents) {
    if (at < base + extent.size) {
      const local = at - base;
      const offset = Math.floor(local / extent.chunkSize) * extent.chunkSize;
      const chunk = await db.chunks.get([extent.dataId, offset]);
      if (!chunk) throw new Error('no chunk');
      const bytes = new Uint8Array(
        chunk.data instanceof Blob ? await chunk.data.arrayBuffer() : chunk.data.slice(0),
      );
      bytes[local - offset] = (bytes[local - offset] ?? 0) ^ 0x01;
      await db.chunks.put({ ...chunk, data: chunk.data instanceof Blob ? new Blob([bytes]) : bytes.buffer });
      return;
    }
    base += extent.size;
  }
  throw new Error(`byte ${at} is past the end`);
}

/** Simulate a write that a closed tab abandoned: a writable file instance with some chunks. */
export async function abandonWrite(coffer: Coffer, bytes: Uint8Array, updated = Date.now()): Promise<FileId> {
  const { db, settings } = coffer.context;
  const fileId = crypto.randomUUID() as FileId;
  await db.files.add(
    writableFileRow(
      {
        id: fileId,
        location: settings.location,
        size: 0,
        extents: [{ dataId: fileId, size: 0, chunkSize: settings.chunkSize }],
      },
      updated,
    ),
  );
  for (let offset = 0; offset < bytes.length; offset += settings.chunkSize) {
    const slice = bytes.slice(offset, offset + settings.chunkSize);
    await db.chunks.put({ dataId: fileId, offset, size: slice.length, data: slice.buffer });
  }
  return fileId;
}

/** Chunk rows of the coffer, the Blob-storage probe's excluded. */
export const chunkCount = (coffer: Coffer): Promise<number> =>
  coffer.context.db.chunks.filter((c) => !c.dataId.startsWith('\u0000')).count();
