/**
 * The remote a coffer syncs with, kept in the coffer's own database (the `syncState` row
 * `remote`), so every tab, the sync worker and the next visit read the same one.
 *
 * Credentials are kept with it, **on this device, unencrypted** (v1): anyone who can run
 * script on the origin, or read the browser profile, can read them. Use keys scoped to the one
 * bucket (and prefix), or a presigning callback that keeps the keys on a server.
 *
 * @module
 */
import { SyncRemoteChangeError } from '../errors.js';
import { mapErrors } from '../storage/map-storage-error.js';
import type { CofferDb } from '../storage/schema.js';
import type { S3Credentials } from './s3-remote.js';

/**
 * Where and how a coffer syncs: an S3 bucket with versioning (and, for a browser, the CORS
 * rule `S3_CORS_RULE`), plus the engine's tuning.
 *
 * `credentials` are stored on this device, unencrypted, with the rest of the configuration
 * (v1). Leave them out when the page signs requests with a `presign` callback instead.
 */
export interface SyncRemoteConfig {
  /** The S3 server, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:7480`. */
  endpoint: string;
  bucket: string;
  /** SigV4 region (default `us-east-1`). */
  region?: string | undefined;
  /** Prepended to every key, e.g. `coffer/alice/` (default empty). */
  prefix?: string | undefined;
  /** Access key and secret: kept on this device (IndexedDB), unencrypted. */
  credentials?: S3Credentials | undefined;
  /** Path-style URLs (default `true`). */
  pathStyle?: boolean | undefined;
  /** Milliseconds between background syncs (default 60,000). */
  interval?: number | undefined;
  /** Files larger than this go as resumable multipart uploads (default 64 MiB; see `SyncOptions.multipartThreshold`). */
  multipartThreshold?: number | undefined;
  /** Bytes per multipart part, at least 5 MiB (default 8 MiB). */
  partSize?: number | undefined;
  /**
   * File requests (PUTs, copies, GETs) in flight at once, a positive integer (default 6, where
   * `openSync`'s default is 8). Over HTTP/1.1 (radosgw, MinIO and most self-hosted S3 servers
   * without TLS) Chromium, Firefox and Safari open at most 6 connections per host: a 7th or 8th
   * request gains nothing, it waits in the browser's queue, already started by the engine (its
   * bytes read, its request signed). Over HTTP/2 the requests share one connection and more may
   * pay off: the test gateway answered 8 small requests in flight in 8-13 ms each and 16 in
   * about 4 ms (docs/sync-protocol.md, "Requests (bounds)").
   */
  concurrency?: number | undefined;
  /**
   * How a pull takes file bodies (default `'eager'`): `'lazy'` pulls metadata only, and each
   * file's bytes are fetched by the leader's worker on its first read, in any tab or through the
   * service worker's file URL (see `SyncOptions.bodies`).
   */
  bodies?: 'eager' | 'lazy' | undefined;
}

/** {@link SyncRemoteConfig.concurrency}'s default: the connections a browser opens per host. */
export const BROWSER_CONCURRENCY = 6;

/** What is stored: the configuration, and whether background sync is paused. */
export interface StoredRemote {
  config: SyncRemoteConfig;
  paused: boolean;
}

const KEY = 'remote';

/** The stored remote, or `undefined` when none is configured. */
export async function readRemote(db: CofferDb): Promise<StoredRemote | undefined> {
  const row = await mapErrors(() => db.syncState.get(KEY));
  return (row?.value as StoredRemote | undefined) ?? undefined;
}

/** What identifies the place the data lives: a change of it is another remote. */
const identity = (config: SyncRemoteConfig): string =>
  JSON.stringify([
    config.endpoint.replace(/\/+$/, ''),
    config.bucket,
    config.prefix ?? '',
    config.pathStyle ?? true,
  ]);

/** Whether this coffer has exchanged anything with a remote (pushed or pulled). */
async function hasSynced(db: CofferDb): Promise<boolean> {
  const [versions, checkpoints, journal] = await Promise.all([
    db.syncVersions.count(),
    db.syncCheckpoints.count(),
    db.syncState.get('journalSeq'),
  ]);
  return versions > 0 || checkpoints > 0 || (typeof journal?.value === 'number' && journal.value > 0);
}

/**
 * Store the remote (`undefined` forgets it). Keys, region, interval and part sizes can change
 * at any time; the endpoint, bucket and prefix cannot once something was synced (the sync
 * state names the remote's versions, so another bucket would silently miss what was sent).
 *
 * @throws {SyncRemoteChangeError} for another bucket after a sync.
 */
export async function writeRemote(db: CofferDb, stored: StoredRemote | undefined): Promise<void> {
  await mapErrors(() =>
    db.transaction('rw', [db.syncState, db.syncVersions, db.syncCheckpoints], async () => {
      const anchor = (await db.syncState.get('remoteIdentity'))?.value as string | undefined;
      if (!stored) {
        // The identity stays: configuring another bucket after forgetting is still refused.
        await db.syncState.delete(KEY);
        return;
      }
      const next = identity(stored.config);
      if (anchor !== undefined && anchor !== next && (await hasSynced(db))) {
        throw new SyncRemoteChangeError(
          'This coffer has synced with another bucket (or prefix): a coffer syncs with one remote. Use a new coffer for another bucket.',
        );
      }
      await db.syncState.put({ key: KEY, value: stored });
      await db.syncState.put({ key: 'remoteIdentity', value: next });
    }),
  );
}
