/**
 * Journal entries of sync (`coffer-sync/1`, docs/sync-protocol.md "Journal entry"), and their
 * check. Every entry read from a bucket is **outside data**: {@link parseJournalEntry} checks it
 * with the rules of the write API and an import and returns a fresh, typed copy, or throws a
 * {@link SyncError} naming the device, the seq, the op and the field at fault.
 *
 * Rules beyond the shape:
 * - ids: record and bucket ids by the write API's rules; version, change and device ids are
 *   strings of 1 to 255 characters, well-formed, without control characters (a device id also
 *   without `/`: it is a key segment); a `merge:` change id is the {@link mergeChangeId} of its
 *   two parents;
 * - `parents`: at most {@link MAX_PARENTS} distinct ids, never the op's own id;
 * - a file version has a size and an `md5:<32 hex>` checksum; a delete marker neither (size 0);
 *   a mimetype is absent, `null` or valid by the write API's rule;
 * - record data: a JSON object at most {@link MAX_DATA_DEPTH} deep and about
 *   {@link MAX_DATA_CHARS} characters as JSON; `_bucket`, when present, is the op's bucket;
 *   `_files` entries are stripped (`{ key, ...extra }`), with valid, distinct keys and no
 *   reserved metadata;
 * - within one entry: no version or change twice, one bucket per record (and one record per
 *   bucket), and version ops before the record ops that list their keys in `_files`.
 *
 * Fields the format does not name are ignored (and not copied), so a later `coffer-sync/1`
 * writer may add some.
 *
 * @module
 */
import { SyncError } from '../errors.js';
import { characterCount, isWellFormed, validateKey } from './key.js';
import { validateMimetype } from './limits.js';
import { RESERVED_METADATA, validateBucketId, validateRecordId } from './record.js';
import { type JsonValue, mergeChangeId } from './sync-merge.js';

/** The format name every entry carries. */
export const SYNC_FORMAT = 'coffer-sync/1';
/** Most ops in one journal entry. */
export const MAX_JOURNAL_OPS = 1000;
/** Most parents of one version or change. */
export const MAX_PARENTS = 256;
/** Longest version, change or device id, in characters. */
export const MAX_SYNC_ID_LENGTH = 255;
/** Deepest nesting of record data (the data object itself is depth 1). */
export const MAX_DATA_DEPTH = 64;
/** Largest record data, in characters of its JSON (about 8 MiB). */
export const MAX_DATA_CHARS = 8 * 1024 * 1024;
/** Longest S3 key or S3 version id in an op's `remote`, in characters. */
export const MAX_REMOTE_LENGTH = 1024;

/** Where an op's bytes are on the server: the exact S3 object version. */
export interface RemoteRef {
  key: string;
  versionId: string;
}

/**
 * A new object version (or delete marker) of one key of a record's bucket. A delete marker has
 * `size` 0 and `checksum` `null`.
 */
export interface VersionOp {
  op: 'version';
  recordId: string;
  bucketId: string;
  versionId: string;
  key: string;
  /** The leaves of the key its device held before it. */
  parents: string[];
  marker: boolean;
  size: number;
  /** `"md5:<hex>"` for a file; `null` for a delete marker. */
  checksum: string | null;
  mimetype: string | null;
  remote: RemoteRef;
}

/** A change of a record: its state after the change. */
export interface RecordOp {
  op: 'record';
  recordId: string;
  /** The record's bucket, `null` for a record without one. */
  bucketId: string | null;
  change: string;
  parents: string[];
  deleted: boolean;
  /** The record's JSON with `_files` stripped to `{ key, ...extra }`. */
  data: Record<string, JsonValue>;
}

/** One operation of a journal entry. */
export type JournalOp = VersionOp | RecordOp;

/** One batch of operations from one device: `journal/<device>/<seq:012d>.json`. */
export interface JournalEntry {
  format: typeof SYNC_FORMAT;
  device: string;
  seq: number;
  ops: JournalOp[];
}

/** Which entry is being read: the device and seq of its key in the bucket. */
export interface JournalContext {
  device: string;
  seq: number;
}

const CONTROL = /\p{Cc}/u;
const CHECKSUM = /^md5:[0-9a-f]{32}$/;
const MERGE_ID = /^merge:[0-9a-f]{32}$/;

type Fields = Record<string, unknown>;

/** Reads one entry; every failure names the entry, the op and the path. */
class EntryReader {
  /** The op being read, or `undefined` for the entry's own fields. */
  opIndex: number | undefined;

  constructor(readonly context: JournalContext) {}

  fail(at: string, expected: string, cause?: unknown): never {
    const { device, seq } = this.context;
    const where = this.opIndex === undefined ? '' : `, op ${this.opIndex}`;
    throw new SyncError(`Journal entry ${device}/${seq}${where}: ${at || 'the entry'} must be ${expected}.`, {
      device,
      seq,
      field: at,
      ...(this.opIndex === undefined ? {} : { opIndex: this.opIndex }),
      ...(cause === undefined ? {} : { cause }),
    });
  }

  object(value: unknown, at: string): Fields {
    if (!isPlainObject(value)) this.fail(at, 'an object');
    return value as Fields;
  }

  boolean(value: unknown, at: string): boolean {
    if (typeof value !== 'boolean') this.fail(at, 'true or false');
    return value as boolean;
  }

  size(value: unknown, at: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.fail(at, 'a non-negative integer');
    }
    return value as number;
  }

  text(value: unknown, at: string, max: number): string {
    if (
      typeof value !== 'string' ||
      value.length === 0 ||
      !isWellFormed(value) ||
      characterCount(value) > max
    ) {
      this.fail(at, `a well-formed string of 1 to ${max} characters`);
    }
    return value as string;
  }

  id(value: unknown, at: string): string {
    const id = this.text(value, at, MAX_SYNC_ID_LENGTH);
    if (CONTROL.test(id)) this.fail(at, 'an id without control characters');
    return id;
  }

  /** `check` throws the write API's typed error; it becomes the cause of a SyncError. */
  checked<T>(value: unknown, at: string, expected: string, check: (value: unknown) => void): T {
    try {
      check(value);
    } catch (error) {
      this.fail(at, expected, error);
    }
    return value as T;
  }

  parents(value: unknown, at: string, own: string): string[] {
    if (!Array.isArray(value)) this.fail(at, 'an array of ids');
    const list = value as unknown[];
    if (list.length > MAX_PARENTS) this.fail(at, `at most ${MAX_PARENTS} ids`);
    const parents = list.map((parent, i) => this.id(parent, `${at}[${i}]`));
    if (new Set(parents).size !== parents.length) this.fail(at, 'distinct ids');
    if (parents.includes(own)) this.fail(at, 'ids other than the op’s own');
    return parents;
  }

  /** A deep copy of a JSON value, bounded in depth and size. */
  json(value: unknown, at: string, depth: number, budget: { chars: number }): JsonValue {
    const spend = (chars: number) => {
      budget.chars -= chars;
      if (budget.chars < 0) this.fail(at, `at most ${MAX_DATA_CHARS} characters of JSON`);
    };
    if (value === null || typeof value === 'boolean') {
      spend(5);
      return value;
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) this.fail(at, 'a finite number');
      spend(String(value).length);
      return value;
    }
    if (typeof value === 'string') {
      spend(value.length + 2);
      return value;
    }
    if (depth > MAX_DATA_DEPTH) this.fail(at, `nested at most ${MAX_DATA_DEPTH} deep`);
    if (Array.isArray(value)) {
      spend(value.length + 1);
      return value.map((item, i) => this.json(item, `${at}[${i}]`, depth + 1, budget));
    }
    if (!isPlainObject(value)) this.fail(at, 'JSON');
    const entries = Object.entries(value as Fields);
    return Object.fromEntries(
      entries.map(([name, item]) => {
        spend(name.length + 4);
        return [name, this.json(item, `${at}.${name}`, depth + 1, budget)];
      }),
    );
  }
}

/** An object from JSON: a plain object, not an array, a class instance or null. */
function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Check and type one journal entry read from `journal/<device>/<seq>.json`.
 *
 * @param json - the parsed JSON of the entry.
 * @param context - the device and seq of the entry's key: the entry must name the same.
 * @returns a fresh copy of the entry: nothing of `json` is shared.
 * @throws {SyncError} (`SYNC_INVALID_JOURNAL`, with `device`, `seq`, `opIndex`, `field`) for an
 *   entry that breaks the protocol; the write API's error, where one applies, is its `cause`.
 * @example
 * ```ts
 * const entry = parseJournalEntry(JSON.parse(text), { device: 'f0c1…', seq: 12 });
 * for (const op of entry.ops) if (op.op === 'version') console.log(op.key, op.checksum);
 * ```
 */
export function parseJournalEntry(json: unknown, context: JournalContext): JournalEntry {
  const r = new EntryReader(context);
  const entry = r.object(json, '');
  if (entry.format !== SYNC_FORMAT) r.fail('format', `"${SYNC_FORMAT}"`);
  const device = r.id(entry.device, 'device');
  if (device.includes('/')) r.fail('device', 'an id without "/"');
  if (device !== context.device) r.fail('device', `the device of the journal, ${context.device}`);
  const seq = r.size(entry.seq, 'seq');
  if (seq !== context.seq) r.fail('seq', `the seq of the entry's key, ${context.seq}`);
  if (!Array.isArray(entry.ops)) r.fail('ops', 'an array');
  const rawOps = entry.ops as unknown[];
  if (rawOps.length > MAX_JOURNAL_OPS) r.fail('ops', `at most ${MAX_JOURNAL_OPS} ops`);

  const state: EntryState = {
    versions: new Set(),
    changes: new Set(),
    bucketOfRecord: new Map(),
    recordOfBucket: new Map(),
    listedKeys: new Map(),
  };
  const ops = rawOps.map((raw, index): JournalOp => {
    r.opIndex = index;
    const at = `ops[${index}]`;
    const op = r.object(raw, at);
    if (op.op === 'version') return readVersionOp(r, op, at, state);
    if (op.op === 'record') return readRecordOp(r, op, at, state);
    return r.fail(`${at}.op`, '"version" or "record"');
  });
  return { format: SYNC_FORMAT, device, seq, ops };
}

/** What the ops read so far in one entry established. */
interface EntryState {
  versions: Set<string>;
  changes: Set<string>;
  bucketOfRecord: Map<string, string | null>;
  recordOfBucket: Map<string, string>;
  /** Keys listed in `_files` by the record ops read so far, per bucket. */
  listedKeys: Map<string, Set<string>>;
}

function readOwner(
  r: EntryReader,
  op: Fields,
  at: string,
  state: EntryState,
  bucketNullable: boolean,
): { recordId: string; bucketId: string | null } {
  const recordId = r.checked<string>(op.recordId, `${at}.recordId`, 'a valid record id', (v) =>
    validateRecordId(v, 'recordId'),
  );
  const bucketId =
    bucketNullable && op.bucketId === null
      ? null
      : r.checked<string>(op.bucketId, `${at}.bucketId`, 'a valid bucket id', (v) =>
          validateBucketId(v, 'bucketId'),
        );
  const known = state.bucketOfRecord.get(recordId);
  if (known !== undefined && known !== bucketId) {
    r.fail(`${at}.bucketId`, `the bucket of record ${recordId} in this entry, ${known}`);
  }
  state.bucketOfRecord.set(recordId, bucketId);
  if (bucketId !== null) {
    const owner = state.recordOfBucket.get(bucketId);
    if (owner !== undefined && owner !== recordId) {
      r.fail(`${at}.recordId`, `the owner of bucket ${bucketId} in this entry, ${owner}`);
    }
    state.recordOfBucket.set(bucketId, recordId);
  }
  return { recordId, bucketId };
}

function readVersionOp(r: EntryReader, op: Fields, at: string, state: EntryState): VersionOp {
  const owner = readOwner(r, op, at, state, false);
  const { recordId } = owner;
  const bucketId = owner.bucketId ?? r.fail(`${at}.bucketId`, 'a valid bucket id');
  const versionId = r.id(op.versionId, `${at}.versionId`);
  if (state.versions.has(versionId)) r.fail(`${at}.versionId`, 'a version not already in this entry');
  state.versions.add(versionId);
  const key = r.checked<string>(op.key, `${at}.key`, 'a valid object key', validateKey);
  if (state.listedKeys.get(bucketId)?.has(key)) {
    r.fail(`${at}.key`, 'a key no earlier record op of this entry lists (version ops come first)');
  }
  const parents = r.parents(op.parents, `${at}.parents`, versionId);
  const marker = r.boolean(op.marker, `${at}.marker`);
  let size = 0;
  let checksum: string | null = null;
  let mimetype: string | null = null;
  if (marker) {
    if (op.size !== undefined && op.size !== 0) r.fail(`${at}.size`, '0 or absent for a delete marker');
    if (op.checksum !== undefined && op.checksum !== null) {
      r.fail(`${at}.checksum`, 'null or absent for a delete marker');
    }
  } else {
    size = r.size(op.size, `${at}.size`);
    if (typeof op.checksum !== 'string' || !CHECKSUM.test(op.checksum)) {
      r.fail(`${at}.checksum`, 'an md5 checksum "md5:<32 lowercase hex>"');
    }
    checksum = op.checksum;
  }
  if (op.mimetype !== undefined && op.mimetype !== null) {
    mimetype = r.checked<string>(op.mimetype, `${at}.mimetype`, 'null or a valid mimetype', validateMimetype);
  }
  const remote = r.object(op.remote, `${at}.remote`);
  return {
    op: 'version',
    recordId,
    bucketId,
    versionId,
    key,
    parents,
    marker,
    size,
    checksum,
    mimetype,
    remote: {
      key: r.text(remote.key, `${at}.remote.key`, MAX_REMOTE_LENGTH),
      versionId: r.text(remote.versionId, `${at}.remote.versionId`, MAX_REMOTE_LENGTH),
    },
  };
}

function readRecordOp(r: EntryReader, op: Fields, at: string, state: EntryState): RecordOp {
  const { recordId, bucketId } = readOwner(r, op, at, state, true);
  const change = r.id(op.change, `${at}.change`);
  if (state.changes.has(change)) r.fail(`${at}.change`, 'a change not already in this entry');
  state.changes.add(change);
  const parents = r.parents(op.parents, `${at}.parents`, change);
  if (change.startsWith('merge:')) {
    if (!MERGE_ID.test(change)) r.fail(`${at}.change`, 'a merge id "merge:<32 lowercase hex>"');
    if (parents.length !== 2 || mergeChangeId(parents[0], parents[1]) !== change) {
      r.fail(`${at}.parents`, `the two changes whose merge is ${change}`);
    }
  }
  const deleted = r.boolean(op.deleted, `${at}.deleted`);
  const data = r.object(op.data, `${at}.data`);
  const copy = r.json(data, `${at}.data`, 1, { chars: MAX_DATA_CHARS }) as Record<string, JsonValue>;

  if (Object.hasOwn(copy, '_bucket') && copy._bucket !== bucketId) {
    r.fail(
      `${at}.data._bucket`,
      bucketId === null ? 'absent for a record without a bucket' : `"${bucketId}"`,
    );
  }
  if (Object.hasOwn(copy, '_files')) {
    const keys = readFiles(r, copy._files, `${at}.data._files`);
    if (keys.size > 0 && bucketId === null)
      r.fail(`${at}.data._files`, 'empty for a record without a bucket');
    if (bucketId !== null) {
      const listed = state.listedKeys.get(bucketId) ?? new Set<string>();
      for (const key of keys) listed.add(key);
      state.listedKeys.set(bucketId, listed);
    }
  }
  return { op: 'record', recordId, bucketId, change, parents, deleted, data: copy };
}

/** Check stripped `_files` entries; the keys they list. */
function readFiles(r: EntryReader, files: JsonValue | undefined, at: string): Set<string> {
  if (!Array.isArray(files)) r.fail(at, 'an array of file entries');
  const keys = new Set<string>();
  (files as JsonValue[]).forEach((value, i) => {
    const entry = r.object(value, `${at}[${i}]`);
    const key = r.checked<string>(entry.key, `${at}[${i}].key`, 'a valid object key', validateKey);
    if (keys.has(key)) r.fail(`${at}[${i}].key`, 'a key not listed before');
    keys.add(key);
    for (const name of Object.keys(entry)) {
      if (name !== 'key' && RESERVED_METADATA.has(name)) {
        r.fail(`${at}[${i}].${name}`, 'absent: stripped entries hold no reserved names');
      }
    }
  });
  return keys;
}
