/**
 * The pure rules of sync (docs/sync-protocol.md): the head of a key's version DAG, the 3-way
 * merge of a record's changes, merge ids, the change DAG, and the check of journal entries.
 * Examples for every rule, then properties over random states and random device histories.
 */
import fc from 'fast-check';
import { md5 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { CofferError, InvalidKeyError, SyncError } from '../../packages/core/src/errors.js';
import {
  type JournalEntry,
  MAX_DATA_DEPTH,
  MAX_JOURNAL_OPS,
  MAX_PARENTS,
  parseJournalEntry,
  type RecordOp,
  type VersionOp,
} from '../../packages/core/src/model/sync-journal.js';
import {
  type ChangeNode,
  commonAncestor,
  compareJson,
  isAncestor,
  type JsonObject,
  type JsonValue,
  jsonEqual,
  type MergeSide,
  md5Hex,
  mergeChangeId,
  mergeRecords,
  type RecordState,
  stripFiles,
} from '../../packages/core/src/model/sync-merge.js';
import {
  chooseHead,
  leaves,
  parentsFor,
  type VersionNode,
} from '../../packages/core/src/model/sync-versions.js';

const file = (versionId: string, parents: string[] = []): VersionNode => ({
  versionId,
  parents,
  marker: false,
});
const marker = (versionId: string, parents: string[] = []): VersionNode => ({
  versionId,
  parents,
  marker: true,
});
const ids = (nodes: readonly VersionNode[]) => nodes.map((node) => node.versionId);

const state = (data: Record<string, JsonValue>, deleted = false): RecordState => ({ data, deleted });
const side = (change: string, data: Record<string, JsonValue>, deleted = false): MergeSide => ({
  change,
  state: state(data, deleted),
});
const dag = (edges: Record<string, string[]>): Map<string, ChangeNode> =>
  new Map(Object.entries(edges).map(([change, parents]) => [change, { change, parents }]));

describe('The head of a key: the best leaf of its version DAG', () => {
  it('has no head without versions', () => {
    expect(chooseHead([])).toBeUndefined();
    expect(leaves([])).toEqual([]);
  });

  it('makes the only version the head', () => {
    expect(chooseHead([file('a')])?.versionId).toBe('a');
  });

  it('fast-forwards a chain: the newest version is the only leaf and the head, whatever its id', () => {
    const chain = [file('z'), file('m', ['z']), file('a', ['m'])];
    expect(ids(leaves(chain))).toEqual(['a']);
    expect(chooseHead(chain)?.versionId).toBe('a');
  });

  it('keeps both versions when two devices write one key offline; the greater versionId is head', () => {
    const versions = [file('v0'), file('v-device-1', ['v0']), file('v-device-2', ['v0'])];
    expect(ids(leaves(versions))).toEqual(['v-device-1', 'v-device-2']);
    expect(chooseHead(versions)?.versionId).toBe('v-device-2');
    expect(chooseHead([...versions].reverse())?.versionId).toBe('v-device-2');
  });

  it('resolves three concurrent writers to the greatest file, until a version names them all', () => {
    const versions = [file('v0'), file('b', ['v0']), file('c', ['v0']), file('a', ['v0'])];
    expect(ids(leaves(versions))).toEqual(['b', 'c', 'a']);
    expect(chooseHead(versions)?.versionId).toBe('c');
    const next = file('0-next', parentsFor(versions));
    expect(next.parents).toEqual(['a', 'b', 'c']);
    expect(chooseHead([...versions, next])?.versionId).toBe('0-next');
  });

  it('lets a file beat a delete marker whatever their ids (edit beats delete)', () => {
    const versions = [file('v0'), marker('zzz', ['v0']), file('aaa', ['v0'])];
    expect(chooseHead(versions)?.versionId).toBe('aaa');
  });

  it('chooses the greater of two delete markers when no file is a leaf: the key stays hidden', () => {
    const head = chooseHead([file('v0'), marker('m1', ['v0']), marker('m2', ['v0'])]);
    expect(head).toEqual(marker('m2', ['v0']));
  });

  it('lets a delete marker that follows a file be head: a fast-forward, not a conflict', () => {
    expect(chooseHead([file('z'), marker('a', ['z'])])?.marker).toBe(true);
  });

  it('compares versionIds by UTF-16 code units, as every device does', () => {
    expect(chooseHead([file('B'), file('a')])?.versionId).toBe('a');
    // U+FFFF is one code unit 0xFFFF; U+10000 starts with the surrogate 0xD800.
    expect(chooseHead([file('\u{10000}'), file('\uffff')])?.versionId).toBe('\uffff');
  });

  it('ignores parents it does not hold (not pulled yet) and a version naming itself', () => {
    expect(ids(leaves([file('b', ['missing']), file('c', ['c'])]))).toEqual(['b', 'c']);
  });

  it('lists each versionId once', () => {
    expect(ids(leaves([file('a'), file('a')]))).toEqual(['a']);
  });

  it('still has a head when a hostile journal makes a cycle with no leaf', () => {
    expect(chooseHead([marker('x', ['y']), file('y', ['x'])])?.versionId).toBe('y');
  });

  it('gives a new local version the sorted leaves before it as parents', () => {
    expect(parentsFor([])).toEqual([]);
    expect(parentsFor([file('a')])).toEqual(['a']);
    expect(parentsFor([file('a'), file('c', ['a']), marker('b', ['a'])])).toEqual(['b', 'c']);
  });
});

describe('Merge ids', () => {
  it('are "merge:" and the md5 of the two ids in code-unit order, joined by a line feed', async () => {
    expect(mergeChangeId('c2', 'c1')).toBe(`merge:${await md5('c1\nc2')}`);
    expect(mergeChangeId('c1', 'c2')).toBe(mergeChangeId('c2', 'c1'));
    expect(mergeChangeId('a', 'b')).toMatch(/^merge:[0-9a-f]{32}$/);
  });

  it('computes the md5 of RFC 1321 for the test suite of the RFC', () => {
    expect(md5Hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(md5Hex('12345678901234567890123456789012345678901234567890123456789012345678901234567890')).toBe(
      '57edf4a22be3c955ac49da2e2107b67a',
    );
  });

  it('agrees with hash-wasm at every padding boundary', async () => {
    for (let length = 0; length <= 130; length++) {
      const text = 'é'.repeat(length % 3) + 'a'.repeat(length);
      expect(md5Hex(text)).toBe(await md5(text));
    }
  });

  it('agrees with hash-wasm for any text (UTF-8)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 200 }), async (text) => {
        expect(md5Hex(text)).toBe(await md5(text));
      }),
      { numRuns: 200 },
    );
  });
});

describe('The change DAG of a record', () => {
  const history = dag({ a: [], b: ['a'], c: ['b'], d: ['b'], e: ['c', 'd'], x: [] });

  it('sees a change as its own ancestor', () => {
    expect(isAncestor(history, 'c', 'c')).toBe(true);
  });

  it('follows parents to tell a fast-forward from a fork', () => {
    expect(isAncestor(history, 'a', 'e')).toBe(true);
    expect(isAncestor(history, 'd', 'e')).toBe(true);
    expect(isAncestor(history, 'e', 'a')).toBe(false);
    expect(isAncestor(history, 'c', 'd')).toBe(false);
    expect(isAncestor(history, 'x', 'e')).toBe(false);
  });

  it('finds the fork point as the common ancestor, in either order', () => {
    expect(commonAncestor(history, 'c', 'd')).toBe('b');
    expect(commonAncestor(history, 'd', 'c')).toBe('b');
    expect(commonAncestor(history, 'e', 'c')).toBe('c');
    expect(commonAncestor(history, 'e', 'e')).toBe('e');
  });

  it('has no common ancestor for unrelated histories', () => {
    expect(commonAncestor(history, 'e', 'x')).toBeUndefined();
  });

  it('chooses the greatest id of several lowest common ancestors (criss-cross)', () => {
    const crissCross = dag({ r: [], p: ['r'], q: ['r'], m1: ['p', 'q'], m2: ['q', 'p'] });
    expect(commonAncestor(crissCross, 'm1', 'm2')).toBe('q');
    expect(commonAncestor(crissCross, 'm2', 'm1')).toBe('q');
  });

  it('walks parents it does not hold as ends, and stops on cycles', () => {
    const partial = dag({ b: ['a'], c: ['a'] });
    expect(commonAncestor(partial, 'b', 'c')).toBe('a');
    const cycle = dag({ a: ['b'], b: ['a'], c: ['a'] });
    expect(isAncestor(cycle, 'c', 'a')).toBe(false);
    expect(commonAncestor(cycle, 'a', 'c')).toBe('b');
  });
});

describe('Stripped _files', () => {
  it('keeps the key and the extra metadata of each entry, and the rest of the data', () => {
    const data = {
      title: 'Survey 12',
      _bucket: 'b1',
      _files: [
        {
          bucket: 'b1',
          checksum: `md5:${'0'.repeat(32)}`,
          file_id: 'f1',
          key: 'site.jpg',
          size: 3,
          version_id: 'v1',
          description: 'North wall',
        },
        { key: 'plan.pdf', bucket: 'b1', checksum: '', file_id: 'f2', size: 0, version_id: 'v2' },
      ],
    };
    expect(stripFiles(data)).toEqual({
      title: 'Survey 12',
      _bucket: 'b1',
      _files: [{ key: 'site.jpg', description: 'North wall' }, { key: 'plan.pdf' }],
    });
  });

  it('drops entries without a key and returns a copy', () => {
    const data = { nested: { list: [1] }, _files: [{ size: 1 }, null, { key: 'a' }] };
    const stripped = stripFiles(data);
    expect(stripped).toEqual({ nested: { list: [1] }, _files: [{ key: 'a' }] });
    expect(stripped.nested).not.toBe(data.nested);
  });
});

describe('The 3-way merge of a record', () => {
  const base = state({ title: 'Survey', site: 'North', n: 1 });

  it('takes changes to different fields from both sides, without conflict', () => {
    const { state: merged, conflicts } = mergeRecords(
      base,
      side('c1', { title: 'Survey 12', site: 'North', n: 1 }),
      side('c2', { title: 'Survey', site: 'South', n: 1 }),
    );
    expect(merged).toEqual(state({ title: 'Survey 12', site: 'South', n: 1 }));
    expect(conflicts).toEqual([]);
  });

  it('reports no conflict when both sides made the same change', () => {
    const { state: merged, conflicts } = mergeRecords(
      base,
      side('c1', { title: 'Same', site: 'North', n: 1 }),
      side('c2', { title: 'Same', site: 'North', n: 1 }),
    );
    expect(merged.data.title).toBe('Same');
    expect(conflicts).toEqual([]);
  });

  it('gives a field changed differently on both sides to the greater value, whatever the ids, as a conflict', () => {
    const local = side('c2', { title: 'Local', site: 'North', n: 1 });
    const remote = side('c1', { title: 'Remote', site: 'North', n: 1 });
    const asLocal = mergeRecords(base, local, remote);
    expect(asLocal.state.data.title).toBe('Remote');
    expect(asLocal.conflicts).toEqual([
      { path: ['title'], base: 'Survey', local: 'Local', remote: 'Remote', chosen: 'remote' },
    ]);
    const swapped = mergeRecords(base, remote, local);
    expect(swapped.state).toEqual(asLocal.state);
    expect(swapped.conflicts).toEqual([
      { path: ['title'], base: 'Survey', local: 'Remote', remote: 'Local', chosen: 'local' },
    ]);
  });

  it('merges nested objects key by key, at every depth', () => {
    const nested = state({ place: { name: 'Wall', geo: { lat: 1, lon: 2 } } });
    const { state: merged, conflicts } = mergeRecords(
      nested,
      side('c1', { place: { name: 'North wall', geo: { lat: 1, lon: 2 } } }),
      side('c2', { place: { name: 'Wall', geo: { lat: 1, lon: 3 }, alt: 5 } }),
    );
    expect(merged.data).toEqual({ place: { name: 'North wall', geo: { lat: 1, lon: 3 }, alt: 5 } });
    expect(conflicts).toEqual([]);
  });

  it('reports a nested conflict with its full path', () => {
    const nested = state({ place: { geo: { lat: 1 } } });
    const { conflicts } = mergeRecords(
      nested,
      side('c9', { place: { geo: { lat: 2 } } }),
      side('c1', { place: { geo: { lat: 3 } } }),
    );
    expect(conflicts).toEqual([
      { path: ['place', 'geo', 'lat'], base: 1, local: 2, remote: 3, chosen: 'remote' },
    ]);
  });

  it('treats arrays as atomic values: two different edits are one conflict, not a mix', () => {
    const tagged = state({ tags: ['a', 'b'] });
    const { state: merged, conflicts } = mergeRecords(
      tagged,
      side('c1', { tags: ['a', 'b', 'c'] }),
      side('c2', { tags: ['b'] }),
    );
    expect(merged.data.tags).toEqual(['b']);
    expect(conflicts).toMatchObject([{ path: ['tags'], chosen: 'remote' }]);
  });

  it('compares arrays and objects by value: equal edits on both sides are no conflict', () => {
    const { conflicts } = mergeRecords(
      state({ tags: ['a'], o: { x: 1 } }),
      side('c1', { tags: ['a', 'b'], o: { x: 2, y: 1 } }),
      side('c2', { tags: ['a', 'b'], o: { y: 1, x: 2 } }),
    );
    expect(conflicts).toEqual([]);
  });

  it('takes a key added on one side, and both keys added on both sides', () => {
    const { state: merged } = mergeRecords(
      base,
      side('c1', { ...base.data, a: 1 }),
      side('c2', { ...base.data, b: 2 }),
    );
    expect(merged.data).toMatchObject({ a: 1, b: 2 });
  });

  it('removes a key removed on one side and unchanged on the other', () => {
    const { state: merged, conflicts } = mergeRecords(
      base,
      side('c1', { title: 'Survey', n: 1 }),
      side('c2', { title: 'Survey', site: 'North', n: 2 }),
    );
    expect(merged.data).toEqual({ title: 'Survey', n: 2 });
    expect(conflicts).toEqual([]);
  });

  it('keeps a key removed on one side and changed on the other, whatever the ids (edit beats delete)', () => {
    for (const [removing, editing] of [
      ['c1', 'c2'],
      ['c2', 'c1'],
    ] as const) {
      const removed = side(removing, { title: 'Survey', n: 1 });
      const edited = side(editing, { title: 'Survey', site: 'South', n: 1 });
      const one = mergeRecords(base, removed, edited);
      const other = mergeRecords(base, edited, removed);
      expect(one.state.data.site).toBe('South');
      expect(other.state).toEqual(one.state);
      expect(one.conflicts).toEqual([
        { path: ['site'], base: 'North', local: undefined, remote: 'South', chosen: 'remote' },
      ]);
      expect(other.conflicts).toMatchObject([{ path: ['site'], chosen: 'local' }]);
    }
  });

  it('keeps an object removed on one side and edited deep inside on the other', () => {
    const nested = state({ place: { name: 'Wall' } });
    const { state: merged, conflicts } = mergeRecords(
      nested,
      side('c9', {}),
      side('c1', { place: { name: 'North wall' } }),
    );
    expect(merged.data).toEqual({ place: { name: 'North wall' } });
    expect(conflicts).toMatchObject([{ path: ['place'], chosen: 'remote' }]);
  });

  it('merges against an empty base when two devices created the same record id', () => {
    const { state: merged, conflicts } = mergeRecords(
      undefined,
      side('c1', { title: 'One', a: 1 }),
      side('c2', { title: 'Two', b: 2 }),
    );
    expect(merged).toEqual(state({ title: 'Two', b: 2, a: 1 }));
    expect(conflicts).toEqual([
      { path: ['title'], base: undefined, local: 'One', remote: 'Two', chosen: 'remote' },
    ]);
  });

  it('orders the merged keys as the greater object has them, then the other side’s', () => {
    // Sorted by name, { a, z } is greater than { a, b, m }: "z" > "b".
    const { state: merged } = mergeRecords(
      state({}),
      side('c1', { z: 1, a: 1 }),
      side('c2', { m: 1, b: 1, a: 1 }),
    );
    expect(Object.keys(merged.data)).toEqual(['z', 'a', 'm', 'b']);
  });

  it('takes data from the other side when only the other side changed, and no conflict', () => {
    const changed = side('c1', { title: 'New', n: 9 });
    expect(mergeRecords(base, { change: 'c9', state: base }, changed)).toEqual({
      state: changed.state,
      conflicts: [],
    });
  });

  it('handles hostile field names as plain data', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": 2}') as Record<
      string,
      JsonValue
    >;
    const { state: merged } = mergeRecords(state({}), side('c1', hostile), side('c2', { toString: 'x' }));
    expect(Object.keys(merged.data).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getPrototypeOf(merged.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  describe('the trash flag (edit beats delete)', () => {
    it('keeps a record trashed on one side and untouched on the other trashed', () => {
      const { state: merged } = mergeRecords(base, side('c1', base.data, true), side('c2', base.data));
      expect(merged.deleted).toBe(true);
    });

    it('brings back a record trashed on one side and edited on the other, whatever the ids', () => {
      const edited = { ...base.data, title: 'Edited' };
      expect(mergeRecords(base, side('c9', base.data, true), side('c1', edited)).state).toEqual(
        state(edited),
      );
      expect(mergeRecords(base, side('c1', edited), side('c9', base.data, true)).state).toEqual(
        state(edited),
      );
    });

    it('keeps a record trashed on both sides trashed, with both sides’ edits', () => {
      const { state: merged } = mergeRecords(
        base,
        side('c1', { ...base.data, a: 1 }, true),
        side('c2', { ...base.data, b: 1 }, true),
      );
      expect(merged.deleted).toBe(true);
      expect(merged.data).toMatchObject({ a: 1, b: 1 });
    });

    it('restores a trashed record restored on one side', () => {
      const trashed = state(base.data, true);
      expect(mergeRecords(trashed, side('c1', base.data, true), side('c2', base.data)).state.deleted).toBe(
        false,
      );
      expect(mergeRecords(trashed, side('c2', base.data), side('c1', base.data, true)).state.deleted).toBe(
        false,
      );
    });
  });

  describe('_files: merged per key', () => {
    const files = (...entries: Record<string, JsonValue>[]): Record<string, JsonValue> => ({
      _files: entries,
    });

    it('takes the extra metadata of each entry field by field', () => {
      const start = state(files({ key: 'a.jpg', description: 'Wall' }, { key: 'b.pdf' }));
      const { state: merged, conflicts } = mergeRecords(
        start,
        side('c1', files({ key: 'a.jpg', description: 'North wall' }, { key: 'b.pdf' })),
        side('c2', files({ key: 'a.jpg', description: 'Wall', angle: 90 }, { key: 'b.pdf', pages: 3 })),
      );
      expect(merged.data._files).toEqual([
        { key: 'a.jpg', description: 'North wall', angle: 90 },
        { key: 'b.pdf', pages: 3 },
      ]);
      expect(conflicts).toEqual([]);
    });

    it('reports metadata changed differently on both sides at ["_files", key, field]', () => {
      const start = state(files({ key: 'a.jpg', description: 'Wall' }));
      const { state: merged, conflicts } = mergeRecords(
        start,
        side('c1', files({ key: 'a.jpg', description: 'One' })),
        side('c2', files({ key: 'a.jpg', description: 'Two' })),
      );
      expect(merged.data._files).toEqual([{ key: 'a.jpg', description: 'Two' }]);
      expect(conflicts).toEqual([
        {
          path: ['_files', 'a.jpg', 'description'],
          base: 'Wall',
          local: 'One',
          remote: 'Two',
          chosen: 'remote',
        },
      ]);
    });

    it('adds files added on either side: the greater key list’s order, then the other side’s new keys', () => {
      const start = state(files({ key: 'a' }));
      const { state: merged } = mergeRecords(
        start,
        side('c2', files({ key: 'a' }, { key: 'local-1' }, { key: 'local-2' })),
        side('c1', files({ key: 'remote-1' }, { key: 'a' })),
      );
      expect(merged.data._files).toEqual([
        { key: 'remote-1' },
        { key: 'a' },
        { key: 'local-1' },
        { key: 'local-2' },
      ]);
    });

    it('removes an entry removed on one side, unless the other side changed its metadata', () => {
      const start = state(files({ key: 'a' }, { key: 'b', note: 1 }, { key: 'c' }));
      const { state: merged, conflicts } = mergeRecords(
        start,
        side('c1', files({ key: 'c' })),
        side('c2', files({ key: 'a' }, { key: 'b', note: 2 }, { key: 'c' }, { key: 'd' })),
      );
      expect(merged.data._files).toEqual([{ key: 'c' }, { key: 'b', note: 2 }, { key: 'd' }]);
      expect(conflicts).toMatchObject([{ path: ['_files', 'b'], chosen: 'remote' }]);
    });

    it('keeps a reorder made on one side when the other side kept the order', () => {
      const start = state(files({ key: 'a' }, { key: 'b' }, { key: 'c' }));
      const { state: merged } = mergeRecords(
        start,
        side('c1', files({ key: 'c' }, { key: 'b' }, { key: 'a' })),
        side('c2', files({ key: 'a' }, { key: 'b', note: 1 }, { key: 'c' }, { key: 'd' })),
      );
      expect(merged.data._files).toEqual([{ key: 'c' }, { key: 'b', note: 1 }, { key: 'a' }, { key: 'd' }]);
    });

    it('follows the greater key list’s order when both sides reordered', () => {
      const start = state(files({ key: 'a' }, { key: 'b' }, { key: 'c' }));
      const { state: merged } = mergeRecords(
        start,
        side('c1', files({ key: 'c' }, { key: 'b' }, { key: 'a' })),
        side('c2', files({ key: 'b' }, { key: 'a' }, { key: 'c' })),
      );
      expect(merged.data._files).toEqual([{ key: 'c' }, { key: 'b' }, { key: 'a' }]);
    });

    it('merges files of a record created on two devices', () => {
      const { state: merged } = mergeRecords(
        undefined,
        side('c1', files({ key: 'x', note: 'one' })),
        side('c2', files({ key: 'y' }, { key: 'x', by: 2 })),
      );
      expect(merged.data._files).toEqual([{ key: 'y' }, { key: 'x', by: 2, note: 'one' }]);
    });
  });
});

// --- Properties of the merge ---

const FIELDS = ['a', 'b', 'c'];
const FILE_KEYS = ['x.jpg', 'y.pdf', 'z.txt'];

const scalar = fc.oneof(
  fc.constantFrom(null, true, false, 0, 1, 'v', 'w'),
  fc.integer(),
  fc.string({ maxLength: 3 }),
);
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'json' },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...FIELDS), tie('value'), { maxKeys: 3 }),
  ),
})).value;
const fileEntry = fc.record(
  { key: fc.constantFrom(...FILE_KEYS), note: scalar, angle: scalar },
  { requiredKeys: ['key'] },
);
const filesList = fc
  .uniqueArray(fileEntry, { selector: (entry) => entry.key, maxLength: 3 })
  .map((entries) => entries as JsonValue[]);
const recordData = fc
  .tuple(fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 3 }), fc.option(filesList))
  .map(([data, files]) => (files === null ? data : { ...data, _files: files }) as Record<string, JsonValue>);

type Edit =
  | { kind: 'set'; path: string[]; value: JsonValue }
  | { kind: 'remove'; path: string[] }
  | { kind: 'files'; files: JsonValue[] }
  | { kind: 'meta'; key: string; field: 'note' | 'angle'; value: JsonValue | undefined }
  | { kind: 'reverse' }
  | { kind: 'trash'; deleted: boolean };

// A few shared paths make both sides edit the same nested fields often.
const path = fc.oneof(
  fc.constantFrom<string[]>(['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'c']),
  fc.array(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 3 }),
);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('set' as const), path, value: jsonValue }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), path }), weight: 2 },
  fc.record({ kind: fc.constant('files' as const), files: filesList }),
  fc.record({
    kind: fc.constant('meta' as const),
    key: fc.constantFrom(...FILE_KEYS),
    field: fc.constantFrom('note' as const, 'angle' as const),
    value: fc.option(scalar, { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('reverse' as const) }),
  fc.record({ kind: fc.constant('trash' as const), deleted: fc.boolean() }),
);

const clone = <T>(value: T): T => structuredClone(value);
const isObject = (value: unknown): value is Record<string, JsonValue> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function applyEdits(start: RecordState, edits: readonly Edit[]): RecordState {
  const next = clone(start);
  for (const change of edits) {
    if (change.kind === 'trash') next.deleted = change.deleted;
    else if (change.kind === 'files') next.data._files = clone(change.files);
    else if (change.kind === 'reverse' && Array.isArray(next.data._files)) next.data._files.reverse();
    else if (change.kind === 'meta' && Array.isArray(next.data._files)) {
      const entry = next.data._files.find((e) => isObject(e) && e.key === change.key);
      if (isObject(entry)) {
        if (change.value === undefined) delete entry[change.field];
        else entry[change.field] = change.value;
      }
    } else if (change.kind === 'set' || change.kind === 'remove') {
      let target: Record<string, JsonValue> = next.data;
      for (const name of change.path.slice(0, -1)) {
        const child = target[name];
        if (!isObject(child)) target[name] = {};
        target = target[name] as Record<string, JsonValue>;
      }
      const last = change.path[change.path.length - 1]!;
      if (change.kind === 'set') target[last] = clone(change.value);
      else delete target[last];
    }
  }
  return next;
}

const recordState = fc.record({ data: recordData, deleted: fc.boolean() });
const changeId = fc.oneof(fc.constantFrom('c1', 'c2', 'c3'), fc.string({ maxLength: 4 }));
/** A base and two sides edited from it (each side maybe not edited at all). */
const mergeCase = fc
  .tuple(
    fc.option(recordState, { freq: 5 }),
    fc.array(edit, { maxLength: 4 }),
    fc.array(edit, { maxLength: 4 }),
    changeId,
    changeId,
  )
  .map(([base, localEdits, remoteEdits, localChange, remoteChange]) => {
    const start = base ?? { data: {}, deleted: false };
    return {
      base: base ?? undefined,
      local: { change: localChange, state: applyEdits(start, localEdits) },
      remote: { change: remoteChange, state: applyEdits(start, remoteEdits) },
    };
  });

const text = (value: unknown) => JSON.stringify(value);

describe('Properties of the merge', () => {
  it('is symmetric: the same state, key order included, whichever side is local', () => {
    const reached = { conflicts: 0, fileConflicts: 0, nested: 0, trashKept: 0, trashUndone: 0 };
    fc.assert(
      fc.property(mergeCase, ({ base, local, remote }) => {
        const one = mergeRecords(base, local, remote);
        const other = mergeRecords(base, remote, local);
        if (one.conflicts.length > 0) reached.conflicts++;
        if (one.conflicts.some((c) => c.path[0] === '_files')) reached.fileConflicts++;
        if (one.conflicts.some((c) => c.path.length > 1 && c.path[0] !== '_files')) reached.nested++;
        if (local.state.deleted !== remote.state.deleted) {
          if (one.state.deleted) reached.trashKept++;
          else reached.trashUndone++;
        }
        expect(text(other.state)).toBe(text(one.state));
        const flipped = other.conflicts.map((c) => ({
          ...c,
          local: c.remote,
          remote: c.local,
          chosen: c.chosen === 'local' ? 'remote' : 'local',
        }));
        expect(flipped).toEqual(one.conflicts);
      }),
      { numRuns: 1000 },
    );
    // The generator reaches every kind of two-sided change, not only easy cases.
    expect(reached.conflicts).toBeGreaterThan(50);
    expect(reached.fileConflicts).toBeGreaterThan(3);
    expect(reached.nested).toBeGreaterThan(10);
    expect(reached.trashKept).toBeGreaterThan(5);
    expect(reached.trashUndone).toBeGreaterThan(5);
  });

  it('is idempotent: merging a side with itself gives that side, without conflict', () => {
    fc.assert(
      fc.property(mergeCase, changeId, ({ base, local }, otherId) => {
        const result = mergeRecords(base, local, { change: otherId, state: clone(local.state) });
        expect(result.state).toEqual(local.state);
        expect(result.conflicts).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  // Key order is not a change: JSON objects are unordered, so a side that only reordered keys
  // changed nothing, and the merge may keep the base's order (seed 899279329 found one).
  it('preserves a change made on one side only, exactly (key order aside)', () => {
    fc.assert(
      fc.property(mergeCase, ({ base, local, remote }) => {
        const unchanged = { change: remote.change, state: clone(base ?? { data: {}, deleted: false }) };
        for (const result of [mergeRecords(base, local, unchanged), mergeRecords(base, unchanged, local)]) {
          expect(result.state).toStrictEqual(local.state);
          expect(result.conflicts).toEqual([]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gives every two-sided conflict to the greater value, except edit against removal, whatever the ids', () => {
    fc.assert(
      fc.property(mergeCase, changeId, changeId, ({ base, local, remote }, one, other) => {
        const { state: merged, conflicts } = mergeRecords(base, local, remote);
        const renamed = mergeRecords(base, { ...local, change: one }, { ...remote, change: other });
        expect(renamed).toEqual({ state: merged, conflicts });
        for (const conflict of conflicts) {
          expect(jsonEqual(conflict.local, conflict.remote)).toBe(false);
          if (conflict.local === undefined) expect(conflict.chosen).toBe('remote');
          else if (conflict.remote === undefined) expect(conflict.chosen).toBe('local');
          else {
            const order = compareJson(conflict.local, conflict.remote);
            expect(conflict.chosen).toBe(order > 0 ? 'local' : 'remote');
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a record whose data either side changed out of the trash unless both trashed it', () => {
    fc.assert(
      fc.property(mergeCase, ({ base, local, remote }) => {
        const start = base ?? { data: {}, deleted: false };
        const { state: merged } = mergeRecords(base, local, remote);
        const edited = (s: RecordState) => !s.deleted && !jsonEqual(s.data, start.data);
        if (edited(local.state) || edited(remote.state)) expect(merged.deleted).toBe(false);
        if (local.state.deleted && remote.state.deleted) expect(merged.deleted).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

// --- Three devices: merges in any order, and merges of merges ---

/** The merge change a device makes of two changes: the 3-way merge, under the shared merge id. */
const mergeOf = (base: RecordState | undefined, left: MergeSide, right: MergeSide): MergeSide => ({
  change: mergeChangeId(left.change, right.change),
  state: mergeRecords(base, left, right).state,
});

/** Each order in which a device can fold three concurrent changes of one base. */
const ORDERS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
] as const;

/** The states a device reaches by folding three concurrent changes in each possible order. */
function folds(base: RecordState | undefined, sides: readonly MergeSide[]): RecordState[] {
  return ORDERS.map(([i, j, k]) => mergeOf(base, mergeOf(base, sides[i]!, sides[j]!), sides[k]!).state);
}

/**
 * The states devices reach by merging two partial merges that share a side (their common
 * ancestor is that side), as devices that pulled in different orders make them.
 */
function mergesOfMerges(base: RecordState | undefined, sides: readonly MergeSide[]): RecordState[] {
  return ORDERS.map(
    ([i, j, k]) =>
      mergeOf(sides[i]!.state, mergeOf(base, sides[i]!, sides[j]!), mergeOf(base, sides[i]!, sides[k]!))
        .state,
  );
}

const byKey = (a: JsonValue, b: JsonValue) => compareJson((a as JsonObject).key!, (b as JsonObject).key!);
/** A state with its `_files` entries sorted by key. */
const filesSorted = (s: RecordState): RecordState =>
  Array.isArray(s.data._files) ? state({ ...s.data, _files: [...s.data._files].sort(byKey) }, s.deleted) : s;

/** Three changes made from one base on three devices, each with its own id. */
const threeSides = (data: fc.Arbitrary<Record<string, JsonValue>>, edits: fc.Arbitrary<Edit[]>) =>
  fc
    .tuple(
      fc.option(fc.record({ data, deleted: fc.boolean() }), { freq: 5 }),
      fc.array(edits, { minLength: 3, maxLength: 3 }),
      fc.uniqueArray(changeId, { minLength: 3, maxLength: 3 }),
    )
    .map(([base, lists, changes]) => {
      const start = base ?? { data: {}, deleted: false };
      return {
        base: base ?? undefined,
        sides: lists.map((list, i) => ({ change: changes[i]!, state: applyEdits(start, list) })),
      };
    });

/** Edits of top-level fields only: set, remove, trash, restore. */
const flatEdit: fc.Arbitrary<Edit> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      path: fc.tuple(fc.constantFrom(...FIELDS)),
      value: scalar,
    }),
    weight: 4,
  },
  fc.record({ kind: fc.constant('remove' as const), path: fc.tuple(fc.constantFrom(...FIELDS)) }),
  fc.record({ kind: fc.constant('trash' as const), deleted: fc.boolean() }),
);
const flatData = fc.dictionary(fc.constantFrom(...FIELDS), scalar, { maxKeys: 3 });

describe('Three devices merging the same changes in different orders', () => {
  it('reach one state for offline edits of one record, one field edited on two of them', () => {
    // The changes of test/sync/conflicts.test.ts "three devices", with random ids as devices make
    // them: every order and grouping of the merges gives "from c" the title.
    const start = state({ title: 'T', x: 0, y: 0, z: 0 });
    fc.assert(
      fc.property(fc.uniqueArray(fc.uuid(), { minLength: 3, maxLength: 3 }), ([a, b, c]) => {
        const sides = [
          side(a!, { title: 'from a', x: 1, y: 0, z: 0 }),
          side(b!, { title: 'T', x: 0, y: 2, z: 0 }),
          side(c!, { title: 'from c', x: 0, y: 0, z: 3 }),
        ];
        for (const reached of [...folds(start, sides), ...mergesOfMerges(start, sides)]) {
          expect(reached).toEqual(state({ title: 'from c', x: 1, y: 2, z: 3 }));
        }
      }),
      { numRuns: 200 },
    );
  });

  // The order of `_files` may differ: a merge that drops a key forgets where the other side had
  // moved it. Devices holding two such orders merge them once more, the same way everywhere.
  it('reach one state for any three concurrent changes in every order of merging (the order of _files aside)', () => {
    fc.assert(
      fc.property(threeSides(recordData, fc.array(edit, { maxLength: 4 })), ({ base, sides }) => {
        const [first, ...others] = folds(base, sides).map(filesSorted);
        for (const other of others) expect(other).toEqual(first);
      }),
      { numRuns: 1000 },
    );
  });

  // Not for nested objects: an object removed on one side and edited inside on the two others
  // comes back whole from each pair (edit beats delete), and their merge, whose base is the side
  // that removed it, no longer knows which fields the other two removed.
  it('reach the same state by merging partial merges as by any fold, for top-level fields and the trash flag', () => {
    fc.assert(
      fc.property(threeSides(flatData, fc.array(flatEdit, { maxLength: 4 })), ({ base, sides }) => {
        const [first, ...others] = [...folds(base, sides), ...mergesOfMerges(base, sides)];
        for (const other of others) expect(other).toEqual(first);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('The order of JSON values that settles conflicts', () => {
  it('is a total order: antisymmetric, transitive, and 0 exactly for values equal as JSON', () => {
    fc.assert(
      fc.property(jsonValue, jsonValue, jsonValue, (a, b, c) => {
        expect(Math.sign(compareJson(a, b)) + Math.sign(compareJson(b, a))).toBe(0);
        expect(compareJson(a, b) === 0).toBe(jsonEqual(a, b));
        if (compareJson(a, b) <= 0 && compareJson(b, c) <= 0)
          expect(compareJson(a, c)).toBeLessThanOrEqual(0);
        expect(compareJson(a, structuredClone(a))).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('ranks types, then numbers by value, strings by code units, arrays and objects element by element', () => {
    const ascending: JsonValue[] = [
      null,
      false,
      true,
      -1,
      2,
      10,
      '',
      '10',
      '9',
      'a',
      [],
      [1],
      [1, 'a'],
      [2],
      {},
      { a: 1 },
      { a: 2 },
      { b: 0 },
    ];
    for (const [i, value] of ascending.entries()) {
      for (const [j, other] of ascending.entries())
        expect(Math.sign(compareJson(value, other))).toBe(Math.sign(i - j));
    }
    expect(compareJson({ b: 1, a: 2 }, { a: 2, b: 1 })).toBe(0);
  });
});

// --- Properties of the head rule ---

/** Random DAGs: each new version names a random subset of the earlier versions as parents. */
const versionDag = fc
  .array(fc.tuple(fc.boolean(), fc.array(fc.nat(), { maxLength: 3 })), { minLength: 1, maxLength: 12 })
  .map((specs) =>
    specs.map(([isMarker, picks], i): VersionNode => {
      const parents = i === 0 ? [] : [...new Set(picks.map((p) => `v${p % i}`))];
      return { versionId: `v${i}`, parents, marker: isMarker };
    }),
  );

describe('Properties of the head rule', () => {
  it('chooses the same head whatever the order of the versions', () => {
    fc.assert(
      fc.property(
        versionDag.chain((nodes) =>
          fc.tuple(fc.constant(nodes), fc.shuffledSubarray(nodes, { minLength: nodes.length })),
        ),
        ([nodes, shuffled]) => {
          expect(chooseHead(shuffled)).toBe(chooseHead(nodes));
          expect(parentsFor(shuffled)).toEqual(parentsFor(nodes));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('makes the head a leaf, and a file whenever a leaf is a file', () => {
    fc.assert(
      fc.property(versionDag, (nodes) => {
        const head = chooseHead(nodes)!;
        const leafSet = leaves(nodes);
        expect(leafSet).toContain(head);
        if (leafSet.some((node) => !node.marker)) expect(head.marker).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves, after adding a version, exactly that version and the leaves it does not name', () => {
    fc.assert(
      fc.property(versionDag, fc.boolean(), fc.func(fc.boolean()), (before, all, keeps) => {
        const previous = ids(leaves(before));
        const parents = all ? parentsFor(before) : previous.filter((id) => keeps(id));
        const added = { versionId: 'new', parents, marker: false };
        const after = ids(leaves([...before, added])).sort();
        const expected = ['new', ...previous.filter((id) => !parents.includes(id))].sort();
        expect(after).toEqual(expected);
        if (all) expect(after).toEqual(['new']);
      }),
      { numRuns: 500 },
    );
  });

  // A sync pulls what the other device holds, in its order, up to some point (a partial pull).
  type Step =
    | { op: 'write'; device: number; marker: boolean }
    | { op: 'sync'; from: number; to: number; upTo: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ op: fc.constant('write' as const), device: fc.nat(3), marker: fc.boolean() }),
    fc.record({ op: fc.constant('sync' as const), from: fc.nat(3), to: fc.nat(3), upTo: fc.nat(40) }),
  );

  it('lets every device holding the same versions choose the same head, and loses no version', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.array(step, { maxLength: 40 }),
        fc.array(fc.uuid(), { minLength: 40, maxLength: 40 }),
        (count, steps, uuids) => {
          // Each device holds the versions it wrote or pulled, in the order it got them.
          const devices: VersionNode[][] = Array.from({ length: count }, () => []);
          const written: VersionNode[] = [];
          const bySet = new Map<string, string | undefined>();
          const check = () => {
            for (const held of devices) {
              const set = ids(held).sort().join(',');
              const head = chooseHead(held)?.versionId;
              if (bySet.has(set)) expect(head).toBe(bySet.get(set));
              else bySet.set(set, head);
            }
          };
          steps.forEach((s, i) => {
            if (s.op === 'write') {
              const mine = devices[s.device % count]!;
              const version = { versionId: `${uuids[i]}-${i}`, parents: parentsFor(mine), marker: s.marker };
              mine.push(version);
              written.push(version);
            } else {
              const from = devices[s.from % count]!;
              const to = devices[s.to % count]!;
              for (const version of from.slice(0, s.upTo)) if (!to.includes(version)) to.push(version);
            }
            check();
          });
          // Then everyone pulls from everyone: all converge, nothing dropped.
          for (const to of devices)
            for (const from of devices) for (const v of from) if (!to.includes(v)) to.push(v);
          check();
          for (const held of devices) expect(held.length).toBe(written.length);
          const heads = new Set(devices.map((held) => chooseHead(held)?.versionId));
          expect(heads.size).toBe(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Properties of the change DAG', () => {
  const changeDag = versionDag.map(
    (nodes) => new Map(nodes.map((n) => [n.versionId, { change: n.versionId, parents: n.parents }])),
  );

  it('finds a common ancestor both reach, the same in either order, with no common descendant of it', () => {
    fc.assert(
      fc.property(changeDag, fc.nat(), fc.nat(), (nodes, i, j) => {
        const names = [...nodes.keys()];
        const a = names[i % names.length]!;
        const b = names[j % names.length]!;
        const lca = commonAncestor(nodes, a, b);
        expect(commonAncestor(nodes, b, a)).toBe(lca);
        const common = names.filter((c) => isAncestor(nodes, c, a) && isAncestor(nodes, c, b));
        if (lca === undefined) {
          expect(common).toEqual([]);
          return;
        }
        expect(common).toContain(lca);
        for (const other of common) if (other !== lca) expect(isAncestor(nodes, lca, other)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

// --- Journal entries ---

const CONTEXT = { device: 'device-1', seq: 12 };
const MD5 = `md5:${'a'.repeat(32)}`;

function versionOp(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    op: 'version',
    recordId: 'r1',
    bucketId: 'b1',
    versionId: 'v2',
    key: 'site.jpg',
    parents: ['v1'],
    marker: false,
    size: 1234,
    checksum: MD5,
    mimetype: 'image/jpeg',
    remote: { key: 'records/r1/files/site.jpg', versionId: 's3-version-1' },
    ...patch,
  };
}

function recordOp(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    op: 'record',
    recordId: 'r1',
    bucketId: 'b1',
    change: 'change-2',
    parents: ['change-1'],
    deleted: false,
    data: { title: 'Survey 12', _bucket: 'b1', _files: [{ key: 'site.jpg', description: 'North' }] },
    ...patch,
  };
}

const entry = (ops: unknown[], patch: Record<string, unknown> = {}) => ({
  format: 'coffer-sync/1',
  device: 'device-1',
  seq: 12,
  ops,
  ...patch,
});

function refusal(json: unknown): SyncError {
  try {
    parseJournalEntry(json, CONTEXT);
  } catch (error) {
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toBeInstanceOf(CofferError);
    return error as SyncError;
  }
  throw new Error('The entry was accepted.');
}

const nested = (depth: number): JsonValue => (depth === 0 ? 1 : { n: nested(depth - 1) });

describe('Journal entries', () => {
  it('reads a valid entry into a fresh, typed copy', () => {
    const json = entry([versionOp(), recordOp()]);
    const parsed: JournalEntry = parseJournalEntry(json, CONTEXT);
    expect(parsed).toEqual({ ...json, ops: [versionOp(), recordOp()] });
    const [version, record] = parsed.ops as [VersionOp, RecordOp];
    expect(version.remote).not.toBe((json.ops[0] as { remote: unknown }).remote);
    expect(record.data).not.toBe((json.ops[1] as { data: unknown }).data);
  });

  it('reads a delete marker with size 0 and no checksum, and fields it does not know are dropped', () => {
    const parsed = parseJournalEntry(
      entry([
        versionOp({ marker: true, size: undefined, checksum: undefined, mimetype: undefined, extra: 1 }),
      ]),
      CONTEXT,
    );
    expect(parsed.ops[0]).toEqual({
      ...versionOp({ marker: true, size: 0, checksum: null, mimetype: null }),
    });
  });

  it('reads a record without a bucket, a first change without parents and a verified merge change', () => {
    const merge = mergeChangeId('a', 'b');
    const parsed = parseJournalEntry(
      entry([
        recordOp({ recordId: 'r2', bucketId: null, change: 'first', parents: [], data: { title: 'x' } }),
        recordOp({ change: merge, parents: ['b', 'a'] }),
      ]),
      CONTEXT,
    );
    expect(parsed.ops).toHaveLength(2);
  });

  it('accepts an entry of MAX_JOURNAL_OPS ops and record data MAX_DATA_DEPTH deep', () => {
    const ops = Array.from({ length: MAX_JOURNAL_OPS }, (_, i) =>
      versionOp({ versionId: `v-${i}`, parents: [] }),
    );
    expect(parseJournalEntry(entry(ops), CONTEXT).ops).toHaveLength(MAX_JOURNAL_OPS);
    const deep = { n: nested(MAX_DATA_DEPTH - 2) } as Record<string, JsonValue>;
    expect(parseJournalEntry(entry([recordOp({ data: deep })]), CONTEXT).ops).toHaveLength(1);
  });

  describe('refuses each malformed field with SYNC_INVALID_JOURNAL, the entry and the op', () => {
    const entryCases: [string, unknown, string][] = [
      ['an entry that is not an object', [], ''],
      ['an entry that is null', null, ''],
      ['another format', entry([], { format: 'coffer-sync/2' }), 'format'],
      ['another device than its key', entry([], { device: 'device-2' }), 'device'],
      ['a device id with a slash', entry([], { device: 'device-1/..' }), 'device'],
      ['another seq than its key', entry([], { seq: 13 }), 'seq'],
      ['a seq that is not an integer', entry([], { seq: '12' }), 'seq'],
      ['ops that are not an array', entry([], { ops: { 0: versionOp() } }), 'ops'],
      [
        'more than MAX_JOURNAL_OPS ops',
        entry(Array.from({ length: MAX_JOURNAL_OPS + 1 }, () => ({}))),
        'ops',
      ],
    ];
    it.each(entryCases)('%s', (_, json, field) => {
      const error = refusal(json);
      expect(error.code).toBe('SYNC_INVALID_JOURNAL');
      expect(error).toMatchObject({ device: 'device-1', seq: 12, field });
      expect(error.opIndex).toBeUndefined();
    });

    const longId = 'x'.repeat(256);
    const opCases: [string, unknown, string][] = [
      ['an op that is not an object', 'version', 'ops[1]'],
      ['an op without a kind', { recordId: 'r1' }, 'ops[1].op'],
      ['an unknown op', versionOp({ op: 'delete' }), 'ops[1].op'],
      ['a record id that is not a string', versionOp({ recordId: 42 }), 'ops[1].recordId'],
      ['an empty record id', versionOp({ recordId: '' }), 'ops[1].recordId'],
      ['a record id of ".."', versionOp({ recordId: '..' }), 'ops[1].recordId'],
      ['a record id too long', versionOp({ recordId: longId }), 'ops[1].recordId'],
      ['a bucket id with NUL', versionOp({ bucketId: 'b\0' }), 'ops[1].bucketId'],
      ['a version op without a bucket', versionOp({ bucketId: null }), 'ops[1].bucketId'],
      ['a version id too long', versionOp({ versionId: longId }), 'ops[1].versionId'],
      ['a version id with a control character', versionOp({ versionId: 'v\n2' }), 'ops[1].versionId'],
      ['a version id with a lone surrogate', versionOp({ versionId: 'v\ud800' }), 'ops[1].versionId'],
      ['an empty key', versionOp({ key: '' }), 'ops[1].key'],
      ['a key with NUL', versionOp({ key: 'a\0b' }), 'ops[1].key'],
      ['a key too long', versionOp({ key: 'k'.repeat(256) }), 'ops[1].key'],
      ['parents that are not an array', versionOp({ parents: 'v1' }), 'ops[1].parents'],
      ['a parent that is not an id', versionOp({ parents: ['v1', 7] }), 'ops[1].parents[1]'],
      ['a parent listed twice', versionOp({ parents: ['v1', 'v1'] }), 'ops[1].parents'],
      ['a version that is its own parent', versionOp({ parents: ['v2'] }), 'ops[1].parents'],
      [
        'more than MAX_PARENTS parents',
        versionOp({ parents: Array.from({ length: MAX_PARENTS + 1 }, (_, i) => `p${i}`) }),
        'ops[1].parents',
      ],
      ['a marker flag that is not a boolean', versionOp({ marker: 0 }), 'ops[1].marker'],
      ['a negative size', versionOp({ size: -1 }), 'ops[1].size'],
      ['a fractional size', versionOp({ size: 1.5 }), 'ops[1].size'],
      ['an unsafe size', versionOp({ size: 2 ** 53 }), 'ops[1].size'],
      ['a size that is a string', versionOp({ size: '1234' }), 'ops[1].size'],
      ['a file without a size', versionOp({ size: undefined }), 'ops[1].size'],
      [
        'a checksum of another algorithm',
        versionOp({ checksum: `sha256:${'a'.repeat(64)}` }),
        'ops[1].checksum',
      ],
      ['a checksum in capitals', versionOp({ checksum: `md5:${'A'.repeat(32)}` }), 'ops[1].checksum'],
      ['a checksum too short', versionOp({ checksum: `md5:${'a'.repeat(31)}` }), 'ops[1].checksum'],
      ['a file without a checksum', versionOp({ checksum: null }), 'ops[1].checksum'],
      ['a delete marker with a size', versionOp({ marker: true, size: 3, checksum: null }), 'ops[1].size'],
      ['a delete marker with a checksum', versionOp({ marker: true, size: 0 }), 'ops[1].checksum'],
      ['an empty mimetype', versionOp({ mimetype: '' }), 'ops[1].mimetype'],
      ['a mimetype too long', versionOp({ mimetype: 'x'.repeat(256) }), 'ops[1].mimetype'],
      ['no remote', versionOp({ remote: undefined }), 'ops[1].remote'],
      ['a remote without a version id', versionOp({ remote: { key: 'k' } }), 'ops[1].remote.versionId'],
      ['a version already in the entry', versionOp({ versionId: 'v0' }), 'ops[1].versionId'],
      ['a version of another bucket of the same record', versionOp({ bucketId: 'b2' }), 'ops[1].bucketId'],
      ['a version of the same bucket for another record', versionOp({ recordId: 'r9' }), 'ops[1].recordId'],
      ['a change id that is not a string', recordOp({ change: 5 }), 'ops[1].change'],
      ['a change that is its own parent', recordOp({ parents: ['change-2'] }), 'ops[1].parents'],
      [
        'a forged merge id',
        recordOp({ change: mergeChangeId('a', 'c'), parents: ['a', 'b'] }),
        'ops[1].parents',
      ],
      ['a malformed merge id', recordOp({ change: 'merge:xyz', parents: ['a', 'b'] }), 'ops[1].change'],
      ['a deleted flag that is not a boolean', recordOp({ deleted: 'no' }), 'ops[1].deleted'],
      ['data that is an array', recordOp({ data: [] }), 'ops[1].data'],
      ['data that is null', recordOp({ data: null }), 'ops[1].data'],
      ['data with a class instance', recordOp({ data: { when: new Date(0) } }), 'ops[1].data.when'],
      ['data with undefined', recordOp({ data: { a: [undefined] } }), 'ops[1].data.a[0]'],
      ['data with a non-finite number', recordOp({ data: { a: Number.NaN } }), 'ops[1].data.a'],
      [
        'data nested too deep',
        recordOp({ data: { n: nested(MAX_DATA_DEPTH) } }),
        `ops[1].data${'.n'.repeat(MAX_DATA_DEPTH)}`,
      ],
      ['data too large', recordOp({ data: { big: 'x'.repeat(8 * 1024 * 1024) } }), 'ops[1].data.big'],
      ['_bucket of another bucket', recordOp({ data: { _bucket: 'b2' } }), 'ops[1].data._bucket'],
      ['_files that is not an array', recordOp({ data: { _files: {} } }), 'ops[1].data._files'],
      [
        'a _files entry without a key',
        recordOp({ data: { _files: [{ note: 1 }] } }),
        'ops[1].data._files[0].key',
      ],
      [
        'a _files entry with an invalid key',
        recordOp({ data: { _files: [{ key: 'a\0' }] } }),
        'ops[1].data._files[0].key',
      ],
      [
        'a _files key listed twice',
        recordOp({ data: { _files: [{ key: 'a' }, { key: 'a' }] } }),
        'ops[1].data._files[1].key',
      ],
      [
        'a _files entry that is not stripped',
        recordOp({ data: { _files: [{ key: 'a', checksum: MD5 }] } }),
        'ops[1].data._files[0].checksum',
      ],
      [
        'a _files entry with reserved metadata',
        recordOp({ data: { _files: [{ key: 'a', mimetype: 'x/y' }] } }),
        'ops[1].data._files[0].mimetype',
      ],
      [
        '_files in a record without a bucket',
        recordOp({ recordId: 'r3', bucketId: null, data: { _files: [{ key: 'a' }] } }),
        'ops[1].data._files',
      ],
    ];
    it.each(opCases)('%s', (_, op, field) => {
      const error = refusal(entry([versionOp({ versionId: 'v0', parents: [] }), op]));
      expect(error.code).toBe('SYNC_INVALID_JOURNAL');
      expect(error).toMatchObject({ device: 'device-1', seq: 12, opIndex: 1, field });
      expect(error.message).toContain('device-1/12, op 1');
    });

    it('keeps the write API’s error as the cause', () => {
      const error = refusal(entry([versionOp({ key: '' })]));
      expect(error.opIndex).toBe(0);
      expect(error.cause).toBeInstanceOf(InvalidKeyError);
    });

    it('refuses a version op after a record op that lists its key (version ops come first)', () => {
      const error = refusal(entry([recordOp(), versionOp()]));
      expect(error).toMatchObject({ opIndex: 1, field: 'ops[1].key' });
    });

    it('refuses a change twice in one entry', () => {
      expect(refusal(entry([recordOp(), recordOp()]))).toMatchObject({ opIndex: 1, field: 'ops[1].change' });
    });
  });

  it('refuses random garbage with a SyncError, never another error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            format: fc.constant('coffer-sync/1'),
            device: fc.constant('device-1'),
            seq: fc.constant(12),
            ops: fc.array(fc.jsonValue(), { maxLength: 3 }),
          }),
          fc.record({
            format: fc.constant('coffer-sync/1'),
            device: fc.constant('device-1'),
            seq: fc.constant(12),
            ops: fc.array(
              fc.oneof(
                fc
                  .dictionary(fc.constantFrom(...Object.keys(versionOp())), fc.jsonValue())
                  .map((patch) => versionOp(patch)),
                fc
                  .dictionary(fc.constantFrom(...Object.keys(recordOp())), fc.jsonValue())
                  .map((patch) => recordOp(patch)),
              ),
              { maxLength: 3 },
            ),
          }),
        ),
        (json) => {
          try {
            parseJournalEntry(json, CONTEXT);
          } catch (error) {
            expect(error).toBeInstanceOf(SyncError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
