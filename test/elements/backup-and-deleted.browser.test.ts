import '@coffer/elements';
import { InvalidBagError } from '@coffer/core';
import {
  backupFileName,
  type CofferBackupPanel,
  type CofferDeletedFiles,
  describeImportError,
  describeImportReport,
} from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';

describe('backup messages', () => {
  it('names what is wrong with an invalid archive, by the entry’s own name', () => {
    const error = new InvalidBagError('checksum-mismatch', 'md5 differs', {
      path: 'data/records/r1/files/plan.pdf',
    });

    expect(describeImportError(error)).toBe(
      '“plan.pdf” in the backup is damaged: its checksum does not match the one saved with it. Nothing was imported.',
    );
    expect(describeImportError(new InvalidBagError('not-zip', 'no'))).toBe(
      'This file is not a ZIP archive. Nothing was imported.',
    );
  });

  it('says what an import did in plain words, and names the file by date', () => {
    const lines = describeImportReport({
      records: { imported: 2, replaced: 0, skipped: 1 },
      buckets: { imported: 2, replaced: 0, skipped: 1 },
      versions: { imported: 3, skipped: 0 },
      files: { imported: 2, reused: 1, skipped: 0 },
      bytes: 2048,
      ids: { records: {}, buckets: {} },
    });

    expect(lines).toEqual([
      '2 records imported, 1 skipped because it is already here.',
      '2 files written (2.0 KB), 1 already stored here and shared.',
      '3 file versions added.',
    ]);
    expect(backupFileName(new Date(2026, 0, 5))).toBe('coffer-backup-2026-01-05.zip');
  });
});

describe('coffer-backup-panel', () => {
  it('imports an export back and reports it; a non-ZIP changes nothing', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Kept' });
    await record.files!.set('a.txt', new Blob(['alpha']));
    const zip = await coffer.export();
    const panel = await mount('coffer-backup-panel', { coffer } as Partial<CofferBackupPanel>);

    const report = await panel.importBackup(zip);
    await panel.updateComplete;

    expect(report?.records.skipped).toBe(1);
    expect(text(panel)).toContain('Import finished.');
    expect(text(panel)).toContain('0 records imported, 1 skipped because it is already here.');

    await panel.importBackup(new Blob(['not a zip at all']));
    await panel.updateComplete;
    expect(panel.shadowRoot!.querySelector('[role=alert]')?.textContent).toContain('Nothing was imported.');
    expect((await coffer.records.list()).length).toBe(1);
    panel.remove();
  });
});

describe('coffer-backup-panel saving', () => {
  it('exports only the selected record through the File System Access picker', async ({ coffer }) => {
    const picked = await coffer.records.create({ title: 'Picked' });
    await picked.files!.set('p.txt', new Blob(['picked']));
    await coffer.records.create({ title: 'Left out' });
    const parts: Uint8Array[] = [];
    const names: string[] = [];
    const original = Object.getOwnPropertyDescriptor(window, 'showSaveFilePicker');
    Object.defineProperty(window, 'showSaveFilePicker', {
      configurable: true,
      value: async (options: { suggestedName: string }) => {
        names.push(options.suggestedName);
        return {
          createWritable: async () =>
            new WritableStream<Uint8Array>({ write: (chunk) => void parts.push(chunk) }),
        };
      },
    });
    try {
      const panel = await mount('coffer-backup-panel', {
        coffer,
        selection: [picked.id],
      } as Partial<CofferBackupPanel>);

      await panel.exportRecords(panel.selection);
      await panel.updateComplete;

      expect(names).toEqual([backupFileName()]);
      expect(text(panel)).toContain(`Backup saved as ${backupFileName()}`);
      const report = await coffer.import(new Blob(parts as BlobPart[]), { onConflict: 'new-ids' });
      expect(report.records.imported).toBe(1);
      const copy = await coffer.records.get(Object.values(report.ids.records)[0]!);
      expect((copy.data as { title?: string }).title).toBe('Picked');
      panel.remove();
    } finally {
      if (original) Object.defineProperty(window, 'showSaveFilePicker', original);
      else delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    }
  });
});

describe('coffer-deleted-files', () => {
  it('lists a deleted file, restores it into the record and removes another for good', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.files!.set('keep.txt', new Blob(['one']));
    await record.files!.set('keep.txt', new Blob(['two']));
    await record.files!.set('gone.txt', new Blob(['bye']));
    await record.files!.delete('keep.txt');
    await record.files!.delete('gone.txt');
    const list = await mount('coffer-deleted-files', {
      coffer,
      recordId: record.id,
    } as Partial<CofferDeletedFiles>);
    const keys = () => [...list.shadowRoot!.querySelectorAll('li')].map((li) => li.dataset.key);
    await until(() => keys().length === 2);
    expect(text(list)).toContain('2 versions kept');

    list.shadowRoot!.querySelector<HTMLButtonElement>('button[aria-label="Restore keep.txt"]')!.click();
    await until(async () => (await (await coffer.records.get(record.id)).files!.keys()).includes('keep.txt'));
    const fresh = await coffer.records.get(record.id);
    expect(await (await fresh.files!.get('keep.txt'))!.blob().then((b) => b.text())).toBe('two');
    expect((fresh.data._files ?? []).map((f) => f.key)).toEqual(['keep.txt']);
    await until(() => keys().join() === 'gone.txt');

    const remove = () =>
      list.shadowRoot!.querySelector<HTMLButtonElement>('li[data-key="gone.txt"] button.danger')!;
    remove().click();
    await list.updateComplete;
    remove().click();
    await until(() => text(list).includes('No deleted files.'));
    expect(await record.bucket!.objects.versions('gone.txt')).toEqual([]);
    list.remove();
  });

  it('restores a renamed file with its description and the history from before the rename', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.files!.set('draft.txt', new Blob(['one']), { metadata: { description: 'Site notes' } });
    await record.files!.set('draft.txt', new Blob(['two']));
    await record.files!.rename('draft.txt', 'notes.txt');
    await record.files!.delete('notes.txt');
    const list = await mount('coffer-deleted-files', {
      coffer,
      recordId: record.id,
    } as Partial<CofferDeletedFiles>);
    await until(() => list.shadowRoot!.querySelector('button[aria-label="Restore notes.txt"]') !== null);

    list.shadowRoot!.querySelector<HTMLButtonElement>('button[aria-label="Restore notes.txt"]')!.click();
    await until(async () =>
      (await (await coffer.records.get(record.id)).files!.keys()).includes('notes.txt'),
    );

    const files = (await coffer.records.get(record.id)).files!;
    expect((await files.dumps()).map((f) => [f.key, f.description])).toEqual([['notes.txt', 'Site notes']]);
    expect((await files.history('notes.txt')).filter((v) => !v.isDeleteMarker).map((v) => v.key)).toEqual([
      'notes.txt',
      'notes.txt',
      'draft.txt',
      'draft.txt',
    ]);
    list.remove();
  });
});
