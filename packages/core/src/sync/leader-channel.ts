/**
 * The `BroadcastChannel` protocol between the tabs of one coffer's sync (browser-sync.ts):
 * followers send commands, the leader acknowledges and answers them. A context with no sync of
 * its own, such as the service worker (which cannot start workers), uses it through
 * {@link askLeaderForBodies} to have the leader fetch the bytes of files pulled lazily.
 *
 * @module
 */
import type { Coffer } from '../api/coffer.js';
import { AbortError, BodyUnavailableError } from '../errors.js';
import { fromWire, type WireThrown } from '../worker/transfer.js';
import type { SyncProgress } from './engine.js';

/** Commands that run where the engine runs (the leader's worker). */
export type Command =
  | 'configure'
  | 'check'
  | 'now'
  | 'start'
  | 'stop'
  | 'resolveConflict'
  | 'fetchBody'
  | 'fetchBodies';

/** A message on the channel. */
export type Message =
  | { kind: 'call'; id: string; method: Command; args: unknown[] }
  | { kind: 'ack'; id: string }
  | { kind: 'result'; id: string; ok: true; value: unknown }
  | { kind: 'result'; id: string; ok: false; error: WireThrown }
  | { kind: 'progress'; id: string | undefined; progress: SyncProgress }
  | { kind: 'leader' };

/** The channel of coffer `name`'s sync. */
export const channelName = (name: string): string => `coffer-sync:${name}`;

/** How long a caller waits for the leader to acknowledge a command before sending it again. */
export const ACK_TIMEOUT = 2000;

/** Sends of a body fetch no leader acknowledged before the read gives up (`no-sync`). */
export const BODY_SENDS = 3;

/** The error of a body fetch no leader answered. */
export const noLeader = (fileId: string): BodyUnavailableError =>
  new BodyUnavailableError(`File ${fileId} is not on this device, and no tab runs sync to fetch it.`, {
    fileId,
    reason: 'no-sync',
  });

interface BodyCall {
  fileId: string;
  acked: boolean;
  sends: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Let `coffer` (opened where no sync runs, e.g. in the service worker) read files pulled with
 * `bodies: 'lazy'`: their bytes are fetched by the tab that leads sync, which writes them to
 * IndexedDB in its worker; the read then serves them from there. When no tab answers within
 * about 6 s (3 sends, 2 s apart) the read fails with `BodyUnavailableError` (`no-sync`).
 *
 * @returns a function that stops asking (and fails the reads still waiting); closing the
 *   coffer stops too.
 * @example
 * ```ts
 * // sw.ts
 * registerCofferRoutes(async () => {
 *   const coffer = await openCoffer({ name: 'field-notes' });
 *   askLeaderForBodies(coffer);
 *   return coffer;
 * });
 * ```
 */
export function askLeaderForBodies(coffer: Coffer): () => void {
  const channel = new BroadcastChannel(channelName(coffer.name));
  const calls = new Map<string, BodyCall>();
  const send = (id: string, call: BodyCall) => {
    clearTimeout(call.timer);
    if (call.sends >= BODY_SENDS) {
      calls.delete(id);
      call.reject(noLeader(call.fileId));
      return;
    }
    call.sends++;
    channel.postMessage({ kind: 'call', id, method: 'fetchBody', args: [call.fileId] } satisfies Message);
    call.timer = setTimeout(() => {
      if (!call.acked && calls.has(id)) send(id, call);
    }, ACK_TIMEOUT);
  };
  channel.onmessage = (event: MessageEvent<Message>) => {
    const message = event.data;
    if (message.kind === 'leader') {
      // A new leader: the old one is gone with the fetches it had, so ask again.
      for (const [id, call] of calls) {
        call.acked = false;
        call.sends = 0;
        send(id, call);
      }
      return;
    }
    if (message.kind !== 'ack' && message.kind !== 'result') return;
    const call = calls.get(message.id);
    if (!call) return;
    if (message.kind === 'ack') {
      call.acked = true;
      clearTimeout(call.timer);
      return;
    }
    calls.delete(message.id);
    if (message.ok) call.resolve();
    else call.reject(fromWire(message.error));
  };
  const unregister = coffer.context.bodies.register({
    fetch: (fileId) =>
      new Promise<void>((resolve, reject) => {
        const id = crypto.randomUUID();
        const call: BodyCall = { fileId, acked: false, sends: 0, timer: undefined, resolve, reject };
        calls.set(id, call);
        send(id, call);
      }),
  });
  const stop = () => {
    unregister();
    channel.close();
    for (const call of calls.values()) {
      clearTimeout(call.timer);
      call.reject(new AbortError('No longer asking the sync leader for bodies.'));
    }
    calls.clear();
  };
  coffer.context.db.on('close', stop);
  return stop;
}
