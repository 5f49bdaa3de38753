import { Coffer, type CofferOptions, openCoffer } from '../api/coffer.js';

/** A coffer, the options to open one, or a function that opens one. */
export type CofferSource = Coffer | CofferOptions | (() => Promise<Coffer>);

/**
 * A function that returns the same open coffer on every call, opening it on the first.
 *
 * - A failed open is not cached: the next call tries again.
 * - When another connection upgrades or deletes the database (`versionchange`, e.g. a page
 *   running newer code) or the browser closes it, the coffer is dropped and the next call opens
 *   it anew, so a long-lived service worker never holds a closed database.
 *
 * In a service worker there is no `Worker`, so the coffer's byte pipeline runs in process; the
 * routes only read.
 *
 * @example
 * ```ts
 * const coffer = lazyCoffer({ name: 'field-notes' });
 * self.addEventListener('fetch', (event) => { ... await coffer() ... });
 * ```
 */
export function lazyCoffer(source: CofferSource): () => Promise<Coffer> {
  if (source instanceof Coffer) return () => Promise.resolve(source);
  const open = typeof source === 'function' ? source : () => openCoffer(source);
  let current: Promise<Coffer> | undefined;
  const drop = (opened: Promise<Coffer>) => {
    if (current === opened) current = undefined;
  };
  return () => {
    if (current) return current;
    const opening = open().then(
      (coffer) => {
        // Dexie closes the connection on `versionchange` and fires `close` for it, as for any close.
        coffer.context.db.on('close', () => drop(opening));
        return coffer;
      },
      (error: unknown) => {
        drop(opening);
        throw error;
      },
    );
    current = opening;
    return opening;
  };
}

/** The URL prefix a source declares, when it declares one. */
export function sourceUrlPrefix(source: CofferSource): string | undefined {
  if (source instanceof Coffer) return source.context.settings.urlPrefix;
  return typeof source === 'function' ? undefined : source.urlPrefix;
}
