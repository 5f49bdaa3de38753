import '@coffer/elements';
import type { CofferFiles } from '@coffer/elements';
import { filesOfEntries, folderFilesFromInput, uploadTracker } from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, until } from '../helpers/elements.js';

/** A File as a folder input gives it, with its path in the folder. */
const inFolder = (path: string, body: string): File => {
  const file = new File([body], path.split('/').pop()!);
  Object.defineProperty(file, 'webkitRelativePath', { value: path });
  return file;
};

describe('coffer-files: folders', () => {
  it('stores a picked folder under its relative paths, as one upload with one progress', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => !!files.shadowRoot!.querySelector('.dropzone'));
    const picked = folderFilesFromInput([
      inFolder('raw/2026/img_001.tif', 'one'),
      inFolder('raw/2026/img_002.tif', 'two'),
      inFolder('raw/notes.txt', 'notes'),
    ]);
    const seen = new Set<string>();
    const watch = () => {
      for (const item of uploadTracker.forRecord(coffer.name, record.id)) seen.add(item.key);
    };
    uploadTracker.addEventListener('change', watch);

    await files.addFolder(picked);
    uploadTracker.removeEventListener('change', watch);

    expect(await record.files!.keys()).toEqual([
      'raw/2026/img_001.tif',
      'raw/2026/img_002.tif',
      'raw/notes.txt',
    ]);
    expect([...seen]).toEqual(['raw/ (3 files)']);
    expect(files.uploads.map((u) => [u.state, u.loaded, u.size])).toEqual([['done', 11, 11]]);
    await until(() => files.shadowRoot!.querySelectorAll('coffer-file-row').length === 3);
    files.remove();
  });

  it('names in its one upload the files of a folder that could not be stored', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.bucket!.update({ maxFileSize: 4 });
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => !!files.shadowRoot!.querySelector('.dropzone'));

    await files.addFolder(
      folderFilesFromInput([inFolder('d/a.txt', 'ok'), inFolder('d/big.txt', 'too large')]),
    );

    expect(await record.files!.keys()).toEqual(['d/a.txt']);
    expect(files.uploads[0]!.state).toBe('failed');
    expect(files.uploads[0]!.message).toMatch(/^1 of 2 not stored: “d\/big.txt” is too large/);
    files.remove();
  });

  it('opens the file picker wherever the drop zone is clicked', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => !!files.shadowRoot!.querySelector('.dropzone'));
    const picker = files.shadowRoot!.querySelector<HTMLInputElement>('input.files')!;
    let opened = 0;
    picker.click = () => void opened++;

    files.shadowRoot!.querySelector<HTMLElement>('.dropzone p')!.click();

    expect(opened).toBe(1);
    files.remove();
  });

  it('reads every file of a dropped folder, past the 100 entries one directory read answers', async () => {
    type Entry = { isFile: boolean; isDirectory: boolean; fullPath: string };
    const file = (fullPath: string): Entry & { file(ok: (f: File) => void): void } => ({
      isFile: true,
      isDirectory: false,
      fullPath,
      file: (ok) => ok(new File([fullPath], fullPath.split('/').pop()!)),
    });
    const folder = (fullPath: string, children: Entry[]): Entry & { createReader(): unknown } => ({
      isFile: false,
      isDirectory: true,
      fullPath,
      createReader: () => {
        let at = 0;
        return {
          readEntries: (ok: (batch: Entry[]) => void) => {
            ok(children.slice(at, at + 100));
            at += 100;
          },
        };
      },
    });
    const many = Array.from({ length: 150 }, (_, i) => file(`/raw/2026/img_${i}.tif`));
    const dropped = [
      folder('/raw', [folder('/raw/2026', many), file('/raw/notes.txt')]),
      file('/readme.txt'),
    ];

    const files = await filesOfEntries(dropped as unknown as FileSystemEntry[]);

    expect(files).toHaveLength(152);
    expect(files[0]!.key).toBe('raw/2026/img_0.tif');
    expect(files.slice(-2).map((f) => f.key)).toEqual(['raw/notes.txt', 'readme.txt']);
  });
});
