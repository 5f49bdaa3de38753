import '@coffer/elements';
import type { CofferDoneDetail, CofferFiles, CofferRecordList } from '@coffer/elements';
import { zipBlobs } from '@coffer/elements';
import { unzipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';

/** The downloads elements start (a link clicked with `download`), caught in each test. */
const downloads: { name: string; href: string }[] = [];
const click = HTMLAnchorElement.prototype.click;
beforeEach(() => {
  downloads.length = 0;
  HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
    downloads.push({ name: this.download, href: this.href });
  };
});
afterEach(() => {
  HTMLAnchorElement.prototype.click = click;
});

const button = (root: ShadowRoot, label: string) =>
  [...root.querySelectorAll('button')].find((b) => b.textContent?.replace(/\s+/g, ' ').trim() === label);

describe('zipBlobs', () => {
  it('writes a ZIP any unzip reads, with folders from the keys and CRC-32 of each file', async ({
    coffer,
  }) => {
    const zip = await zipBlobs(coffer, [
      { name: 'raw/2026/img_001.tif', blob: new Blob(['hello']) },
      { name: '../notes.txt', blob: new Blob(['ünïcode']) },
    ]);

    const files = unzipSync(new Uint8Array(await zip.arrayBuffer()));
    expect(Object.keys(files)).toEqual(['raw/2026/img_001.tif', '_/notes.txt']);
    expect(new TextDecoder().decode(files['raw/2026/img_001.tif'])).toBe('hello');
    expect(new TextDecoder().decode(files['_/notes.txt'])).toBe('ünïcode');
    const view = new DataView(await zip.arrayBuffer());
    expect(view.getUint32(14, true)).toBe(0x3610a686); // crc32("hello")
  });

  it('computes the CRC-32s in the coffer’s worker, off the page, and reports progress while it reads', async ({
    coffer,
  }) => {
    const reads = { stream: Blob.prototype.stream, arrayBuffer: Blob.prototype.arrayBuffer };
    let readOnPage = 0;
    Blob.prototype.stream = function (this: Blob) {
      readOnPage++;
      return reads.stream.call(this);
    };
    Blob.prototype.arrayBuffer = function (this: Blob) {
      readOnPage++;
      return reads.arrayBuffer.call(this);
    };
    const progress: number[] = [];
    const big = new Blob([new Uint8Array(12 * 1024 * 1024).fill(7)]);
    let zip: Blob;
    try {
      zip = await zipBlobs(
        coffer,
        [
          { name: 'a.txt', blob: new Blob(['hello']) },
          { name: 'big.bin', blob: big },
        ],
        (done) => progress.push(done),
      );
    } finally {
      Object.assign(Blob.prototype, reads);
    }

    expect(readOnPage).toBe(0);
    const files = unzipSync(new Uint8Array(await zip.arrayBuffer()));
    expect(files['big.bin']!.length).toBe(big.size);
    expect(new DataView(await zip.arrayBuffer()).getUint32(14, true)).toBe(0x3610a686);
    expect(progress.some((done) => done > 5 && done < 5 + 12 * 1024 * 1024)).toBe(true);
    expect(progress.at(-1)).toBe(5 + 12 * 1024 * 1024);
  });
});

describe('coffer-files: act on many', () => {
  it('downloads the chosen files as one ZIP, and all of them with Download all', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey 12' });
    await record.files!.set('a.txt', new Blob(['A']));
    await record.files!.set('raw/b.txt', new Blob(['B']));
    await record.files!.set('c.txt', new Blob(['C']));
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => files.shadowRoot!.querySelectorAll('coffer-file-row').length === 3);
    const root = files.shadowRoot!;

    button(root, 'Select')!.click();
    await files.updateComplete;
    const rows = [...root.querySelectorAll('coffer-file-row')];
    await Promise.all(rows.map((r) => r.updateComplete));
    for (const row of [rows[0]!, rows[1]!])
      row.shadowRoot!.querySelector<HTMLInputElement>('input[type=checkbox]')!.click();
    await files.updateComplete;
    expect(text(files)).toContain('2 of 3 selected');
    button(root, 'Download ZIP')!.click();
    await until(() => downloads.length === 1);

    expect(downloads[0]!.name).toBe('Survey-12-files.zip');
    const chosen = unzipSync(new Uint8Array(await (await fetch(downloads[0]!.href)).arrayBuffer()));
    expect(Object.keys(chosen)).toEqual(['a.txt', 'raw/b.txt']);

    button(root, 'Done')!.click();
    await files.updateComplete;
    button(root, 'Download all')!.click();
    await until(() => downloads.length === 2);
    const all = unzipSync(new Uint8Array(await (await fetch(downloads[1]!.href)).arrayBuffer()));
    expect(Object.keys(all)).toEqual(['a.txt', 'raw/b.txt', 'c.txt']);
    files.remove();
  });

  it('deletes the chosen files after a confirmation, and Undo brings them back in place with their descriptions', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('a.txt', new Blob(['A']), { metadata: { description: 'first' } });
    await record.files!.set('b.txt', new Blob(['B']));
    await record.files!.set('c.txt', new Blob(['C']), { metadata: { description: 'third' } });
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => files.shadowRoot!.querySelectorAll('coffer-file-row').length === 3);
    const root = files.shadowRoot!;
    let done: CofferDoneDetail | undefined;
    files.addEventListener('coffer-done', (e) => (done = (e as CustomEvent<CofferDoneDetail>).detail));
    button(root, 'Select')!.click();
    await files.updateComplete;
    const rows = [...root.querySelectorAll('coffer-file-row')];
    await Promise.all(rows.map((r) => r.updateComplete));
    for (const row of [rows[0]!, rows[2]!])
      row.shadowRoot!.querySelector<HTMLInputElement>('input[type=checkbox]')!.click();
    await files.updateComplete;

    button(root, 'Delete')!.click();
    await files.updateComplete;
    button(root, 'Confirm: delete 2')!.click();
    await until(() => done !== undefined);
    expect(done!.message).toBe('2 files deleted.');
    expect(await record.files!.keys()).toEqual(['b.txt']);

    expect(await done!.undo!()).toBe('2 files are back.');
    const back = [];
    for await (const f of record.files!) back.push([f.key, f.metadata.description]);
    expect(back).toEqual([
      ['a.txt', 'first'],
      ['b.txt', undefined],
      ['c.txt', 'third'],
    ]);
    files.remove();
  });
});

describe('coffer-record-list: act on many', () => {
  it('moves chosen records to the trash with undo, and downloads chosen ones as one ZIP', async ({
    coffer,
  }) => {
    const a = await coffer.records.create({ title: 'Alpha' });
    await coffer.records.create({ title: 'Beta' });
    const c = await coffer.records.create({ title: 'Gamma' });
    const list = await mount('coffer-record-list', { coffer } as Partial<CofferRecordList>);
    await until(() => list.shadowRoot!.querySelectorAll('a.item').length === 3);
    const root = list.shadowRoot!;
    let done: CofferDoneDetail | undefined;
    list.addEventListener('coffer-done', (e) => (done = (e as CustomEvent<CofferDoneDetail>).detail));

    button(root, 'Select')!.click();
    await list.updateComplete;
    const box = (title: string) =>
      [...root.querySelectorAll('label.item')]
        .find((l) => l.textContent?.includes(title))!
        .querySelector('input')!;
    box('Alpha').click();
    box('Gamma').click();
    await list.updateComplete;
    button(root, 'Download ZIP')!.click();
    await until(() => downloads.length === 1);
    expect(downloads[0]!.name).toMatch(/-2-records-.*\.zip$/);

    button(root, 'Move to trash')!.click();
    await until(() => done !== undefined);
    expect(done!.message).toBe('2 records moved to the trash.');
    await until(() => root.querySelectorAll('label.item').length === 1);

    await done!.undo!();
    expect((await coffer.records.getMany([a.id, c.id])).length).toBe(2);
    list.remove();
  });

  it('restores several records from the trash at once', async ({ coffer }) => {
    const a = await coffer.records.create({ title: 'Alpha' });
    const b = await coffer.records.create({ title: 'Beta' });
    await a.delete();
    await b.delete();
    const list = await mount('coffer-record-list', { coffer, trash: true } as Partial<CofferRecordList>);
    await until(() => list.shadowRoot!.querySelectorAll('.trash-item').length === 2);
    const root = list.shadowRoot!;

    button(root, 'Select')!.click();
    await list.updateComplete;
    button(root, 'Select all')!.click();
    await list.updateComplete;
    button(root, 'Restore')!.click();

    await until(() => text(list).includes('The trash is empty.'));
    expect((await coffer.records.list()).length).toBe(2);
    list.remove();
  });

  it('keeps focus in the bar when Select and Done take their own button away, for files and records', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'Survey 12' });
    await record.files!.set('a.txt', new Blob(['A']));
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    const list = await mount('coffer-record-list', { coffer } as Partial<CofferRecordList>);
    await until(() => files.shadowRoot!.querySelectorAll('coffer-file-row').length === 1);
    await until(() => list.shadowRoot!.querySelectorAll('a.item').length === 1);
    const focused = (element: HTMLElement) => element.shadowRoot!.activeElement?.textContent?.trim();
    const steps: (string | undefined)[] = [];

    for (const element of [files, list]) {
      button(element.shadowRoot!, 'Select')!.focus();
      button(element.shadowRoot!, 'Select')!.click();
      await until(() => focused(element) === 'Select all');
      steps.push(focused(element));
      button(element.shadowRoot!, 'Done')!.click();
      await until(() => focused(element) === 'Select');
      steps.push(focused(element));
    }

    expect(steps).toEqual(['Select all', 'Select', 'Select all', 'Select']);
    files.remove();
    list.remove();
  });
});
