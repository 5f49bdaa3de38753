import { AbortError, InvalidArgumentError, type Progress } from '@coffer/core';
import { describe, expect } from 'vitest';
import { blob, caught, it, rowCounts } from '../helpers/coffer.js';

const MiB = 1024 * 1024;

/** 9 MiB of the bytes 0 to 255, over and over; its CRC-32, by Python's zlib, is 0x3cc78a40. */
const nineMiB = () => {
  const bytes = new Uint8Array(9 * MiB);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
  return new Blob([bytes]);
};

describe('coffer.crc32', () => {
  it('gives the CRC-32 of each Blob, in order, as ZIP and zlib compute it', async ({ coffer }) => {
    const crcs = await coffer.crc32([blob('hello'), new Blob([]), nineMiB()]);

    expect(crcs).toEqual([0x3610a686, 0, 0x3cc78a40]);
  });

  it('reports progress over all the Blobs, ending at their total, and stores nothing', async ({ coffer }) => {
    const before = await rowCounts(coffer);
    const progress: Progress[] = [];

    await coffer.crc32([nineMiB(), blob('hello')], { onProgress: (p) => progress.push(p) });

    const total = 9 * MiB + 5;
    expect(progress.some((p) => p.loaded > 0 && p.loaded < total)).toBe(true);
    expect(progress.map((p) => p.loaded)).toEqual(progress.map((p) => p.loaded).sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual({ loaded: total, total });
    expect(await rowCounts(coffer)).toEqual(before);
  });

  it('refuses what is not an array of Blobs with InvalidArgumentError naming sources', async ({ coffer }) => {
    for (const sources of [blob('a'), ['a'], [blob('a'), new Uint8Array(1)], null]) {
      const error = await caught(() => coffer.crc32(sources as Blob[]));

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'sources' });
    }
  });

  it('stops mid-way when its signal fires', async ({ coffer }) => {
    const controller = new AbortController();
    const seen: number[] = [];

    const error = await caught(() =>
      coffer.crc32([nineMiB(), nineMiB()], {
        signal: controller.signal,
        onProgress: ({ loaded }) => {
          seen.push(loaded);
          controller.abort();
        },
      }),
    );

    expect(error).toBeInstanceOf(AbortError);
    expect(Math.max(...seen)).toBeLessThan(18 * MiB);
  });
});
