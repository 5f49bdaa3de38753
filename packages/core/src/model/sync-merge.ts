/**
 * The pure rules of record sync: a record's changes form a DAG per record, a pulled change that
 * does not fast-forward is merged 3-way with the lowest common ancestor as base, and the merge
 * gets an id every device computes the same (docs/sync-protocol.md, "Records").
 *
 * The merge of two sides, field by field (objects recursively, at every depth):
 * - a value equal on both sides is kept (no conflict, even when both sides changed it);
 * - a value changed on one side only is taken from that side (removal is a change);
 * - two different changes to an object on both sides merge key by key; to anything else (a
 *   scalar, an array: atomic values) they are a **conflict**, won by the greater value in the
 *   order of {@link compareJson} (not a clock, and not the change ids: see below);
 * - removed on one side and changed on the other: a conflict the changed side wins (edit beats
 *   delete, at every depth);
 * - `_files` (stripped to `{ key, ...extra }`) merges per key, each entry as an object; order:
 *   the side that reordered, when only one did; else the greater key list's; then the other
 *   side's keys;
 * - `deleted`: trashed on one side only stays trashed unless the other side changed the data.
 *
 * Nothing depends on the change ids. A merge change's id is a hash of its parents' ids: it says
 * nothing about which edit a value came from, so "the greater id wins" chose anew, at random, at
 * every merge of merges, and devices that folded the same changes in different orders kept
 * flipping a conflicting field between the two edits (three devices did not converge in 8
 * rounds). "The greater value wins" gives a conflicting field the greatest of the concurrent
 * values whatever the order and grouping of the merges. Two limits remain, both settled by one
 * more merge, the same on every device: the order of `_files` can differ between fold orders
 * (a merge that drops a key forgets where the other side had moved it), and an object removed on
 * one side and edited inside on two others comes back whole from each pair, so a merge of those
 * two merges no longer knows which of its fields either removed.
 *
 * The result does not depend on which side is local: `mergeRecords(base, a, b).state` and
 * `mergeRecords(base, b, a).state` are equal, key order included.
 *
 * @module
 */
import { copyJson, ENTRY_FIELDS } from './record.js';
import { compareIds } from './sync-versions.js';

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** The synced state of a record: data with `_files` stripped to `{ key, ...extra }`, and the trash flag. */
export interface RecordState {
  data: Record<string, JsonValue>;
  deleted: boolean;
}

/**
 * One field changed differently on both sides. `path` is the field's path in the data (for
 * `_files`: `['_files', key, field]`); the values are `undefined` where the field is absent.
 */
export interface FieldConflict {
  path: string[];
  base: JsonValue | undefined;
  local: JsonValue | undefined;
  remote: JsonValue | undefined;
  /** The side whose value the merge took. */
  chosen: 'local' | 'remote';
}

/**
 * One side of a merge: the change it is at and the state of the record there. The merge reads
 * only the state; `change` names the side for the caller (the merge id, the conflict rows).
 */
export interface MergeSide {
  change: string;
  state: RecordState;
}

/** The field of record data that lists its files. */
const FILES = '_files';

type Side = 'local' | 'remote';

/**
 * 3-way merge of a record's state. One-sided changes are taken; two-sided different changes take
 * the greater value ({@link compareJson}) and are reported as conflicts (removed against
 * changed: the changed side). `_files` merges per key (entry added, removed, extra fields); its
 * order is that of the side that reordered, else of the greater key list, then the other side's
 * keys. `deleted`: edit beats delete. `base` undefined (the same record id created on two
 * devices) is an empty, untrashed record. The change ids decide nothing.
 *
 * Symmetric: `mergeRecords(base, a, b).state` deep-equals `mergeRecords(base, b, a).state`, key
 * order included (only `chosen` in the conflicts names the other side). Devices that fold the
 * same concurrent changes in any order reach the same data (the order of `_files` aside; see the
 * module's notes).
 *
 * @example
 * ```ts
 * const base = { data: { title: 'Survey', n: 1 }, deleted: false };
 * const { state, conflicts } = mergeRecords(
 *   base,
 *   { change: 'c-local', state: { data: { title: 'Survey 12', n: 2 }, deleted: false } },
 *   { change: 'c-remote', state: { data: { title: 'Survey', n: 3 }, deleted: false } },
 * );
 * // state.data: { title: 'Survey 12', n: 3 }: 3 > 2 wins n
 * // conflicts: [{ path: ['n'], base: 1, local: 2, remote: 3, chosen: 'remote' }]
 * ```
 */
export function mergeRecords(
  base: RecordState | undefined,
  local: MergeSide,
  remote: MergeSide,
): { state: RecordState; conflicts: FieldConflict[] } {
  const baseState: RecordState = base ?? { data: {}, deleted: false };
  const conflicts: FieldConflict[] = [];
  const data = mergeValue(baseState.data, local.state.data, remote.state.data, [], conflicts) as JsonObject;

  let deleted: boolean;
  if (local.state.deleted === remote.state.deleted) deleted = local.state.deleted;
  else if (baseState.deleted)
    deleted = false; // restored on one side
  else {
    const kept = local.state.deleted ? remote : local;
    deleted = jsonEqual(kept.state.data, baseState.data); // trashed on one side, edited on the other
  }
  return { state: { data, deleted }, conflicts };
}

function mergeValue(
  base: JsonValue | undefined,
  local: JsonValue | undefined,
  remote: JsonValue | undefined,
  path: string[],
  conflicts: FieldConflict[],
): JsonValue | undefined {
  if (jsonEqual(local, remote)) return firstInKeyOrder(local, remote);
  if (jsonEqual(local, base)) return remote;
  if (jsonEqual(remote, base)) return local;
  if (path.length === 1 && path[0] === FILES) return mergeFiles(base, local, remote, path, conflicts);
  if (isJsonObject(local) && isJsonObject(remote)) {
    return mergeObjects(isJsonObject(base) ? base : undefined, local, remote, path, conflicts);
  }
  const chosen: Side =
    local === undefined ? 'remote' : remote === undefined ? 'local' : greater(local, remote);
  conflicts.push({ path, base, local, remote, chosen });
  return chosen === 'local' ? local : remote;
}

/** The side holding the greater of two different values. */
const greater = (local: JsonValue, remote: JsonValue): Side =>
  compareJson(local, remote) > 0 ? 'local' : 'remote';

/** Of two values equal as JSON (key order aside), the one whose JSON text sorts first: both sides pick the same. */
const firstInKeyOrder = (a: JsonValue | undefined, b: JsonValue | undefined): JsonValue | undefined =>
  (JSON.stringify(a) ?? '') <= (JSON.stringify(b) ?? '') ? a : b;

/** Key by key; the keys in the greater object's order, then the other side's. */
function mergeObjects(
  base: JsonObject | undefined,
  local: JsonObject,
  remote: JsonObject,
  path: string[],
  conflicts: FieldConflict[],
): JsonObject {
  const [first, second] = greater(local, remote) === 'local' ? [local, remote] : [remote, local];
  const entries: [string, JsonValue][] = [];
  for (const name of new Set([...Object.keys(first), ...Object.keys(second)])) {
    const value = mergeValue(
      own(base, name),
      own(local, name),
      own(remote, name),
      [...path, name],
      conflicts,
    );
    if (value !== undefined) entries.push([name, value]);
  }
  return Object.fromEntries(entries);
}

/**
 * `_files` changed on both sides: entries merge per key as objects. The order is the one side's
 * that changed the base's relative order, when only one did (a one-sided reorder is a one-sided
 * change); else the greater key list's; then the other side's keys.
 */
function mergeFiles(
  base: JsonValue | undefined,
  local: JsonValue | undefined,
  remote: JsonValue | undefined,
  path: string[],
  conflicts: FieldConflict[],
): JsonValue[] {
  const b = fileEntries(base);
  const l = fileEntries(local);
  const r = fileEntries(remote);
  const baseOrder = [...b.keys()];
  const localOrder = [...l.keys()];
  const remoteOrder = [...r.keys()];
  const localMoved = reordered(localOrder, baseOrder);
  const leader: Side =
    localMoved !== reordered(remoteOrder, baseOrder)
      ? localMoved
        ? 'local'
        : 'remote'
      : greater(localOrder, remoteOrder);
  const lead = leader === 'local' ? [...localOrder, ...remoteOrder] : [...remoteOrder, ...localOrder];
  const entries: JsonValue[] = [];
  for (const key of new Set(lead)) {
    const entry = mergeValue(b.get(key), l.get(key), r.get(key), [...path, key], conflicts);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/** `_files` by key, in order: objects with a string `key`, the first of each key; anything else ignored. */
function fileEntries(files: JsonValue | undefined): Map<string, JsonObject> {
  const byKey = new Map<string, JsonObject>();
  if (!Array.isArray(files)) return byKey;
  for (const entry of files) {
    if (isJsonObject(entry) && typeof entry.key === 'string' && !byKey.has(entry.key)) {
      byKey.set(entry.key, entry);
    }
  }
  return byKey;
}

/** Whether `order` lists the keys it shares with `base` in another relative order. */
function reordered(order: readonly string[], base: readonly string[]): boolean {
  const inOrder = new Set(order);
  const inBase = new Set(base);
  const mine = order.filter((key) => inBase.has(key));
  const theirs = base.filter((key) => inOrder.has(key));
  return mine.some((key, i) => key !== theirs[i]);
}

/** An own field of an object (never one of `Object.prototype`'s), or `undefined`. */
function own(object: JsonObject | undefined, name: string): JsonValue | undefined {
  return object !== undefined && Object.hasOwn(object, name) ? object[name] : undefined;
}

/** A plain JSON object (not an array, not null). */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The rank of a JSON value's type in {@link compareJson}. */
function rank(value: JsonValue): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return 1;
  if (typeof value === 'number') return 2;
  if (typeof value === 'string') return 3;
  return Array.isArray(value) ? 4 : 5;
}

/**
 * A total order of JSON values, the same on every device: by type (null < booleans < numbers <
 * strings < arrays < objects), then false < true, numbers by value, strings by UTF-16 code
 * units, arrays element by element (a prefix first), objects as their entries sorted by name
 * (compared as arrays of `[name, value]`). 0 exactly when {@link jsonEqual} (key order aside).
 *
 * @example
 * ```ts
 * compareJson('from c', 'from a'); // > 0: "from c" wins a conflict between the two
 * compareJson(10, 9); // > 0
 * compareJson({ b: 1, a: 2 }, { a: 2, b: 1 }); // 0
 * ```
 */
export function compareJson(a: JsonValue, b: JsonValue): number {
  const byType = rank(a) - rank(b);
  if (byType !== 0) return byType;
  if (typeof a === 'boolean' || typeof a === 'number') return Number(a) - Number(b);
  if (typeof a === 'string') return compareIds(a, b as string);
  if (a === null) return 0;
  if (Array.isArray(a)) {
    const other = b as JsonValue[];
    for (let i = 0; i < Math.min(a.length, other.length); i++) {
      const order = compareJson(a[i] as JsonValue, other[i] as JsonValue);
      if (order !== 0) return order;
    }
    return a.length - other.length;
  }
  const sorted = (object: JsonObject): JsonValue[] =>
    Object.keys(object)
      .sort(compareIds)
      .map((name) => [name, object[name] as JsonValue]);
  return compareJson(sorted(a), sorted(b as JsonObject));
}

/**
 * Deep equality of JSON values: arrays element by element, objects by their set of keys and
 * values (key order does not matter), `undefined` equal only to itself.
 *
 * @example
 * ```ts
 * jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }); // true
 * jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 }); // true
 * ```
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((value, i) => jsonEqual(value, b[i]));
  }
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every((name) => Object.hasOwn(b, name) && jsonEqual(a[name], b[name]));
}

/**
 * The id of the merge of two changes: `merge:` + the md5 (hex) of the two ids in code-unit
 * order, joined by a line feed, as UTF-8. The same on every device, whatever the order of the
 * arguments; synchronous (a small md5 of its own), so it can run inside a transaction.
 *
 * @example
 * ```ts
 * mergeChangeId('c1', 'c2') === mergeChangeId('c2', 'c1'); // true: "merge:<32 hex>"
 * ```
 */
export function mergeChangeId(a: string, b: string): string {
  return `merge:${md5Hex([a, b].sort(compareIds).join('\n'))}`;
}

/**
 * A record's data as sync sees it: `_files` entries stripped to `{ key, ...extra }` (no
 * `bucket`, `checksum`, `file_id`, `size`, `version_id`: every device derives them from its
 * bucket), entries without a string `key` dropped; the rest of the data unchanged. The result is
 * a deep JSON copy.
 *
 * @throws {InvalidArgumentError} for data that is not JSON.
 * @example
 * ```ts
 * stripFiles({ title: 'T', _files: [{ bucket: 'b', checksum: 'md5:…', file_id: 'f', key: 'a.jpg', size: 3, version_id: 'v', description: 'North' }] });
 * // { title: 'T', _files: [{ key: 'a.jpg', description: 'North' }] }
 * ```
 */
export function stripFiles(data: Record<string, unknown>): Record<string, JsonValue> {
  const entryFields: ReadonlySet<string> = new Set(ENTRY_FIELDS);
  const stripped = Object.fromEntries(
    Object.entries(data).map(([name, value]) => {
      if (name !== FILES || !Array.isArray(value)) return [name, value];
      const entries = value
        .filter(
          (entry): entry is Record<string, unknown> =>
            typeof entry === 'object' && entry !== null && typeof entry.key === 'string',
        )
        .map((entry) =>
          Object.fromEntries([
            ['key', entry.key],
            ...Object.entries(entry).filter(([field]) => !entryFields.has(field)),
          ]),
        );
      return [name, entries];
    }),
  );
  return copyJson(stripped) as Record<string, JsonValue>;
}

/** One record change as the DAG of a record sees it. */
export interface ChangeNode {
  change: string;
  parents: readonly string[];
}

/**
 * Whether `ancestor` is `descendant` or reachable from it through parents. Parents the map does
 * not hold end the walk there.
 *
 * @example
 * ```ts
 * const nodes = new Map([['a', { change: 'a', parents: [] }], ['b', { change: 'b', parents: ['a'] }]]);
 * isAncestor(nodes, 'a', 'b'); // true: fast-forward from a to b
 * isAncestor(nodes, 'b', 'a'); // false
 * ```
 */
export function isAncestor(
  nodes: ReadonlyMap<string, ChangeNode>,
  ancestor: string,
  descendant: string,
): boolean {
  return ancestorsOf(nodes, [descendant]).has(ancestor);
}

/**
 * A lowest common ancestor of `a` and `b`: a change both reach (each reaches itself) that no
 * other common ancestor descends from. When several are lowest (criss-cross merges), the greatest
 * id (code-unit order); `undefined` when they share no history.
 *
 * @example
 * ```ts
 * // a ← b, a ← c: two devices edited after a
 * commonAncestor(nodes, 'b', 'c'); // 'a', the base of their 3-way merge
 * ```
 */
export function commonAncestor(
  nodes: ReadonlyMap<string, ChangeNode>,
  a: string,
  b: string,
): string | undefined {
  const ofB = ancestorsOf(nodes, [b]);
  const common = [...ancestorsOf(nodes, [a])].filter((change) => ofB.has(change));
  const belowOthers = ancestorsOf(
    nodes,
    common.flatMap((change) => nodes.get(change)?.parents ?? []),
  );
  const lowest = common.filter((change) => !belowOthers.has(change));
  // Only a cycle (a hostile journal) leaves no lowest one: then the greatest common id.
  const candidates = lowest.length > 0 ? lowest : common;
  return candidates.reduce<string | undefined>(
    (best, change) => (best === undefined || change > best ? change : best),
    undefined,
  );
}

/**
 * `starts` and every change reachable from them through parents (iterative; cycles end).
 * Parents the map does not hold are included, and end the walk there.
 *
 * @example
 * ```ts
 * // a ← b ← c
 * ancestorsOf(nodes, ['c']); // Set { 'c', 'b', 'a' }
 * ```
 */
export function ancestorsOf(nodes: ReadonlyMap<string, ChangeNode>, starts: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...starts];
  while (stack.length > 0) {
    const change = stack.pop()!;
    if (seen.has(change)) continue;
    seen.add(change);
    for (const parent of nodes.get(change)?.parents ?? []) if (!seen.has(parent)) stack.push(parent);
  }
  return seen;
}

// --- md5 (RFC 1321), small and synchronous, for merge ids only. ---

const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
// biome-ignore format: the table of RFC 1321, eight constants a line
const SINES = Uint32Array.of(
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
);

/**
 * The md5 of a string's UTF-8 bytes, as 32 lowercase hex digits: for ids and small JSON bodies
 * (a journal entry of 1 MiB takes some milliseconds), not for file bytes.
 *
 * @example
 * ```ts
 * md5Hex(''); // 'd41d8cd98f00b204e9800998ecf8427e'
 * ```
 */
export function md5Hex(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const blocks = ((bytes.length + 8) >>> 6) + 1;
  const words = new Uint32Array(blocks * 16);
  for (let i = 0; i < bytes.length; i++) words[i >>> 2] |= bytes[i] << ((i % 4) * 8);
  words[bytes.length >>> 2] |= 0x80 << ((bytes.length % 4) * 8);
  words[blocks * 16 - 2] = (bytes.length * 8) >>> 0;
  words[blocks * 16 - 1] = Math.floor(bytes.length / 0x20000000);

  const state = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
  for (let offset = 0; offset < words.length; offset += 16) {
    let a = state[0];
    let b = state[1];
    let c = state[2];
    let d = state[3];
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const sum = (a + f + SINES[i] + words[offset + g]) | 0;
      const shift = SHIFTS[(i >>> 4) * 4 + (i % 4)];
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
  }
  let hex = '';
  for (const word of state) {
    for (let byte = 0; byte < 4; byte++) hex += ((word >>> (byte * 8)) & 0xff).toString(16).padStart(2, '0');
  }
  return hex;
}
