import { MultipartAlreadyCompletedError, MultipartMissingPartsError, NotFoundError } from '../errors.js';
import { type BucketId, type FileId, newId, type UploadId } from '../ids.js';
import { assertFits, assertWritable } from '../model/limits.js';
import { checkParts, type UploadShape } from '../model/multipart.js';
import { type BucketStore, bucketNotFound, toLimits } from './bucket-store.js';
import { deleteData } from './chunks.js';
import { mapErrors } from './map-storage-error.js';
import { resized, startingWith, versionTables, writableFileRow } from './rows.js';
import type {
  BucketRow,
  CofferDb,
  Extent,
  FileRow,
  MultipartUploadRow,
  ObjectVersionRow,
  PartRow,
} from './schema.js';

/** A new multipart upload. */
export interface NewUpload extends UploadShape {
  bucketId: BucketId;
  key: string;
  mimetype: string | null;
  location: string;
  expiresAfter: number;
}

/** A part whose bytes are written under `dataId`, to become part `partNumber`. */
export interface WrittenPart {
  partNumber: number;
  dataId: string;
  size: number;
  checksum: string;
}

/** The data id a new write of part `n` uses: never the id of the bytes it replaces. */
export const newPartDataId = (uploadId: UploadId, n: number): string =>
  `${uploadId}:${n}:${crypto.randomUUID()}`;

/** The upload a part's data id belongs to (see {@link newPartDataId}), if it is one. */
export const uploadIdOfData = (dataId: string): UploadId | undefined => {
  const colon = dataId.indexOf(':');
  return colon > 0 ? (dataId.slice(0, colon) as UploadId) : undefined;
};

export const uploadNotFound = (
  uploadId: string,
  context: { bucketId?: string; key?: string } = {},
): NotFoundError =>
  new NotFoundError(`Multipart upload ${uploadId} does not exist or has expired.`, {
    ...context,
    uploadId,
    resource: 'upload',
  });

const isLive = (row: MultipartUploadRow | undefined, now: number): row is MultipartUploadRow =>
  row !== undefined && row.expires > now;

/**
 * Multipart uploads and their parts (invenio's MultipartObject and Part). An upload owns a
 * writable file instance from the start; its parts are chunk sets of their own, and completing
 * the upload makes the file instance's extents point at them: no byte is copied.
 *
 * Invariants kept by every method, each in one transaction:
 * - an open upload's `size` is counted in its bucket's `size` (a reservation), until it is
 *   aborted, expires or completes (then the new version's size replaces it);
 * - a part row points at chunks that are complete; a replaced part's chunks go in the same
 *   transaction as the row's update.
 */
export class MultipartStore {
  constructor(
    private readonly db: CofferDb,
    private readonly buckets: BucketStore,
  ) {}

  /** Reserve the upload's size in the bucket and create its (empty, writable) file instance. */
  async create(upload: NewUpload): Promise<{ upload: MultipartUploadRow; bucket: BucketRow }> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', db.buckets, db.files, db.multipartUploads, async () => {
        const bucket = await db.buckets.get(upload.bucketId);
        if (!bucket) throw bucketNotFound(upload.bucketId);
        const limits = toLimits(bucket);
        assertWritable(limits, upload.key);
        assertFits(limits, upload.size, upload.key);
        const now = Date.now();
        const fileId = newId<FileId>();
        await db.files.add(
          writableFileRow({ id: fileId, location: upload.location, size: upload.size, extents: [] }, now),
        );
        const row: MultipartUploadRow = {
          uploadId: newId<UploadId>(),
          bucketId: bucket.id,
          key: upload.key,
          fileId,
          size: upload.size,
          chunkSize: upload.chunkSize,
          completed: 0,
          mimetype: upload.mimetype,
          created: now,
          updated: now,
          expires: now + upload.expiresAfter,
        };
        await db.multipartUploads.add(row);
        const updated = resized(bucket, upload.size, now);
        await db.buckets.put(updated);
        return { upload: row, bucket: updated };
      }),
    );
  }

  /** The upload, unless it is missing or expired. */
  async find(uploadId: string): Promise<MultipartUploadRow | undefined> {
    const row = await mapErrors(() => this.db.multipartUploads.get(uploadId as UploadId));
    return isLive(row, Date.now()) ? row : undefined;
  }

  /** The bucket's uploads that have not expired, oldest first. */
  async list(bucketId: BucketId): Promise<MultipartUploadRow[]> {
    const now = Date.now();
    const rows = await mapErrors(() => this.db.multipartUploads.where('bucketId').equals(bucketId).toArray());
    return rows.filter((row) => isLive(row, now)).sort((a, b) => a.created - b.created);
  }

  /** The parts uploaded so far, by part number. */
  async parts(uploadId: UploadId): Promise<PartRow[]> {
    return mapErrors(() => startingWith(this.db.parts, '[uploadId+partNumber]', uploadId).toArray());
  }

  /**
   * Make written bytes part `n`, replacing (and deleting) the previous bytes of that part, and
   * push the upload's expiry back. If the upload is gone, completed or its bucket locked, the
   * new bytes are deleted instead and the previous part stays as it was.
   */
  async commitPart(uploadId: UploadId, part: WrittenPart, expiresAfter: number): Promise<PartRow> {
    const { db } = this;
    try {
      return await mapErrors(() =>
        db.transaction('rw', db.buckets, db.multipartUploads, db.parts, db.chunks, async () => {
          const upload = await this.live(uploadId);
          if (upload.completed) throw alreadyCompleted(upload);
          const bucket = await db.buckets.get(upload.bucketId);
          if (!bucket) throw bucketNotFound(upload.bucketId);
          assertWritable(toLimits(bucket), upload.key);
          const now = Date.now();
          const previous = await db.parts.get([uploadId, part.partNumber]);
          const row: PartRow = { uploadId, ...part, created: previous?.created ?? now, updated: now };
          await db.parts.put(row);
          if (previous && previous.dataId !== part.dataId) await deleteData(db, [previous.dataId]);
          await db.multipartUploads.update(uploadId, { updated: now, expires: now + expiresAfter });
          return row;
        }),
      );
    } catch (error) {
      await this.dropData(part.dataId);
      throw error;
    }
  }

  /** Delete bytes written for a part that never became one. Failures are left to gc. */
  async dropData(dataId: string): Promise<void> {
    const { db } = this;
    await db
      .transaction('rw', db.parts, db.chunks, async () => {
        if ((await db.parts.where('dataId').equals(dataId).count()) === 0) await deleteData(db, [dataId]);
      })
      .catch(() => undefined);
  }

  /**
   * First step of `complete()`: check every part is there with the size of its byte range,
   * point the file instance's extents at the parts, in order, and mark the upload completed
   * so that no part changes while the whole file is digested. An upload already completed
   * (a merge interrupted by a closed tab) is returned as it is, to resume.
   */
  async beginComplete(uploadId: UploadId): Promise<{ upload: MultipartUploadRow; file: FileRow }> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', [db.buckets, db.multipartUploads, db.parts, db.files, db.chunks], async () => {
        const upload = await this.live(uploadId);
        const bucket = await db.buckets.get(upload.bucketId);
        if (!bucket) throw bucketNotFound(upload.bucketId);
        assertWritable(toLimits(bucket), upload.key);
        const file = await db.files.get(upload.fileId);
        if (!file) throw uploadNotFound(uploadId, { bucketId: upload.bucketId, key: upload.key });
        if (upload.completed) return { upload, file };

        const parts = await startingWith(db.parts, '[uploadId+partNumber]', uploadId).toArray();
        const { missing, wrongSize } = checkParts(upload, parts);
        if (missing.length > 0 || wrongSize.length > 0) {
          throw new MultipartMissingPartsError(
            `Upload ${uploadId} is not complete: ${missing.length} part(s) missing, ${wrongSize.length} of the wrong size.`,
            { uploadId, bucketId: upload.bucketId, key: upload.key, expected: missing, actual: wrongSize },
          );
        }
        const chunkSizes = await Promise.all(parts.map((p) => this.chunkSizeOf(p.dataId, p.size)));
        const extents: Extent[] = parts.map((p, i) => ({
          dataId: p.dataId,
          size: p.size,
          chunkSize: chunkSizes[i] ?? p.size,
        }));
        const now = Date.now();
        const assembled: FileRow = { ...file, extents, dataIds: extents.map((e) => e.dataId), updated: now };
        await db.files.put(assembled);
        const completed: MultipartUploadRow = { ...upload, completed: 1, updated: now };
        await db.multipartUploads.put(completed);
        return { upload: completed, file: assembled };
      }),
    );
  }

  /** The chunk size a part was stored with: the size of its first chunk. */
  private async chunkSizeOf(dataId: string, partSize: number): Promise<number> {
    const first = await this.db.chunks.get([dataId, 0]);
    return first?.size || partSize || 1;
  }

  /** Reopen an upload whose merge failed, so that its parts can be uploaded again. */
  async reopen(uploadId: UploadId): Promise<void> {
    const { db } = this;
    await db
      .transaction('rw', db.multipartUploads, db.files, async () => {
        const upload = await db.multipartUploads.get(uploadId);
        if (!upload?.completed) return;
        await db.multipartUploads.update(uploadId, { completed: 0, updated: Date.now() });
        await db.files.update(upload.fileId, { extents: [], dataIds: [] });
      })
      .catch(() => undefined);
  }

  /**
   * Last step of `complete()`: make the assembled file readable with its whole-file digest,
   * turn the reservation into the new head version (the lock and limits are checked again)
   * and delete the upload and its part rows. The parts' chunks now belong to the file.
   */
  async finishComplete(
    uploadId: UploadId,
    digest: { size: number; checksum: string; sha256: string | null },
  ): Promise<{ version: ObjectVersionRow; bucket: BucketRow }> {
    const { db } = this;
    const tables = [...versionTables(db), db.multipartUploads, db.parts];
    return mapErrors(() =>
      db.transaction('rw', tables, async () => {
        const upload = await db.multipartUploads.get(uploadId);
        if (!upload?.completed) {
          throw new MultipartAlreadyCompletedError(`Upload ${uploadId} was completed or aborted meanwhile.`, {
            uploadId,
            ...(upload ? { bucketId: upload.bucketId, key: upload.key } : {}),
          });
        }
        const file = await db.files.get(upload.fileId);
        if (!file?.writable || digest.size !== upload.size) {
          throw new MultipartMissingPartsError(
            `The parts of upload ${uploadId} changed while it was completed.`,
            {
              uploadId,
              bucketId: upload.bucketId,
              key: upload.key,
              expected: upload.size,
              actual: digest.size,
            },
          );
        }
        const now = Date.now();
        await db.files.put({ ...file, ...digest, readable: 1, writable: 0, updated: now });
        const bucket = await db.buckets.get(upload.bucketId);
        if (!bucket) throw bucketNotFound(upload.bucketId);
        await db.buckets.put(resized(bucket, -upload.size));
        const result = await this.buckets.addVersion({
          bucketId: upload.bucketId,
          key: upload.key,
          content: { kind: 'linked', fileId: upload.fileId },
          mimetype: upload.mimetype,
          tags: {},
          dedupe: false,
        });
        await startingWith(db.parts, '[uploadId+partNumber]', uploadId).delete();
        await db.multipartUploads.delete(uploadId);
        return result;
      }),
    );
  }

  /**
   * Abort an upload that is not completed: delete its parts with their bytes and its file
   * instance, and free its reservation. Allowed on a locked bucket: it removes nothing visible.
   */
  async abort(uploadId: UploadId): Promise<BucketRow | undefined> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', db.buckets, db.multipartUploads, db.parts, db.files, db.chunks, async () => {
        const upload = await this.live(uploadId);
        if (upload.completed) throw alreadyCompleted(upload);
        return this.drop(upload);
      }),
    );
  }

  /**
   * Delete an upload, its parts and their bytes and its unreadable file instance, and free its
   * reservation. Runs inside the caller's transaction.
   */
  async drop(upload: MultipartUploadRow): Promise<BucketRow | undefined> {
    const { db } = this;
    const parts = await startingWith(db.parts, '[uploadId+partNumber]', upload.uploadId).toArray();
    await deleteData(
      db,
      parts.map((p) => p.dataId),
    );
    await db.parts.bulkDelete(parts.map((p) => [p.uploadId, p.partNumber] as [UploadId, number]));
    const file = await db.files.get(upload.fileId);
    if (file && !file.readable) await db.files.delete(upload.fileId);
    await db.multipartUploads.delete(upload.uploadId);
    const bucket = await db.buckets.get(upload.bucketId);
    if (!bucket) return undefined;
    const updated = resized(bucket, -upload.size);
    await db.buckets.put(updated);
    return updated;
  }

  private async live(uploadId: UploadId): Promise<MultipartUploadRow> {
    const upload = await this.db.multipartUploads.get(uploadId);
    if (!isLive(upload, Date.now())) throw uploadNotFound(uploadId);
    return upload;
  }
}

const alreadyCompleted = (upload: MultipartUploadRow): MultipartAlreadyCompletedError =>
  new MultipartAlreadyCompletedError(`Upload ${upload.uploadId} is already completed.`, {
    uploadId: upload.uploadId,
    bucketId: upload.bucketId,
    key: upload.key,
  });
