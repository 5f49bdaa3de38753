/**
 * Coffer's web components: Lit elements (`coffer-` prefix) any front end can use. Importing
 * this module defines them all; give each a `coffer` property or provide one with
 * {@link cofferContext}.
 *
 * @packageDocumentation
 * @module @coffer/elements
 */
export { CofferElement, type CofferErrorDetail } from './base-element.js';
export {
  backupFileName,
  CofferBackupPanel,
  describeImportError,
  describeImportReport,
} from './coffer-backup-panel.js';
export { CofferBucketPanel } from './coffer-bucket-panel.js';
export { CofferDeletedFiles } from './coffer-deleted-files.js';
export {
  type ActivityEntry,
  type ActivityKind,
  type ActivityVersion,
  CofferFileActivity,
  fileActivity,
} from './coffer-file-activity.js';
export { CofferFilePreview } from './coffer-file-preview.js';
export { CofferFileRow, type MoveDetail } from './coffer-file-row.js';
export { CofferFiles } from './coffer-files.js';
export { CofferRecordEditor } from './coffer-record-editor.js';
export {
  CofferRecordList,
  findRecords,
  type RecordSort,
  type RecordSummary,
  summarize,
} from './coffer-record-list.js';
export { CofferRevisionHistory } from './coffer-revision-history.js';
export { CofferStoragePanel } from './coffer-storage-panel.js';
export { CofferSyncBadge, type SyncBadgeState } from './coffer-sync-badge.js';
export {
  corsRuleFor,
  describeSyncError,
  describeSyncProblem,
  type SyncProblemText,
} from './coffer-sync-messages.js';
export { CofferSyncPanel } from './coffer-sync-panel.js';
export { CofferUploadQueue, type UploadItem, UploadState } from './coffer-upload-queue.js';
export { CofferVersionHistory } from './coffer-version-history.js';
export { cofferContext } from './context.js';
export {
  LiveQueryController,
  type LiveQueryOptions,
  LiveQueryStatus,
} from './controllers/live-query-controller.js';
export { deleteFiles, renameFile } from './file-actions.js';
export {
  downloadFile,
  type PreviewKind,
  previewKind,
  resolveFileUrl,
  type StoredFile,
  versionUrl,
} from './file-url.js';
export {
  droppedEntries,
  type FolderFile,
  filesOfEntries,
  folderFilesFromInput,
} from './folder-files.js';
export { checksumHex, describeMimetype, formatAgo, formatBytes, formatDateTime } from './format.js';
export { describeError } from './messages.js';
export {
  diffData,
  type FieldChange,
  type RecordFields,
  readFields,
  userData,
  writeFields,
} from './record-fields.js';
export { baseStyles } from './styles.js';
export { type CofferDoneDetail, saveBlob } from './undo.js';
export { type TrackedUpload, UploadTracker, uploadTracker } from './upload-tracker.js';
export { type ZipEntry, zipBlobs } from './zip.js';
