import type { Coffer, CofferRecord } from '@coffer/core';
import { describe, expect } from 'vitest';
import { bytes, bytesOf, caught } from '../helpers/coffer.js';
import { flipStoredByte } from './helpers-reliability.js';
import { dump, exportedBag, forged, it, rezip } from './transfer-fixtures.js';

/** A record with one file of 11 bytes, and a good backup of it. */
async function backedUp(coffer: Coffer): Promise<{ record: CofferRecord; backup: Blob }> {
  const record = await coffer.records.create({ title: 'Survey' });
  await record.files!.set('site.jpg', bytes(11, 1));
  return { record, backup: await coffer.export({ includeVersions: true }) };
}

const fileOf = async (record: CofferRecord) => (await record.files!.get('site.jpg'))!;

describe('restoring a backup over damaged bytes', { timeout: 30_000 }, () => {
  it.for(['skip', 'replace'] as const)(
    'repairs a file whose fixity check failed (onConflict %s)',
    async (onConflict, { coffer }) => {
      const { record, backup } = await backedUp(coffer);
      await flipStoredByte(coffer, (await fileOf(record)).fileId, 5);
      expect((await coffer.verifyChecksums()).failed).toHaveLength(1);

      await coffer.import(backup, { onConflict });

      const file = await fileOf(await coffer.records.get(record.id));
      expect(await bytesOf(await file.blob())).toEqual(bytes(11, 1));
      expect((await file.version.verifyChecksum()).ok).toBe(true);
    },
  );

  it('repairs damaged bytes that no check has found yet', async ({ coffer }) => {
    const { record, backup } = await backedUp(coffer);
    await flipStoredByte(coffer, (await fileOf(record)).fileId, 0);

    await coffer.import(backup);

    expect(await bytesOf(await (await fileOf(record)).blob())).toEqual(bytes(11, 1));
  });

  it('repairs a file whose chunks are gone', async ({ coffer }) => {
    const { record, backup } = await backedUp(coffer);
    const { fileId } = await fileOf(record);
    await coffer.context.db.chunks.delete([fileId, 4]);

    await coffer.import(backup);

    expect(await bytesOf(await (await fileOf(record)).blob())).toEqual(bytes(11, 1));
  });

  it('keeps the file instance, so every version sharing it reads the good bytes', async ({ coffer }) => {
    const { record, backup } = await backedUp(coffer);
    const before = await fileOf(record);
    const copy = await (await record.bucket!.objects.get('site.jpg'))!.copy(record.bucket!, 'copy.jpg');
    await flipStoredByte(coffer, before.fileId, 3);

    await coffer.import(backup);

    expect((await fileOf(record)).fileId).toBe(before.fileId);
    expect(copy.fileId).toBe(before.fileId);
    expect(await bytesOf(await (await record.bucket!.objects.get('copy.jpg'))!.blob())).toEqual(bytes(11, 1));
    expect(await coffer.context.db.files.count()).toBe(1);
  });

  it('serves a file again whose check failed once its bytes read back intact at the restore', async ({
    coffer,
  }) => {
    const { record, backup } = await backedUp(coffer);
    const { fileId } = await fileOf(record);
    await flipStoredByte(coffer, fileId, 2);
    await coffer.verifyChecksums();
    await flipStoredByte(coffer, fileId, 2);

    const report = await coffer.import(backup);

    expect(report.files).toMatchObject({ imported: 0 });
    expect(await bytesOf(await (await fileOf(record)).blob())).toEqual(bytes(11, 1));
  });

  it('keeps intact bytes here without writing them again', async ({ coffer }) => {
    const { backup } = await backedUp(coffer);
    const chunksBefore = await coffer.context.db.chunks.toCollection().primaryKeys();

    const report = await coffer.import(backup);

    expect(report.files).toMatchObject({ imported: 0 });
    expect(report.bytes).toBe(0);
    expect(await coffer.context.db.chunks.toCollection().primaryKeys()).toEqual(chunksBefore);
  });

  it('leaves the damaged file as it was when the import fails', async ({ coffer }) => {
    const { record } = await backedUp(coffer);
    await record.files!.set('later.txt', bytes(7, 9));
    const bag = await exportedBag(coffer, record.id);
    const later = Object.keys(bag.entries).find((name) => name.endsWith('/later.txt'))!;
    const broken = rezip({ ...bag.entries, [later]: bytes(7, 10) });
    await flipStoredByte(coffer, (await fileOf(record)).fileId, 5);
    const before = await dump(coffer);

    const error = await caught(() => coffer.import(broken));

    expect(error).toMatchObject({ reason: 'checksum-mismatch' });
    expect(await dump(coffer)).toEqual(before);
  });

  it('serves a file the import verified even when the bag says its last check failed', async ({
    coffer,
    target,
  }) => {
    const { record } = await backedUp(coffer);
    const bag = await exportedBag(coffer, record.id);
    const hostile = forged(bag, {
      bucket: (json) => {
        for (const file of json.files as Record<string, unknown>[]) {
          file.lastCheck = false;
          file.lastCheckAt = new Date().toISOString();
        }
      },
    });

    await target.import(hostile);

    const file = await fileOf(await target.records.get(record.id));
    expect(await bytesOf(await file.blob())).toEqual(bytes(11, 1));
    expect((await file.version.file()).lastCheck).not.toBe(false);
  });
});
