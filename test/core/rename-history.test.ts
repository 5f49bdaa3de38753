import { describe, expect } from 'vitest';
import { blob, caught, it } from '../helpers/coffer.js';

describe('record.files.rename keeps the file’s history', () => {
  it('records the old name and the version it copied in the entry’s renamedFrom list', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.files!.set('a.txt', blob('1'), { metadata: { description: 'd' } });
    const head = await record.files!.get('a.txt');

    await record.files!.rename('a.txt', 'b.txt');
    await record.files!.rename('b.txt', 'c.txt');

    const [entry] = await record.files!.dumps();
    const b = (await record.bucket!.objects.versions('b.txt')).find((v) => !v.isDeleteMarker)!;
    expect(entry).toMatchObject({
      key: 'c.txt',
      description: 'd',
      renamedFrom: [
        { key: 'b.txt', versionId: b.versionId },
        { key: 'a.txt', versionId: head!.versionId },
      ],
    });
    expect(record.data._files?.[0]?.renamedFrom).toEqual(entry!.renamedFrom);
  });

  it('lists the versions from before a rename under the file, each with the name it had', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({});
    for (const text of ['one', 'two', 'three']) await record.files!.set('a.txt', blob(text));

    await record.files!.rename('a.txt', 'b.txt');
    await record.files!.set('b.txt', blob('four'));

    const history = await record.files!.history('b.txt');
    expect(await Promise.all(history.map(async (v) => [v.key, await (await v.blob()).text()]))).toEqual([
      ['b.txt', 'four'],
      ['b.txt', 'three'],
      ['a.txt', 'three'],
      ['a.txt', 'two'],
      ['a.txt', 'one'],
    ]);
    expect(history[0]!.isHead).toBe(true);
  });

  it('leaves out what was written under the old name after the rename: another file', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.files!.set('a.txt', blob('mine'));
    await record.files!.rename('a.txt', 'b.txt');

    await record.files!.set('a.txt', blob('another file'));

    expect((await record.files!.history('b.txt')).map((v) => v.key)).toEqual(['b.txt', 'a.txt']);
    expect((await record.files!.history('a.txt')).map((v) => v.isDeleteMarker)).toEqual([false, true, false]);
  });

  it('restores a version from before the rename under the current name, keeping place and metadata', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({});
    await record.files!.set('first.txt', blob('x'));
    await record.files!.set('a.txt', blob('old'), { metadata: { description: 'kept' } });
    await record.files!.set('a.txt', blob('new'));
    await record.files!.rename('a.txt', 'b.txt');
    const old = (await record.files!.history('b.txt')).at(-1)!;

    const restored = await record.files!.restoreVersion('b.txt', old.versionId);

    expect(restored.key).toBe('b.txt');
    expect(await (await restored.blob()).text()).toBe('old');
    expect((await record.files!.dumps()).map((e) => [e.key, e.version_id, e.description])).toEqual([
      ['first.txt', expect.any(String), undefined],
      ['b.txt', restored.versionId, 'kept'],
    ]);
    expect(await record.files!.has('a.txt')).toBe(false);
    expect((await record.files!.history('b.txt')).map((v) => v.key)).toEqual([
      'b.txt',
      'b.txt',
      'a.txt',
      'a.txt',
    ]);
  });

  it('restores an older version of the same name', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.files!.set('a.txt', blob('old'));
    await record.files!.set('a.txt', blob('new'));
    const [, old] = await record.files!.history('a.txt');

    await record.files!.restoreVersion('a.txt', old!.versionId);

    expect(await (await (await record.files!.get('a.txt'))!.blob()).text()).toBe('old');
  });

  it('refuses a version that is not in the file’s history', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.files!.set('a.txt', blob('a'));
    await record.files!.set('other.txt', blob('o'));
    const other = await record.files!.get('other.txt');

    const error = await caught(() => record.files!.restoreVersion('a.txt', other!.versionId));

    expect(error).toMatchObject({ code: 'NOT_FOUND', resource: 'version', key: 'a.txt' });
  });

  it('refuses to restore on a locked bucket and changes nothing', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.files!.set('a.txt', blob('old'));
    await record.files!.rename('a.txt', 'b.txt');
    const old = (await record.files!.history('b.txt')).at(-1)!;
    await record.bucket!.lock();

    const error = await caught(() => record.files!.restoreVersion('b.txt', old.versionId));

    expect(error).toMatchObject({ code: 'BUCKET_LOCKED' });
    expect((await record.files!.history('b.txt')).length).toBe(2);
  });

  it('keeps the rename lineage through a revert of the metadata', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 't' });
    await record.files!.set('a.txt', blob('1'));
    await record.files!.rename('a.txt', 'b.txt');

    await record.revert(1);

    expect((await record.files!.history('b.txt')).map((v) => v.key)).toEqual(['b.txt', 'a.txt']);
  });

  it('brings the history from before a rename back when the deleted file is restored', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.files!.set('first.txt', blob('x'));
    for (const text of ['one', 'two']) {
      await record.files!.set('a.txt', blob(text), { metadata: { description: 'kept' } });
    }
    await record.files!.rename('a.txt', 'b.txt');
    await record.files!.delete('b.txt');
    const [, last] = await record.bucket!.objects.versions('b.txt');

    await record.files!.restoreVersion('b.txt', last!.versionId);

    const history = await record.files!.history('b.txt');
    expect(await Promise.all(history.map(async (v) => [v.key, v.isDeleteMarker]))).toEqual([
      ['b.txt', false],
      ['b.txt', true],
      ['b.txt', false],
      ['a.txt', false],
      ['a.txt', false],
    ]);
    expect(await (await history.at(-1)!.blob()).text()).toBe('one');
    expect((await record.files!.dumps()).map((e) => [e.key, e.description])).toEqual([
      ['first.txt', undefined],
      ['b.txt', 'kept'],
    ]);
  });

  it('restores a file deleted again after a later upload under the same name with what it had last', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({});
    await record.files!.set('a.txt', blob('one'), { metadata: { description: 'first life' } });
    await record.files!.rename('a.txt', 'b.txt');
    await record.files!.delete('b.txt');
    await record.files!.set('b.txt', blob('new file'));
    await record.files!.delete('b.txt');
    const [, last] = await record.bucket!.objects.versions('b.txt');

    await record.files!.restoreVersion('b.txt', last!.versionId);

    expect(await (await (await record.files!.get('b.txt'))!.blob()).text()).toBe('new file');
    expect((await record.files!.dumps()).map((e) => [e.key, e.description, e.renamedFrom])).toEqual([
      ['b.txt', undefined, undefined],
    ]);
  });
});
