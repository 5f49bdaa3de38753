import { createMD5 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { heapUsed, MiB, repeatedBlob, repeatedMd5 } from '../helpers/large-blobs.js';

/** The md5 of a stream, hashed piece by piece as it is read. */
async function streamMd5(
  stream: ReadableStream<Uint8Array>,
  onPiece: () => void = () => undefined,
): Promise<string> {
  const md5 = await createMD5();
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    md5.update(next.value);
    onPiece();
  }
  return `md5:${md5.digest('hex')}`;
}

const open = cofferOpener('browser');

describe('Blob chunks in Chromium', () => {
  it('decides at open that this browser stores Blobs', async () => {
    const coffer = await open();

    expect(coffer.chunkStorage).toBe('blob');
  });

  it('stores full 8 MiB chunks as Blobs and reads them back byte for byte', async () => {
    const coffer = await open({ chunkSize: 8 * MiB });
    const bucket = await coffer.buckets.create();
    const { blob, piece } = repeatedBlob(20);

    const v = await bucket.objects.put('big.bin', blob);

    const chunks = await coffer.context.db.chunks.filter((c) => c.dataId === v.fileId).toArray();
    expect(
      chunks
        .sort((a, b) => a.offset - b.offset)
        .map((c) => [c.offset / MiB, c.size / MiB, c.data instanceof Blob]),
    ).toEqual([
      [0, 8, true],
      [8, 8, true],
      [16, 4, true],
    ]);
    expect(v.checksum).toBe(await repeatedMd5(piece, 20));
    expect(await streamMd5((await v.blob()).stream())).toBe(v.checksum);
  });

  it('stores a file under the inline threshold as an ArrayBuffer row', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('small.txt', new Blob(['Hello world!']));

    const [chunk] = await coffer.context.db.chunks.filter((c) => c.dataId === v.fileId).toArray();
    expect(chunk!.data).toBeInstanceOf(ArrayBuffer);
    expect(v.checksum).toBe('md5:86fb269d190d2c85f6e0468ceca42a20');
    expect(await (await v.blob()).text()).toBe('Hello world!');
  });

  it('reads Blob chunks back after the database is closed and opened again', async () => {
    const name = `browser-${crypto.randomUUID()}`;
    const first = await open({ name });
    const bucket = await first.buckets.create();
    const { blob, piece } = repeatedBlob(9);
    const v = await bucket.objects.put('a.bin', blob);
    first.close();

    const second = await open({ name });
    const again = await (await second.buckets.get(bucket.id))!.objects.get('a.bin');

    expect(await streamMd5(await again!.stream())).toBe(await repeatedMd5(piece, 9));
    expect(again!.versionId).toBe(v.versionId);
  });

  it('reads a range across a Blob chunk boundary', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const { blob, piece } = repeatedBlob(9);
    const v = await bucket.objects.put('a.bin', blob);

    const range = new Uint8Array(await (await v.slice(8 * MiB - 3, 8 * MiB + 5)).arrayBuffer());

    expect([...range]).toEqual([...piece.subarray(MiB - 3), ...piece.subarray(0, 5)]);
  });
});

describe('a 64 MiB file with bounded memory', () => {
  // usedJSHeapSize counts ArrayBuffer backing stores and is exact in headless Chromium (a probe:
  // allocating 64 MiB raised it by 67 MB at once), so holding the file's bytes on this thread
  // would raise it by 64 MiB. Garbage the collector has not reclaimed counts too: reading 64 MiB
  // through a stream left up to 64 MiB of dropped pieces uncollected in probes, so the read is
  // bounded by the size of the pieces it hands out (one chunk at most), not by the heap.
  const chunkSize = 8 * MiB;

  it('writes it without the page heap growing by more than one chunk', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const { blob, piece } = repeatedBlob(64);
    const baseline = heapUsed();
    let peak = baseline;

    const v = await bucket.objects.put('big.bin', blob, {
      onProgress: () => {
        peak = Math.max(peak, heapUsed());
      },
    });

    expect(v.size).toBe(64 * MiB);
    expect(v.checksum).toBe(await repeatedMd5(piece, 64));
    expect(peak - baseline).toBeLessThan(chunkSize);
  });

  it('hands out the whole file as a Blob of chunk handles, not of bytes', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const { blob } = repeatedBlob(64);
    const v = await bucket.objects.put('big.bin', blob);
    const baseline = heapUsed();

    const whole = await v.blob();

    expect(whole.size).toBe(64 * MiB);
    expect(heapUsed() - baseline).toBeLessThan(2 * chunkSize);
  });

  it('streams it back in pieces of at most one chunk, matching its md5 read incrementally', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const { blob, piece } = repeatedBlob(64);
    const v = await bucket.objects.put('big.bin', blob);
    const sizes: number[] = [];
    const md5 = await createMD5();

    const reader = (await v.stream()).getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      sizes.push(next.value.length);
      md5.update(next.value);
    }

    expect(`md5:${md5.digest('hex')}`).toBe(await repeatedMd5(piece, 64));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64 * MiB);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(chunkSize);
  });
});
