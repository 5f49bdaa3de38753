import type { Coffer, ObjectVersion } from '@coffer/core';
import { handleFileRequest } from '@coffer/core/sw';
import { createMD5 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';
import { MiB, variedBlob } from '../helpers/large-blobs.js';

const open = cofferOpener('blob-layout');

/** The chunk rows of a version's file, in order: `[offset, size, stored as a Blob]`. */
async function layoutOf(coffer: Coffer, version: ObjectVersion): Promise<[number, number, boolean][]> {
  const rows = await coffer.context.db.chunks
    .where('[dataId+offset]')
    .between([version.fileId, 0], [version.fileId, Number.MAX_SAFE_INTEGER], true, true)
    .toArray();
  return rows.sort((a, b) => a.offset - b.offset).map((c) => [c.offset, c.size, c.data instanceof Blob]);
}

/** The md5 of a stream, hashed piece by piece as it is read. */
async function streamMd5(stream: ReadableStream<Uint8Array>): Promise<string> {
  const md5 = await createMD5();
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) md5.update(next.value);
  return `md5:${md5.digest('hex')}`;
}

/** Bytes `[start, end)` of `blob`, as an array of numbers (readable in a failed expectation). */
const bytesOf = async (blob: Blob, start: number, end: number) => [
  ...new Uint8Array(await blob.slice(start, end).arrayBuffer()),
];

/** The ranges a layout can get wrong: the ends, and each side of every `step` boundary. */
function boundaryRanges(size: number, step: number): [number, number][] {
  const ranges: [number, number][] = [
    [0, 1],
    [size - 1, size],
    [0, size],
  ];
  for (let at = step; at < size; at += step) ranges.push([at - 3, at + 5], [at - 1, at], [at, at + 1]);
  return ranges;
}

describe('a Blob or File source stored as one stored Blob', () => {
  it('stores a Blob larger than the default chunk as one stored Blob and reads it back whole', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const { blob, md5 } = variedBlob(40);

    const version = await bucket.objects.put('big.bin', blob);

    expect(await layoutOf(coffer, version)).toEqual([[0, 40 * MiB, true]]);
    expect(version.checksum).toBe(await md5());
    expect(await streamMd5(await version.stream())).toBe(version.checksum);
    expect(await streamMd5((await version.blob()).stream())).toBe(version.checksum);
  });

  it('reads ranges at the ends and across the former 32 MiB chunk boundary byte for byte', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const { blob } = variedBlob(40);
    const version = await bucket.objects.put('big.bin', blob);

    for (const [start, end] of boundaryRanges(blob.size, 32 * MiB).filter(([s, e]) => e - s < MiB)) {
      expect(await bytesOf(await version.slice(start, end), 0, end - start)).toEqual(
        await bytesOf(blob, start, end),
      );
    }
  });

  it('cuts a Blob larger than blobChunkSize into slices of blobChunkSize, every boundary readable', async () => {
    const coffer = await open({ blobChunkSize: 3 * MiB + 5 });
    const bucket = await coffer.buckets.create();
    const { blob, md5 } = variedBlob(10);

    const version = await bucket.objects.put('sliced.bin', blob);

    const step = 3 * MiB + 5;
    expect(await layoutOf(coffer, version)).toEqual([
      [0, step, true],
      [step, step, true],
      [2 * step, step, true],
      [3 * step, 10 * MiB - 3 * step, true],
    ]);
    expect(version.checksum).toBe(await md5());
    for (const [start, end] of boundaryRanges(blob.size, step).filter(([s, e]) => e - s < MiB)) {
      expect(await bytesOf(await version.slice(start, end), 0, end - start)).toEqual(
        await bytesOf(blob, start, end),
      );
    }
    const across = await version.stream(step - 2, 2 * step + 2);
    expect(await streamMd5(across)).toBe(await streamMd5(blob.slice(step - 2, 2 * step + 2).stream()));
  });

  it('keeps chunkSize chunks for the same bytes as a stream or an ArrayBuffer', async () => {
    // Without dedupe, so that each write keeps the file instance it wrote.
    const coffer = await open({ chunkSize: MiB, blobChunkSize: 8 * MiB, dedupe: false });
    const bucket = await coffer.buckets.create();
    const { blob } = variedBlob(3);

    const fromBlob = await bucket.objects.put('blob.bin', blob);
    const fromBytes = await bucket.objects.put('bytes.bin', await blob.arrayBuffer());
    const fromStream = await bucket.objects.put('stream.bin', blob.stream());

    expect((await layoutOf(coffer, fromBlob)).map(([offset]) => offset)).toEqual([0]);
    expect((await layoutOf(coffer, fromBytes)).map(([offset]) => offset / MiB)).toEqual([0, 1, 2]);
    expect((await layoutOf(coffer, fromStream)).map(([offset]) => offset / MiB)).toEqual([0, 1, 2]);
    expect(new Set([fromBlob.checksum, fromBytes.checksum, fromStream.checksum]).size).toBe(1);
  });

  it('cuts Blob sources by an explicit chunkSize when blobChunkSize is not given', async () => {
    const coffer = await open({ chunkSize: MiB });
    const bucket = await coffer.buckets.create();
    const { blob } = variedBlob(3);

    const version = await bucket.objects.put('blob.bin', blob);

    expect((await layoutOf(coffer, version)).map(([offset]) => offset / MiB)).toEqual([0, 1, 2]);
  });
});

describe('Range responses of the service worker handler', () => {
  it('serves 206 ranges at and across the boundaries of blobChunkSize slices', async () => {
    const coffer = await open({ blobChunkSize: MiB + 3 });
    const bucket = await coffer.buckets.create();
    const { blob } = variedBlob(3);
    const version = await bucket.objects.put('big.bin', blob);

    for (const [start, end] of [
      [MiB, MiB + 5],
      [2 * MiB + 4, 2 * MiB + 7],
      [blob.size - 2, blob.size - 1],
    ]) {
      const response = (await handleFileRequest(
        new Request(new URL(version.url, location.origin), { headers: { Range: `bytes=${start}-${end}` } }),
        coffer,
      ))!;
      expect(response.status).toBe(206);
      expect([...new Uint8Array(await response.arrayBuffer())]).toEqual(
        await bytesOf(blob, start!, end! + 1),
      );
    }
  });
});

describe('a database holding files of both layouts', () => {
  /**
   * A coffer with a file written as 1 MiB chunks (the layout of an older coffer), then opened
   * again with the defaults and given a file stored as one Blob, in the same bucket.
   */
  async function mixed() {
    const name = `blob-layout-${crypto.randomUUID()}`;
    const older = await open({ name, blobChunkSize: MiB });
    const bucket = await older.buckets.create();
    const old = variedBlob(5);
    await bucket.objects.put('old.bin', old.blob);
    older.close();
    const coffer = await open({ name });
    const objects = (await coffer.buckets.get(bucket.id))!.objects;
    const now = variedBlob(6);
    await objects.put('new.bin', now.blob);
    const [oldVersion, newVersion] = await Promise.all([objects.get('old.bin'), objects.get('new.bin')]);
    return { coffer, objects, old: { ...old, version: oldVersion! }, now: { ...now, version: newVersion! } };
  }

  it('reads both files, whole, streamed and in ranges', async () => {
    const { coffer, old, now } = await mixed();

    expect((await layoutOf(coffer, old.version)).length).toBe(5);
    expect((await layoutOf(coffer, now.version)).length).toBe(1);
    for (const { blob, version, md5 } of [old, now]) {
      expect(version.checksum).toBe(await md5());
      expect(await streamMd5(await version.stream())).toBe(version.checksum);
      const start = MiB - 7;
      expect(await bytesOf(await version.slice(start, start + 20), 0, 20)).toEqual(
        await bytesOf(blob, start, start + 20),
      );
    }
  });

  it('verifies both files and collects no garbage among them', async () => {
    const { coffer } = await mixed();

    const fixity = await coffer.verifyChecksums();
    const gc = await coffer.gc({ graceMs: 0 });

    expect(fixity.failed).toEqual([]);
    expect(fixity.checked).toBe(2);
    expect(gc.files).toBe(0);
    expect(gc.chunks).toBe(0);
  });

  it('exports both files and imports them into a fresh coffer byte for byte', async () => {
    const { coffer, old, now } = await mixed();
    const target = await open();

    await target.import(await coffer.export());

    const [bucket] = await target.buckets.list();
    for (const { version, md5 } of [old, now]) {
      const imported = await bucket!.objects.get(version.key);
      expect(imported!.checksum).toBe(await md5());
      expect(await streamMd5(await imported!.stream())).toBe(imported!.checksum);
    }
  });
});

describe('a 2 GiB File', () => {
  it('is stored in slices of the default blobChunkSize and read back across their boundaries', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const piece = new Uint8Array(MiB);
    for (let i = 0; i < piece.length; i++) piece[i] = (i * 31 + 7) % 251;
    const pieceBlob = new Blob([piece]);
    const tail = new Blob(['the end']);
    // 2 GiB of the same piece, as references to one Blob: the page holds 1 MiB.
    const file = new File([...Array.from({ length: 2048 }, () => pieceBlob), tail], 'huge.bin');
    const expected = await createMD5();
    for (let i = 0; i < 2048; i++) expected.update(piece);
    expected.update(new TextEncoder().encode('the end'));
    const step = coffer.context.settings.blobChunkSize!;

    const version = await bucket.objects.put('huge.bin', file);

    const layout = await layoutOf(coffer, version);
    expect(layout.map(([offset]) => offset)).toEqual(
      Array.from({ length: Math.ceil(file.size / step) }, (_, i) => i * step),
    );
    expect(layout.reduce((sum, [, size]) => sum + size, 0)).toBe(file.size);
    expect(version.checksum).toBe(`md5:${expected.digest('hex')}`);
    for (let at = step; at < file.size; at += step) {
      expect(await bytesOf(await version.slice(at - 3, at + 5), 0, 8)).toEqual(
        await bytesOf(file, at - 3, at + 5),
      );
    }
    expect(await (await version.slice(file.size - 7)).text()).toBe('the end');
  }, 240_000);

  it('gets a default blobChunkSize of at most 1 GiB and a sixteenth of the origin quota', async () => {
    const { quota } = await navigator.storage.estimate();

    const coffer = await open();

    const step = coffer.context.settings.blobChunkSize!;
    expect(step).toBeLessThanOrEqual(1024 * MiB);
    expect(step).toBeLessThanOrEqual(quota! / 16);
    expect(step).toBeGreaterThanOrEqual(coffer.context.settings.chunkSize);
  });
});
