import { describe, expect, it, vi } from 'vitest';
import { converge, type Device, devices, fileText, stateOf, syncAll, type WrappedRemote } from './harness.js';

vi.setConfig({ testTimeout: 60_000 });

const text = (s: string) => new Blob([s], { type: 'text/plain' });

/**
 * A record edited offline on three devices (`title` in conflict between a and c), synced until
 * the devices agree and twice more: the state the idle-sync tests start from.
 */
async function agreedAfterOfflineEdits(list: Device[]) {
  const [a, b, c] = list as [Device, Device, Device];
  const record = await a.coffer.records.create({ title: 'T', x: 0, y: 0, z: 0 });
  await syncAll(list, 1);
  for (const [device, patch] of [
    [a, { x: 1, title: 'from a' }],
    [b, { y: 2 }],
    [c, { z: 3, title: 'from c' }],
  ] as const) {
    const found = await device.coffer.records.get(record.id);
    Object.assign(found.data, patch);
    await found.commit();
  }
  await converge(list);
  await syncAll(list, 2);
  return record;
}

describe('sync: offline edits on several devices converge', () => {
  it('merges disjoint fields of one record without a conflict', async () => {
    const {
      devices: [a, b],
    } = await devices(2);
    const record = await a!.coffer.records.create({ title: 'T', n: 1, meta: { x: 1, y: 1 } });
    await syncAll([a!, b!], 1);
    const onA = await a!.coffer.records.get(record.id);
    onA.data.title = 'from a';
    (onA.data.meta as Record<string, number>).x = 2;
    await onA.commit();
    const onB = await b!.coffer.records.get(record.id);
    onB.data.n = 2;
    (onB.data.meta as Record<string, number>).y = 3;
    await onB.commit();
    await syncAll([a!, b!]);
    const merged = await a!.coffer.records.get(record.id);
    expect(merged.data).toMatchObject({ title: 'from a', n: 2, meta: { x: 2, y: 3 } });
    expect(await stateOf(b!.coffer)).toEqual(await stateOf(a!.coffer));
    expect(await a!.sync.conflicts()).toEqual([]);
    expect(await b!.sync.conflicts()).toEqual([]);
    // a merged after b had pushed the same merge: a's copy goes out with its next sync.
    expect(await a!.sync.recordStatus(record.id)).toBe('pending');
    await a!.sync.now();
    expect(await a!.sync.recordStatus(record.id)).toBe('synced');
  });

  it('reports the same field changed on two devices as a conflict, resolvable, and converges after', async () => {
    const {
      devices: [a, b],
    } = await devices(2);
    const record = await a!.coffer.records.create({ title: 'T' });
    await syncAll([a!, b!], 1);
    const onA = await a!.coffer.records.get(record.id);
    onA.data.title = 'AA';
    await onA.commit();
    const onB = await b!.coffer.records.get(record.id);
    onB.data.title = 'BB';
    await onB.commit();
    await syncAll([a!, b!]);
    expect(await stateOf(b!.coffer)).toEqual(await stateOf(a!.coffer));

    const [conflict] = await b!.sync.conflicts();
    expect(conflict).toMatchObject({ recordId: record.id, path: ['title'], base: 'T' });
    expect([conflict!.local, conflict!.remote].sort()).toEqual(['AA', 'BB']);
    expect(await b!.sync.recordStatus(record.id)).toBe('conflict');
    expect(await a!.sync.conflicts()).toHaveLength(1);

    await b!.sync.resolveConflict(conflict!.id, { value: 'agreed' });
    expect(await b!.sync.conflicts()).toEqual([]);
    expect(await b!.sync.recordStatus(record.id)).toBe('pending');
    await syncAll([b!, a!]);
    expect((await a!.coffer.records.get(record.id)).data.title).toBe('agreed');
    expect(await a!.sync.conflicts()).toEqual([]);
    expect(await stateOf(b!.coffer)).toEqual(await stateOf(a!.coffer));
    expect(await b!.sync.recordStatus(record.id)).toBe('synced');
  });

  it('merges offline edits of one record on three devices, with one conflict, the same everywhere', async () => {
    const {
      devices: [a, b, c],
    } = await devices(3);
    const record = await a!.coffer.records.create({ title: 'T', x: 0, y: 0, z: 0 });
    await syncAll([a!, b!, c!], 1);
    const edit = async (device: typeof a, patch: Record<string, unknown>) => {
      const found = await device!.coffer.records.get(record.id);
      Object.assign(found.data, patch);
      await found.commit();
    };
    await edit(a, { x: 1, title: 'from a' });
    await edit(b, { y: 2 });
    await edit(c, { z: 3, title: 'from c' });
    // Each device has seen every edit after two rounds, and however it merged them (in another
    // order than the others, merges of merges), it reaches the same data.
    expect(await converge([a!, b!, c!])).toBe(2);
    const state = await stateOf(a!.coffer);
    expect(await stateOf(b!.coffer)).toEqual(state);
    expect(await stateOf(c!.coffer)).toEqual(state);
    const merged = (await a!.coffer.records.get(record.id)).data;
    // The conflicting title goes to the greater value, whatever the change ids.
    expect(merged).toMatchObject({ title: 'from c', x: 1, y: 2, z: 3 });
    const conflicts = await c!.sync.conflicts(record.id);
    expect(conflicts.map((conflict) => conflict.path)).toEqual([['title']]);
    await c!.sync.resolveConflict(conflicts[0]!.id, 'remote');
    await syncAll([c!, a!, b!], 2);
    for (const device of [a!, b!, c!]) expect(await device.sync.conflicts()).toEqual([]);
    expect(await stateOf(b!.coffer)).toEqual(await stateOf(c!.coffer));
  });

  it('makes no more changes once three devices agree: an idle sync only lists the journals', async () => {
    const { devices: list } = await devices(3, { counted: true });
    const record = await agreedAfterOfflineEdits(list);
    const changes = () => Promise.all(list.map((device) => device.coffer.context.db.syncChanges.count()));
    const revisions = () =>
      Promise.all(list.map(async (device) => (await device.coffer.records.get(record.id)).revisionId));
    const before = { changes: await changes(), revisions: await revisions() };
    for (const device of list) (device.remote as WrappedRemote).reset();

    await syncAll(list, 2);

    expect({ changes: await changes(), revisions: await revisions() }).toEqual(before);
    for (const device of list) {
      const { counts } = device.remote as WrappedRemote;
      // One LIST of the devices and one per other device's journal, per sync.
      expect(counts).toEqual({ list: 2 * 3 });
    }
  });

  it('keeps later edits made on top of agreed merges: a merge passed over is never merged again', async () => {
    const { devices: list } = await devices(3);
    const [a] = list as [Device, Device, Device];
    const record = await agreedAfterOfflineEdits(list);

    for (const title of ['A1', 'A2']) {
      const found = await a.coffer.records.get(record.id);
      found.data.title = title;
      await found.commit();
      await syncAll(list, 2);
    }

    for (const device of list) {
      expect((await device.coffer.records.get(record.id)).data).toMatchObject({
        title: 'A2',
        x: 1,
        y: 2,
        z: 3,
      });
    }
  });

  it('sends no change for data that differs only in key order, and makes no revision of it elsewhere', async () => {
    const {
      devices: [a, b],
    } = await devices(2);
    const record = await a!.coffer.records.create({ title: 'T', n: 1 });
    await syncAll([a!, b!], 1);
    const onB = await b!.coffer.records.get(record.id);
    const { title, n, ...rest } = onB.data;
    onB.data = { ...rest, n, title };
    await onB.commit();

    const pushed = await b!.sync.now();
    await a!.sync.now();

    expect(pushed.recordsPushed).toBe(0);
    expect((await a!.coffer.records.get(record.id)).revisionId).toBe(record.revisionId);
    expect(await b!.sync.recordStatus(record.id)).toBe('synced');
  });

  it('keeps both versions of one key written on two devices, with the same head everywhere', async () => {
    const {
      devices: [a, b, c],
    } = await devices(3);
    const record = await a!.coffer.records.create({ title: 'T' });
    await record.files!.set('x.txt', text('base'));
    await syncAll([a!, b!, c!], 1);
    await record.files!.set('x.txt', text('from a'));
    const onB = await b!.coffer.records.get(record.id);
    await onB.files!.set('x.txt', text('from b'));
    await syncAll([a!, b!, c!]);
    const state = await stateOf(a!.coffer);
    expect(await stateOf(b!.coffer)).toEqual(state);
    expect(await stateOf(c!.coffer)).toEqual(state);
    const versions = state.versions[`${record.id}/x.txt`]!;
    expect(versions).toHaveLength(3);
    expect(versions.filter((v) => v.endsWith('*'))).toHaveLength(1);
    const head = await fileText(c!.coffer, record.id, 'x.txt');
    expect(['from a', 'from b']).toContain(head);
    expect(await fileText(a!.coffer, record.id, 'x.txt')).toBe(head);
  });

  it('edit beats delete: of a record trashed on one device and edited on another, and of a file', async () => {
    const {
      devices: [a, b],
    } = await devices(2);
    const record = await a!.coffer.records.create({ title: 'T' });
    await record.files!.set('x.txt', text('v1'));
    await syncAll([a!, b!], 1);
    await record.files!.delete('x.txt');
    await record.delete();
    const onB = await b!.coffer.records.get(record.id);
    onB.data.title = 'edited';
    await onB.commit();
    await onB.files!.set('x.txt', text('v2 from b'));
    await syncAll([a!, b!]);
    for (const device of [a!, b!]) {
      const back = await device.coffer.records.get(record.id);
      expect(back.deleted).toBe(false);
      expect(back.data.title).toBe('edited');
      expect(await fileText(device.coffer, record.id, 'x.txt')).toBe('v2 from b');
    }
    expect(await stateOf(b!.coffer)).toEqual(await stateOf(a!.coffer));
  });
});
