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
import { InvalidArgumentError, ReservedMetadataError } from '../errors.js';

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

/** The extra metadata of a stored entry: everything but the head fields. */
export function extraOf(entry: Record<string, unknown>): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
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
    throw Object.assign(new InvalidArgumentError('A metadata patch must be an object.'), {
      argument: 'patch',
    });
  }
  const next = { ...extra };
  for (const [name, value] of Object.entries(patch)) {
    if (RESERVED_METADATA.has(name)) {
      throw Object.assign(
        new ReservedMetadataError(`${name} is reserved and cannot be set as file metadata.`),
        {
          field: name,
        },
      );
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
    throw Object.assign(new InvalidArgumentError(`${argument} must be JSON.`, { cause }), { argument });
  }
}
