/**
 * The error hierarchy of Coffer, in one place.
 *
 * Every error has a stable `code` (for programs), a message (for people), its context as
 * fields (`bucketId`, `key`, `limit`, `expected`, `actual`, ...) and the original error as
 * `cause`. Families follow invenio-files-rest: {@link InvalidOperationError},
 * {@link StorageError}, {@link FileSizeError}, {@link MultipartError}, {@link NotFoundError},
 * {@link IntegrityError}; plus the browser's own: {@link StorageQuotaExceededError} and
 * {@link UnsupportedEnvironmentError}.
 *
 * @module
 */

import type { RemoteError } from './sync/errors.js';

/** Context fields an error may carry. */
export interface ErrorContext {
  /** The bucket concerned. */
  bucketId?: string;
  /** The record concerned. */
  recordId?: string;
  /** The object key concerned. */
  key?: string;
  /** The object version concerned. */
  versionId?: string;
  /** The file instance concerned. */
  fileId?: string;
  /** The multipart upload concerned. */
  uploadId?: string;
  /** The limit that was passed (`null`: none). */
  limit?: number | null;
  /** What was expected (a size, a checksum, a revision). */
  expected?: unknown;
  /** What was found instead. */
  actual?: unknown;
  /**
   * The name of the argument or option at fault, as the caller wrote it: `"chunkSize"`,
   * `"multipart.minChunkSize"`, `"source"`.
   */
  argument?: string;
}

/**
 * The base of every error Coffer throws.
 *
 * @example
 * ```ts
 * try { await bucket.objects.put('a.txt', blob); }
 * catch (e) { if (e instanceof CofferError) console.log(e.code, e.bucketId); }
 * ```
 */
export class CofferError extends Error implements ErrorContext {
  /** A stable, machine-readable code, e.g. `"BUCKET_LOCKED"`: one of {@link CofferErrorCode}. */
  readonly code:
    | 'COFFER_ERROR'
    | InvalidOperationError['code']
    | NotFoundError['code']
    | StorageError['code']
    | IntegrityError['code']
    | MultipartError['code']
    | AbortError['code']
    | UnsupportedEnvironmentError['code']
    | SyncError['code']
    | BodyUnavailableError['code']
    | RemoteError['code'] = 'COFFER_ERROR';
  bucketId?: string;
  recordId?: string;
  key?: string;
  versionId?: string;
  fileId?: string;
  uploadId?: string;
  limit?: number | null;
  expected?: unknown;
  actual?: unknown;
  argument?: string;

  /** Every context field given is set on the error; `cause` becomes the standard `cause`. */
  constructor(message: string, context: ErrorContext & { cause?: unknown } = {}) {
    const { cause, ...fields } = context;
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    for (const [field, value] of Object.entries(fields)) {
      if (value !== undefined) (this as Record<string, unknown>)[field] = value;
    }
  }
}

/**
 * An operation that the current state forbids (invenio's `InvalidOperationError`).
 *
 * @example
 * ```ts
 * await version.restore().catch((e) => {
 *   if (e instanceof InvalidOperationError) console.warn(e.code, e.message); // e.g. restoring the head
 * });
 * ```
 */
export class InvalidOperationError extends CofferError {
  override readonly code:
    | 'INVALID_OPERATION'
    | BucketLockedError['code']
    | BucketDeletedError['code']
    | InvalidKeyError['code']
    | InvalidTagError['code']
    | DuplicateTagError['code']
    | InvalidArgumentError['code']
    | ReservedMetadataError['code']
    | KeyExistsError['code']
    | RevisionConflictError['code']
    | RecordDeletedError['code']
    | RecordExistsError['code']
    | ValidationError['code']
    | ImportConflictError['code']
    | SyncNotConfiguredError['code']
    | SyncRemoteChangeError['code']
    | SyncAlreadyOpenError['code'] = 'INVALID_OPERATION';
}

/**
 * A write to a locked bucket.
 *
 * @example
 * ```ts
 * await bucket.lock();
 * await bucket.objects.put('a.txt', blob).catch((e) => {
 *   if (e instanceof BucketLockedError) alert(`Bucket ${e.bucketId} is locked.`);
 * });
 * ```
 */
export class BucketLockedError extends InvalidOperationError {
  override readonly code = 'BUCKET_LOCKED';
  constructor(bucketId: string, context: ErrorContext = {}) {
    super(`Bucket ${bucketId} is locked for modifications.`, { ...context, bucketId });
  }
}

/**
 * A write to a (soft-)deleted bucket.
 *
 * @example
 * ```ts
 * await bucket.delete();
 * await bucket.objects.put('a.txt', blob); // throws BucketDeletedError (code "BUCKET_DELETED")
 * ```
 */
export class BucketDeletedError extends InvalidOperationError {
  override readonly code = 'BUCKET_DELETED';
  constructor(bucketId: string, context: ErrorContext = {}) {
    super(`Bucket ${bucketId} is deleted.`, { ...context, bucketId });
  }
}

/**
 * An object key that is empty, longer than 255 characters, contains NUL, holds a lone
 * surrogate (it could not be exported, nor have a URL) or is not a string.
 *
 * @example
 * ```ts
 * await bucket.objects.put('', blob); // throws InvalidKeyError (code "INVALID_KEY")
 * ```
 */
export class InvalidKeyError extends InvalidOperationError {
  override readonly code = 'INVALID_KEY';
}

/**
 * A tag key or value that is not a string of 1 to 255 characters.
 *
 * @example
 * ```ts
 * await bucket.setTag('', 'x'); // throws InvalidTagError (code "INVALID_TAG")
 * ```
 */
export class InvalidTagError extends InvalidOperationError {
  override readonly code = 'INVALID_TAG';
  /** The offending tag key. */
  tag?: string;

  constructor(message: string, context: ErrorContext & { cause?: unknown; tag?: string } = {}) {
    super(message, context);
  }
}

/**
 * Creating a tag whose key already exists.
 *
 * @example
 * ```ts
 * await bucket.createTag('project', 'a');
 * await bucket.createTag('project', 'b'); // throws DuplicateTagError; setTag() replaces instead
 * ```
 */
export class DuplicateTagError extends InvalidOperationError {
  override readonly code = 'DUPLICATE_TAG';
  /** The duplicated tag key. */
  tag?: string;

  constructor(message: string, context: ErrorContext & { cause?: unknown; tag?: string } = {}) {
    super(message, context);
  }
}

/**
 * An argument of the wrong type or range: a negative size, an unknown source type, ...
 *
 * @example
 * ```ts
 * await coffer.buckets.create({ quotaSize: -1 }); // throws InvalidArgumentError (code "INVALID_ARGUMENT")
 * ```
 */
export class InvalidArgumentError extends InvalidOperationError {
  override readonly code = 'INVALID_ARGUMENT';
}

/**
 * Setting a reserved name (`key`, `bucket`, `version_id`, ...) as file metadata.
 *
 * @example
 * ```ts
 * await record.files!.setMetadata('a.txt', { checksum: 'x' }); // throws ReservedMetadataError, field "checksum"
 * ```
 */
export class ReservedMetadataError extends InvalidOperationError {
  override readonly code = 'RESERVED_METADATA';
  /** The reserved name. */
  field?: string;

  constructor(message: string, context: ErrorContext & { cause?: unknown; field?: string } = {}) {
    super(message, context);
  }
}

/**
 * A key that already holds a live file where none may be (e.g. the target of a rename).
 *
 * @example
 * ```ts
 * await record.files!.rename('a.txt', 'b.txt'); // throws KeyExistsError when b.txt holds a file
 * ```
 */
export class KeyExistsError extends InvalidOperationError {
  override readonly code = 'KEY_EXISTS';
}

/**
 * A commit based on a revision that another writer has replaced (optimistic concurrency).
 *
 * @example
 * ```ts
 * const mine = await coffer.records.get(id);
 * mine.data.title = 'New title';
 * await mine.commit().catch(async (e) => {
 *   if (e instanceof RevisionConflictError) await mine.reload(); // another tab committed first
 * });
 * ```
 */
export class RevisionConflictError extends InvalidOperationError {
  override readonly code = 'REVISION_CONFLICT';
}

/**
 * A change to a soft-deleted record (restore it first).
 *
 * @example
 * ```ts
 * await record.delete();
 * await record.files!.set('a.txt', blob); // throws RecordDeletedError until record.restore()
 * ```
 */
export class RecordDeletedError extends InvalidOperationError {
  override readonly code = 'RECORD_DELETED';
}

/**
 * Creating a record with the id of one that exists.
 *
 * @example
 * ```ts
 * await coffer.records.create({}, { id: 'survey-12' });
 * await coffer.records.create({}, { id: 'survey-12' }); // throws RecordExistsError
 * ```
 */
export class RecordExistsError extends InvalidOperationError {
  override readonly code = 'RECORD_EXISTS';
}

/**
 * Record data that fails its JSON Schema. `errors` lists every violation.
 *
 * @example
 * ```ts
 * const coffer = await openCoffer({ name: 'notes', schemas: { 'note.json': { type: 'object', required: ['title'] } } });
 * await coffer.records.create({ $schema: 'note.json' }).catch((e) => {
 *   if (e instanceof ValidationError) console.table(e.errors);
 * });
 * ```
 */
export class ValidationError extends InvalidOperationError {
  override readonly code = 'VALIDATION_FAILED';
  /** Every violation, as `{ path, message }`. */
  errors: { path: string; message: string }[];

  constructor(
    message: string,
    context: ErrorContext & { cause?: unknown; errors?: { path: string; message: string }[] } = {},
  ) {
    const { errors = [], ...rest } = context;
    super(message, rest);
    this.errors = errors;
  }
}

/**
 * A record, bucket, object, version, upload or file that does not exist.
 *
 * @example
 * ```ts
 * await coffer.records.get('nope').catch((e) => {
 *   if (e instanceof NotFoundError) console.log(e.code); // "NOT_FOUND"
 * });
 * ```
 */
export class NotFoundError extends CofferError {
  override readonly code = 'NOT_FOUND';
  /**
   * What was looked for: `"record"`, `"revision"`, `"bucket"`, `"object"`, `"version"`,
   * `"upload"`, `"file"`, `"conflict"`.
   */
  resource?: string;

  constructor(message: string, context: ErrorContext & { cause?: unknown; resource?: string } = {}) {
    super(message, context);
  }
}

/**
 * IndexedDB or the file bytes failed underneath; `cause` is the original error.
 *
 * @example
 * ```ts
 * await bucket.objects.put('a.txt', blob).catch((e) => {
 *   if (e instanceof StorageError) console.error('IndexedDB failed', e.cause);
 * });
 * ```
 */
export class StorageError extends CofferError {
  override readonly code:
    | 'STORAGE'
    | StorageQuotaExceededError['code']
    | FileSizeError['code']
    | UnexpectedFileSizeError['code'] = 'STORAGE';
}

/**
 * The origin's disk quota is exhausted (distinct from a bucket quota). Nothing was changed.
 *
 * @example
 * ```ts
 * await bucket.objects.put('movie.mp4', file).catch((e) => {
 *   if (e instanceof StorageQuotaExceededError) alert('This browser has no room left for the file.');
 * });
 * ```
 */
export class StorageQuotaExceededError extends StorageError {
  override readonly code = 'STORAGE_QUOTA_EXCEEDED';
}

/**
 * A file over a size limit; `limit` is the limit, `actual` the size seen so far.
 *
 * @example
 * ```ts
 * await bucket.objects.put('big.bin', file).catch((e) => {
 *   if (e instanceof FileSizeError) console.log(`limit ${e.limit}, got ${e.actual}`); // quota or max file size
 * });
 * ```
 */
export class FileSizeError extends StorageError {
  override readonly code: 'FILE_SIZE' | BucketQuotaExceededError['code'] | MaxFileSizeExceededError['code'] =
    'FILE_SIZE';
}

/**
 * A write that would take the bucket over its `quotaSize`.
 *
 * @example
 * ```ts
 * const bucket = await coffer.buckets.create({ quotaSize: 1024 });
 * await bucket.objects.put('big.bin', new Blob([new Uint8Array(2048)])); // throws BucketQuotaExceededError
 * ```
 */
export class BucketQuotaExceededError extends FileSizeError {
  override readonly code = 'BUCKET_QUOTA_EXCEEDED';
}

/**
 * A file larger than the bucket's `maxFileSize`.
 *
 * @example
 * ```ts
 * const bucket = await coffer.buckets.create({ maxFileSize: 1024 });
 * await bucket.objects.put('big.bin', new Blob([new Uint8Array(2048)])); // throws MaxFileSizeExceededError
 * ```
 */
export class MaxFileSizeExceededError extends FileSizeError {
  override readonly code = 'MAX_FILE_SIZE_EXCEEDED';
}

/**
 * A source that delivered more or fewer bytes than declared.
 *
 * @example
 * ```ts
 * // a picked file that changes on disk while it is read no longer has the size it declared
 * await bucket.objects.put(file.name, file).catch((e) => {
 *   if (e instanceof UnexpectedFileSizeError) console.log(e.expected, e.actual);
 * });
 * ```
 */
export class UnexpectedFileSizeError extends StorageError {
  override readonly code = 'UNEXPECTED_FILE_SIZE';
}

/**
 * Stored bytes that do not match their checksum, or an archive that fails verification.
 *
 * @example
 * ```ts
 * const { failed } = await coffer.verifyChecksums();
 * // reading a file that failed its check throws IntegrityError (expected and actual checksums)
 * await version.blob().catch((e) => e instanceof IntegrityError && console.log(e.expected, e.actual));
 * ```
 */
export class IntegrityError extends CofferError {
  override readonly code: 'INTEGRITY' | InvalidBagError['code'] = 'INTEGRITY';
}

/** Why an archive was refused at import. */
export type BagProblem =
  | 'not-zip'
  | 'truncated'
  | 'unsupported-zip'
  | 'unsafe-path'
  | 'duplicate-entry'
  | 'overlapping-entries'
  | 'size-mismatch'
  | 'compression-ratio'
  | 'too-large'
  | 'not-a-bag'
  | 'invalid-tag-file'
  | 'missing-file'
  | 'extra-file'
  | 'checksum-mismatch'
  | 'payload-oxum'
  | 'invalid-document'
  /** A record names a bucket it does not own in the bag (`_bucket`, `_files`), or two records claim one bucket. */
  | 'foreign-bucket';

/**
 * An archive that is not a valid Coffer bag: not a ZIP, unsafe, incomplete or tampered with.
 * `reason` says which check failed and `path` names the entry, where there is one.
 *
 * @example
 * ```ts
 * await coffer.import(zip).catch((e) => {
 *   if (e instanceof InvalidBagError) console.log(e.reason, e.path); // nothing was imported
 * });
 * ```
 */
export class InvalidBagError extends IntegrityError {
  override readonly code = 'INVALID_BAG';
  /** Which check failed. */
  reason?: BagProblem;
  /** The archive entry at fault, where there is one. */
  path?: string;

  constructor(
    reason: BagProblem,
    message: string,
    context: ErrorContext & { cause?: unknown; path?: string } = {},
  ) {
    const { path, ...rest } = context;
    super(message, rest);
    this.reason = reason;
    if (path !== undefined) this.path = path;
  }
}

/**
 * An import with `onConflict: 'replace'` would replace what the bag does not own: a bucket
 * here that belongs to a record the bag does not hold (`bucketId`, and the owner's
 * `recordId`), or a version id used by a bucket the import leaves alone (`versionId`,
 * `bucketId`). Nothing was imported.
 *
 * @example
 * ```ts
 * await coffer.import(zip, { onConflict: 'replace' }).catch((e) => {
 *   if (e instanceof ImportConflictError) console.log(e.bucketId, e.recordId);
 * });
 * ```
 */
export class ImportConflictError extends InvalidOperationError {
  override readonly code = 'IMPORT_CONFLICT';
}

/**
 * The base of multipart upload errors.
 *
 * @example
 * ```ts
 * await upload.complete().catch((e) => {
 *   if (e instanceof MultipartError) console.log(e.code, e.uploadId);
 * });
 * ```
 */
export class MultipartError extends CofferError {
  override readonly code:
    | 'MULTIPART'
    | MultipartAlreadyCompletedError['code']
    | MultipartMissingPartsError['code']
    | MultipartInvalidChunkSizeError['code']
    | MultipartInvalidPartNumberError['code']
    | MultipartInvalidSizeError['code'] = 'MULTIPART';
}

/**
 * A part written to, or a second `complete()` of, an upload that is already completed.
 *
 * @example
 * ```ts
 * await upload.complete();
 * await upload.putPart(0, blob); // throws MultipartAlreadyCompletedError
 * ```
 */
export class MultipartAlreadyCompletedError extends MultipartError {
  override readonly code = 'MULTIPART_ALREADY_COMPLETED';
}

/**
 * Not all parts have been uploaded, or a part has the wrong size.
 *
 * @example
 * ```ts
 * const upload = await bucket.multipart.create('big.tif', { size: 12 * 1024 ** 2, chunkSize: 6 * 1024 ** 2 });
 * await upload.putPart(0, firstHalf);
 * await upload.complete(); // throws MultipartMissingPartsError: part 1 is missing
 * ```
 */
export class MultipartMissingPartsError extends MultipartError {
  override readonly code = 'MULTIPART_MISSING_PARTS';
}

/**
 * A chunk size outside the configured range, or a part of the wrong size.
 *
 * @example
 * ```ts
 * await bucket.multipart.create('big.tif', { size: 10 ** 9, chunkSize: 1024 }); // throws: below the 5 MiB minimum
 * ```
 */
export class MultipartInvalidChunkSizeError extends MultipartError {
  override readonly code = 'MULTIPART_INVALID_CHUNK_SIZE';
}

/**
 * A part number below 0 or after the last part.
 *
 * @example
 * ```ts
 * await upload.putPart(-1, blob); // throws MultipartInvalidPartNumberError
 * ```
 */
export class MultipartInvalidPartNumberError extends MultipartError {
  override readonly code = 'MULTIPART_INVALID_PART_NUMBER';
}

/**
 * An upload size that is too small or needs too many parts.
 *
 * @example
 * ```ts
 * await bucket.multipart.create('huge.bin', { size: 10 ** 14, chunkSize: 5 * 1024 ** 2 }); // throws: too many parts
 * ```
 */
export class MultipartInvalidSizeError extends MultipartError {
  override readonly code = 'MULTIPART_INVALID_SIZE';
}

/**
 * The operation was cancelled through its `AbortSignal`. Nothing was changed.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const writing = bucket.objects.put('big.bin', file, { signal: controller.signal });
 * controller.abort();
 * await writing.catch((e) => e instanceof AbortError); // true; nothing was stored
 * ```
 */
export class AbortError extends CofferError {
  override readonly code = 'ABORTED';
}

/**
 * The environment lacks something Coffer needs (IndexedDB, Blob storage, ...).
 *
 * @example
 * ```ts
 * await openCoffer({ name: 'notes' }).catch((e) => {
 *   if (e instanceof UnsupportedEnvironmentError) showFallback(); // e.g. no IndexedDB
 * });
 * ```
 */
export class UnsupportedEnvironmentError extends CofferError {
  override readonly code = 'UNSUPPORTED_ENVIRONMENT';
}

/**
 * A sync journal entry that breaks the protocol (`coffer-sync/1`): the wrong shape, an invalid
 * id, key, size or checksum, record data that is not a bounded JSON object. Such an entry changes
 * nothing. `device` and `seq` name the entry, `opIndex` the op at fault (absent when the fault is
 * in the entry itself) and `field` its path in the entry, such as `ops[3].checksum`.
 *
 * @example
 * ```ts
 * try { parseJournalEntry(json, { device, seq }); }
 * catch (e) { if (e instanceof SyncError) console.warn(e.device, e.seq, e.opIndex, e.field); }
 * ```
 */
export class SyncError extends CofferError {
  override readonly code = 'SYNC_INVALID_JOURNAL';
  /** The device whose journal holds the entry. */
  device?: string;
  /** The entry's sequence number in that journal. */
  seq?: number;
  /** The index of the op at fault in the entry's `ops`. */
  opIndex?: number;
  /** The path of the value at fault in the entry, e.g. `ops[3].parents[0]`. */
  field?: string;

  constructor(
    message: string,
    context: ErrorContext & {
      cause?: unknown;
      device?: string;
      seq?: number;
      opIndex?: number;
      field?: string;
    } = {},
  ) {
    const { device, seq, opIndex, field, ...rest } = context;
    super(message, rest);
    if (device !== undefined) this.device = device;
    if (seq !== undefined) this.seq = seq;
    if (opIndex !== undefined) this.opIndex = opIndex;
    if (field !== undefined) this.field = field;
  }
}

/**
 * Sync was asked to run, or to be checked, before a remote was configured.
 *
 * @example
 * ```ts
 * await sync.now().catch((e) => {
 *   if (e instanceof SyncNotConfiguredError) showRemoteForm();
 * });
 * ```
 */
export class SyncNotConfiguredError extends InvalidOperationError {
  override readonly code = 'SYNC_NOT_CONFIGURED';
}

/**
 * A remote with another endpoint, bucket or prefix, for a coffer that has synced already: a
 * coffer syncs with one remote (its sync state names that remote's versions). Nothing was changed.
 *
 * @example
 * ```ts
 * await sync.configure(other).catch((e) => {
 *   if (e instanceof SyncRemoteChangeError) alert('Use a new coffer for another bucket.');
 * });
 * ```
 */
export class SyncRemoteChangeError extends InvalidOperationError {
  override readonly code = 'SYNC_REMOTE_CHANGE';
}

/**
 * Opening sync on a coffer that has an open sync (close that one first).
 *
 * @example
 * ```ts
 * openSync(coffer, { remote });
 * openSync(coffer, { remote }); // throws SyncAlreadyOpenError (code "SYNC_OPEN")
 * ```
 */
export class SyncAlreadyOpenError extends InvalidOperationError {
  override readonly code = 'SYNC_OPEN';
}

/** Why the bytes of a version pulled without its body could not be read here. */
export type BodyUnavailableReason =
  /** No sync is open to fetch them (none configured, or no tab leads it). */
  | 'no-sync'
  /** The server could not be reached. */
  | 'offline'
  /** The server no longer holds the version. */
  | 'gone'
  /** The server refused the request (keys, permissions: see `cause`). */
  | 'refused'
  /** They were not fetched: an operation that reads only local bytes (fixity, an export). */
  | 'not-fetched';

/**
 * The bytes of a version are not on this device (a sync pulled it with `bodies: 'lazy'`) and
 * could not be fetched now. Nothing changed: the version stays as it was, and a later read
 * fetches it. `key`, `versionId` and `fileId` name the file; an export names every such file
 * in `fileIds`.
 *
 * @example
 * ```ts
 * const blob = await file.blob().catch((e) => {
 *   if (e instanceof BodyUnavailableError && e.reason === 'offline') showNote('Available once online');
 *   throw e;
 * });
 * ```
 */
export class BodyUnavailableError extends CofferError {
  override readonly code = 'BODY_UNAVAILABLE';
  /** Why the bytes could not be had. */
  reason: BodyUnavailableReason = 'no-sync';
  /** Every file instance concerned, when there are several (an export). */
  fileIds?: string[];

  constructor(
    message: string,
    context: ErrorContext & { cause?: unknown; reason: BodyUnavailableReason; fileIds?: string[] } = {
      reason: 'no-sync',
    },
  ) {
    const { reason, fileIds, ...rest } = context;
    super(message, rest);
    this.reason = reason;
    if (fileIds !== undefined) this.fileIds = fileIds;
  }
}

/** Every error class by name, so errors can cross the worker boundary and come back typed. */
export const errorClasses: Record<string, new (...args: never[]) => CofferError> = {
  CofferError,
  InvalidOperationError,
  BucketLockedError,
  BucketDeletedError,
  InvalidKeyError,
  InvalidTagError,
  DuplicateTagError,
  InvalidArgumentError,
  ReservedMetadataError,
  KeyExistsError,
  RevisionConflictError,
  RecordDeletedError,
  RecordExistsError,
  ValidationError,
  NotFoundError,
  StorageError,
  StorageQuotaExceededError,
  FileSizeError,
  BucketQuotaExceededError,
  MaxFileSizeExceededError,
  UnexpectedFileSizeError,
  IntegrityError,
  InvalidBagError,
  ImportConflictError,
  MultipartError,
  MultipartAlreadyCompletedError,
  MultipartMissingPartsError,
  MultipartInvalidChunkSizeError,
  MultipartInvalidPartNumberError,
  MultipartInvalidSizeError,
  AbortError,
  UnsupportedEnvironmentError,
  SyncError,
  SyncNotConfiguredError,
  SyncRemoteChangeError,
  SyncAlreadyOpenError,
  BodyUnavailableError,
};

/**
 * Every `code` a Coffer error can have, derived from the error classes (with the sync remote's
 * `REMOTE_*` codes), so that a `switch` over `error.code` is checked.
 *
 * @example
 * ```ts
 * function advice(code: CofferErrorCode): string {
 *   switch (code) {
 *     case 'BUCKET_QUOTA_EXCEEDED': return 'The bucket is full.';
 *     case 'STORAGE_QUOTA_EXCEEDED': return 'This browser has no room left.';
 *     default: return 'Something went wrong.';
 *   }
 * }
 * ```
 */
export type CofferErrorCode = CofferError['code'];

/** Throw {@link AbortError} if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('The operation was aborted.', { cause: signal.reason });
}
