import '@coffer/elements';
import type { CofferFileActivity } from '@coffer/elements';
import { fileActivity } from '@coffer/elements';
import { describe, expect } from 'vitest';
import { it } from '../helpers/coffer.js';
import { mount, text, until } from '../helpers/elements.js';

const changes = async (record: { bucket?: { objects: { list(o: object): Promise<never[]> } } | undefined }) =>
  fileActivity(await record.bucket!.objects.list({ versions: true, withDeleted: true })).map((e) =>
    e.kind === 'renamed' ? `${e.kind} ${e.from} → ${e.key}` : `${e.kind} ${e.key}`,
  );

describe('file activity', () => {
  it('tells added, replaced, renamed, deleted and restored, newest first', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('site.jpg', new Blob(['1']));
    const first = (await record.files!.get('site.jpg'))!;
    await record.files!.set('site.jpg', new Blob(['22']));
    await record.files!.set('plan.pdf', new Blob(['p']));
    await record.files!.rename('site.jpg', 'north.jpg');
    await record.files!.delete('plan.pdf');
    await record.files!.restoreVersion('north.jpg', first.versionId);

    expect(await changes(record as never)).toEqual([
      'restored north.jpg',
      'deleted plan.pdf',
      'renamed site.jpg → north.jpg',
      'added plan.pdf',
      'replaced site.jpg',
      'added site.jpg',
    ]);
  });

  it('lists a record’s file changes live and filters them by kind and name', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('a.txt', new Blob(['a']));
    await record.files!.set('b.txt', new Blob(['b']));
    const activity = await mount('coffer-file-activity', {
      coffer,
      recordId: record.id,
    } as Partial<CofferFileActivity>);
    await until(() => activity.shadowRoot!.querySelectorAll('li').length === 2);

    await record.files!.delete('a.txt');
    await until(() => text(activity).includes('Deleted a.txt'));
    const kind = activity.shadowRoot!.querySelector<HTMLSelectElement>('#kind')!;
    kind.value = 'added';
    kind.dispatchEvent(new Event('change'));
    await activity.updateComplete;
    expect(activity.shadowRoot!.querySelectorAll('li').length).toBe(2);
    const name = activity.shadowRoot!.querySelector<HTMLInputElement>('#name')!;
    name.value = 'b.t';
    name.dispatchEvent(new Event('input'));
    await activity.updateComplete;
    expect(
      [...activity.shadowRoot!.querySelectorAll('li .what')].map((li) =>
        li.textContent?.replace(/\s+/g, ' ').trim(),
      ),
    ).toEqual(['Added b.txt (1 B)']);
    activity.remove();
  });
});
