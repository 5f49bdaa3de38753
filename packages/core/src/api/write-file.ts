import { throwIfAborted } from '../errors.js';
import { type FileId, newId } from '../ids.js';
import { validateKey } from '../model/key.js';
import { assertFits, assertWritable, sizeLimit, validateMimetype } from '../model/limits.js';
import { type Tags, validateTags } from '../model/tags.js';
import { type NewVersion, toLimits, type VersionContent } from '../storage/bucket-store.js';
import { discardWrittenFile } from '../storage/rows.js';
import type { BucketRow } from '../storage/schema.js';
import type { ByteSource, OperationHooks } from '../worker/protocol.js';
import { sourceSize } from '../worker/write-data.js';
import type { CofferContext } from './context.js';

/**
 * Options of a file write.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await bucket.objects.put('scan.tif', file, {
 *   mimetype: 'image/tiff',
 *   tags: { camera: 'A7' },
 *   signal: controller.signal,
 *   onProgress: ({ loaded, total }) => console.log(loaded, total),
 * });
 * ```
 */
export interface PutOptions extends OperationHooks {
  /** The media type to store; by default it is guessed from the key when read. */
  mimetype?: string | undefined;
  /** Tags of the new version. */
  tags?: Tags | undefined;
}

/** Check a write's arguments before anything is touched. */
export function validatePut(key: string, source: ByteSource, options: PutOptions): number | undefined {
  validateKey(key);
  if (options.tags !== undefined) validateTags(options.tags);
  if (options.mimetype !== undefined) validateMimetype(options.mimetype);
  return sourceSize(source);
}

/**
 * Write `source`'s bytes as a new, not yet readable file instance of `bucket` and return the
 * content to commit. Limits are checked before the write when the size is known, while it
 * streams, and again at commit.
 */
export async function writeFile(
  context: CofferContext,
  bucket: BucketRow,
  key: string,
  source: ByteSource,
  options: PutOptions,
): Promise<VersionContent & { kind: 'written' }> {
  const size = validatePut(key, source, options);
  const limits = toLimits(bucket);
  assertWritable(limits, key);
  if (size !== undefined) assertFits(limits, size, key);
  throwIfAborted(options.signal);

  const { settings } = context;
  const fileId = newId<FileId>();
  const written = await context.pipeline.ingestFile(
    {
      fileId,
      location: settings.location,
      source,
      chunkSize: settings.chunkSize,
      chunkStorage: settings.chunkStorage,
      inlineBelow: settings.inlineBelow,
      sha256: settings.sha256,
      sizeLimit: sizeLimit(limits),
      bucketId: bucket.id,
      key,
    },
    { signal: options.signal, onProgress: options.onProgress },
  );
  return { kind: 'written', fileId, ...written };
}

/**
 * Commit written content with `commit`; if the commit fails, or the signal fired meanwhile,
 * drop the written bytes so that nothing half-written stays.
 */
export async function commitOrDiscard<T>(
  context: CofferContext,
  content: VersionContent & { kind: 'written' },
  signal: AbortSignal | undefined,
  commit: () => Promise<T>,
): Promise<T> {
  try {
    throwIfAborted(signal);
    return await commit();
  } catch (error) {
    await discardWrittenFile(context.db, content.fileId);
    throw error;
  }
}

/** The new head version that written `content` becomes, with the write's mimetype and tags. */
export const writtenVersion = (
  context: CofferContext,
  bucketId: BucketRow['id'],
  key: string,
  content: VersionContent,
  options: PutOptions,
): NewVersion => ({
  bucketId,
  key,
  content,
  mimetype: options.mimetype ?? null,
  tags: options.tags ?? {},
  dedupe: context.settings.dedupe,
});
