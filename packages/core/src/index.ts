/**
 * Coffer: JSON records that own buckets of versioned files, stored in IndexedDB.
 *
 * @packageDocumentation
 * @module @coffer/core
 */

export {
  Bucket,
  BucketObjects,
  type BucketOptions,
  type ListOptions,
  type PutManyItem,
  type PutManyResult,
  type SyncChange,
} from './api/bucket.js';
export { Buckets, Coffer, type CofferOptions, openCoffer } from './api/coffer.js';
export { FileObject } from './api/file-object.js';
export type { JsonSchema, SchemaMap } from './api/json-schema.js';
export type {
  FixityResult,
  GcOptions,
  GcResult,
  VerifyChecksumsOptions,
  VerifyChecksumsResult,
} from './api/maintenance.js';
export {
  BucketMultipart,
  type CreateUploadOptions,
  MultipartUpload,
  type PutPartOptions,
  type UploadPart,
} from './api/multipart.js';
export { type FileInstance, ObjectVersion } from './api/object-version.js';
export {
  RecordFiles,
  recordFileFactory,
  type SetFileOptions,
  type SetManyItem,
  type SetManyResult,
  sortedFilesFromBucket,
} from './api/record-files.js';
export {
  CofferRecord,
  type CreateRecordOptions,
  type GetRecordOptions,
  type ListRecordsOptions,
  type RecordHooks,
  type RecordRevision,
  Records,
  type RecordsOptions,
} from './api/records.js';
export type { ExportOptions, ImportOptions } from './api/transfer.js';
export type { PutOptions, SourceOptions } from './api/write-file.js';
export {
  AbortError,
  type BagProblem,
  BodyUnavailableError,
  type BodyUnavailableReason,
  BucketDeletedError,
  BucketLockedError,
  BucketQuotaExceededError,
  CofferError,
  type CofferErrorCode,
  DuplicateTagError,
  type ErrorContext,
  FileSizeError,
  ImportConflictError,
  IntegrityError,
  InvalidArgumentError,
  InvalidBagError,
  InvalidKeyError,
  InvalidOperationError,
  InvalidTagError,
  KeyExistsError,
  MaxFileSizeExceededError,
  MultipartAlreadyCompletedError,
  MultipartError,
  MultipartInvalidChunkSizeError,
  MultipartInvalidPartNumberError,
  MultipartInvalidSizeError,
  MultipartMissingPartsError,
  NotFoundError,
  RecordDeletedError,
  RecordExistsError,
  ReservedMetadataError,
  RevisionConflictError,
  StorageError,
  StorageQuotaExceededError,
  SyncAlreadyOpenError,
  SyncError,
  SyncNotConfiguredError,
  SyncRemoteChangeError,
  UnexpectedFileSizeError,
  UnsupportedEnvironmentError,
  ValidationError,
} from './errors.js';
export type { BucketId, FileId, RecordId, UploadId, VersionId } from './ids.js';
export { isWellFormed, MAX_KEY_LENGTH, validateKey } from './model/key.js';
export {
  MAX_COFFER_NAME_LENGTH,
  MAX_MIMETYPE_LENGTH,
  validateCofferName,
  validateMimetype,
} from './model/limits.js';
export { guessMimetype, sanitizeMimetype } from './model/mimetype.js';
export { DEFAULT_MULTIPART_LIMITS, type MultipartLimits } from './model/multipart.js';
export type { FileEntry, RecordData } from './model/record.js';
export {
  MAX_ID_LENGTH,
  RESERVED_METADATA,
  validateBucketId,
  validateRecordData,
  validateRecordId,
} from './model/record.js';
export type { Tags } from './model/tags.js';
export { MAX_TAG_LENGTH } from './model/tags.js';
export type { ChunkStorage } from './storage/chunks.js';
/** Dexie's `liveQuery`: an observable that re-runs a read whenever the data it read changes, in any tab. */
export { liveQuery } from './storage/live.js';
export type { ByteSource, ImportReport, OnConflict, OperationHooks, Progress } from './worker/protocol.js';
