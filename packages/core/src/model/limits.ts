import {
  BucketDeletedError,
  BucketLockedError,
  BucketQuotaExceededError,
  InvalidArgumentError,
  MaxFileSizeExceededError,
} from '../errors.js';
import { characterCount, isWellFormed } from './key.js';

/** The parts of a bucket that decide whether a write may happen. */
export interface BucketLimits {
  id: string;
  /** Bytes held: every stored version's file size plus open multipart reservations. */
  size: number;
  /** Most bytes the bucket may hold; `null` is unlimited, `0` holds nothing. */
  quotaSize: number | null;
  /** Largest single file; `null` is unlimited, `0` allows only empty files. */
  maxFileSize: number | null;
  locked: boolean;
  deleted: boolean;
}

/** The tightest limit on the next file written to a bucket, and which rule sets it. */
export interface SizeLimit {
  limit: number;
  reason: 'quota' | 'max-file-size';
}

/**
 * The tightest size limit for one more file in `bucket`, or `null` when nothing limits it.
 * A file exactly at the limit fits.
 */
export function sizeLimit(bucket: BucketLimits): SizeLimit | null {
  const limits: SizeLimit[] = [];
  if (bucket.quotaSize !== null) {
    limits.push({ limit: Math.max(bucket.quotaSize - bucket.size, 0), reason: 'quota' });
  }
  if (bucket.maxFileSize !== null) limits.push({ limit: bucket.maxFileSize, reason: 'max-file-size' });
  return limits.reduce<SizeLimit | null>((min, l) => (min === null || l.limit < min.limit ? l : min), null);
}

/** The typed error for `size` bytes over `limit`. */
export function sizeLimitError(
  limit: SizeLimit,
  actual: number,
  context: { bucketId: string; key?: string },
): BucketQuotaExceededError | MaxFileSizeExceededError {
  return limit.reason === 'quota'
    ? new BucketQuotaExceededError(`Bucket quota exceeded: ${actual} bytes do not fit in ${limit.limit}.`, {
        ...context,
        limit: limit.limit,
        actual,
      })
    : new MaxFileSizeExceededError(`Maximum file size exceeded: ${actual} > ${limit.limit} bytes.`, {
        ...context,
        limit: limit.limit,
        actual,
      });
}

/**
 * Check that `size` more bytes fit in `bucket`.
 *
 * @throws {BucketQuotaExceededError} or {@link MaxFileSizeExceededError} otherwise.
 */
export function assertFits(bucket: BucketLimits, size: number, key?: string): void {
  const limit = sizeLimit(bucket);
  if (limit !== null && size > limit.limit) {
    throw sizeLimitError(
      limit,
      size,
      key === undefined ? { bucketId: bucket.id } : { bucketId: bucket.id, key },
    );
  }
}

/**
 * Check that `bucket` accepts writes (invenio's `ensure_unlocked` and `_writable`).
 *
 * @throws {BucketDeletedError} for a deleted bucket; {@link BucketLockedError} for a locked one.
 */
export function assertWritable(bucket: BucketLimits, key?: string): void {
  const context = key === undefined ? {} : { key };
  if (bucket.deleted) throw new BucketDeletedError(bucket.id, context);
  if (bucket.locked) throw new BucketLockedError(bucket.id, context);
}

/** Check that a size or limit is a non-negative safe integer (or `null` where allowed). */
export function validateSize(argument: string, value: unknown, nullable = false): void {
  if (nullable && value === null) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `${argument} must be a non-negative integer${nullable ? ' or null' : ''}, not ${String(value)}.`,
      { actual: value, argument },
    );
  }
}

/**
 * The longest stored mimetype, in characters: Invenio's column (`String(255)`); RFC 6838
 * allows 127 for the type and 127 for the subtype.
 *
 * @example
 * ```ts
 * await bucket.objects.put('scan.tif', file, { mimetype: file.type.slice(0, MAX_MIMETYPE_LENGTH) });
 * ```
 */
export const MAX_MIMETYPE_LENGTH = 255;

/**
 * The longest coffer name, in characters: a name is a database name and goes into every
 * export; 255 is plenty for a name and keeps it one line of a bag's metadata.
 *
 * @example
 * ```ts
 * await openCoffer({ name: userChoice.slice(0, MAX_COFFER_NAME_LENGTH) });
 * ```
 */
export const MAX_COFFER_NAME_LENGTH = 255;

/** A string of 1 to `limit` characters of well-formed Unicode, else an {@link InvalidArgumentError}. */
function validateText(argument: string, value: unknown, limit: number): asserts value is string {
  const refuse = (problem: string, fields: { limit?: number; actual?: unknown } = {}): never => {
    throw new InvalidArgumentError(`${argument} ${problem}.`, { ...fields, argument });
  };
  if (typeof value !== 'string') return refuse(`must be a string, not ${typeof value}`);
  if (value.length === 0) refuse('cannot be empty');
  if (!isWellFormed(value)) refuse('must be well-formed Unicode: it holds a lone surrogate');
  const length = characterCount(value);
  if (length > limit) refuse(`is too long (${length} > ${limit} characters)`, { limit, actual: length });
}

/**
 * Check a mimetype given to a write: a string of 1 to {@link MAX_MIMETYPE_LENGTH} characters,
 * well-formed Unicode. Any such type is stored; what is served is sanitized when it is read.
 *
 * @throws {InvalidArgumentError} (`argument: 'mimetype'`, `limit`, `actual`) otherwise.
 *
 * @example
 * ```ts
 * validateMimetype('image/tiff'); // passes
 * validateMimetype('');           // throws InvalidArgumentError: mimetype cannot be empty
 * ```
 */
export function validateMimetype(mimetype: unknown): asserts mimetype is string {
  validateText('mimetype', mimetype, MAX_MIMETYPE_LENGTH);
}

/**
 * Check a coffer name: a string of 1 to {@link MAX_COFFER_NAME_LENGTH} characters, well-formed
 * Unicode.
 *
 * @throws {InvalidArgumentError} (`argument: 'name'`, `limit`, `actual`) otherwise.
 *
 * @example
 * ```ts
 * validateCofferName('field-notes');                           // passes
 * validateCofferName('x'.repeat(MAX_COFFER_NAME_LENGTH + 1)); // throws InvalidArgumentError
 * ```
 */
export function validateCofferName(name: unknown): asserts name is string {
  validateText('name', name, MAX_COFFER_NAME_LENGTH);
}
