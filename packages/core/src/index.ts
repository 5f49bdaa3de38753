/**
 * Coffer: JSON records that own buckets of versioned files, stored in IndexedDB.
 *
 * @packageDocumentation
 * @module @coffer/core
 */
export { Coffer, Buckets, openCoffer, type CofferOptions } from './api/coffer.js';
export { Bucket, BucketObjects, type BucketOptions, type ListOptions, type SyncChange } from './api/bucket.js';
export { ObjectVersion, type FileInstance } from './api/object-version.js';
export type { PutOptions } from './api/write-file.js';
export type { ExportOptions, ImportOptions } from './api/transfer.js';
export type { ImportReport, OnConflict } from './worker/protocol.js';
export {
  CofferRecord,
  Records,
  type CreateRecordOptions,
  type GetRecordOptions,
  type ListRecordsOptions,
  type RecordHooks,
  type RecordRevision,
  type RecordsOptions,
} from './api/records.js';
export { RecordFiles, recordFileFactory, sortedFilesFromBucket, type SetFileOptions } from './api/record-files.js';
export { FileObject } from './api/file-object.js';
export type { JsonSchema, SchemaMap } from './api/json-schema.js';
export type { FileEntry, RecordData } from './model/record.js';
export { RESERVED_METADATA } from './model/record.js';
export {
  BucketMultipart,
  MultipartUpload,
  type CreateUploadOptions,
  type PutPartOptions,
  type UploadPart,
} from './api/multipart.js';
export type {
  FixityResult,
  GcOptions,
  GcResult,
  VerifyChecksumsOptions,
  VerifyChecksumsResult,
} from './api/maintenance.js';
export { DEFAULT_MULTIPART_LIMITS, type MultipartLimits } from './model/multipart.js';
export type { ByteSource, OperationHooks, Progress } from './worker/protocol.js';
export type { ChunkStorage } from './storage/chunks.js';
export type { BucketId, FileId, RecordId, UploadId, VersionId } from './ids.js';
export type { Tags } from './model/tags.js';
/** Dexie's `liveQuery`: an observable that re-runs a read whenever the data it read changes, in any tab. */
export { liveQuery } from './storage/live.js';
export { guessMimetype, sanitizeMimetype } from './model/mimetype.js';
export { MAX_KEY_LENGTH } from './model/key.js';
export { MAX_TAG_LENGTH } from './model/tags.js';
export {
  AbortError,
  BucketDeletedError,
  BucketLockedError,
  BucketQuotaExceededError,
  CofferError,
  DuplicateTagError,
  FileSizeError,
  IntegrityError,
  InvalidBagError,
  InvalidArgumentError,
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
  UnexpectedFileSizeError,
  UnsupportedEnvironmentError,
  ValidationError,
  type BagProblem,
  type ErrorContext,
} from './errors.js';
