import { liveQuery as dexieLiveQuery, type Observable } from 'dexie';

/**
 * Dexie's `liveQuery`, with the querier always run as an `async` function.
 *
 * Dexie observes the reads of a live query through a zone that it carries across native
 * `await`s only when the querier itself is an `async` function. A querier written as
 * `() => query(...args)` (a plain function returning the promise of an async chain, as UI
 * controllers call it) kept the zone only up to its first `await`: the reads after it (the
 * record's files, its bucket, its versions) were not observed, so the query re-ran after a
 * write that changed the record row (`files.set`) but not after one that changed only the
 * bucket (`restore()`, `remove()`, a direct `put`). Wrapping the querier here makes every
 * read it makes observed, however it is written.
 *
 * @example
 * ```ts
 * // re-renders whenever the record's files change, in this tab or another
 * const subscription = liveQuery(() => record.files!.dumps()).subscribe((files) => render(files));
 * subscription.unsubscribe();
 * ```
 */
export function liveQuery<T>(querier: () => T | Promise<T>): Observable<T> {
  return dexieLiveQuery(async () => await querier());
}
