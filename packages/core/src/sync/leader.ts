/**
 * Leader election between the tabs (and windows) of one origin with Web Locks: the tab that
 * holds the lock `coffer-sync:<coffer name>` runs sync; the others queue for the lock and take
 * over, in the order they asked, when the leader's tab closes (the browser releases the lock of
 * a closed document) or it gives up leadership.
 *
 * @module
 */
import { UnsupportedEnvironmentError } from '../errors.js';

/**
 * The name of the lock sync's leader holds for coffer `name`.
 *
 * @example
 * ```ts
 * // Is some tab of this origin syncing the coffer "field-notes" right now?
 * const { held } = await navigator.locks.query();
 * const syncing = held?.some((lock) => lock.name === leaderLockName('field-notes'));
 * ```
 */
export const leaderLockName = (name: string): string => `coffer-sync:${name}`;

/**
 * Queue for the leader lock of coffer `name` and, once granted, call `lead` with a signal that
 * fires when leadership ends. Leadership is held until `lead` settles or `signal` fires;
 * then the lock goes to the next tab in line. Resolves when this tab has led and let go, or
 * when `signal` fired before its turn came.
 *
 * @throws {UnsupportedEnvironmentError} where there are no Web Locks (`navigator.locks`).
 */
export async function whileLeader(
  name: string,
  lead: (signal: AbortSignal) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks)
    throw new UnsupportedEnvironmentError('This browser has no Web Locks: sync cannot elect a leader tab.');
  try {
    await locks.request(leaderLockName(name), { mode: 'exclusive', signal }, async () => {
      if (signal.aborted) return;
      await lead(signal);
    });
  } catch (error) {
    // Aborted while queued: this tab stopped waiting before its turn.
    if (!signal.aborted) throw error;
  }
}
