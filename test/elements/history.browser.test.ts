import '@coffer/elements';
import type { CofferDeletedFiles, CofferRevisionHistory, CofferVersionHistory } from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';

const button = (el: Element, label: string | RegExp): HTMLButtonElement | undefined =>
  [...el.shadowRoot!.querySelectorAll('button')].find((b) =>
    typeof label === 'string' ? b.textContent?.trim() === label : label.test(b.textContent ?? ''),
  );

describe('coffer-revision-history', () => {
  it('says which files each revision changed: added, described, reordered', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.files!.set('a.txt', new Blob(['a']));
    await record.files!.set('b.txt', new Blob(['b']));
    await record.files!.setMetadata('a.txt', { description: 'North wall' });
    await record.files!.sortBy(['b.txt']);
    await record.files!.rename('b.txt', 'c.txt');

    const history = await mount('coffer-revision-history', {
      coffer,
      recordId: record.id,
    } as Partial<CofferRevisionHistory>);
    await until(() => text(history).includes('Revision 5'));

    const said = text(history);
    expect(said).toContain('Added a.txt');
    expect(said).toContain('Added b.txt');
    expect(said).toContain('Described a.txt: “North wall”');
    expect(said).toContain('Reordered files');
    expect(said).toContain('Renamed b.txt → c.txt');
    expect(said).not.toContain('files changed');
    history.remove();
  });

  it('asks before a revert, shows the details it changes back, and keeps the files', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'First title' });
    for (const key of ['one.txt', 'two.txt', 'three.txt']) await record.files!.set(key, new Blob([key]));
    await record.files!.setMetadata('two.txt', { description: 'kept' });
    await record.files!.sortBy(['three.txt', 'two.txt', 'one.txt']);
    record.data.title = 'Second title';
    await record.commit();
    const history = await mount('coffer-revision-history', {
      coffer,
      recordId: record.id,
    } as Partial<CofferRevisionHistory>);
    await until(() => !!button(history, 'Revert to revision 1'));

    button(history, 'Revert to revision 1')!.click();
    await until(() => !!history.shadowRoot!.querySelector('.confirm'));

    const confirm = history.shadowRoot!.querySelector('.confirm')!;
    expect(confirm.textContent!.replace(/\s+/g, ' ')).toContain('Second title → First title');
    expect(confirm.textContent!.replace(/\s+/g, ' ')).toContain('Files are not changed: the 3 files stay');
    expect(history.shadowRoot!.activeElement?.textContent?.trim()).toBe('Revert to revision 1');
    expect((await coffer.records.get(record.id)).revisionId).toBe(6);

    (confirm.querySelector('button.primary') as HTMLButtonElement).click();

    await until(async () => (await coffer.records.get(record.id)).revisionId === 7);
    const stored = await coffer.records.get(record.id);
    expect(stored.data.title).toBe('First title');
    expect(stored.data._files?.map((f) => [f.key, f.description])).toEqual([
      ['three.txt', undefined],
      ['two.txt', 'kept'],
      ['one.txt', undefined],
    ]);
    await until(() => text(history).includes('Reverted to revision 1'));
    history.remove();
  });

  it('cancels a revert without changing anything', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'a' });
    record.data.title = 'b';
    await record.commit();
    const history = await mount('coffer-revision-history', {
      coffer,
      recordId: record.id,
    } as Partial<CofferRevisionHistory>);
    await until(() => !!button(history, 'Revert to revision 0'));

    button(history, 'Revert to revision 0')!.click();
    await until(() => !!button(history, 'Cancel'));
    button(history, 'Cancel')!.click();

    await until(() => !history.shadowRoot!.querySelector('.confirm'));
    expect((await coffer.records.get(record.id)).revisionId).toBe(1);
    history.remove();
  });
});

describe('a renamed file’s history', () => {
  it('lists the versions from before the rename under the file, labelled with the old name', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'r' });
    for (const text of ['one', 'two', 'three']) await record.files!.set('a.txt', new Blob([text]));
    await record.files!.rename('a.txt', 'b.txt');
    const file = await record.files!.get('b.txt');

    const history = await mount('coffer-version-history', { coffer, file } as Partial<CofferVersionHistory>);
    await until(() => history.shadowRoot!.querySelectorAll('li').length === 4);

    const rows = [...history.shadowRoot!.querySelectorAll('li')].map((li) =>
      li.textContent!.replace(/\s+/g, ' '),
    );
    expect(rows[0]).toContain('Version 4');
    expect(rows[0]).toContain('Current');
    expect(rows[0]).not.toContain('as a.txt');
    expect(rows.slice(1).every((row) => row.includes('as a.txt'))).toBe(true);
    history.remove();
  });

  it('restores a version from before the rename under the current name', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.files!.set('a.txt', new Blob(['old']));
    await record.files!.set('a.txt', new Blob(['new']));
    await record.files!.rename('a.txt', 'b.txt');
    const file = await record.files!.get('b.txt');
    const history = await mount('coffer-version-history', { coffer, file } as Partial<CofferVersionHistory>);
    await until(() => !!history.shadowRoot!.querySelector('button[aria-label="Restore version 1"]'));

    history.shadowRoot!.querySelector<HTMLButtonElement>('button[aria-label="Restore version 1"]')!.click();

    await until(
      async () =>
        (await (await record.files!.get('b.txt'))?.blob())?.text().then((t) => t === 'old') ?? false,
    );
    expect(await record.files!.has('a.txt')).toBe(false);
    await until(() => text(history).includes('Version 1 is current again as b.txt'));
    history.remove();
  });

  it('does not list the old name among the deleted files', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.files!.set('a.txt', new Blob(['a']));
    await record.files!.set('gone.txt', new Blob(['g']));
    await record.files!.rename('a.txt', 'b.txt');
    await record.files!.delete('gone.txt');

    const deleted = await mount('coffer-deleted-files', {
      coffer,
      recordId: record.id,
    } as Partial<CofferDeletedFiles>);
    await until(() => text(deleted).includes('gone.txt'));

    expect([...deleted.shadowRoot!.querySelectorAll('li')].map((li) => li.dataset.key)).toEqual(['gone.txt']);
    deleted.remove();
  });
});
