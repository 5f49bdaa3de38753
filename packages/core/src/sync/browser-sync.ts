/**
 * Sync in a browser: {@link openBrowserSync} gives every tab the same surface as `CofferSync`,
 * while exactly one tab leads and runs the engine in a dedicated worker (sync.worker.ts).
 *
 * - **Leader**: the tab holding the Web Lock `coffer-sync:<coffer name>` (leader.ts) starts the
 *   worker, which opens its own connection to the database, reads the stored remote and syncs.
 * - **Followers**: read the status, per-record states and conflicts from IndexedDB (so
 *   `liveQuery` works in every tab) and send commands (`now`, `start`, `configure`, …) to the
 *   leader over a `BroadcastChannel`; they queue for the lock and take over when the leader's
 *   tab closes, resuming where it stopped (a multipart upload from its first missing part).
 * - The page never holds file bytes: they go between IndexedDB and the network in the worker.
 *
 * @module
 */
import { proxy, type Remote, wrap } from 'comlink';
import type { Coffer } from '../api/coffer.js';
import { AbortError, InvalidOperationError } from '../errors.js';
import { SyncStore } from '../storage/sync-store.js';
import { fromWire, installErrorTransfer, toWire } from '../worker/transfer.js';
import type {
  ConflictChoice,
  RecordSyncState,
  SyncConflict,
  SyncNowOptions,
  SyncProgress,
  SyncReport,
  SyncStatus,
} from './engine.js';
import { whileLeader } from './leader.js';
import {
  ACK_TIMEOUT,
  BODY_SENDS,
  type Command,
  channelName,
  type Message,
  noLeader,
} from './leader-channel.js';
import type { RemoteCheck } from './remote.js';
import { readRemote, type StoredRemote, type SyncRemoteConfig } from './remote-config.js';
import type { S3Presign } from './s3-remote.js';
import type { SyncWorkerApi } from './sync.worker.js';
import { toConflict, toSyncStatus } from './views.js';

/** Options of {@link openBrowserSync}. */
export interface BrowserSyncOptions {
  /**
   * Signs each S3 request elsewhere (a server that holds the keys), for a remote configured
   * without `credentials`. Used by this tab's worker while this tab leads.
   */
  presign?: S3Presign | undefined;
}

interface PendingCall {
  message: Extract<Message, { kind: 'call' }>;
  acked: boolean;
  /** Times sent without an acknowledgement (a body fetch gives up after {@link BODY_SENDS}). */
  sends: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  onProgress: ((progress: SyncProgress) => void) | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Sync of one coffer from a browser tab; see {@link openBrowserSync}.
 *
 * Events: `leader` when this tab becomes the leader (or stops being it), `progress`
 * (`CustomEvent<SyncProgress>`) while a sync asked for with {@link BrowserSync.now} runs, in
 * any tab.
 *
 * @example
 * ```ts
 * const sync = openBrowserSync(coffer);
 * sync.addEventListener('leader', () => console.log('leadership changed hands'));
 * sync.addEventListener('progress', (e) => showBytes((e as CustomEvent<SyncProgress>).detail));
 * await sync.now(); // runs in whichever tab leads
 * ```
 */
export class BrowserSync extends EventTarget {
  private readonly store: SyncStore;
  private readonly channel: BroadcastChannel;
  private readonly closing = new AbortController();
  private readonly calls = new Map<string, PendingCall>();
  private api: Remote<SyncWorkerApi> | undefined;
  private ready: Promise<void> | undefined;
  private readonly leadership: Promise<void>;
  private readonly unregisterBodies: () => void;
  #leading = false;

  /** @internal */
  constructor(
    private readonly coffer: Coffer,
    private readonly options: BrowserSyncOptions = {},
  ) {
    super();
    installErrorTransfer();
    this.store = new SyncStore(coffer.context.db, coffer.context.settings);
    this.channel = new BroadcastChannel(channelName(coffer.name));
    this.channel.onmessage = (event: MessageEvent<Message>) => void this.onMessage(event.data);
    // Reads in this tab of files pulled lazily: the leader's worker fetches their bytes.
    this.unregisterBodies = coffer.context.bodies.register({
      fetch: async (fileId) => {
        await this.command('fetchBody', [fileId]);
      },
    });
    this.leadership = whileLeader(coffer.name, (signal) => this.lead(signal), this.closing.signal).catch(
      (error: unknown) => {
        // No Web Locks, or the worker failed to start: this tab cannot lead; it still follows.
        this.dispatchEvent(new CustomEvent('error', { detail: error }));
      },
    );
  }

  /** Whether this tab runs the engine now. */
  get leading(): boolean {
    return this.#leading;
  }

  // --- Reads: from IndexedDB, in any tab (they work inside `liveQuery`) ---

  /** The stored remote and whether background sync is paused; `undefined` before one is set. */
  async remote(): Promise<StoredRemote | undefined> {
    return readRemote(this.coffer.context.db);
  }

  /** The stored status: works in any tab with `liveQuery(() => sync.status())`. */
  async status(): Promise<SyncStatus> {
    return toSyncStatus(await this.store.status());
  }

  /** Where a record stands: `synced`, `pending`, `conflict` or `error` (see `CofferSync`). */
  recordStatus(recordId: string): Promise<RecordSyncState> {
    return this.store.recordStatus(recordId);
  }

  /** Open conflicts, of one record or of all. */
  async conflicts(recordId?: string): Promise<SyncConflict[]> {
    return (await this.store.conflicts(recordId)).map(toConflict);
  }

  // --- Commands: run by the leader's worker ---

  /**
   * Store the remote (or forget it with `undefined`) and sync with it, in every tab and after a
   * reload. The credentials are kept **on this device, in IndexedDB, unencrypted** (v1).
   *
   * @throws {InvalidArgumentError} for an endpoint that is not an http(s) URL, a bad bucket name,
   *   no credentials without a `presign` callback, a part size under 5 MiB, or a `concurrency`
   *   that is not a positive integer;
   *   {@link InvalidOperationError} (`SYNC_REMOTE_CHANGE`) for another bucket or prefix once
   *   this coffer has synced.
   */
  configure(config: SyncRemoteConfig | undefined): Promise<void> {
    return this.command('configure', [config ?? null]) as Promise<void>;
  }

  /**
   * Check a remote (default: the stored one) without storing it: each problem has a stable
   * code (`UNREACHABLE`, `AUTH`, `NO_BUCKET`, `NO_VERSIONING`, `CORS`, `NO_WRITE`, `SERVER`).
   */
  check(config?: SyncRemoteConfig): Promise<RemoteCheck> {
    return this.command('check', config ? [config] : []) as Promise<RemoteCheck>;
  }

  /** Push, then pull, now (joins a sync that runs). `signal` stops waiting, not the sync. */
  now(options: SyncNowOptions = {}): Promise<SyncReport> {
    return this.command('now', [], options) as Promise<SyncReport>;
  }

  /** Resume background sync, in every tab and after a reload. */
  start(): Promise<void> {
    return this.command('start', []) as Promise<void>;
  }

  /** Pause background sync (a sync in progress finishes), in every tab and after a reload. */
  stop(): Promise<void> {
    return this.command('stop', []) as Promise<void>;
  }

  /** Resolve a conflict (see `CofferSync.resolveConflict`). */
  resolveConflict(id: string, choice: ConflictChoice): Promise<void> {
    return this.command('resolveConflict', [id, choice]) as Promise<void>;
  }

  /**
   * Fetch ahead ("keep offline") every file body of a record that a lazy pull left on the
   * server (see `CofferSync.fetchBodies`), in the leader's worker.
   */
  fetchBodies(options: { recordId: string }): Promise<{ files: number; bytes: number }> {
    return this.command('fetchBodies', [options.recordId]) as Promise<{ files: number; bytes: number }>;
  }

  /** Stop following and leading here (another tab takes over); the stored state stays. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    this.unregisterBodies();
    for (const call of this.calls.values()) {
      clearTimeout(call.timer);
      call.reject(new AbortError('This sync was closed.'));
    }
    this.calls.clear();
    this.channel.close();
    await this.leadership;
  }

  // --- Leading ---

  private async lead(signal: AbortSignal): Promise<void> {
    const worker = new Worker(new URL('./sync.worker.js', import.meta.url), {
      type: 'module',
      name: `coffer-sync:${this.coffer.name}`,
    });
    const api = wrap<SyncWorkerApi>(worker);
    const failed = new Promise<never>((_, reject) =>
      worker.addEventListener('error', (event) =>
        reject(
          new InvalidOperationError(`The sync worker failed${event.message ? `: ${event.message}` : ''}.`),
        ),
      ),
    );
    failed.catch(() => undefined);
    this.api = api;
    const { presign } = this.options;
    // The worker opens its own coffer: it checks pulled records against this one's schemas.
    const { registered } = this.coffer.records.validator;
    const schemas = Object.keys(registered).length > 0 ? registered : undefined;
    this.ready = Promise.race([api.open(this.coffer.name, presign && proxy(presign), schemas), failed]);
    try {
      await this.ready;
      this.#leading = true;
      this.dispatchEvent(new Event('leader'));
      this.post({ kind: 'leader' });
      // Commands this tab sent to the old leader: it is gone, so run them here.
      for (const [id, call] of this.calls) {
        this.calls.delete(id);
        clearTimeout(call.timer);
        this.run(call.message.method, call.message.args, call.onProgress, id).then(call.resolve, call.reject);
      }
      await Promise.race([
        new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        }),
        failed,
      ]);
    } finally {
      this.#leading = false;
      this.api = undefined;
      this.ready = undefined;
      await Promise.race([api.close(), new Promise((resolve) => setTimeout(resolve, 1000))]).catch(
        () => undefined,
      );
      worker.terminate();
      if (!signal.aborted) this.dispatchEvent(new Event('leader'));
    }
  }

  /** Run a command in this tab's worker; progress goes to `onProgress` and to every tab. */
  private async run(
    method: Command,
    args: unknown[],
    onProgress: ((progress: SyncProgress) => void) | undefined,
    id: string | undefined,
  ): Promise<unknown> {
    await this.ready;
    const api = this.api;
    if (!api) throw new InvalidOperationError('This tab no longer leads sync.');
    if (method === 'now') {
      return api.now(
        proxy((progress: SyncProgress) => {
          onProgress?.(progress);
          this.dispatchEvent(new CustomEvent('progress', { detail: progress }));
          this.post({ kind: 'progress', id, progress });
        }),
      );
    }
    return (api[method] as unknown as (...a: unknown[]) => Promise<unknown>)(...args);
  }

  // --- Following ---

  private command(method: Command, args: unknown[], options: SyncNowOptions = {}): Promise<unknown> {
    if (this.closing.signal.aborted) return Promise.reject(new AbortError('This sync was closed.'));
    if (options.signal?.aborted) return Promise.reject(new AbortError('The sync was aborted.'));
    const promise = this.#leading
      ? this.run(method, args, options.onProgress, undefined)
      : new Promise((resolve, reject) => {
          const id = crypto.randomUUID();
          const call: PendingCall = {
            message: { kind: 'call', id, method, args },
            acked: false,
            sends: 0,
            resolve: (value) => {
              this.calls.delete(id);
              resolve(value);
            },
            reject: (error) => {
              this.calls.delete(id);
              reject(error);
            },
            onProgress: options.onProgress,
            timer: undefined,
          };
          this.calls.set(id, call);
          this.send(call);
        });
    const { signal } = options;
    if (!signal) return promise;
    return Promise.race([
      promise,
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new AbortError('The sync was aborted.')), {
          once: true,
        }),
      ),
    ]);
  }

  /**
   * Send a call to the leader, again until it acknowledges it; a body fetch (a read waiting)
   * gives up after {@link BODY_SENDS} sends when no tab leads.
   */
  private send(call: PendingCall): void {
    clearTimeout(call.timer);
    if (call.message.method === 'fetchBody' && call.sends >= BODY_SENDS) {
      call.reject(noLeader(call.message.args[0] as string));
      return;
    }
    call.sends++;
    this.post(call.message);
    call.timer = setTimeout(() => {
      if (!call.acked && this.calls.has(call.message.id)) this.send(call);
    }, ACK_TIMEOUT);
  }

  private post(message: Message): void {
    if (!this.closing.signal.aborted) this.channel.postMessage(message);
  }

  private async onMessage(message: Message): Promise<void> {
    switch (message.kind) {
      case 'call': {
        if (!this.#leading) return;
        this.post({ kind: 'ack', id: message.id });
        try {
          const value = await this.run(message.method, message.args, undefined, message.id);
          this.post({ kind: 'result', id: message.id, ok: true, value });
        } catch (error) {
          this.post({ kind: 'result', id: message.id, ok: false, error: toWire(error) });
        }
        return;
      }
      case 'ack': {
        const call = this.calls.get(message.id);
        if (call) {
          call.acked = true;
          clearTimeout(call.timer);
        }
        return;
      }
      case 'result': {
        const call = this.calls.get(message.id);
        if (!call) return;
        if (message.ok) call.resolve(message.value);
        else call.reject(fromWire(message.error));
        return;
      }
      case 'progress': {
        if (message.id !== undefined) this.calls.get(message.id)?.onProgress?.(message.progress);
        this.dispatchEvent(new CustomEvent('progress', { detail: message.progress }));
        return;
      }
      case 'leader': {
        // A new leader: the old one is gone with the calls it had, so send them again.
        for (const call of this.calls.values()) {
          call.acked = false;
          call.sends = 0;
          this.send(call);
        }
        return;
      }
    }
  }
}

/**
 * Sync `coffer` from this browser tab: the engine runs in a dedicated worker of the one tab
 * that leads (Web Locks), every other tab follows through IndexedDB and takes over when the
 * leader's tab closes. The remote is stored in the coffer (see {@link BrowserSync.configure}),
 * so sync resumes by itself on the next visit; credentials are kept on this device,
 * unencrypted (v1).
 *
 * @example
 * ```ts
 * import { openBrowserSync } from '@coffer/core/sync';
 * const sync = openBrowserSync(coffer);
 * const { ok, problems } = await sync.check(config); // e.g. [{ code: 'CORS', message }]
 * if (ok) await sync.configure(config);             // stored; syncs in the background
 * liveQuery(() => sync.status()).subscribe(renderBadge);
 * await sync.now();
 * ```
 */
export function openBrowserSync(coffer: Coffer, options: BrowserSyncOptions = {}): BrowserSync {
  return new BrowserSync(coffer, options);
}
