import '@coffer/elements';
import { BucketQuotaExceededError } from '@coffer/core';
import {
  type CofferBucketPanel,
  type CofferErrorDetail,
  type CofferFileRow,
  describeError,
} from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';

const button = (el: Element, label: string): HTMLButtonElement | undefined =>
  [...el.shadowRoot!.querySelectorAll('button')].find((b) => b.textContent?.trim() === label);

describe('wording', () => {
  it('calls the space a quota leaves what it is: the space left, with the file’s size', () => {
    const error = new BucketQuotaExceededError('over', {
      bucketId: 'b',
      key: 'scan.tif',
      limit: 5 * 1024 ** 2,
      actual: 9 * 1024 ** 2,
    });

    expect(describeError(error)).toBe(
      "“scan.tif” (9.0 MB) doesn't fit: only 5.0 MB is left of the space set for this record's files (see Settings).",
    );
  });

  it('asks before saving a quota below what the files already use', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.files!.set('a.txt', new Blob(['x'.repeat(2048)]));
    const panel = await mount('coffer-bucket-panel', {
      coffer,
      recordId: record.id,
    } as Partial<CofferBucketPanel>);
    await until(() => !!panel.shadowRoot!.querySelector('#quota'));

    panel.shadowRoot!.querySelector<HTMLInputElement>('#quota')!.value = '0.001';
    button(panel, 'Save limits')!.click();

    await until(() => text(panel).includes('more than a quota of'));
    expect((await coffer.buckets.get(record.bucketId!))!.quotaSize).toBeNull();
    button(panel, 'Save anyway')!.click();
    await until(async () => (await coffer.buckets.get(record.bucketId!))!.quotaSize === 1049);
    panel.remove();
  });

  it('marks an error the element shows itself, so the page does not show it twice', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.files!.set('a.txt', new Blob(['a']));
    await record.files!.set('b.txt', new Blob(['b']));
    const file = await record.files!.get('a.txt');
    const row = await mount('coffer-file-row', { coffer, file, open: true } as Partial<CofferFileRow>);
    const errors: CofferErrorDetail[] = [];
    row.addEventListener('coffer-error', (e) => errors.push((e as CustomEvent<CofferErrorDetail>).detail));
    button(row, 'Rename')!.click();
    await until(() => !!row.shadowRoot!.querySelector<HTMLInputElement>('#rename'));
    row.shadowRoot!.querySelector<HTMLInputElement>('#rename')!.value = 'b.txt';

    row.shadowRoot!.querySelector<HTMLFormElement>('form.rename')!.requestSubmit();

    await until(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ message: 'A file with that name already exists.', shown: true });
    expect(text(row)).toContain('A file with that name already exists.');
    row.remove();
  });

  it('shows the md5 and date of the older version being previewed', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.files!.set('a.txt', new Blob(['hello']));
    await record.files!.set('a.txt', new Blob(['bye']));
    const file = await record.files!.get('a.txt');
    const row = await mount('coffer-file-row', { coffer, file, open: true } as Partial<CofferFileRow>);
    const history = row.shadowRoot!.querySelector('coffer-version-history')!;
    await until(() => !!history.shadowRoot!.querySelector('button[aria-label="Preview version 1"]'));

    history.shadowRoot!.querySelector<HTMLButtonElement>('button[aria-label="Preview version 1"]')!.click();

    await until(() => text(row).includes('md5 checksum of the older version shown'));
    expect(row.shadowRoot!.querySelector('.checksum')!.textContent).toBe('5d41402abc4b2a76b9719d911017c592');
    row.remove();
  });
});
