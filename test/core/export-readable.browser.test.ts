import { describe, expect, it } from 'vitest';
import { createInProcessPipeline } from '../../packages/core/src/worker/in-process.js';
import { cofferOpener } from '../helpers/coffer.js';
import { heapUsed, MiB, repeatedBlob } from '../helpers/large-blobs.js';

const open = cofferOpener('export-readable');

describe('a readable backup in Chromium', () => {
  it('writes a 128 MiB file shared by a record and its snapshot twice without the heap holding it', async () => {
    // As in transfer.browser.test.ts: pin the chunk size the bound is for.
    const coffer = await open({ pipeline: createInProcessPipeline, chunkSize: 8 * MiB });
    const record = await coffer.records.create({ title: 'Scans' });
    await record.files!.set('big.bin', repeatedBlob(128).blob);
    const snapshot = await coffer.records.create({ title: 'Scans (snapshot)' });
    await record.bucket!.sync(snapshot.bucket!);
    const baseline = heapUsed();
    let peak = baseline;

    const zip = await coffer.export({ onProgress: () => (peak = Math.max(peak, heapUsed())) });

    // Both records' folders hold the bytes: the ZIP is twice the file, the heap a fraction of it.
    expect(zip.size).toBeGreaterThan(256 * MiB);
    expect(peak - baseline).toBeLessThan(64 * MiB);
  });
});
