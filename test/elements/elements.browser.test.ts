import '@coffer/elements';
import type { CofferFiles, CofferRecordList, CofferUploadQueue } from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';

describe('coffer-upload-queue', () => {
  it('shows a labelled progress bar per upload and a cancel button while it runs', async () => {
    const queue = await mount('coffer-upload-queue', {
      items: [
        {
          id: '1',
          key: 'a.bin',
          size: 200,
          loaded: 50,
          state: 'uploading',
          controller: new AbortController(),
        },
        { id: '2', key: 'b.bin', size: 10, loaded: 10, state: 'done', controller: new AbortController() },
      ],
    } as Partial<CofferUploadQueue>);
    const bar = queue.shadowRoot!.querySelector('[role=progressbar][aria-label="Upload of a.bin"]');

    expect(bar?.getAttribute('aria-valuenow')).toBe('25');
    expect(queue.shadowRoot!.querySelector('button[aria-label="Cancel upload of a.bin"]')).not.toBeNull();
    expect(text(queue)).toContain('Stored');
    queue.remove();
  });

  it('shows a short file name whole, with no gap inside it, and cuts a long one in the middle', async () => {
    const keys = ['site-plan.pdf', `survey-${'long-'.repeat(20)}2026.jpeg`];
    const queue = await mount('coffer-upload-queue', {
      items: keys.map((key, i) => ({
        id: String(i),
        key,
        size: 10,
        loaded: 10,
        state: 'done' as const,
        controller: new AbortController(),
      })),
    } as Partial<CofferUploadQueue>);
    queue.style.width = '300px';
    await queue.updateComplete;
    const names = [...queue.shadowRoot!.querySelectorAll<HTMLElement>('.name')];
    const gaps = names.map((name) => {
      const boxes = [...name.querySelectorAll('span')].map((span) => span.getBoundingClientRect());
      return boxes.slice(1).map((box, i) => Math.round(box.left - boxes[i]!.right));
    });

    expect(names.map((name) => name.textContent)).toEqual(keys);
    expect(gaps).toEqual([[], [0]]);
    expect(names[1]!.querySelector('.head')!.scrollWidth).toBeGreaterThan(
      names[1]!.querySelector('.head')!.clientWidth,
    );
    queue.remove();
  });
});

describe('coffer-record-list', () => {
  it('lists records, newest first, and finds them by title', async ({ coffer }) => {
    await coffer.records.create({ title: 'Alpha survey' });
    await coffer.records.create({ title: 'Beta notes' });
    const list = await mount('coffer-record-list', { coffer } as Partial<CofferRecordList>);
    await until(() => list.shadowRoot!.querySelectorAll('a.item').length === 2);

    const titles = () => [...list.shadowRoot!.querySelectorAll('a.item .title')].map((t) => t.textContent);
    expect(titles()).toEqual(['Beta notes', 'Alpha survey']);

    const search = list.shadowRoot!.querySelector<HTMLInputElement>('#search')!;
    search.value = 'alpha';
    search.dispatchEvent(new Event('input'));
    await list.updateComplete;
    expect(titles()).toEqual(['Alpha survey']);
    list.remove();
  });

  it('updates by itself when another writer adds a record', async ({ coffer }) => {
    const list = await mount('coffer-record-list', { coffer } as Partial<CofferRecordList>);
    await until(() => text(list).includes('No records yet'));

    await coffer.records.create({ title: 'Arrived later' });

    await until(() => text(list).includes('Arrived later'));
    list.remove();
  });
});

describe('coffer-files', () => {
  it('stores added files and lists them in record order with size, type and md5', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => text(files).includes('No files yet'));

    await files.addFiles([new File(['hello'], 'b.txt', { type: 'text/plain' }), new File(['x'], 'a.txt')]);

    // Written at once, they land in any order; the list puts them back in the order picked.
    const order = () =>
      [...files.shadowRoot!.querySelectorAll('coffer-file-row')].map((r) => r.dataset.key).join();
    await until(() => order() === 'b.txt,a.txt');
    const rows = [...files.shadowRoot!.querySelectorAll('coffer-file-row')];
    await rows[0]!.updateComplete;
    expect(text(rows[0]!)).toContain('5 B');
    expect(text(rows[0]!)).toContain('md5 5d41402a');
    files.remove();
  });

  it('refuses writes to a locked bucket in plain language and stores nothing', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'r' });
    await record.bucket!.lock();
    const files = await mount('coffer-files', { coffer, recordId: record.id } as Partial<CofferFiles>);
    await until(() => text(files).includes('These files are locked'));

    await files.addFiles([new File(['x'], 'x.txt')]);

    const queue = files.shadowRoot!.querySelector('coffer-upload-queue')!;
    await queue.updateComplete;
    expect(text(queue)).toContain("This record's files are locked. Unlock them to make changes.");
    expect(await (await coffer.records.get(record.id)).files!.count()).toBe(0);
    files.remove();
  });
});

describe('coffer-storage-panel', () => {
  it('shows the usage and a labelled "Keep my data" button', async () => {
    const panel = await mount('coffer-storage-panel');
    await until(() => !text(panel).includes('Checking whether'));

    expect(panel.shadowRoot!.querySelector('[role=meter][aria-label="Storage used"]')).not.toBeNull();
    expect(text(panel)).toMatch(/used/);
    panel.remove();
  });
});
