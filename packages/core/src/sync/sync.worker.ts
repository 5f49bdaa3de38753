/**
 * The sync worker: runs the sync engine of one coffer in a dedicated Worker, for the leader tab
 * (`browser-sync.ts` starts it; never the service worker, never the page). It opens its own
 * connection to the coffer's database with the byte pipeline in process (this worker is the
 * one that reads and writes file bytes, so it needs no second worker) and takes the remote from
 * the stored configuration (remote-config.ts).
 *
 * @module
 */
import { expose, releaseProxy } from 'comlink';
import { type Coffer, openCoffer } from '../api/coffer.js';
import type { SchemaMap } from '../api/json-schema.js';
import { InvalidArgumentError, InvalidOperationError, SyncNotConfiguredError } from '../errors.js';
import type { FileId } from '../ids.js';
import { installErrorTransfer } from '../worker/transfer.js';
import {
  type CofferSync,
  type ConflictChoice,
  checkBodies,
  openSync,
  type SyncProgress,
  type SyncReport,
} from './engine.js';
import type { RemoteCheck } from './remote.js';
import { BROWSER_CONCURRENCY, readRemote, type SyncRemoteConfig, writeRemote } from './remote-config.js';
import { type S3Presign, S3Remote } from './s3-remote.js';

/** What the sync worker exposes over comlink. Every method is the leader tab's to call. */
export interface SyncWorkerApi {
  /**
   * Open coffer `name` and, when a remote is stored, its sync (started unless paused).
   * `presign`, a proxy of the page's callback, signs requests instead of stored credentials;
   * `schemas`, the page coffer's JSON Schemas, check pulled records as the page would.
   */
  open(name: string, presign?: S3Presign, schemas?: SchemaMap): Promise<void>;
  /** Store (or forget, with `null`) the remote and reopen sync on it, keeping the pause state. */
  configure(config: SyncRemoteConfig | null): Promise<void>;
  /** Check a remote (default: the stored one) without storing anything. */
  check(config?: SyncRemoteConfig): Promise<RemoteCheck>;
  now(onProgress?: (progress: SyncProgress) => unknown): Promise<SyncReport>;
  /** Resume background sync (and remember it). */
  start(): Promise<void>;
  /** Pause background sync (and remember it). */
  stop(): Promise<void>;
  resolveConflict(id: string, choice: ConflictChoice): Promise<void>;
  /** Fetch the bytes of a file pulled lazily (see `CofferSync.fetchBody`). */
  fetchBody(fileId: string): Promise<void>;
  /** Fetch every lazy body of a record (see `CofferSync.fetchBodies`). */
  fetchBodies(recordId: string): Promise<{ files: number; bytes: number }>;
  close(): Promise<void>;
}

let coffer: Coffer | undefined;
let engine: CofferSync | undefined;
let presign: S3Presign | undefined;

const opened = (): Coffer => {
  if (!coffer) throw new InvalidOperationError('The sync worker has no coffer open.');
  return coffer;
};

const notConfigured = () => new SyncNotConfiguredError('Sync has no remote: configure one first.');

function remoteOf(config: SyncRemoteConfig): S3Remote {
  return new S3Remote({
    endpoint: config.endpoint,
    bucket: config.bucket,
    region: config.region || undefined,
    prefix: config.prefix || undefined,
    pathStyle: config.pathStyle,
    ...(config.credentials ? { credentials: config.credentials } : { presign }),
  });
}

/** Refuse a `concurrency` `openSync` would refuse, before it is stored. */
function checkConcurrency(concurrency: number | undefined): void {
  if (concurrency === undefined || (Number.isSafeInteger(concurrency) && concurrency >= 1)) return;
  throw new InvalidArgumentError('concurrency must be a positive integer.', {
    actual: concurrency,
    argument: 'concurrency',
  });
}

/** (Re)open sync on the stored remote; start it unless paused. */
async function reopen(): Promise<void> {
  await engine?.close();
  engine = undefined;
  const db = opened().context.db;
  const stored = await readRemote(db);
  if (!stored) return;
  const { config } = stored;
  engine = openSync(opened(), {
    remote: remoteOf(config),
    ...(config.interval ? { interval: config.interval } : {}),
    ...(config.partSize ? { partSize: config.partSize } : {}),
    ...(config.multipartThreshold ? { multipartThreshold: config.multipartThreshold } : {}),
    concurrency: config.concurrency ?? BROWSER_CONCURRENCY,
    ...(config.bodies ? { bodies: config.bodies } : {}),
  });
  if (!stored.paused) engine.start();
}

const running = (): CofferSync => {
  if (!engine) throw notConfigured();
  return engine;
};

const api: SyncWorkerApi = {
  async open(name, callback, schemas) {
    if (coffer) throw new InvalidOperationError('The sync worker is open already.');
    presign = callback;
    coffer = await openCoffer({ name, worker: false, ...(schemas ? { schemas } : {}) });
    await reopen();
  },
  async configure(config) {
    const db = opened().context.db;
    if (config) {
      remoteOf(config); // refuses a bad endpoint, bucket name or missing keys first
      checkConcurrency(config.concurrency);
      checkBodies(config.bodies);
    }
    const stored = await readRemote(db);
    await writeRemote(db, config ? { config, paused: stored?.paused ?? false } : undefined);
    await reopen();
  },
  async check(config) {
    const chosen = config ?? (await readRemote(opened().context.db))?.config;
    if (!chosen) throw notConfigured();
    return remoteOf(chosen).check();
  },
  now(onProgress) {
    return running().now({
      onProgress:
        onProgress && ((progress) => void Promise.resolve(onProgress(progress)).catch(() => undefined)),
    });
  },
  async start() {
    const db = opened().context.db;
    const stored = await readRemote(db);
    if (!stored) throw notConfigured();
    await writeRemote(db, { ...stored, paused: false });
    running().start();
  },
  async stop() {
    const db = opened().context.db;
    const stored = await readRemote(db);
    if (stored) await writeRemote(db, { ...stored, paused: true });
    await engine?.stop();
  },
  resolveConflict: (id, choice) => running().resolveConflict(id, choice),
  fetchBody: (fileId) => running().fetchBody(fileId as FileId),
  fetchBodies: (recordId) => running().fetchBodies({ recordId }),
  async close() {
    await engine?.close();
    engine = undefined;
    coffer?.close();
    coffer = undefined;
    (presign as { [releaseProxy]?: () => void } | undefined)?.[releaseProxy]?.();
  },
};

installErrorTransfer();
expose(api);
