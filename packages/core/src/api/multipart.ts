import {
  AbortError,
  IntegrityError,
  InvalidArgumentError,
  MultipartAlreadyCompletedError,
  MultipartInvalidChunkSizeError,
  throwIfAborted,
} from '../errors.js';
import type { BucketId, UploadId } from '../ids.js';
import { validateKey } from '../model/key.js';
import { validateMimetype } from '../model/limits.js';
import {
  lastPartNumber,
  partCount,
  partRange,
  validatePartNumber,
  validateUploadShape,
} from '../model/multipart.js';
import { MultipartStore, newPartDataId, uploadNotFound } from '../storage/multipart-store.js';
import type { BucketRow, MultipartUploadRow, PartRow } from '../storage/schema.js';
import type { ByteSource, OperationHooks } from '../worker/protocol.js';
import { sourceSize } from '../worker/write-data.js';
import type { CofferContext } from './context.js';
import { withWriteLock } from './maintenance.js';
import { ObjectVersion } from './object-version.js';
import { type SourceOptions, sourceToWrite } from './write-file.js';

/**
 * Options of {@link BucketMultipart.create}.
 *
 * @example
 * ```ts
 * await bucket.multipart.create('scan.tif', { size: file.size, chunkSize: 16 * 1024 ** 2, mimetype: 'image/tiff' });
 * ```
 */
export interface CreateUploadOptions {
  /** The whole file's size in bytes; reserved against the bucket's quota until the end. */
  size: number;
  /** Every part's size but the last one's, within the coffer's `multipart` limits. */
  chunkSize: number;
  /** The media type of the version the upload becomes. */
  mimetype?: string | undefined;
}

/** Options of {@link MultipartUpload.putPart}. */
export interface PutPartOptions extends SourceOptions {
  /** The part's expected md5 (`"md5:<hex>"`): a mismatch fails with {@link IntegrityError} and stores nothing. */
  checksum?: string | undefined;
}

/** One uploaded part. */
export interface UploadPart {
  /** 0-based. */
  partNumber: number;
  size: number;
  /** md5 of the part's bytes, `"md5:<hex>"`. */
  checksum: string;
  created: Date;
  updated: Date;
}

const toPart = (row: PartRow): UploadPart => ({
  partNumber: row.partNumber,
  size: row.size,
  checksum: row.checksum,
  created: new Date(row.created),
  updated: new Date(row.updated),
});

/** Where an upload reports bucket changes (its size holds the reservation). */
interface BucketHandle {
  readonly id: BucketId;
  row: BucketRow;
}

/**
 * The multipart uploads of a bucket: `bucket.multipart`. A multipart upload writes one large
 * object in parts, in any order and across reloads, and becomes its new head version on
 * {@link MultipartUpload.complete} without copying a byte.
 *
 * @example
 * ```ts
 * const upload = await bucket.multipart.create('big.tif', { size: file.size, chunkSize: 8 * 1024 ** 2 });
 * // after a reload: pick up where it stopped
 * const pending = await bucket.multipart.list();
 * const again = await bucket.multipart.get(upload.uploadId);
 * ```
 */
export class BucketMultipart {
  /** @internal */
  constructor(
    private readonly context: CofferContext,
    private readonly bucket: BucketHandle,
  ) {}

  private get store(): MultipartStore {
    return new MultipartStore(this.context.db, this.context.store);
  }

  /**
   * Start an upload of `size` bytes to `key`, in parts of `chunkSize` bytes (the last part
   * holds the rest). `size` is reserved in the bucket's size (and against its quota) until the
   * upload completes, is aborted or expires.
   *
   * @throws {InvalidKeyError} for a bad key; {@link MultipartInvalidChunkSizeError} for a part
   *   size outside the limits; {@link MultipartInvalidSizeError} for a size not above the smallest
   *   part size or needing too many parts; {@link BucketLockedError}; {@link FileSizeError}
   *   subclasses when the size does not fit the quota or the maximum file size.
   * @example
   * ```ts
   * const upload = await bucket.multipart.create('scan.tif', { size: file.size, chunkSize: 8 * 2 ** 20 });
   * for (let n = 0; n < upload.partCount; n++) await upload.putPart(n, file.slice(...upload.partRange(n)));
   * const version = await upload.complete();
   * ```
   */
  async create(key: string, options: CreateUploadOptions): Promise<MultipartUpload> {
    validateKey(key);
    const { settings } = this.context;
    validateUploadShape({ size: options?.size, chunkSize: options?.chunkSize }, settings.multipart, key);
    const { mimetype } = options;
    if (mimetype !== undefined) validateMimetype(mimetype);
    const { upload, bucket } = await this.store.create({
      bucketId: this.bucket.id,
      key,
      size: options.size,
      chunkSize: options.chunkSize,
      mimetype: mimetype ?? null,
      location: settings.location,
      expiresAfter: settings.multipart.expiresAfter,
    });
    this.bucket.row = bucket;
    return new MultipartUpload(this.context, upload, this.bucket);
  }

  /** The bucket's uploads that have not expired (to resume after a reload), oldest first. */
  async list(): Promise<MultipartUpload[]> {
    const rows = await this.store.list(this.bucket.id);
    return rows.map((row) => new MultipartUpload(this.context, row, this.bucket));
  }

  /** The upload, or `undefined` when it is not this bucket's, has finished or has expired. */
  async get(uploadId: UploadId | string): Promise<MultipartUpload | undefined> {
    const row = await this.store.find(uploadId);
    return row && row.bucketId === this.bucket.id
      ? new MultipartUpload(this.context, row, this.bucket)
      : undefined;
  }
}

/**
 * One multipart upload (invenio's MultipartObject). Its fields are a snapshot, refreshed by its
 * own calls and by {@link MultipartUpload.reload}.
 *
 * @example
 * ```ts
 * const upload = await bucket.multipart.create('big.tif', { size: file.size, chunkSize: 8 * 1024 ** 2 });
 * for (let n = 0; n <= upload.lastPartNumber; n++) {
 *   const [start, end] = upload.partRange(n);
 *   await upload.putPart(n, file.slice(start, end));
 * }
 * const version = await upload.complete(); // the new head; no bytes are copied
 * ```
 */
export class MultipartUpload {
  /** @internal */
  row: MultipartUploadRow;
  private merged = false;

  /** @internal */
  constructor(
    private readonly context: CofferContext,
    row: MultipartUploadRow,
    private readonly bucket?: BucketHandle,
  ) {
    this.row = row;
  }

  get uploadId(): UploadId {
    return this.row.uploadId;
  }
  get bucketId(): BucketId {
    return this.row.bucketId;
  }
  /** The key the upload will write. */
  get key(): string {
    return this.row.key;
  }
  /** The whole file's size in bytes. */
  get size(): number {
    return this.row.size;
  }
  /** Every part's size but the last one's. */
  get chunkSize(): number {
    return this.row.chunkSize;
  }
  /** How many parts the upload has; they are numbered from 0. */
  get partCount(): number {
    return partCount(this.row);
  }
  /** The number of the last part. */
  get lastPartNumber(): number {
    return lastPartNumber(this.row);
  }
  /** Whether `complete()` has started; a completed upload takes no more parts. */
  get completed(): boolean {
    return this.row.completed === 1;
  }
  /** The media type of the version it will become, if one was given. */
  get mimetype(): string | null {
    return this.row.mimetype;
  }
  get created(): Date {
    return new Date(this.row.created);
  }
  get updated(): Date {
    return new Date(this.row.updated);
  }
  /** When the upload expires unless a part arrives; `gc()` then reclaims it. */
  get expires(): Date {
    return new Date(this.row.expires);
  }

  /** The byte range `[start, end)` part `n` covers, e.g. for `file.slice(...upload.partRange(n))`. */
  partRange(n: number): [start: number, end: number] {
    const { start, end } = partRange(this.row, validatePartNumber(this.row, n, this.errorContext()));
    return [start, end];
  }

  private errorContext() {
    return { key: this.row.key, uploadId: this.row.uploadId, bucketId: this.row.bucketId };
  }

  private get store(): MultipartStore {
    return new MultipartStore(this.context.db, this.context.store);
  }

  private assertNotMerged(): void {
    if (this.merged) {
      throw new MultipartAlreadyCompletedError(
        `Upload ${this.uploadId} is already completed.`,
        this.errorContext(),
      );
    }
  }

  /**
   * Upload part `n` (0-based): exactly the bytes of its range. Parts may come in any order;
   * putting a part again replaces it atomically (if the new write fails, the old part stays).
   * Returns the part with its md5.
   *
   * @throws {MultipartInvalidPartNumberError}; {@link MultipartInvalidChunkSizeError} when the
   *   source does not hold exactly the part's size; {@link MultipartAlreadyCompletedError};
   *   {@link NotFoundError} when the upload is gone or expired; {@link BucketLockedError};
   *   {@link IntegrityError} when `options.checksum` does not match; {@link AbortError}.
   */
  async putPart(n: number, source: ByteSource, options: PutPartOptions = {}): Promise<UploadPart> {
    const context = this.errorContext();
    this.assertNotMerged();
    const partNumber = validatePartNumber(this.row, n, context);
    const expected = partRange(this.row, partNumber).size;
    const known = sourceSize(source);
    if (known !== undefined && known !== expected) throw wrongPartSize(context, partNumber, expected, known);
    if (options.checksum !== undefined && !/^md5:[0-9a-f]{32}$/.test(options.checksum)) {
      throw new InvalidArgumentError('checksum must be "md5:<32 hex digits>".', {
        actual: options.checksum,
        argument: 'checksum',
      });
    }
    const { signal, onProgress } = options;
    throwIfAborted(signal);
    const bytes = sourceToWrite(source, options.transfer);

    return withWriteLock(this.context, async () => {
      const { store } = this;
      const upload = await store.find(this.uploadId);
      if (!upload) throw uploadNotFound(this.uploadId, context);
      this.row = upload;
      const { settings, pipeline } = this.context;
      const dataId = newPartDataId(this.uploadId, partNumber);
      let written: Awaited<ReturnType<typeof pipeline.writeData>>;
      try {
        written = await pipeline.writeData(
          {
            dataId,
            source: bytes,
            chunkSize: settings.chunkSize,
            chunkStorage: settings.chunkStorage,
            inlineBelow: settings.inlineBelow,
            sha256: false,
            heartbeat: upload.fileId,
            expectedSize: expected,
            bucketId: upload.bucketId,
            key: upload.key,
          },
          { signal, onProgress },
        );
      } catch (error) {
        await store.dropData(dataId);
        if ((error as { code?: string }).code === 'UNEXPECTED_FILE_SIZE') {
          throw wrongPartSize(context, partNumber, expected, (error as { actual?: unknown }).actual, error);
        }
        throw error;
      }
      if (options.checksum !== undefined && written.checksum !== options.checksum) {
        await store.dropData(dataId);
        throw new IntegrityError(`Part ${partNumber} does not match its checksum.`, {
          ...context,
          expected: options.checksum,
          actual: written.checksum,
        });
      }
      if (signal?.aborted) {
        await store.dropData(dataId);
        throw new AbortError('The part upload was aborted.', { cause: signal.reason });
      }
      const part = await store.commitPart(
        this.uploadId,
        { partNumber, dataId, size: written.size, checksum: written.checksum },
        settings.multipart.expiresAfter,
      );
      this.row = {
        ...this.row,
        updated: part.updated,
        expires: part.updated + settings.multipart.expiresAfter,
      };
      return toPart(part);
    });
  }

  /** The parts uploaded so far, by part number. */
  async parts(): Promise<UploadPart[]> {
    return (await this.store.parts(this.uploadId)).map(toPart);
  }

  /**
   * Finish the upload: check every part is there with the right size, make the parts the
   * chunks of one file instance (no byte is copied), digest the whole file in the byte
   * pipeline, and commit it as the key's new head version; the reservation becomes the
   * version's size. If the digest fails or is aborted, the upload stays open; if the tab closes
   * meanwhile, calling `complete()` again (on the upload from `multipart.get`) resumes.
   *
   * @throws {MultipartMissingPartsError} when a part is missing or of the wrong size;
   *   {@link MultipartAlreadyCompletedError} when another call completed it first;
   *   {@link NotFoundError} when it is gone or expired; {@link BucketLockedError}.
   */
  async complete(hooks: OperationHooks = {}): Promise<ObjectVersion> {
    this.assertNotMerged();
    throwIfAborted(hooks.signal);
    return withWriteLock(this.context, async () => {
      const { store } = this;
      const { upload, file } = await store.beginComplete(this.uploadId);
      this.row = upload;
      let digest: Awaited<ReturnType<CofferContext['pipeline']['digest']>>;
      try {
        digest = await this.context.pipeline.digest(
          { extents: file.extents, sha256: this.context.settings.sha256 },
          hooks,
        );
        throwIfAborted(hooks.signal);
      } catch (error) {
        await store.reopen(this.uploadId);
        this.row = { ...this.row, completed: 0 };
        throw error;
      }
      const { version, bucket } = await store.finishComplete(this.uploadId, digest);
      this.merged = true;
      this.row = { ...this.row, completed: 1 };
      if (this.bucket) this.bucket.row = bucket;
      return new ObjectVersion(this.context, version);
    });
  }

  /**
   * Abort the upload: delete its parts and free its reservation.
   *
   * @throws {MultipartAlreadyCompletedError} once `complete()` has started; {@link NotFoundError}
   *   when it is gone or expired.
   */
  async abort(): Promise<void> {
    this.assertNotMerged();
    const bucket = await this.store.abort(this.uploadId);
    if (bucket && this.bucket) this.bucket.row = bucket;
  }

  /** Re-read this upload's fields. @throws {NotFoundError} once it is gone or expired. */
  async reload(): Promise<this> {
    const row = await this.store.find(this.uploadId);
    if (!row) throw uploadNotFound(this.uploadId, this.errorContext());
    this.row = row;
    return this;
  }
}

const wrongPartSize = (
  context: { key: string; uploadId: string; bucketId: string },
  partNumber: number,
  expected: number,
  actual: unknown,
  cause?: unknown,
): MultipartInvalidChunkSizeError =>
  new MultipartInvalidChunkSizeError(`Part ${partNumber} must hold exactly ${expected} bytes.`, {
    ...context,
    expected,
    actual,
    cause,
  });
