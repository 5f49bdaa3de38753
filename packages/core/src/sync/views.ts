/**
 * The public shapes of stored sync rows, shared by the engine (`CofferSync`) and every tab's
 * `BrowserSync`, which read the same rows. Kept apart from the engine so that a page that only
 * reads the status does not bundle it.
 *
 * @module
 */
import type { SyncConflictRow } from '../storage/schema.js';
import type { SyncStatusRow } from '../storage/sync-store.js';
import type { SyncConflict, SyncStatus } from './engine.js';

/** The stored status as `status()` returns it. */
export const toSyncStatus = (row: SyncStatusRow): SyncStatus => ({
  phase: row.phase,
  filesToGo: row.filesToGo,
  bytesToGo: row.bytesToGo,
  lastSuccess: row.lastSuccess === null ? undefined : new Date(row.lastSuccess),
  lastErrorCode: row.lastErrorCode ?? undefined,
  lastErrorMessage: row.lastErrorMessage ?? undefined,
});

/** A stored conflict as `conflicts()` returns it. */
export const toConflict = (row: SyncConflictRow): SyncConflict => ({
  id: row.id,
  recordId: row.recordId,
  path: [...row.path],
  base: row.base,
  local: row.local,
  remote: row.remote,
  winner: row.winner,
  created: new Date(row.created),
});
