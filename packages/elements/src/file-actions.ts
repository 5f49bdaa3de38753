import type { FileObject, RecordFiles } from '@coffer/core';
import type { CofferDoneDetail } from './undo.js';

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * Delete `keys` (delete markers: their versions stay) and return what undo needs: the
 * previous version of each comes back as head, with its description and other metadata, in
 * its place in the record's order.
 *
 * @example
 * ```ts
 * const done = await deleteFiles(record.files!, ['a.txt', 'b.txt']);
 * await done.undo?.(); // both are back
 * ```
 */
export async function deleteFiles(files: RecordFiles, keys: readonly string[]): Promise<CofferDoneDetail> {
  const before: FileObject[] = [];
  for await (const file of files) before.push(file);
  const order = before.map((f) => f.key);
  const deleted: FileObject[] = [];
  let failure: unknown;
  for (const key of keys) {
    const file = before.find((f) => f.key === key);
    if (!file) continue;
    try {
      await files.delete(key);
      deleted.push(file);
    } catch (error) {
      failure = error;
      break;
    }
  }
  if (failure !== undefined && deleted.length === 0) throw failure;
  return {
    message:
      deleted.length === 1 ? `${deleted[0]!.key} deleted.` : `${plural(deleted.length, 'file')} deleted.`,
    undo: async () => {
      for (const file of deleted) {
        // Back already (restored by hand, or uploaded again): leave that file as it is.
        if (await files.has(file.key)) continue;
        await files.restoreVersion(file.key, file.versionId);
        const metadata = file.metadata;
        if (Object.keys(metadata).length > 0) await files.setMetadata(file.key, metadata);
      }
      const live = new Set(await files.keys());
      await files.sortBy(order.filter((k) => live.has(k)));
      return deleted.length === 1
        ? `${deleted[0]!.key} is back.`
        : `${plural(deleted.length, 'file')} are back.`;
    },
  };
}

/**
 * Rename `from` to `to` and return what undo needs: the name back, the metadata and the
 * history as they were.
 *
 * @example
 * ```ts
 * const done = await renameFile(record.files!, 'a.txt', 'b.txt');
 * ```
 */
export async function renameFile(files: RecordFiles, from: string, to: string): Promise<CofferDoneDetail> {
  const file = await files.get(from);
  await files.rename(from, to);
  const lineage = file?.metadata.renamedFrom;
  return {
    message: `${from} renamed to ${to}.`,
    undo: async () => {
      await files.rename(to, from);
      await files.setMetadata(from, { renamedFrom: lineage ?? null });
      return `${to} is ${from} again.`;
    },
  };
}
