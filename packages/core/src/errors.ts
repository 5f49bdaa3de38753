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

/** Context fields an error may carry. */
export interface ErrorContext {
  bucketId?: string;
  recordId?: string;
  key?: string;
  versionId?: string;
  fileId?: string;
  uploadId?: string;
  limit?: number | null;
  expected?: unknown;
  actual?: unknown;
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
  /** A stable, machine-readable code, e.g. `"BUCKET_LOCKED"`. */
  readonly code: string = 'COFFER_ERROR';
  bucketId?: string;
  recordId?: string;
  key?: string;
  versionId?: string;
  fileId?: string;
  uploadId?: string;
  limit?: number | null;
  expected?: unknown;
  actual?: unknown;

  constructor(message: string, context: ErrorContext & { cause?: unknown } = {}) {
    const { cause, ...fields } = context;
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    for (const [field, value] of Object.entries(fields)) {
      if (value !== undefined) (this as Record<string, unknown>)[field] = value;
    }
  }
}

/** An operation that the current state forbids (invenio's `InvalidOperationError`). */
export class InvalidOperationError extends CofferError {
  override readonly code: string = 'INVALID_OPERATION';
}

/** A write to a locked bucket. */
export class BucketLockedError extends InvalidOperationError {
  override readonly code: string = 'BUCKET_LOCKED';
  constructor(bucketId: string, context: ErrorContext = {}) {
    super(`Bucket ${bucketId} is locked for modifications.`, { ...context, bucketId });
  }
}

/** A write to a (soft-)deleted bucket. */
export class BucketDeletedError extends InvalidOperationError {
  override readonly code: string = 'BUCKET_DELETED';
  constructor(bucketId: string, context: ErrorContext = {}) {
    super(`Bucket ${bucketId} is deleted.`, { ...context, bucketId });
  }
}

/** An object key that is empty, longer than 255 characters, contains NUL or is not a string. */
export class InvalidKeyError extends InvalidOperationError {
  override readonly code: string = 'INVALID_KEY';
}

/** A tag key or value that is not a string of 1 to 255 characters. */
export class InvalidTagError extends InvalidOperationError {
  override readonly code: string = 'INVALID_TAG';
  /** The offending tag key. */
  tag?: string;
}

/** Creating a tag whose key already exists. */
export class DuplicateTagError extends InvalidOperationError {
  override readonly code: string = 'DUPLICATE_TAG';
  /** The duplicated tag key. */
  tag?: string;
}

/** An argument of the wrong type or range: a negative size, an unknown source type, ... */
export class InvalidArgumentError extends InvalidOperationError {
  override readonly code: string = 'INVALID_ARGUMENT';
  /** The name of the offending argument or option. */
  argument?: string;
}

/** Setting a reserved name (`key`, `bucket`, `version_id`, ...) as file metadata. */
export class ReservedMetadataError extends InvalidOperationError {
  override readonly code: string = 'RESERVED_METADATA';
  /** The reserved name. */
  field?: string;
}

/** A key that already holds a live file where none may be (e.g. the target of a rename). */
export class KeyExistsError extends InvalidOperationError {
  override readonly code: string = 'KEY_EXISTS';
}

/** A commit based on a revision that another writer has replaced (optimistic concurrency). */
export class RevisionConflictError extends InvalidOperationError {
  override readonly code: string = 'REVISION_CONFLICT';
}

/** A change to a soft-deleted record (restore it first). */
export class RecordDeletedError extends InvalidOperationError {
  override readonly code: string = 'RECORD_DELETED';
}

/** Creating a record with the id of one that exists. */
export class RecordExistsError extends InvalidOperationError {
  override readonly code: string = 'RECORD_EXISTS';
}

/** Record data that fails its JSON Schema. `errors` lists every violation. */
export class ValidationError extends InvalidOperationError {
  override readonly code: string = 'VALIDATION_FAILED';
  /** Every violation, as `{ path, message }`. */
  errors: { path: string; message: string }[] = [];
}

/** A record, bucket, object, version, upload or file that does not exist. */
export class NotFoundError extends CofferError {
  override readonly code: string = 'NOT_FOUND';
  /** What was looked for: `"record"`, `"bucket"`, `"object"`, `"version"`, `"upload"`, `"file"`. */
  resource?: string;
}

/** IndexedDB or the file bytes failed underneath; `cause` is the original error. */
export class StorageError extends CofferError {
  override readonly code: string = 'STORAGE';
}

/** The origin's disk quota is exhausted (distinct from a bucket quota). Nothing was changed. */
export class StorageQuotaExceededError extends StorageError {
  override readonly code: string = 'STORAGE_QUOTA_EXCEEDED';
}

/** A file over a size limit; `limit` is the limit, `actual` the size seen so far. */
export class FileSizeError extends StorageError {
  override readonly code: string = 'FILE_SIZE';
}

/** A write that would take the bucket over its `quotaSize`. */
export class BucketQuotaExceededError extends FileSizeError {
  override readonly code: string = 'BUCKET_QUOTA_EXCEEDED';
}

/** A file larger than the bucket's `maxFileSize`. */
export class MaxFileSizeExceededError extends FileSizeError {
  override readonly code: string = 'MAX_FILE_SIZE_EXCEEDED';
}

/** A source that delivered more or fewer bytes than declared. */
export class UnexpectedFileSizeError extends StorageError {
  override readonly code: string = 'UNEXPECTED_FILE_SIZE';
}

/** Stored bytes that do not match their checksum, or an archive that fails verification. */
export class IntegrityError extends CofferError {
  override readonly code: string = 'INTEGRITY';
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
  | 'invalid-document';

/**
 * An archive that is not a valid Coffer bag: not a ZIP, unsafe, incomplete or tampered with.
 * `reason` says which check failed and `path` names the entry, where there is one.
 */
export class InvalidBagError extends IntegrityError {
  override readonly code: string = 'INVALID_BAG';
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

/** The base of multipart upload errors. */
export class MultipartError extends CofferError {
  override readonly code: string = 'MULTIPART';
}

/** A part written to, or a second `complete()` of, an upload that is already completed. */
export class MultipartAlreadyCompletedError extends MultipartError {
  override readonly code: string = 'MULTIPART_ALREADY_COMPLETED';
}

/** Not all parts have been uploaded, or a part has the wrong size. */
export class MultipartMissingPartsError extends MultipartError {
  override readonly code: string = 'MULTIPART_MISSING_PARTS';
}

/** A chunk size outside the configured range, or a part of the wrong size. */
export class MultipartInvalidChunkSizeError extends MultipartError {
  override readonly code: string = 'MULTIPART_INVALID_CHUNK_SIZE';
}

/** A part number below 0 or after the last part. */
export class MultipartInvalidPartNumberError extends MultipartError {
  override readonly code: string = 'MULTIPART_INVALID_PART_NUMBER';
}

/** An upload size that is too small or needs too many parts. */
export class MultipartInvalidSizeError extends MultipartError {
  override readonly code: string = 'MULTIPART_INVALID_SIZE';
}

/** The operation was cancelled through its `AbortSignal`. Nothing was changed. */
export class AbortError extends CofferError {
  override readonly code: string = 'ABORTED';
}

/** The environment lacks something Coffer needs (IndexedDB, Blob storage, ...). */
export class UnsupportedEnvironmentError extends CofferError {
  override readonly code: string = 'UNSUPPORTED_ENVIRONMENT';
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
  MultipartError,
  MultipartAlreadyCompletedError,
  MultipartMissingPartsError,
  MultipartInvalidChunkSizeError,
  MultipartInvalidPartNumberError,
  MultipartInvalidSizeError,
  AbortError,
  UnsupportedEnvironmentError,
};

/** Throw {@link AbortError} if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('The operation was aborted.', { cause: signal.reason });
}
