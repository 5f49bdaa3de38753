import { InvalidKeyError } from '../errors.js';

/**
 * The longest object key, in characters (invenio's `FILES_REST_OBJECT_KEY_MAX_LEN`).
 *
 * @example
 * ```ts
 * if (name.length > MAX_KEY_LENGTH) name = name.slice(0, MAX_KEY_LENGTH); // else InvalidKeyError
 * ```
 */
export const MAX_KEY_LENGTH = 255;

/** Characters, not UTF-16 code units: an emoji counts once, as in Python. */
export const characterCount = (text: string): number => {
  let count = 0;
  for (const _ of text) count++;
  return count;
};

// In `u` mode a surrogate pair is one code point, so only a lone surrogate matches.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Whether `text` is well-formed Unicode: no lone surrogate, which UTF-8 cannot carry (an
 * exported ZIP path or URL would hold U+FFFD instead, and two such names would collide).
 *
 * @example
 * ```ts
 * isWellFormed('😀'); // true
 * isWellFormed('\ud83d'); // false: half of an emoji
 * ```
 */
export const isWellFormed = (text: string): boolean => !LONE_SURROGATE.test(text);

/**
 * Check that `key` is a valid object key: a string of 1 to {@link MAX_KEY_LENGTH} characters,
 * well-formed Unicode (no lone surrogate: it could not be exported, nor have a URL), without
 * NUL. The write API, export and import all check keys with this function.
 *
 * @throws {InvalidKeyError} (`key`, and `limit` and `actual` for a key too long) otherwise.
 *
 * @example
 * ```ts
 * validateKey('scans/page 1.tif'); // passes: `/` and spaces are allowed
 * validateKey('');                 // throws InvalidKeyError: a key cannot be empty
 * validateKey('a\0b');             // throws InvalidKeyError: a key cannot contain NUL
 * ```
 */
export function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') {
    throw new InvalidKeyError(`A key must be a string, not ${typeof key}.`, { key: String(key) });
  }
  if (key.length === 0) throw new InvalidKeyError('A key cannot be empty.', { key });
  if (key.includes('\0')) throw new InvalidKeyError('A key cannot contain NUL.', { key });
  if (!isWellFormed(key)) {
    throw new InvalidKeyError('A key must be well-formed Unicode: it holds a lone surrogate.', { key });
  }
  const length = characterCount(key);
  if (length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(`Key is too long (${length} > ${MAX_KEY_LENGTH} characters).`, {
      key,
      limit: MAX_KEY_LENGTH,
      actual: length,
    });
  }
}

/** The last path segment of a key: `a/b/c.txt` → `c.txt`. */
export const basename = (key: string): string => key.slice(key.lastIndexOf('/') + 1);
