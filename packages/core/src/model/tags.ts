import { InvalidTagError } from '../errors.js';
import { characterCount } from './key.js';

/**
 * The longest tag key or value, in characters.
 *
 * @example
 * ```ts
 * await bucket.setTag('note', text.slice(0, MAX_TAG_LENGTH));
 * ```
 */
export const MAX_TAG_LENGTH = 255;

/** Tags of a bucket or an object version: key → value. */
export type Tags = Record<string, string>;

/**
 * A tag map without a prototype, so that a tag named `constructor` or `__proto__` is a tag
 * like any other and no missing tag reads as a property every object has.
 *
 * @example
 * ```ts
 * tagMap([{ key: '__proto__', value: 'x' }])['__proto__']; // "x"
 * tagMap([])['constructor']; // undefined
 * ```
 */
export function tagMap(entries: Iterable<{ key: string; value: string }>): Tags {
  const tags: Tags = Object.create(null);
  for (const { key, value } of entries) tags[key] = value;
  return tags;
}

/** The value of tag `key`, or `undefined` when `tags` has none by that name. */
export const tagValue = (tags: Tags, key: string): string | undefined =>
  Object.hasOwn(tags, key) ? tags[key] : undefined;

/**
 * Check that a tag's key and value are strings of 1 to 255 characters.
 *
 * @throws {InvalidTagError} otherwise.
 */
export function validateTag(key: unknown, value: unknown): asserts value is string {
  for (const [what, text] of [
    ['key', key],
    ['value', value],
  ] as const) {
    if (typeof text !== 'string') {
      throw new InvalidTagError(`A tag ${what} must be a string.`, { tag: String(key) });
    }
    const length = characterCount(text);
    if (length < 1 || length > MAX_TAG_LENGTH) {
      throw new InvalidTagError(`A tag ${what} must have 1 to ${MAX_TAG_LENGTH} characters, not ${length}.`, {
        limit: MAX_TAG_LENGTH,
        actual: length,
        tag: String(key),
      });
    }
  }
}

/** Check every entry of a tag map. */
export function validateTags(tags: unknown): asserts tags is Tags {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    throw new InvalidTagError('Tags must be an object of string keys and values.');
  }
  for (const [key, value] of Object.entries(tags)) validateTag(key, value);
}
