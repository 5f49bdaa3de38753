import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { converge, type Device, devices, stateOf, syncAll } from './harness.js';

vi.setConfig({ testTimeout: 240_000 });

/** One random operation on one of the devices (`device` is taken modulo their number). */
type Op =
  | { kind: 'create'; device: number }
  | { kind: 'commit'; device: number; record: number; field: 'a' | 'b'; value: number }
  | { kind: 'set'; device: number; record: number; key: string; content: number }
  | { kind: 'delete'; device: number; record: number; key: string }
  | { kind: 'rename'; device: number; record: number; from: string; to: string }
  | { kind: 'metadata'; device: number; record: number; key: string; value: number }
  | { kind: 'trash' | 'restore'; device: number; record: number }
  | { kind: 'sync'; device: number };

// 0-5: uniform over two devices and over three.
const device = fc.integer({ min: 0, max: 5 });
const record = fc.integer({ min: 0, max: 2 });
const key = fc.constantFrom('x.txt', 'y.txt', 'z.txt');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), device }),
  fc.record({
    kind: fc.constant('commit' as const),
    device,
    record,
    field: fc.constantFrom('a', 'b'),
    value: fc.nat(9),
  }),
  fc.record({ kind: fc.constant('set' as const), device, record, key, content: fc.nat(5) }),
  fc.record({ kind: fc.constant('delete' as const), device, record, key }),
  fc.record({ kind: fc.constant('rename' as const), device, record, from: key, to: key }),
  fc.record({ kind: fc.constant('metadata' as const), device, record, key, value: fc.nat(9) }),
  fc.record({ kind: fc.constantFrom('trash' as const, 'restore' as const), device, record }),
  fc.record({ kind: fc.constant('sync' as const), device }),
);

/** Apply one op; an op the local rules refuse (a trashed record, a missing key) changes nothing. */
async function apply(list: Device[], ids: string[], o: Op): Promise<void> {
  const { coffer, sync } = list[o.device % list.length]!;
  if (o.kind === 'sync') {
    await sync.now();
    return;
  }
  if (o.kind === 'create') {
    ids.push((await coffer.records.create({ a: 0, b: 0 })).id);
    return;
  }
  const id = ids[o.record % Math.max(ids.length, 1)];
  if (id === undefined) return;
  const found = await coffer.records.get(id, { includeDeleted: true }).catch(() => undefined);
  if (!found) return;
  try {
    if (o.kind === 'commit') {
      found.data[o.field] = o.value;
      await found.commit();
    } else if (o.kind === 'set') {
      await found.files!.set(o.key, new Blob([`content ${o.content}`]));
    } else if (o.kind === 'delete') {
      await found.files!.delete(o.key);
    } else if (o.kind === 'rename') {
      await found.files!.rename(o.from, o.to);
    } else if (o.kind === 'metadata') {
      await found.files!.setMetadata(o.key, { note: o.value });
    } else if (o.kind === 'trash') {
      if (!found.deleted) await found.delete();
    } else if (!found.deleted) {
      return;
    } else {
      await found.restore();
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!['RECORD_DELETED', 'NOT_FOUND', 'KEY_EXISTS', 'INVALID_ARGUMENT'].includes(code ?? '')) throw error;
  }
}

const versionIds = async (d: Device) =>
  new Set(await d.coffer.context.db.objects.toCollection().primaryKeys());

/** Every version id held by any of the devices. */
const allVersionIds = async (list: Device[]) =>
  new Set((await Promise.all(list.map(versionIds))).flatMap((ids) => [...ids]));

/**
 * `n` fresh devices apply `ops`, then `settle` syncs them: after it every device holds the same
 * state and every file version any of them wrote.
 */
async function expectConverged(n: number, ops: Op[], settle: (list: Device[]) => Promise<void>) {
  const { devices: list } = await devices(n);
  const ids: string[] = [];
  for (const o of ops) await apply(list, ids, o);
  const written = await allVersionIds(list);
  await settle(list);
  const [first, ...others] = await Promise.all(list.map((d) => stateOf(d.coffer)));
  for (const other of others) expect(other).toEqual(first);
  for (const d of list) {
    const held = await versionIds(d);
    for (const id of written) expect(held.has(id)).toBe(true);
  }
}

describe('sync: random operations on two devices', () => {
  it('converge to the same state with no file version lost', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 12, maxLength: 12 }), (ops) =>
        expectConverged(2, ops, (list) => syncAll(list, 3)),
      ),
      { numRuns: 15 },
    );
  });
});

// Three devices merge what they pull in different orders (each folds the leaves it holds), so
// they make different merges of merges; the merge rule gives those the same data.
describe('sync: random operations on three devices', () => {
  it('converge to the same state within a few rounds, with no file version lost', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 15, maxLength: 15 }), (ops) =>
        expectConverged(3, ops, async (list) => {
          expect(await converge(list)).toBeLessThanOrEqual(4);
        }),
      ),
      { numRuns: 10 },
    );
  });
});
