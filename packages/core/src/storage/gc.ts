import type { FileId, UploadId } from '../ids.js';
import { mapErrors } from './map-storage-error.js';
import { type MultipartStore, uploadIdOfData } from './multipart-store.js';
import { prefixRange, startingWith } from './rows.js';
import { type CofferDb, type Extent, type FileRow, isLazyFile } from './schema.js';

/** What one step of garbage collection freed. */
export interface Freed {
  chunks: number;
  bytes: number;
}

/** When a writable (in-progress) file instance counts as abandoned. */
export interface AbandonRule {
  /** Reclaim writable file instances at all (false while another writer may be active). */
  reclaimWritable: boolean;
  /** A writable file instance whose heartbeat is at or after this time is in use. */
  heartbeatCutoff: number;
}

/**
 * The storage half of garbage collection and fixity. Every removal re-checks, in its own
 * short transaction, that nothing references what it removes, so that it is safe against
 * writers in this tab and in others:
 * - a file instance is in use while an object version or a multipart upload points to it, or
 *   while it is writable and its `updated` heartbeat is recent;
 * - a data id (a set of chunks) is in use while a file instance lists it in `dataIds`, a part
 *   points to it, or it belongs to a multipart upload that still exists (a part being written);
 * - a multipart upload is in use until it expires and its file's heartbeat is old.
 */
export class MaintenanceStore {
  constructor(
    private readonly db: CofferDb,
    private readonly multipart: MultipartStore,
  ) {}

  /** Uploads whose expiry has passed. */
  async expiredUploads(now: number): Promise<UploadId[]> {
    return mapErrors(() => this.db.multipartUploads.where('expires').belowOrEqual(now).primaryKeys());
  }

  /** Drop an expired upload, its parts and its bytes, freeing its reservation; `undefined` if in use. */
  async reapUpload(uploadId: UploadId, now: number, heartbeatCutoff: number): Promise<Freed | undefined> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', [db.buckets, db.multipartUploads, db.parts, db.files, db.chunks], async () => {
        const upload = await db.multipartUploads.get(uploadId);
        if (!upload || upload.expires > now) return undefined;
        const file = await db.files.get(upload.fileId);
        if (file && file.updated >= heartbeatCutoff) return undefined;
        const parts = await startingWith(db.parts, '[uploadId+partNumber]', uploadId).toArray();
        const freed: Freed = { chunks: 0, bytes: 0 };
        for (const part of parts) add(freed, await this.deleteChunks(part.dataId));
        await this.multipart.drop(upload);
        return freed;
      }),
    );
  }

  /** File instances that no object version and no multipart upload points to. */
  async unreferencedFiles(): Promise<FileId[]> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('r', db.files, db.objects, db.multipartUploads, async () => {
        const used = new Set<unknown>([
          ...(await db.objects.orderBy('fileId').uniqueKeys()),
          ...(await db.multipartUploads.orderBy('fileId').uniqueKeys()),
        ]);
        return (await db.files.toCollection().primaryKeys()).filter((id) => !used.has(id));
      }),
    );
  }

  /**
   * Remove a file instance nothing references, with the chunks no other file or part shares.
   * Returns `undefined` when it turned out to be in use, and whether it was an abandoned write.
   */
  async removeFile(fileId: FileId, rule: AbandonRule): Promise<(Freed & { abandoned: boolean }) | undefined> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', [db.files, db.objects, db.multipartUploads, db.parts, db.chunks], async () => {
        const file = await db.files.get(fileId);
        if (!file) return undefined;
        if ((await db.objects.where('fileId').equals(fileId).count()) > 0) return undefined;
        if ((await db.multipartUploads.where('fileId').equals(fileId).count()) > 0) return undefined;
        // A lazy file (bytes on the sync remote only) is unreadable but no write in progress.
        const abandoned = !isLazyFile(file) && (file.writable === 1 || file.readable === 0);
        if (abandoned && (!rule.reclaimWritable || file.updated >= rule.heartbeatCutoff)) return undefined;
        const freed: Freed = { chunks: 0, bytes: 0 };
        for (const dataId of file.dataIds) {
          const sharedByFile = await db.files
            .where('dataIds')
            .equals(dataId)
            .filter((f) => f.id !== fileId)
            .count();
          const sharedByPart = await db.parts.where('dataId').equals(dataId).count();
          if (sharedByFile === 0 && sharedByPart === 0) add(freed, await this.deleteChunks(dataId));
        }
        await db.files.delete(fileId);
        return { ...freed, abandoned };
      }),
    );
  }

  /** Data ids that have chunks but that no file instance, part or open upload accounts for. */
  async orphanData(): Promise<string[]> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('r', [db.chunks, db.files, db.parts, db.multipartUploads], async () => {
        const keys = (await db.chunks.toCollection().primaryKeys()) as [string, number][];
        const stored = new Set(keys.map(([dataId]) => dataId));
        const used = new Set<unknown>([
          ...(await db.files.orderBy('dataIds').uniqueKeys()),
          ...(await db.parts.orderBy('dataId').uniqueKeys()),
        ]);
        const uploads = new Set<unknown>(await db.multipartUploads.toCollection().primaryKeys());
        return [...stored].filter(
          (dataId) =>
            !dataId.startsWith('\u0000') && !used.has(dataId) && !uploads.has(uploadIdOfData(dataId)),
        );
      }),
    );
  }

  /** Delete the chunks of an orphan data id, unless something came to reference it meanwhile. */
  async removeData(dataId: string): Promise<Freed | undefined> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', [db.chunks, db.files, db.parts, db.multipartUploads], async () => {
        if ((await db.files.where('dataIds').equals(dataId).count()) > 0) return undefined;
        if ((await db.parts.where('dataId').equals(dataId).count()) > 0) return undefined;
        const uploadId = uploadIdOfData(dataId);
        if (uploadId && (await db.multipartUploads.get(uploadId))) return undefined;
        return this.deleteChunks(dataId);
      }),
    );
  }

  private async deleteChunks(dataId: string): Promise<Freed> {
    const chunks = this.db.chunks.where('[dataId+offset]').between(...prefixRange(dataId), true, true);
    const freed: Freed = { chunks: 0, bytes: 0 };
    await chunks.each((chunk) => {
      freed.chunks += 1;
      freed.bytes += chunk.size;
    });
    await chunks.delete();
    return freed;
  }

  // --- Fixity ---

  /**
   * Readable file instances last checked before `before` (or never), least recently checked
   * first; and how many files have their bytes on the sync remote only (not checked here).
   */
  async filesToCheck(before: number, limit: number): Promise<{ files: FileRow[]; lazy: number }> {
    let lazy = 0;
    const rows = await mapErrors(() =>
      this.db.files
        .where('writable')
        .equals(0)
        .filter((f) => {
          if (isLazyFile(f)) lazy++;
          return f.readable === 1 && (f.lastCheckAt === null || f.lastCheckAt < before);
        })
        .toArray(),
    );
    const files = rows.sort((a, b) => (a.lastCheckAt ?? -1) - (b.lastCheckAt ?? -1)).slice(0, limit);
    return { files, lazy };
  }

  /**
   * Whether every chunk the extents need is stored, at the offsets and with the sizes they
   * need (a truncated chunk would otherwise fail a read with a bare `RangeError`).
   */
  async extentsIntact(extents: readonly Extent[]): Promise<boolean> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('r', db.chunks, async () => {
        for (const extent of extents) {
          let expectedOffset = 0;
          let intact = true;
          await db.chunks
            .where('[dataId+offset]')
            .between(...prefixRange(extent.dataId), true, true)
            .each((chunk) => {
              const size = Math.min(extent.chunkSize, extent.size - expectedOffset);
              const stored = chunk.data instanceof Blob ? chunk.data.size : chunk.data?.byteLength;
              if (chunk.offset !== expectedOffset || chunk.size !== size || stored !== size) intact = false;
              expectedOffset += extent.chunkSize;
            });
          if (!intact || expectedOffset < extent.size || (extent.size === 0) !== (expectedOffset === 0))
            return false;
        }
        return true;
      }),
    );
  }

  /** Record a fixity check, unless the file changed (or went) meanwhile. */
  async recordCheck(fileId: FileId, checksum: string | null, ok: boolean, at: number): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', db.files, async () => {
        const file = await db.files.get(fileId);
        if (file?.checksum === checksum) await db.files.update(fileId, { lastCheck: ok, lastCheckAt: at });
      }),
    );
  }
}

const add = (total: Freed, more: Freed): void => {
  total.chunks += more.chunks;
  total.bytes += more.bytes;
};
