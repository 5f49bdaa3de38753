/**
 * `@coffer/core/sync`: sync of a coffer with a versioned S3 bucket (docs/sync-protocol.md),
 * kept out of the main entry point so that apps without sync do not bundle S3.
 *
 * An explicit export list: each name here is public API.
 *
 * @example
 * ```ts
 * import { openCoffer } from '@coffer/core';
 * import { openBrowserSync } from '@coffer/core/sync';
 *
 * const coffer = await openCoffer({ name: 'field-notes' });
 * const sync = openBrowserSync(coffer); // the remote configured on the Sync screen, or:
 * await sync.configure({ endpoint: 'http://127.0.0.1:7480', bucket: 'coffer', region: 'us-east-1',
 *   credentials: { accessKeyId, secretAccessKey } });
 * await sync.now();
 * ```
 *
 * @module @coffer/core/sync
 */
export { BrowserSync, type BrowserSyncOptions, openBrowserSync } from './browser-sync.js';
export {
  CofferSync,
  type ConflictChoice,
  openSync,
  type RecordSyncState,
  type RetryOptions,
  type SyncConflict,
  type SyncNowOptions,
  type SyncOptions,
  type SyncProgress,
  type SyncReport,
  type SyncStatus,
} from './engine.js';
export { RemoteError, type RemoteErrorCode, type RemoteErrorContext } from './errors.js';
export { leaderLockName } from './leader.js';
export { askLeaderForBodies } from './leader-channel.js';
export type {
  ListOptions,
  ListPage,
  PutObjectOptions,
  Remote,
  RemoteBody,
  RemoteCheck,
  RemotePart,
  RemoteRequestOptions,
  RemoteVersion,
} from './remote.js';
export type { StoredRemote, SyncRemoteConfig } from './remote-config.js';
export {
  S3_CORS_RULE,
  type S3CheckProblemCode,
  type S3Credentials,
  type S3Presign,
  S3Remote,
  type S3RemoteOptions,
  type S3SignedRequest,
  type S3SignRequest,
} from './s3-remote.js';
