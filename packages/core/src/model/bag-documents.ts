/**
 * The JSON documents of a Coffer bag, and their checks. The layout of the payload (format 2):
 *
 * ```
 * data/coffer.json                                    BagIndex: what the bag holds
 * data/records/<recordId>/record.json                 BagRecord: JSON, times, revisions
 * data/records/<recordId>/bucket.json                 BagBucket of the record's bucket
 * data/records/<recordId>/files/<key>                 the bytes of every head, under its key
 * data/records/<recordId>/versions/<versionId>/<key>  the bytes of older versions
 * data/buckets/<bucketId>/...                         a bucket no record owns (same layout)
 * ```
 *
 * Every head (current file) of every bucket has its own copy under its bucket's `files/`, so
 * that a bag unpacked by hand shows each record's current files in its folder even when
 * several heads share one file instance (a snapshot, a duplicate): such bytes are in the ZIP
 * once per head. An older version's bytes are stored once, under `versions/<versionId>/` of
 * the first bucket that uses them, or at a head's path when a head shares them. Ids and key
 * segments become names by `bagSegment` (`model/bagit.ts`), numbered `~N` where they would
 * collide (`BagPathSet.claimFile`); every version names the payload path of its bytes
 * ({@link BagVersion.path}) and every file instance the one path the import reads
 * ({@link BagFile.path}), so the mapping need not be undone. The other copies are verified.
 *
 * Format 1 (written before this layout) stored each file instance once, with `%`-escaped
 * names, and versions without a path; the import reads it as it was written.
 *
 * @module
 */
import { type ErrorContext, InvalidBagError } from '../errors.js';
import { pathProblem } from './bagit.js';
import { isWellFormed, validateKey } from './key.js';
import { validateCofferName, validateMimetype } from './limits.js';
import { validateBucketId, validateRecordId } from './record.js';
import { type Tags, validateTags } from './tags.js';

/** The name of the format in {@link BagIndex.format}. */
export const BAG_FORMAT = 'coffer-bag';
/** The version of the format this code writes. */
export const BAG_FORMAT_VERSION = 2;
/** The versions of the format this code reads: 1 (each file instance stored once) and 2. */
export const BAG_FORMAT_VERSIONS: readonly number[] = [1, BAG_FORMAT_VERSION];
/** The path of the index, relative to the bag. */
export const BAG_INDEX_PATH = 'data/coffer.json';

/** `data/coffer.json`: what the bag holds. */
export interface BagIndex {
  format: typeof BAG_FORMAT;
  formatVersion: number;
  /** The exporting coffer's name and Coffer's version. */
  coffer: { name: string; version: string };
  exported: string;
  includeVersions: boolean;
  includeRevisions: boolean;
  /** Paths of the record documents. */
  records: string[];
  /** Paths of the bucket documents. */
  buckets: string[];
}

/** One previous revision of a record. */
export interface BagRevision {
  revisionId: number;
  created: string;
  data: Record<string, unknown>;
}

/** `record.json`. */
export interface BagRecord {
  id: string;
  revisionId: number;
  created: string;
  updated: string;
  deleted: boolean;
  data: Record<string, unknown>;
  /** The buckets the record owns. */
  buckets: string[];
  /** Stored revisions, oldest first: every one when exported with revisions, else the current one. */
  revisions: BagRevision[];
}

/** One object version or delete marker, in a {@link BagBucket}. */
export interface BagVersion {
  versionId: string;
  key: string;
  /** The file instance, `null` for a delete marker. */
  fileId: string | null;
  mimetype: string | null;
  isHead: boolean;
  created: string;
  updated: string;
  tags: Tags;
  /**
   * Format 2: the payload path of the version's bytes, for a version with a file. A head's is
   * under its bucket's `files/` (its own copy when the file instance's {@link BagFile.path} is
   * elsewhere); an older version's is its file instance's path. Absent in format 1.
   */
  path?: string;
}

/** One file instance: its metadata and where its bytes are in the bag. */
export interface BagFile {
  id: string;
  size: number;
  /** `"md5:<hex>"`. */
  checksum: string;
  /** `"sha256:<hex>"` or `null`. */
  sha256: string | null;
  lastCheck: boolean | null;
  lastCheckAt: string | null;
  created: string;
  /** The payload path of the bytes. */
  path: string;
}

/** `bucket.json`: settings, tags, every exported version (oldest first) and their files. */
export interface BagBucket {
  id: string;
  location: string;
  storageClass: string;
  quotaSize: number | null;
  maxFileSize: number | null;
  locked: boolean;
  deleted: boolean;
  created: string;
  updated: string;
  tags: Tags;
  versions: BagVersion[];
  files: BagFile[];
}

/** Where records' folders are; a record's bucket document sits beside its record document. */
export const RECORDS_FOLDER = 'data/records/';
/** Where the folders of buckets no record owns are. */
export const BUCKETS_FOLDER = 'data/buckets/';

/** The folder of a document, with its trailing `/` (`data/records/<id>/` for its `bucket.json`). */
export const folderOf = (document: string): string => document.slice(0, document.lastIndexOf('/') + 1);

/** The path of the bag's `README.txt`, a tag file that says how to read the bag by hand. */
export const BAG_README_PATH = 'README.txt';

/**
 * The text of the bag's `README.txt`: how to get the files out and check them with `unzip`
 * and `md5sum` alone, where everything is, and how keys became file names.
 */
export const bagReadme = ({
  sha256,
}: {
  sha256: boolean;
}): string => `A backup made by Coffer: a BagIt bag (RFC 8493) in a ZIP. No Coffer is needed to read it.

GET THE FILES OUT AND CHECK THEM

  unzip backup.zip            (or any tool that unpacks a ZIP)
  cd <the folder it made>     (the one holding this file)
  md5sum -c manifest-md5.txt  (every file of data/ is listed; each must say OK)
${sha256 ? '  shasum -a 256 -c manifest-sha256.txt   (the same with SHA-256, also on macOS)\n' : ''}
WHERE THINGS ARE

  data/records/<record id>/record.json     the record's metadata (title, ...) and revisions, as JSON
  data/records/<record id>/files/<name>    the record's current files, under their names
  data/records/<record id>/versions/<version id>/<name>
                                           older versions (when the backup has versions)
  data/records/<record id>/bucket.json     every file and version of the record: its exact
                                           name ("key"), size, md5 ("checksum") and "path" here
  data/buckets/<bucket id>/...             files that belong to no record, laid out the same way
  data/coffer.json                         the list of records and buckets in the backup

A file that several records share is in each record's files/ folder. An older version that is
also a current file somewhere is stored there once: bucket.json gives its "path".

HOW NAMES BECOME FILE NAMES

A name's "/" make folders. In each part, \\ / : * ? " < > | % and control characters become _,
and so does each trailing "." or space (so "." is _ and ".." is __); an empty part is _; a
Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, also before a ".") gets a leading _;
a part longer than 200 bytes is cut, ending in … before its extension. Where two names would
still end up the same (or differ only by case), the later one gets ~2, ~3, ... before its
extension. The exact names are in bucket.json ("key", with its "path").

To restore into Coffer, import the ZIP as it is.
`;

/** Milliseconds since the epoch as an ISO 8601 string, and back. */
export const toIso = (ms: number): string => new Date(ms).toISOString();

/**
 * How far a bag's times may run ahead of the importing device's clock (two devices' clocks
 * differ). A later time is refused: a last fixity check in the future would keep
 * `verifyChecksums({ olderThan })` from ever checking the file.
 */
export const CLOCK_SKEW = 24 * 60 * 60 * 1000;

// --- Checks: a document that fails one is refused whole, with the JSON path at fault. ---

type Json = unknown;

class DocumentReader {
  /** The latest time a document may hold. */
  private readonly latest: number;

  constructor(
    readonly document: string,
    now: number,
  ) {
    this.latest = now + CLOCK_SKEW;
  }

  fail(at: string, expected: string, cause?: unknown): never {
    throw new InvalidBagError(
      'invalid-document',
      `${this.document}: ${at || 'the document'} must be ${expected}.`,
      {
        path: this.document,
        ...(cause === undefined ? {} : { cause }),
      },
    );
  }

  object(value: Json, at: string): Record<string, Json> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(at, 'an object');
    return value as Record<string, Json>;
  }

  array(value: Json, at: string): Json[] {
    if (!Array.isArray(value)) this.fail(at, 'an array');
    return value as Json[];
  }

  string(value: Json, at: string, max = 255): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > max) {
      this.fail(at, `a string of 1 to ${max} characters`);
    }
    return value as string;
  }

  boolean(value: Json, at: string): boolean {
    if (typeof value !== 'boolean') this.fail(at, 'true or false');
    return value as boolean;
  }

  size(value: Json, at: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      this.fail(at, 'a size in bytes');
    return value as number;
  }

  nullableSize(value: Json, at: string): number | null {
    return value === null ? null : this.size(value, at);
  }

  time(value: Json, at: string): string {
    if (
      typeof value !== 'string' ||
      !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value) ||
      !Number.isFinite(Date.parse(value))
    ) {
      this.fail(at, 'an ISO 8601 time in UTC');
    }
    if (Date.parse(value as string) > this.latest) this.fail(at, 'a time that has passed');
    return value as string;
  }

  /** A string that `validate` accepts (one of the model's checks). */
  checked(value: Json, at: string, validate: (value: unknown) => void, expected: string): string {
    try {
      validate(value);
    } catch (error) {
      this.fail(at, expected, error);
    }
    return value as string;
  }

  /** An id Coffer made (a version or file instance): 1 to 255 characters of well-formed Unicode. */
  id(value: Json, at: string): string {
    const id = this.string(value, at);
    if (!isWellFormed(id)) this.fail(at, 'well-formed Unicode');
    return id;
  }

  pattern(value: Json, at: string, pattern: RegExp, what: string): string {
    if (typeof value !== 'string' || !pattern.test(value)) this.fail(at, what);
    return value as string;
  }

  payloadPath(value: Json, at: string): string {
    const path = this.string(value, at, 4096);
    if (!path.startsWith('data/') || pathProblem(path)) this.fail(at, 'a safe path under data/');
    return path;
  }

  tags(value: Json, at: string): Tags {
    const tags = this.object(value, at);
    this.checked(tags, at, validateTags, 'tags of 1 to 255 characters');
    return tags as Tags;
  }
}

/**
 * Check and type `data/coffer.json`; `now` is the importing device's clock.
 *
 * @throws {InvalidBagError} `invalid-document`.
 */
export function readBagIndex(json: Json, now = Date.now()): BagIndex {
  const r = new DocumentReader(BAG_INDEX_PATH, now);
  const o = r.object(json, '');
  if (o.format !== BAG_FORMAT) r.fail('format', `"${BAG_FORMAT}"`);
  if (!BAG_FORMAT_VERSIONS.includes(o.formatVersion as number))
    r.fail('formatVersion', BAG_FORMAT_VERSIONS.join(' or '));
  const coffer = r.object(o.coffer, 'coffer');
  return {
    format: BAG_FORMAT,
    formatVersion: o.formatVersion as number,
    coffer: {
      name: r.checked(coffer.name, 'coffer.name', validateCofferName, 'a valid coffer name'),
      version: r.string(coffer.version, 'coffer.version'),
    },
    exported: r.time(o.exported, 'exported'),
    includeVersions: r.boolean(o.includeVersions, 'includeVersions'),
    includeRevisions: r.boolean(o.includeRevisions, 'includeRevisions'),
    records: r.array(o.records, 'records').map((p, i) => r.payloadPath(p, `records[${i}]`)),
    buckets: r.array(o.buckets, 'buckets').map((p, i) => r.payloadPath(p, `buckets[${i}]`)),
  };
}

/**
 * Check and type a `record.json`: its revisions are numbered in increasing order, none above
 * the record's `revisionId` (the next commit takes `revisionId + 1`).
 *
 * @throws {InvalidBagError} `invalid-document`.
 */
export function readBagRecord(json: Json, document: string, now = Date.now()): BagRecord {
  const r = new DocumentReader(document, now);
  const o = r.object(json, '');
  const revisionId = (value: Json, at: string) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      r.fail(at, 'a revision number');
    return value as number;
  };
  const record: BagRecord = {
    id: r.checked(o.id, 'id', validateRecordId, 'a valid record id'),
    revisionId: revisionId(o.revisionId, 'revisionId'),
    created: r.time(o.created, 'created'),
    updated: r.time(o.updated, 'updated'),
    deleted: r.boolean(o.deleted, 'deleted'),
    data: r.object(o.data, 'data'),
    buckets: r
      .array(o.buckets, 'buckets')
      .map((b, i) => r.checked(b, `buckets[${i}]`, validateBucketId, 'a valid bucket id')),
    revisions: r.array(o.revisions, 'revisions').map((value, i) => {
      const revision = r.object(value, `revisions[${i}]`);
      return {
        revisionId: revisionId(revision.revisionId, `revisions[${i}].revisionId`),
        created: r.time(revision.created, `revisions[${i}].created`),
        data: r.object(revision.data, `revisions[${i}].data`),
      };
    }),
  };
  record.revisions.forEach((revision, i) => {
    const previous = record.revisions[i - 1]?.revisionId ?? -1;
    if (revision.revisionId <= previous || revision.revisionId > record.revisionId)
      r.fail(`revisions[${i}].revisionId`, 'above the one before and at most revisionId');
  });
  if (new Set(record.buckets).size !== record.buckets.length) r.fail('buckets', 'distinct');
  return record;
}

/**
 * Check and type a `bucket.json`, and its versions' rules. In format 2 every version with a
 * file names its bytes' path: a head's under `files/` beside the document, an older version's
 * its file instance's; a delete marker names none. Format 1 versions name none.
 *
 * @throws {InvalidBagError} `invalid-document`.
 */
export function readBagBucket(
  json: Json,
  document: string,
  now = Date.now(),
  formatVersion = BAG_FORMAT_VERSION,
): BagBucket {
  const r = new DocumentReader(document, now);
  const o = r.object(json, '');
  const files = r.array(o.files, 'files').map((value, i): BagFile => {
    const f = r.object(value, `files[${i}]`);
    const at = (field: string) => `files[${i}].${field}`;
    return {
      id: r.id(f.id, at('id')),
      size: r.size(f.size, at('size')),
      checksum: r.pattern(f.checksum, at('checksum'), /^md5:[0-9a-f]{32}$/, 'an md5 checksum "md5:<hex>"'),
      sha256:
        f.sha256 === null
          ? null
          : r.pattern(f.sha256, at('sha256'), /^sha256:[0-9a-f]{64}$/, 'null or "sha256:<hex>"'),
      lastCheck: f.lastCheck === null ? null : r.boolean(f.lastCheck, at('lastCheck')),
      lastCheckAt: f.lastCheckAt === null ? null : r.time(f.lastCheckAt, at('lastCheckAt')),
      created: r.time(f.created, at('created')),
      path: r.payloadPath(f.path, at('path')),
    };
  });
  const fileIds = new Map(files.map((f) => [f.id, f]));
  if (fileIds.size !== files.length) r.fail('files', 'distinct file instances');
  const heads = `${folderOf(document)}files/`;
  const versions = r.array(o.versions, 'versions').map((value, i): BagVersion => {
    const v = r.object(value, `versions[${i}]`);
    const at = (field: string) => `versions[${i}].${field}`;
    const fileId = v.fileId === null ? null : r.id(v.fileId, at('fileId'));
    if (fileId !== null && !fileIds.has(fileId)) r.fail(at('fileId'), 'one of the bucket’s files');
    const version: BagVersion = {
      versionId: r.id(v.versionId, at('versionId')),
      key: r.checked(v.key, at('key'), validateKey, 'a valid object key'),
      fileId,
      mimetype:
        v.mimetype === null
          ? null
          : r.checked(v.mimetype, at('mimetype'), validateMimetype, 'a valid mimetype'),
      isHead: r.boolean(v.isHead, at('isHead')),
      created: r.time(v.created, at('created')),
      updated: r.time(v.updated, at('updated')),
      tags: r.tags(v.tags, at('tags')),
    };
    if (formatVersion === 1 || fileId === null) {
      if (v.path !== undefined) r.fail(at('path'), 'absent (a delete marker, or format 1)');
      return version;
    }
    const path = r.payloadPath(v.path, at('path'));
    if (version.isHead ? !path.startsWith(heads) : path !== fileIds.get(fileId)?.path)
      r.fail(at('path'), version.isHead ? `a path under ${heads}` : 'the path of its file');
    return { ...version, path };
  });
  const newest = new Map<string, BagVersion>();
  for (const version of versions) newest.set(version.key, version);
  versions.forEach((version, i) => {
    if (version.isHead !== (newest.get(version.key) === version))
      r.fail(`versions[${i}].isHead`, 'true for the newest version of a key only');
  });
  if (new Set(versions.map((v) => v.versionId)).size !== versions.length)
    r.fail('versions', 'distinct versions');
  return {
    id: r.checked(o.id, 'id', validateBucketId, 'a valid bucket id'),
    location: r.string(o.location, 'location'),
    storageClass: r.string(o.storageClass, 'storageClass'),
    quotaSize: r.nullableSize(o.quotaSize, 'quotaSize'),
    maxFileSize: r.nullableSize(o.maxFileSize, 'maxFileSize'),
    locked: r.boolean(o.locked, 'locked'),
    deleted: r.boolean(o.deleted, 'deleted'),
    created: r.time(o.created, 'created'),
    updated: r.time(o.updated, 'updated'),
    tags: r.tags(o.tags, 'tags'),
    versions,
    files,
  };
}

/** A head's own copy of a file instance's bytes, at a path other than the file instance's. */
export interface BagCopy {
  path: string;
  file: BagFile;
}

/** The documents of a bag, read and checked one by one, with their paths. */
export interface BagDocuments {
  index: BagIndex;
  records: BagRecord[];
  buckets: BagBucket[];
}

/** What {@link checkBagReferences} returns: the distinct file instances, and heads' own copies. */
export interface BagReferences {
  files: BagFile[];
  /** The heads' copies of file instances (format 2), each to be verified like the file's bytes. */
  copies: BagCopy[];
}

/**
 * The checks across documents: ids distinct; every bucket a record names is in the bag and
 * owned by that record alone; a record's `_bucket` (in its data and in every revision) and
 * its `_files` entries name only buckets it owns; a file instance the same wherever it
 * appears; no two heads at one path; every payload path used by exactly one document, file
 * instance or head's copy. Returns the distinct file instances and the heads' copies.
 *
 * @throws {InvalidBagError} `foreign-bucket` (`recordId`, `bucketId`) for a bucket a record
 *   does not own; `invalid-document`, `missing-file` or `extra-file` otherwise.
 */
export function checkBagReferences(
  { index, records, buckets }: BagDocuments,
  payload: Set<string>,
): BagReferences {
  const fail = (message: string, path?: string): never => {
    throw new InvalidBagError('invalid-document', message, path === undefined ? {} : { path });
  };
  const bucketIds = new Set(buckets.map((b) => b.id));
  if (bucketIds.size !== buckets.length) fail('Two buckets have the same id.');
  if (new Set(records.map((r) => r.id)).size !== records.length) fail('Two records have the same id.');
  const owners = new Map<string, string>();
  records.forEach((record, i) => {
    const path = index.records[i] as string;
    for (const id of record.buckets) {
      if (!bucketIds.has(id)) fail(`Record ${record.id} names a bucket the bag lacks.`, path);
      const owner = owners.get(id);
      if (owner !== undefined)
        foreignBucket(`Records ${owner} and ${record.id} both claim bucket ${id}.`, path, {
          recordId: record.id,
          bucketId: id,
        });
      owners.set(id, record.id);
    }
    for (const data of [record.data, ...record.revisions.map((r) => r.data)]) {
      for (const bucketId of bucketsNamedBy(data)) {
        if (!record.buckets.includes(bucketId))
          foreignBucket(`Record ${record.id} names bucket ${bucketId}, which it does not own.`, path, {
            recordId: record.id,
            bucketId,
          });
      }
    }
  });
  const versionIds = new Set<string>();
  const files = new Map<string, BagFile>();
  buckets.forEach((bucket, i) => {
    for (const version of bucket.versions) {
      if (versionIds.has(version.versionId))
        fail(`Version ${version.versionId} appears twice.`, index.buckets[i]);
      versionIds.add(version.versionId);
    }
    for (const file of bucket.files) {
      const seen = files.get(file.id);
      if (!seen) files.set(file.id, file);
      else if (
        seen.size !== file.size ||
        seen.checksum !== file.checksum ||
        seen.sha256 !== file.sha256 ||
        seen.path !== file.path
      ) {
        fail(`File ${file.id} is described two ways.`, index.buckets[i]);
      }
    }
  });
  const copies: BagCopy[] = [];
  const heads = new Set<string>();
  buckets.forEach((bucket, i) => {
    for (const { path, fileId, isHead } of bucket.versions) {
      if (path === undefined || fileId === null) continue;
      if (isHead && heads.has(path)) fail(`${path} is used twice.`, index.buckets[i]);
      if (isHead) heads.add(path);
      const file = files.get(fileId) as BagFile;
      if (path !== file.path) copies.push({ path, file });
    }
  });
  const used = new Set<string>();
  for (const path of [
    BAG_INDEX_PATH,
    ...index.records,
    ...index.buckets,
    ...[...files.values()].map((f) => f.path),
    ...copies.map((c) => c.path),
  ]) {
    if (used.has(path)) fail(`${path} is used twice.`, path);
    if (!payload.has(path)) throw new InvalidBagError('missing-file', `The payload lacks ${path}.`, { path });
    used.add(path);
  }
  for (const path of payload)
    if (!used.has(path))
      throw new InvalidBagError('extra-file', `${path} belongs to no record or bucket.`, { path });
  return { files: [...files.values()], copies };
}

const foreignBucket = (message: string, path: string, context: ErrorContext): never => {
  throw new InvalidBagError('foreign-bucket', message, { ...context, path });
};

/** The bucket ids a record's JSON names: its `_bucket` and the `bucket` of its `_files` entries. */
function bucketsNamedBy(data: Record<string, unknown>): string[] {
  const named: string[] = [];
  if (typeof data._bucket === 'string' && data._bucket !== '') named.push(data._bucket);
  if (Array.isArray(data._files)) {
    for (const entry of data._files) {
      const bucket = (entry as { bucket?: unknown } | null)?.bucket;
      if (typeof bucket === 'string') named.push(bucket);
    }
  }
  return named;
}
