import '@coffer/elements';
import { type CofferFiles, type CofferRecordEditor, uploadTracker } from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';

/** Type `value` into the editor's title field, as a person would. */
async function typeTitle(editor: CofferRecordEditor, value: string): Promise<void> {
  await until(() => !!editor.shadowRoot!.querySelector('#title'));
  const input = editor.shadowRoot!.querySelector<HTMLInputElement>('#title')!;
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
  await editor.updateComplete;
}

const button = (el: Element, label: string): HTMLButtonElement | undefined =>
  [...el.shadowRoot!.querySelectorAll('button')].find((b) => b.textContent?.trim() === label);

describe('coffer-record-editor keeps unsaved edits', () => {
  it('saves an edit when the editor is left (a tab switch)', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Before' });
    const editor = await mount('coffer-record-editor', {
      coffer,
      recordId: record.id,
    } as Partial<CofferRecordEditor>);
    await typeTitle(editor, 'After');
    expect(editor.unsaved).toBe(true);

    editor.remove();

    await until(async () => (await coffer.records.get(record.id)).data.title === 'After');
  });

  it('saves the edit of the record left when it shows another record', async ({ coffer }) => {
    const a = await coffer.records.create({ title: 'A' });
    const b = await coffer.records.create({ title: 'B' });
    const editor = await mount('coffer-record-editor', {
      coffer,
      recordId: a.id,
    } as Partial<CofferRecordEditor>);
    await typeTitle(editor, 'A, edited');

    editor.recordId = b.id;

    await until(async () => (await coffer.records.get(a.id)).data.title === 'A, edited');
    await until(() => editor.shadowRoot!.querySelector<HTMLInputElement>('#title')?.value === 'B');
    expect(editor.unsaved).toBe(false);
    editor.remove();
  });

  it('keeps an edit another tab’s change refused, shows it again, and saves it when asked', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'Before' });
    const editor = await mount('coffer-record-editor', {
      coffer,
      recordId: record.id,
    } as Partial<CofferRecordEditor>);
    await typeTitle(editor, 'Mine');
    const theirs = await coffer.records.get(record.id);
    theirs.data.title = 'Theirs';
    await theirs.commit();

    editor.remove();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await coffer.records.get(record.id)).data.title).toBe('Theirs');
    const back = await mount('coffer-record-editor', {
      coffer,
      recordId: record.id,
    } as Partial<CofferRecordEditor>);

    await until(() => text(back).includes('Your edit could not be saved'));
    expect(back.shadowRoot!.querySelector<HTMLInputElement>('#title')!.value).toBe('Mine');
    button(back, 'Keep my edit')!.click();
    await back.updateComplete;
    back.shadowRoot!.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
    await until(async () => (await coffer.records.get(record.id)).data.title === 'Mine');
    back.remove();
  });

  it('moves focus to the saved status after Save', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Before' });
    const editor = await mount('coffer-record-editor', {
      coffer,
      recordId: record.id,
    } as Partial<CofferRecordEditor>);
    await typeTitle(editor, 'After');

    editor.shadowRoot!.querySelector<HTMLButtonElement>('button[type=submit]')!.click();

    await until(() => editor.shadowRoot!.activeElement?.getAttribute('role') === 'status');
    expect(text(editor)).toContain('Saved.');
    editor.remove();
  });
});

describe('uploads outlive the element that started them', () => {
  it('shows the uploads of a record again in a new coffer-files, and cancels a queued one from the tracker', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'r' });
    const first = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => text(first).includes('No files yet'));
    const names = ['1.txt', '2.txt', '3.txt', '4.txt', '5.txt'];

    const done = first.addFiles(names.map((name) => new File([name.repeat(20)], name)));
    first.remove();
    const queued = uploadTracker.items.find((item) => item.key === '5.txt' && item.recordId === record.id)!;
    expect(queued.state).toBe('queued');
    uploadTracker.cancel(queued.id);
    const second = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);

    expect(second.uploads.map((u) => u.key)).toEqual(names);
    await done;
    await until(() => text(second.shadowRoot!.querySelector('coffer-upload-queue')!).includes('Cancelled'));
    expect((await (await coffer.records.get(record.id)).files!.keys()).sort()).toEqual(names.slice(0, 4));
    uploadTracker.clearFinished();
    second.remove();
  });
});
