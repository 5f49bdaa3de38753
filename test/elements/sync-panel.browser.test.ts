import type { Coffer } from '@coffer/core';
import { type BrowserSync, openBrowserSync } from '@coffer/core/sync';
import '@coffer/elements';
import { type CofferSyncPanel, describeSyncProblem } from '@coffer/elements';
import { afterEach, describe, expect, it } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';
import { freshS3Bucket, type TestS3Options } from '../helpers/s3.js';

const open = cofferOpener('sync-panel');
const syncs: BrowserSync[] = [];
afterEach(async () => {
  for (const sync of syncs.splice(0)) await sync.close();
  for (const panel of document.querySelectorAll('coffer-sync-panel')) panel.remove();
});

async function panelFor(coffer: Coffer): Promise<CofferSyncPanel> {
  const sync = openBrowserSync(coffer);
  syncs.push(sync);
  return mount('coffer-sync-panel', { sync } as Partial<CofferSyncPanel>);
}

const $ = <T extends Element = HTMLElement>(panel: CofferSyncPanel, selector: string): T | null =>
  panel.shadowRoot!.querySelector<T>(selector);

/** Type the remote into the form, as a person would. */
async function fill(panel: CofferSyncPanel, options: TestS3Options): Promise<void> {
  const values: Record<string, string> = {
    endpoint: options.endpoint,
    bucket: options.bucket,
    region: options.region ?? '',
    accessKeyId: options.credentials.accessKeyId,
    secretAccessKey: options.credentials.secretAccessKey,
    prefix: options.prefix ?? '',
  };
  for (const [id, value] of Object.entries(values)) {
    const input = $<HTMLInputElement>(panel, `#${id}`)!;
    input.value = value;
    input.dispatchEvent(new Event('input'));
  }
  await panel.updateComplete;
}

const button = (panel: CofferSyncPanel, label: string): HTMLButtonElement => {
  const found = [...panel.shadowRoot!.querySelectorAll('button')].find(
    (b) => b.textContent?.trim() === label,
  );
  if (!found) throw new Error(`No button "${label}" in: ${text(panel)}`);
  return found;
};

/** Run the connection test and return the problems shown, by code and text. */
async function testConnection(panel: CofferSyncPanel): Promise<{ code: string; text: string }[]> {
  button(panel, 'Test connection').click();
  await until(() => !!$(panel, '.problems, #test-ok, #message'), 20_000);
  return [...panel.shadowRoot!.querySelectorAll<HTMLElement>('.problems li')].map((li) => ({
    code: li.dataset.code!,
    text: li.textContent!.replace(/\s+/g, ' ').trim(),
  }));
}

describe('coffer-sync-panel connection test', () => {
  it('says that a working bucket works', async () => {
    const panel = await panelFor(await open());
    await fill(panel, await freshS3Bucket({ label: 'panel-ok' }));

    const problems = await testConnection(panel);

    expect(problems).toEqual([]);
    expect($(panel, '#test-ok')!.textContent).toContain('Connection works');
  });

  it('names a wrong endpoint when nothing answers there', async () => {
    const panel = await panelFor(await open());
    const options = await freshS3Bucket({ label: 'panel-endpoint' });
    await fill(panel, { ...options, endpoint: 'http://127.0.0.1:9' });

    const problems = await testConnection(panel);

    expect(problems.map((p) => p.code)).toEqual(['UNREACHABLE']);
    expect(problems[0]!.text).toContain(
      'No answer from http://127.0.0.1:9: the endpoint is wrong, or the server is down.',
    );
  });

  it('names bad keys, which radosgw refuses without CORS headers, together with a missing CORS rule', async () => {
    const panel = await panelFor(await open());
    const options = await freshS3Bucket({ label: 'panel-keys' });
    await fill(panel, {
      ...options,
      credentials: { ...options.credentials, secretAccessKey: 'not-the-secret' },
    });

    const problems = await testConnection(panel);

    // A page cannot read a refusal without CORS headers: it cannot tell bad keys from no rule.
    expect(problems.map((p) => p.code)).toEqual(['CORS']);
    expect(problems[0]!.text).toContain('or the server refused the keys');
    expect(problems[0]!.text).toContain('Check the access key, the secret key and the region');
  });

  it('names a missing CORS rule and shows the exact rule to add, with this origin', async () => {
    const panel = await panelFor(await open());
    await fill(panel, await freshS3Bucket({ label: 'panel-cors', cors: false }));

    const problems = await testConnection(panel);

    expect(problems.map((p) => p.code)).toEqual(['CORS']);
    expect(problems[0]!.text).toContain('the bucket has no CORS rule for this site');
    const rule = JSON.parse($(panel, '.problems pre')!.textContent!);
    expect(rule).toEqual({
      CORSRules: [
        {
          AllowedOrigins: [location.origin],
          AllowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'],
          AllowedHeaders: ['*'],
          ExposeHeaders: ['ETag', 'x-amz-version-id', 'x-amz-delete-marker', 'x-amz-meta-md5'],
        },
      ],
    });
  });

  it('names a bucket without versioning and how to turn it on', async () => {
    const panel = await panelFor(await open());
    const options = await freshS3Bucket({ label: 'panel-versioning', versioning: false });
    await fill(panel, options);

    const problems = await testConnection(panel);

    expect(problems.map((p) => p.code)).toEqual(['NO_VERSIONING']);
    expect(problems[0]!.text).toContain(`The bucket “${options.bucket}” does not keep versions.`);
    expect($(panel, '.problems pre')!.textContent).toContain('--versioning-configuration Status=Enabled');
  });

  it('names a bucket that does not exist', async () => {
    const panel = await panelFor(await open());
    const options = await freshS3Bucket({ label: 'panel-nobucket' });
    await fill(panel, { ...options, bucket: `${options.bucket}-missing` });

    const problems = await testConnection(panel);

    // radosgw answers a missing bucket's preflight without CORS headers, so a page sees CORS.
    expect(['NO_BUCKET', 'CORS']).toContain(problems[0]!.code);
  });
});

describe('describeSyncProblem', () => {
  it('has a sentence and a fix for every check code, never the raw message for a known one', () => {
    const config = { endpoint: 'https://s3.example.org', bucket: 'notes' };
    const codes = ['UNREACHABLE', 'AUTH', 'NO_BUCKET', 'NO_VERSIONING', 'CORS', 'NO_WRITE'];

    const texts = codes.map((code) =>
      describeSyncProblem({ code, message: 'raw' }, config, 'https://app.example'),
    );

    expect(texts.map((t) => t.title)).toEqual([
      'No answer from https://s3.example.org: the endpoint is wrong, or the server is down.',
      'The server refused the keys.',
      'There is no bucket “notes” on this server.',
      'The bucket “notes” does not keep versions.',
      'The server answers, but the browser blocks this page from reading it: the bucket has no CORS rule for this site, or the server refused the keys.',
      'These keys can read “notes” but not write to it.',
    ]);
    expect(texts.every((t) => t.fix && t.fix !== 'raw')).toBe(true);
    expect(describeSyncProblem({ code: 'SERVER', message: 'Internal error' }, config, '').fix).toBe(
      'Internal error',
    );
  });
});

describe('coffer-sync-panel', () => {
  it('saves the remote, keeps it for the next visit, and syncs now with the last success shown', async () => {
    const coffer = await open();
    const record = await coffer.records.create({ title: 'Survey 12' });
    await record.files!.set('notes.txt', new Blob(['field notes']));
    const options = await freshS3Bucket({ label: 'panel-save' });
    const panel = await panelFor(coffer);
    expect($(panel, '#keys-note')!.textContent).toContain('kept on this device');
    await fill(panel, options);

    button(panel, 'Save').click();
    await until(() => $(panel, '#message')?.textContent?.includes('Saved') === true, 10_000);
    // The status card (with "Sync now") renders once the stored remote is read back.
    await until(() =>
      [...panel.shadowRoot!.querySelectorAll('button')].some((b) => b.textContent?.trim() === 'Sync now'),
    );
    button(panel, 'Sync now').click();
    await until(() => $(panel, '#message')?.textContent?.includes('Synced:') === true, 30_000);

    expect($(panel, '#message')!.textContent).toContain('2 changes sent');
    await until(() => $(panel, '#last-success')?.textContent !== 'Not yet');
    expect($(panel, '#to-go')!.textContent).toBe('Nothing waiting to be sent');
    panel.remove();
    await syncs.pop()!.close();

    // A new page on the same coffer: the form is filled from what was stored.
    const again = await panelFor(coffer);
    await until(() => $<HTMLInputElement>(again, '#bucket')?.value === options.bucket);
    expect($<HTMLInputElement>(again, '#endpoint')!.value).toBe(options.endpoint);
  });

  it('pauses and resumes background sync, and says it in plain words', async () => {
    const panel = await panelFor(await open());
    await fill(panel, await freshS3Bucket({ label: 'panel-pause' }));
    button(panel, 'Save').click();
    await until(() => !!$(panel, '#phase'), 10_000);

    button(panel, 'Pause').click();
    await until(
      () => $(panel, '#message')?.textContent?.includes('Nothing syncs until you resume') === true,
      10_000,
    );
    await until(() => $(panel, '#phase')?.textContent === 'Paused', 10_000);

    button(panel, 'Resume').click();
    await until(() => $(panel, '#phase')?.textContent !== 'Paused', 10_000);
    expect(button(panel, 'Pause')).toBeTruthy();
  });
});
