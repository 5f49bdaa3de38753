import { createMD5 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { MiB, repeatedBlob, repeatedMd5 } from '../helpers/large-blobs.js';

const open = cofferOpener('bulk-browser');

const md5 = async (bytes: Uint8Array) => `md5:${(await createMD5()).update(bytes).digest('hex')}`;

describe('bulk and small writes through the worker, in Chromium', () => {
  it('putMany hashes small files in the worker and stores them inline or as their own Blob', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const small = Array.from({ length: 50 }, (_, i) => new TextEncoder().encode(`file ${i} `.repeat(i + 1)));
    const { blob: big, piece } = repeatedBlob(2);

    const results = await bucket.objects.putMany([
      ...small.map((bytes, i) => ({ key: `s${i}`, source: new Blob([bytes]) })),
      { key: 'big', source: big },
    ]);

    expect(results.every((r) => r.ok)).toBe(true);
    for (const [i, bytes] of small.entries()) {
      const r = results[i]!;
      if (!r.ok) throw r.error;
      expect(r.version.checksum).toBe(await md5(bytes));
      expect(new Uint8Array(await (await r.version.blob()).arrayBuffer())).toEqual(bytes);
    }
    const last = results.at(-1)!;
    expect(last.ok && last.version.checksum).toBe(await repeatedMd5(piece, 2));
    const chunks = await coffer.context.db.chunks
      .filter((c) => c.dataId === (last.ok && last.version.fileId))
      .toArray();
    expect(chunks.map((c) => [c.offset, c.size, c.data instanceof Blob])).toEqual([[0, 2 * MiB, true]]);
    coffer.close();
  });

  it('a put of a Blob that fits in one chunk stores that Blob, with its md5, and nothing on failure', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create({ maxFileSize: 3 * MiB });
    const { blob, piece } = repeatedBlob(3);

    const v = await bucket.objects.put('three.bin', blob);
    const error = await bucket.objects.put('four.bin', repeatedBlob(4).blob).catch((e: unknown) => e);

    expect(v.checksum).toBe(await repeatedMd5(piece, 3));
    expect(error).toMatchObject({ code: 'MAX_FILE_SIZE_EXCEEDED' });
    expect(await coffer.context.db.files.count()).toBe(1);
    expect((await (await v.blob()).arrayBuffer()).byteLength).toBe(3 * MiB);
    coffer.close();
  });

  it('an aborted put of a Blob stored while it is hashed leaves no file and no chunk', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const controller = new AbortController();
    const { blob } = repeatedBlob(24);

    const error = await bucket.objects
      .put('big.bin', blob, {
        signal: controller.signal,
        onProgress: ({ loaded }) => {
          if (loaded > 4 * MiB) controller.abort();
        },
      })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(await coffer.context.db.files.count()).toBe(0);
    expect(await coffer.context.db.chunks.filter((c) => !c.dataId.startsWith('\u0000')).count()).toBe(0);
    expect(await coffer.context.db.objects.count()).toBe(0);
    coffer.close();
  });
});
