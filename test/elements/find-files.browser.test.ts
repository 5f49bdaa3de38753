import '@coffer/elements';
import type { CofferFileRow, CofferFiles } from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';

describe('coffer-files: filter and sort', () => {
  it('filters the files by name and sorts them by name, size or type, with moving off while it does', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('img_10.tif', new Blob(['1234']), { mimetype: 'image/tiff' });
    await record.files!.set('notes.txt', new Blob(['123456']), { mimetype: 'text/plain' });
    await record.files!.set('img_9.tif', new Blob(['1']), { mimetype: 'image/tiff' });
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => files.shadowRoot!.querySelectorAll('coffer-file-row').length === 3);
    const root = files.shadowRoot!;
    const keys = () => [...root.querySelectorAll<CofferFileRow>('coffer-file-row')].map((r) => r.dataset.key);
    const order = async (value: string) => {
      const select = root.querySelector<HTMLSelectElement>('#order')!;
      select.value = value;
      select.dispatchEvent(new Event('change'));
      await files.updateComplete;
    };

    await order('name');
    expect(keys()).toEqual(['img_9.tif', 'img_10.tif', 'notes.txt']);
    const row = root.querySelector<CofferFileRow>('coffer-file-row')!;
    await row.updateComplete;
    expect(row.shadowRoot!.querySelector<HTMLButtonElement>('.grip')!.disabled).toBe(true);
    await order('largest');
    expect(keys()).toEqual(['notes.txt', 'img_10.tif', 'img_9.tif']);
    await order('type');
    expect(keys()).toEqual(['img_9.tif', 'img_10.tif', 'notes.txt']);
    await order('record');
    expect(keys()).toEqual(['img_10.tif', 'notes.txt', 'img_9.tif']);

    const filter = root.querySelector<HTMLInputElement>('#filter')!;
    filter.value = 'IMG';
    filter.dispatchEvent(new Event('input'));
    await files.updateComplete;
    expect(keys()).toEqual(['img_10.tif', 'img_9.tif']);
    filter.value = 'zzz';
    filter.dispatchEvent(new Event('input'));
    await files.updateComplete;
    expect(text(files)).toContain('No file name matches.');
    expect(await record.files!.keys()).toEqual(['img_10.tif', 'notes.txt', 'img_9.tif']);
    files.remove();
  });
});
