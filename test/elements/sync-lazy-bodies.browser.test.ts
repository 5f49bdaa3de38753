import type { Coffer } from '@coffer/core';
import { type BrowserSync, openBrowserSync, openSync, S3Remote } from '@coffer/core/sync';
import '@coffer/elements';
import type { CofferFileRow, CofferSyncPanel } from '@coffer/elements';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';
import { freshS3Bucket, type TestS3Options } from '../helpers/s3.js';

vi.setConfig({ testTimeout: 60_000 });

const open = cofferOpener('lazy-ui');
const syncs: BrowserSync[] = [];
afterEach(async () => {
  for (const element of document.querySelectorAll('coffer-sync-panel, coffer-file-row')) element.remove();
  for (const sync of syncs.splice(0)) await sync.close();
});

/** A coffer that pulled a record with one image from another device, without its bytes. */
async function lazilyPulled(): Promise<{ coffer: Coffer; recordId: string }> {
  const bucket = await freshS3Bucket({ label: 'lazy-ui' });
  const a = await open({ worker: false });
  const syncA = openSync(a, { remote: new S3Remote(bucket) });
  const record = await a.records.create({ title: 'Survey' });
  await record.files!.set('site.png', new Blob([new Uint8Array([137, 80, 78, 71])], { type: 'image/png' }));
  await syncA.now();
  await syncA.close();
  const coffer = await open({ worker: false });
  const syncB = openSync(coffer, { remote: new S3Remote(bucket), bodies: 'lazy' });
  await syncB.now();
  return { coffer, recordId: record.id };
}

async function fill(panel: CofferSyncPanel, options: TestS3Options): Promise<void> {
  const values: Record<string, string> = {
    endpoint: options.endpoint,
    bucket: options.bucket,
    accessKeyId: options.credentials.accessKeyId,
    secretAccessKey: options.credentials.secretAccessKey,
  };
  for (const [id, value] of Object.entries(values)) {
    const input = panel.shadowRoot!.querySelector<HTMLInputElement>(`#${id}`)!;
    input.value = value;
    input.dispatchEvent(new Event('input'));
  }
  await panel.updateComplete;
}

describe('lazy bodies in the elements', () => {
  it('stores "download when first opened" from the Sync screen as lazy bodies', async () => {
    const sync = openBrowserSync(await open());
    syncs.push(sync);
    const panel = await mount('coffer-sync-panel', { sync } as Partial<CofferSyncPanel>);
    await fill(panel, await freshS3Bucket({ label: 'lazy-panel' }));
    const box = panel.shadowRoot!.querySelector<HTMLInputElement>('#bodies')!;

    box.click();
    panel.shadowRoot!.querySelector<HTMLFormElement>('form')!.requestSubmit();

    await until(async () => (await sync.remote())?.config.bodies === 'lazy', 10_000);
    await until(() => panel.shadowRoot!.querySelector<HTMLInputElement>('#bodies')!.checked, 5000);
  });

  it('notes a file not downloaded yet, without downloading it for a thumbnail', async () => {
    const { coffer, recordId } = await lazilyPulled();
    const file = await (await coffer.records.get(recordId)).files!.get('site.png');

    const row = await mount('coffer-file-row', { file } as Partial<CofferFileRow>);

    await until(() => text(row).includes('Not downloaded'), 5000);
    expect(row.shadowRoot!.querySelector('.thumb img')).toBeNull();
    expect((await file!.version.file()).lazy).toBe(true);
  });
});
