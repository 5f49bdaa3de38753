import { InvalidArgumentError, throwIfAborted } from '../errors.js';
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
export interface PutOptions extends SourceOptions {
  /** The media type to store (1 to 255 characters); by default it is guessed from the key when read. */
  mimetype?: string | undefined;
  /** Tags of the new version. */
  tags?: Tags | undefined;
}

/**
 * How a write takes the caller's bytes.
 *
 * @example
 * ```ts
 * const bytes = await file.arrayBuffer();
 * await bucket.objects.put('scan.tif', bytes, { transfer: true }); // no copy; `bytes` is now empty
 * ```
 */
export interface SourceOptions extends OperationHooks {
  /**
   * Give an ArrayBuffer or Uint8Array source up instead of copying it (default `false`). By
   * default the write copies the bytes first, so the caller's array stays usable and intact,
   * whatever happens to the write (even an abort). With `true`, the bytes are moved to the
   * worker without a copy and the caller's buffer is detached (left empty), or, without a
   * worker, read in place: do not change it until the write settles. Blobs, Files and streams
   * are never copied.
   */
  transfer?: boolean | undefined;
}

/**
 * The source a write hands to the byte pipeline: a copy of an ArrayBuffer or Uint8Array,
 * unless `transfer` gives it up (the worker pipeline transfers what it is given, detaching it).
 *
 * @throws {InvalidArgumentError} (`argument: 'transfer'`) when `transfer` is not a boolean.
 */
export function sourceToWrite(source: ByteSource, transfer: boolean | undefined): ByteSource {
  validateTransfer(transfer);
  if (transfer) return source;
  if (source instanceof ArrayBuffer) return source.slice(0);
  if (source instanceof Uint8Array) return source.slice();
  return source;
}

function validateTransfer(transfer: unknown): asserts transfer is boolean | undefined {
  if (transfer !== undefined && typeof transfer !== 'boolean') {
    throw Object.assign(
      new InvalidArgumentError(`transfer must be true or false, not ${typeof transfer}.`, {
        actual: transfer,
      }),
      { argument: 'transfer' },
    );
  }
}

/** Check a write's arguments before anything is touched. */
export function validatePut(key: string, source: ByteSource, options: PutOptions): number | undefined {
  validateKey(key);
  validateTransfer(options.transfer);
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
      source: sourceToWrite(source, options.transfer),
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
