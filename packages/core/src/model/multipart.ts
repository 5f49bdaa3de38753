import {
  InvalidArgumentError,
  MultipartInvalidChunkSizeError,
  MultipartInvalidPartNumberError,
  MultipartInvalidSizeError,
} from '../errors.js';

/** The limits of multipart uploads (invenio's `FILES_REST_MULTIPART_*` settings). */
export interface MultipartLimits {
  /** Smallest part size, inclusive; an upload must also be bigger than this. */
  minChunkSize: number;
  /** Largest part size, inclusive. */
  maxChunkSize: number;
  /** Most parts an upload may have. */
  maxParts: number;
  /** How long an upload may sit without a new part before it expires, in milliseconds. */
  expiresAfter: number;
}

const MiB = 1024 * 1024;

/**
 * Invenio's defaults: parts of 5 MiB to 5 GiB, at most 10,000 of them, expiry after 4 days.
 *
 * @example
 * ```ts
 * const coffer = await openCoffer({
 *   name: 'scans',
 *   multipart: { ...DEFAULT_MULTIPART_LIMITS, expiresAfter: 24 * 60 * 60 * 1000 }, // uploads expire after a day
 * });
 * ```
 */
export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = {
  minChunkSize: 5 * MiB,
  maxChunkSize: 5 * 1024 * MiB,
  maxParts: 10_000,
  expiresAfter: 4 * 24 * 60 * 60 * 1000,
};

/** The shape of an upload: its total size and its part size. */
export interface UploadShape {
  size: number;
  chunkSize: number;
}

/** Fill in and check multipart limits given as options. */
export function resolveMultipartLimits(options: Partial<MultipartLimits> = {}): MultipartLimits {
  const limits = { ...DEFAULT_MULTIPART_LIMITS, ...options };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new InvalidArgumentError(`multipart.${name} must be a positive integer, not ${String(value)}.`, {
        actual: value,
        argument: `multipart.${name}`,
      });
    }
  }
  if (limits.minChunkSize > limits.maxChunkSize) {
    throw new InvalidArgumentError('multipart.minChunkSize is larger than multipart.maxChunkSize.', {
      argument: 'multipart.minChunkSize',
    });
  }
  return limits;
}

/**
 * Check a new upload's shape, in invenio's order: the part size first, then the total size
 * (bigger than the smallest part, and at most `maxParts` parts).
 *
 * @throws {MultipartInvalidChunkSizeError} or {@link MultipartInvalidSizeError}.
 */
export function validateUploadShape(shape: UploadShape, limits: MultipartLimits, key: string): void {
  const { size, chunkSize } = shape;
  if (
    typeof chunkSize !== 'number' ||
    !Number.isSafeInteger(chunkSize) ||
    chunkSize < limits.minChunkSize ||
    chunkSize > limits.maxChunkSize
  ) {
    throw new MultipartInvalidChunkSizeError(
      `Invalid part size ${String(chunkSize)}: it must be an integer from ${limits.minChunkSize} to ${limits.maxChunkSize}.`,
      { key, actual: chunkSize, expected: [limits.minChunkSize, limits.maxChunkSize] },
    );
  }
  if (
    typeof size !== 'number' ||
    !Number.isSafeInteger(size) ||
    size <= limits.minChunkSize ||
    size > chunkSize * limits.maxParts
  ) {
    throw new MultipartInvalidSizeError(
      `Invalid file size ${String(size)}: it must be an integer above ${limits.minChunkSize} and at most ${chunkSize * limits.maxParts} (${limits.maxParts} parts).`,
      { key, actual: size, expected: [limits.minChunkSize + 1, chunkSize * limits.maxParts] },
    );
  }
}

/** How many parts an upload has. */
export const partCount = ({ size, chunkSize }: UploadShape): number => Math.ceil(size / chunkSize);

/** The 0-based number of the last part. */
export const lastPartNumber = (shape: UploadShape): number => partCount(shape) - 1;

/**
 * The byte range `[start, end)` part `n` covers: every part is `chunkSize` bytes but the last,
 * which holds the rest (all of `chunkSize` when the size divides evenly: invenio's quirk fixed).
 */
export function partRange(shape: UploadShape, n: number): { start: number; end: number; size: number } {
  const start = n * shape.chunkSize;
  const end = Math.min(start + shape.chunkSize, shape.size);
  return { start, end, size: end - start };
}

/**
 * Check a part number: an integer from 0 to the last part.
 *
 * @throws {MultipartInvalidPartNumberError} otherwise.
 */
export function validatePartNumber(
  shape: UploadShape,
  n: unknown,
  context: { key: string; uploadId: string },
): number {
  const last = lastPartNumber(shape);
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > last) {
    throw new MultipartInvalidPartNumberError(
      `Invalid part number ${String(n)}: parts are numbered 0 to ${last}.`,
      {
        ...context,
        actual: n,
        expected: [0, last],
      },
    );
  }
  return n;
}

/**
 * Which part numbers are missing or have the wrong size, given the parts uploaded so far.
 */
export function checkParts(
  shape: UploadShape,
  parts: readonly { partNumber: number; size: number }[],
): { missing: number[]; wrongSize: number[] } {
  const byNumber = new Map(parts.map((p) => [p.partNumber, p.size]));
  const missing: number[] = [];
  const wrongSize: number[] = [];
  for (let n = 0; n < partCount(shape); n++) {
    const size = byNumber.get(n);
    if (size === undefined) missing.push(n);
    else if (size !== partRange(shape, n).size) wrongSize.push(n);
  }
  return { missing, wrongSize };
}
