/**
 * Running tasks a few at a time, for every layer (the sync's downloads, an export's fetches).
 *
 * @module
 */

/**
 * Run `task` on every item, at most `limit` at once; the results in item order. After a
 * failure no new task starts, the running ones finish, then the first failure is thrown.
 */
export async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
  return results;
}
