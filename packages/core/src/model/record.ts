/**
 * Records and their files, as pure rules: the `_files` entry shape, the reserved metadata names,
 * and the order of a record's files (invenio-records-files' `sorted_files_from_bucket`).
 *
 * A record owns at most one bucket (its id in `_bucket`). `_files` lists the bucket's live heads
 * in the record's order, each entry the dump of the head plus extra per-file metadata. The
 * bucket is the truth: entries whose key is no longer live are dropped, live heads missing from
 * `_files` follow the listed ones in key order.
 *
 * @module
 */
import { type ErrorContext, InvalidArgumentError, ReservedMetadataError } from '../errors.js';
import { characterCount, isWellFormed } from './key.js';

/** A record's JSON. `_bucket` and `_files` are kept by Coffer; everything else is the user's. */
export interface RecordData {
  [field: string]: unknown;
  /** The id of the bucket the record owns (the default place of `dumpBucket`). */
  _bucket?: string;
  /** The record's files in its order. */
  _files?: FileEntry[];
  /** The URI of the JSON Schema the data claims to follow. */
  $schema?: string;
}

/**
 * The longest record or bucket id, in characters: the limit of a key, so that an id fits
 * wherever a key does (a bag path segment, a URL path segment).
 *
 * @example
 * ```ts
 * await coffer.records.create(data, { id: doi.slice(0, MAX_ID_LENGTH) });
 * ```
 */
export const MAX_ID_LENGTH = 255;

/**
 * Check a record id (given to `records.create` or read from a bag): a string of 1 to
 * {@link MAX_ID_LENGTH} characters, well-formed Unicode, without NUL, and not `.` or `..`
 * (URL parsers drop such a path segment, so its files would have no URL). A `/` is allowed
 * (a DOI such as `10.5281/zenodo.123`): URLs and bags encode it.
 *
 * @throws {InvalidArgumentError} (`argument`, `recordId`, and `limit` and `actual` for an id
 *   too long) otherwise.
 *
 * @example
 * ```ts
 * validateRecordId('10.5281/zenodo.123'); // passes: a DOI, `/` included
 * validateRecordId('..');                 // throws InvalidArgumentError: no URL path can hold it
 * ```
 */
export function validateRecordId(id: unknown, argument = 'id'): asserts id is string {
  validateId(id, argument, 'record', (value) => ({ recordId: value }));
}

/**
 * Check a bucket id, by the rules of {@link validateRecordId}. Coffer makes bucket ids itself
 * (UUIDs); a bag may bring others.
 *
 * @throws {InvalidArgumentError} (`argument`, `bucketId`, `limit`, `actual`) otherwise.
 *
 * @example
 * ```ts
 * validateBucketId(crypto.randomUUID()); // passes
 * validateBucketId(42);                  // throws InvalidArgumentError (`argument: 'bucketId'`)
 * ```
 */
export function validateBucketId(id: unknown, argument = 'bucketId'): asserts id is string {
  validateId(id, argument, 'bucket', (value) => ({ bucketId: value }));
}

function validateId(
  id: unknown,
  argument: string,
  what: 'record' | 'bucket',
  context: (id: string) => ErrorContext,
): asserts id is string {
  const refuse = (problem: string, fields: ErrorContext = {}): never => {
    throw new InvalidArgumentError(`A ${what} id ${problem}.`, {
      ...(typeof id === 'string' ? context(id) : {}),
      ...fields,
      argument,
    });
  };
  if (typeof id !== 'string') return refuse(`must be a string, not ${typeof id}`);
  if (id.length === 0) refuse('cannot be empty');
  if (id.includes('\0')) refuse('cannot contain NUL');
  if (id === '.' || id === '..') refuse(`cannot be "${id}": no URL path can hold it`);
  if (!isWellFormed(id)) refuse('must be well-formed Unicode: it holds a lone surrogate');
  const length = characterCount(id);
  if (length > MAX_ID_LENGTH) {
    refuse(`is too long (${length} > ${MAX_ID_LENGTH} characters)`, { limit: MAX_ID_LENGTH, actual: length });
  }
}

/**
 * Check that `data` can be a record's JSON: an object, not `null`, an array or another value.
 * Anything else would lose the record's `_bucket` link to its files.
 *
 * @throws {InvalidArgumentError} (`argument`, `actual`: the type found) otherwise.
 *
 * @example
 * ```ts
 * validateRecordData({ title: 'Field notes' }); // passes
 * validateRecordData([1, 2]);                   // throws InvalidArgumentError (`actual: 'array'`)
 * ```
 */
export function validateRecordData(data: unknown, argument = 'data'): asserts data is RecordData {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    const actual = data === null ? 'null' : Array.isArray(data) ? 'array' : typeof data;
    throw new InvalidArgumentError(`Record data must be a JSON object, not ${actual}.`, { actual, argument });
  }
}

/**
 * A deep JSON copy of record data, checked before and after copying: a `toJSON` can turn an
 * object into something else (a `Date` becomes a string).
 *
 * @throws {InvalidArgumentError} for data that is not a JSON object.
 */
export function copyRecordData(data: unknown, argument = 'data'): RecordData {
  validateRecordData(data, argument);
  const copy: unknown = copyJson(data, argument);
  validateRecordData(copy, argument);
  return copy;
}

/** One entry of `_files`: Invenio's shape, plus any extra metadata. */
export interface FileEntry {
  [extra: string]: unknown;
  bucket: string;
  /** `"md5:<hex>"`. */
  checksum: string;
  file_id: string;
  key: string;
  size: number;
  version_id: string;
}

/** The fields of an entry that come from the head version, in Invenio's order. */
export const ENTRY_FIELDS = ['bucket', 'checksum', 'file_id', 'key', 'size', 'version_id'] as const;

/**
 * Names that cannot be set as file metadata: the entry's own fields and the attributes of
 * Invenio's ObjectVersion a FileObject would shadow.
 *
 * @example
 * ```ts
 * RESERVED_METADATA.has('checksum'); // true: setMetadata() refuses it
 * RESERVED_METADATA.has('description'); // false
 * ```
 */
export const RESERVED_METADATA: ReadonlySet<string> = new Set([
  ...ENTRY_FIELDS,
  'bucket_id',
  'bucketId',
  'versionId',
  'fileId',
  'file',
  'is_head',
  'isHead',
  'mimetype',
  '_mimetype',
  'created',
  'updated',
  'tags',
  'basename',
  'deleted',
]);

/** The parts of a live head an entry is made of. */
export interface HeadSummary {
  bucketId: string;
  key: string;
  versionId: string;
  fileId: string;
  size: number;
  checksum: string | null;
}

/** A key of the record's order with its extra metadata (the entry without its head fields). */
export interface OrderedEntry {
  key: string;
  extra: Record<string, unknown>;
}

// Metadata names are the user's: `__proto__` is a name like any other, so metadata is built on
// objects without a prototype, where assigning it makes a field instead of changing the prototype.
const metadataMap = (fields: Record<string, unknown> = {}): Record<string, unknown> =>
  Object.assign(Object.create(null), fields);

/** The extra metadata of a stored entry: everything but the head fields. */
export function extraOf(entry: Record<string, unknown>): Record<string, unknown> {
  const extra = metadataMap();
  for (const [name, value] of Object.entries(entry)) {
    if (!(ENTRY_FIELDS as readonly string[]).includes(name)) extra[name] = value;
  }
  return extra;
}

/** `_files` as stored, read defensively: anything without a string `key` is ignored. */
export function orderOf(files: unknown): OrderedEntry[] {
  if (!Array.isArray(files)) return [];
  return files
    .filter((entry): entry is Record<string, unknown> => typeof entry?.key === 'string')
    .map((entry) => ({ key: entry.key as string, extra: extraOf(entry) }));
}

/** Invenio's `FileObject.dumps()`: the head's fields over the extra metadata. */
export function dumpEntry(head: HeadSummary, extra: Record<string, unknown> = {}): FileEntry {
  return {
    ...extra,
    bucket: head.bucketId,
    checksum: head.checksum ?? '',
    file_id: head.fileId,
    key: head.key,
    size: head.size,
    version_id: head.versionId,
  };
}

/**
 * `heads` in the record's order (`sorted_files_from_bucket`): keys listed in `keys` first, in
 * that order; the other heads after them, by key. Listed keys without a head are ignored.
 *
 * @template H a head: anything with a `key`.
 */
export function sortByKeys<H extends { key: string }>(heads: readonly H[], keys: readonly string[]): H[] {
  const position = new Map<string, number>();
  keys.forEach((key, index) => {
    if (!position.has(key)) position.set(key, index);
  });
  const rank = (head: H) => position.get(head.key) ?? keys.length;
  return [...heads].sort((a, b) => rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The entries of `_files` for these live heads in this order: what `dumps()` returns. */
export function buildEntries(heads: readonly HeadSummary[], order: readonly OrderedEntry[]): FileEntry[] {
  const extras = new Map<string, Record<string, unknown>>();
  for (const entry of order) if (!extras.has(entry.key)) extras.set(entry.key, entry.extra);
  return sortByKeys(
    heads,
    order.map((entry) => entry.key),
  ).map((head) => dumpEntry(head, extras.get(head.key)));
}

/**
 * The new `_files` of `data`, or `undefined` to leave it as it is: a record never gets an empty
 * `_files` it did not have (Invenio's `flush()`).
 */
export function filesField(data: RecordData, entries: FileEntry[]): FileEntry[] | undefined {
  return entries.length > 0 || '_files' in data ? entries : undefined;
}

/** The order after `sortBy(keys)`: the listed keys first, the others after them in their current order. */
export function reorder(current: readonly OrderedEntry[], keys: readonly string[]): OrderedEntry[] {
  const byKey = new Map(current.map((entry) => [entry.key, entry]));
  const listed = [...new Set(keys)].flatMap((key) => byKey.get(key) ?? []);
  const chosen = new Set(listed.map((entry) => entry.key));
  return [...listed, ...current.filter((entry) => !chosen.has(entry.key))];
}

/**
 * Apply a metadata patch (`null` deletes a field) to an entry's extra metadata.
 *
 * @throws {ReservedMetadataError} for a reserved name; {@link InvalidArgumentError} for a patch
 *   that is not a plain object or a value that is not JSON.
 */
export function patchMetadata(
  extra: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new InvalidArgumentError('A metadata patch must be an object.', { argument: 'patch' });
  }
  const next = metadataMap(extra);
  for (const [name, value] of Object.entries(patch)) {
    if (RESERVED_METADATA.has(name)) {
      throw new ReservedMetadataError(`${name} is reserved and cannot be set as file metadata.`, {
        field: name,
      });
    }
    if (value === undefined) continue;
    if (value === null) delete next[name];
    else next[name] = copyJson(value, name);
  }
  return next;
}

/** A deep copy of a JSON value. @throws {InvalidArgumentError} for anything else. */
export function copyJson<T>(value: T, argument = 'data'): T {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('not JSON');
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new InvalidArgumentError(`${argument} must be JSON.`, { cause, argument });
  }
}
