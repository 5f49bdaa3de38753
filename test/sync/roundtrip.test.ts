import { describe, expect, it, vi } from 'vitest';
import { devices, fileText, stateOf, syncAll, type WrappedRemote } from './harness.js';

vi.setConfig({ testTimeout: 60_000 });

const text = (s: string) => new Blob([s], { type: 'text/plain' });

describe('sync: every operation round-trips between two devices', () => {
  it('sends the same bytes once: later versions of them, in the same push or a later one, are copies on the remote', async () => {
    const {
      devices: [a, b],
    } = await devices(2, { counted: true });
    const remote = a!.remote as WrappedRemote;
    const record = await a!.coffer.records.create({ title: 'Twins' });
    await record.files!.set('one.txt', text('the same bytes'));
    await record.files!.set('two.txt', text('the same bytes'));
    await a!.sync.now();
    expect(remote.counts).toMatchObject({ putObject: 1 + 1, copyObject: 1 }); // file + journal entry
    await record.files!.set('three.txt', text('the same bytes'));
    remote.reset();
    await a!.sync.now();
    expect(remote.counts).toMatchObject({ putObject: 1, copyObject: 1 }); // journal entry only
    await b!.sync.now();
    expect(await fileText(b!.coffer, record.id, 'three.txt')).toBe('the same bytes');
    expect(await stateOf(b!.coffer)).toEqual(await stateOf(a!.coffer));
  });

  it('a record with files, then commit, new version, rename, sortBy, setMetadata, delete, trash and restore', async () => {
    const {
      devices: [a, b],
    } = await devices(2);
    const record = await a!.coffer.records.create({ title: 'Survey 12' });
    await record.files!.set('site.txt', text('north wall'), { metadata: { description: 'North' } });
    await record.files!.set('plan.txt', text('plan v1'));
    const first = await a!.sync.now();
    expect(first.versionsPushed).toBe(2);
    expect(first.recordsPushed).toBe(1);

    const pulled = await b!.sync.now();
    expect(pulled.versionsPulled).toBe(2);
    expect(pulled.recordsPulled).toBe(1);
    expect(await stateOf(b!.coffer)).toEqual(await stateOf(a!.coffer));
    expect(await fileText(b!.coffer, record.id, 'site.txt')).toBe('north wall');
    const onB = await b!.coffer.records.get(record.id);
    expect(onB.data.title).toBe('Survey 12');
    expect((await onB.files!.get('site.txt'))!.metadata).toEqual({ description: 'North' });

    await record.reload();
    record.data.title = 'Survey 12b';
    await record.commit();
    await record.files!.set('plan.txt', text('plan v2'));
    await record.files!.rename('site.txt', 'north.txt');
    await record.files!.sortBy(['plan.txt']);
    await record.files!.setMetadata('plan.txt', { author: 'ana' });
    await a!.sync.now();
    await b!.sync.now();
    expect(await stateOf(b!.coffer)).toEqual(await stateOf(a!.coffer));
    const b2 = await b!.coffer.records.get(record.id);
    expect(b2.data.title).toBe('Survey 12b');
    expect(await b2.files!.keys()).toEqual(['plan.txt', 'north.txt']);
    expect(await fileText(b!.coffer, record.id, 'plan.txt')).toBe('plan v2');
    expect((await b2.files!.get('north.txt'))!.metadata).toMatchObject({ description: 'North' });
    expect((await b2.files!.get('plan.txt'))!.metadata).toEqual({ author: 'ana' });

    // Changes made on b travel back: delete marker, trash.
    await b2.files!.delete('plan.txt');
    await b2.delete();
    await b!.sync.now();
    await a!.sync.now();
    expect(await stateOf(a!.coffer)).toEqual(await stateOf(b!.coffer));
    expect((await a!.coffer.records.get(record.id, { includeDeleted: true })).deleted).toBe(true);
    expect(await fileText(a!.coffer, record.id, 'plan.txt')).toBeUndefined();

    const back = await a!.coffer.records.get(record.id, { includeDeleted: true });
    await back.restore();
    await syncAll([a!, b!]);
    expect((await b!.coffer.records.get(record.id)).deleted).toBe(false);
    expect(await stateOf(a!.coffer)).toEqual(await stateOf(b!.coffer));
  });
});
