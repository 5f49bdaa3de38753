import type { Unzipped } from 'fflate';
import { describe, expect } from 'vitest';
import { METADATA_LIMIT } from '../../packages/core/src/worker/import-bag.js';
import { bytes, caught } from '../helpers/coffer.js';
import { baseOf, counts, editJson, encode, it, reseal, retag, unzip } from './transfer-fixtures.js';

const MiB = 1024 * 1024;

/** A good bag of one record with one file, unzipped. */
async function goodEntries(
  coffer: import('@coffer/core').Coffer,
): Promise<{ entries: Unzipped; base: string }> {
  const record = await coffer.records.create({ title: 'Survey' });
  await record.files!.set('site.jpg', bytes(11, 1));
  const entries = await unzip(await coffer.export());
  return { entries, base: baseOf(entries) };
}

// Each case below expands past the bound from a ZIP of a few hundred kilobytes, every entry
// under the per-entry ratio limit (it applies to entries over 1 MiB).
describe('import of metadata bombs', { timeout: 60_000 }, () => {
  it('refuses tag files that together expand past the bound, changing nothing', async ({
    coffer,
    target,
  }) => {
    const { entries, base } = await goodEntries(coffer);
    const zeros = new Uint8Array(MiB);
    const count = Math.ceil(METADATA_LIMIT / MiB) + 8;
    const bomb: Unzipped = { ...entries };
    for (let i = 0; i < count; i++) bomb[`${base}extra-${i}.txt`] = zeros;
    const zip = retag(bomb, 1);
    expect(zip.size).toBeLessThan(METADATA_LIMIT / 100);
    const before = await counts(target);

    const error = await caught(() => target.import(zip));

    expect(error).toMatchObject({ name: 'InvalidBagError', reason: 'too-large', limit: METADATA_LIMIT });
    expect(await counts(target)).toEqual(before);
  });

  it('refuses JSON documents that together expand past the bound, changing nothing', async ({
    coffer,
    target,
  }) => {
    const { entries, base } = await goodEntries(coffer);
    const pad = 'x'.repeat(MiB - 512);
    const count = Math.ceil(METADATA_LIMIT / MiB) + 8;
    const bomb: Unzipped = { ...entries };
    const paths: string[] = [];
    for (let i = 0; i < count; i++) {
      const path = `data/records/pad-${i}/record.json`;
      paths.push(path);
      bomb[base + path] = encode(
        JSON.stringify({
          id: `pad-${i}`,
          revisionId: 0,
          created: '2025-01-01T00:00:00.000Z',
          updated: '2025-01-01T00:00:00.000Z',
          deleted: false,
          data: { pad },
          buckets: [],
          revisions: [],
        }),
      );
    }
    const index = `${base}data/coffer.json`;
    bomb[index] = editJson(bomb[index], (json) => {
      json.records = [...(json.records as string[]), ...paths];
    });
    const zip = reseal(bomb, 1);
    expect(zip.size).toBeLessThan(METADATA_LIMIT / 100);
    const before = await counts(target);

    const error = await caught(() => target.import(zip));

    expect(error).toMatchObject({ name: 'InvalidBagError', reason: 'too-large', limit: METADATA_LIMIT });
    expect(await counts(target)).toEqual(before);
  });

  it('still imports a bag with small extra tag files', async ({ coffer, target }) => {
    const { entries, base } = await goodEntries(coffer);

    const report = await target.import(retag({ ...entries, [`${base}notes.txt`]: encode('a note') }));

    expect(report.records.imported).toBe(1);
  });
});
