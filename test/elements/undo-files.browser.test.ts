import '@coffer/elements';
import type { CofferDoneDetail, CofferFileRow, CofferFiles } from '@coffer/elements';
import { deleteFiles, renameFile } from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, until } from '../helpers/elements.js';

describe('undo of file actions', () => {
  it('undoes a delete from a file row: the deleted version is head again, in its place, described', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('a.txt', new Blob(['A']));
    await record.files!.set('b.txt', new Blob(['B1']));
    const b = await record.files!.set('b.txt', new Blob(['B2']), { metadata: { description: 'plan' } });
    await record.files!.set('c.txt', new Blob(['C']));
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => files.shadowRoot!.querySelectorAll('coffer-file-row').length === 3);
    let done: CofferDoneDetail | undefined;
    files.addEventListener('coffer-done', (e) => (done = (e as CustomEvent<CofferDoneDetail>).detail));
    const row = files.shadowRoot!.querySelector<CofferFileRow>('coffer-file-row[data-key="b.txt"]')!;
    row.shadowRoot!.querySelector<HTMLButtonElement>('button.chev')!.click();
    await until(() => !!row.shadowRoot!.querySelector('button.danger'));
    const del = row.shadowRoot!.querySelector<HTMLButtonElement>('button.danger')!;

    del.click();
    await row.updateComplete;
    del.click();
    await until(() => done !== undefined);
    expect(done!.message).toBe('b.txt deleted.');
    expect(await record.files!.keys()).toEqual(['a.txt', 'c.txt']);
    expect(await done!.undo!()).toBe('b.txt is back.');

    const back = (await record.files!.get('b.txt'))!;
    expect(back.checksum).toBe(b.checksum);
    expect(back.metadata.description).toBe('plan');
    expect(await record.files!.keys()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    await until(() => files.shadowRoot!.querySelectorAll('coffer-file-row').length === 3);
    files.remove();
  });

  it('undoes a rename: the old name back, with its metadata, place and history as before', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('site.jpg', new Blob(['1']), { metadata: { description: 'North wall' } });
    await record.files!.set('site.jpg', new Blob(['22']));
    await record.files!.set('plan.pdf', new Blob(['p']));
    const before = (await record.files!.history('site.jpg')).map((v) => v.versionId);

    const done = await renameFile(record.files!, 'site.jpg', 'north.jpg');
    expect(await record.files!.keys()).toEqual(['north.jpg', 'plan.pdf']);
    expect(await done.undo!()).toBe('north.jpg is site.jpg again.');

    expect(await record.files!.keys()).toEqual(['site.jpg', 'plan.pdf']);
    const file = (await record.files!.get('site.jpg'))!;
    expect(file.metadata).toEqual({ description: 'North wall' });
    const history = (await record.files!.history('site.jpg')).map((v) => v.versionId);
    expect(history.slice(-before.length)).toEqual(before);
  });

  it('leaves alone, on undo, a deleted file that came back another way', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('a.txt', new Blob(['A']));
    await record.files!.set('b.txt', new Blob(['B']));
    const done = await deleteFiles(record.files!, ['a.txt', 'b.txt']);
    await record.files!.set('a.txt', new Blob(['new A']));

    await done.undo!();

    expect(await (await (await record.files!.get('a.txt'))!.blob()).text()).toBe('new A');
    expect(await (await (await record.files!.get('b.txt'))!.blob()).text()).toBe('B');
    expect((await record.bucket!.objects.versions('a.txt')).length).toBe(3);
  });
});
