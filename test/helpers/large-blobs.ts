import { createMD5 } from 'hash-wasm';

export const MiB = 1024 * 1024;

/** The JS heap in use, ArrayBuffer backing stores included (precise in headless Chromium). */
export const heapUsed = (): number => {
  // With --js-flags=--expose-gc (test/helpers/chromium.ts) this is the live heap: garbage not yet
  // collected varied from 36 to 127 MiB between runs of the same export.
  (globalThis as { gc?: () => void }).gc?.();
  return (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize;
};

/** A Blob of `mebibytes` MiB made of one 1 MiB piece repeated: the page holds only the piece. */
export function repeatedBlob(mebibytes: number): { blob: Blob; piece: Uint8Array<ArrayBuffer> } {
  const piece = new Uint8Array(MiB);
  for (let i = 0; i < piece.length; i++) piece[i] = (i * 31 + 7) % 251;
  return { blob: new Blob(Array.from({ length: mebibytes }, () => piece)), piece };
}

/** The md5 of `count` copies of `piece`, computed without building them. */
export async function repeatedMd5(piece: Uint8Array, count: number): Promise<string> {
  const md5 = await createMD5();
  for (let i = 0; i < count; i++) md5.update(piece);
  return `md5:${md5.digest('hex')}`;
}

/**
 * A Blob of `mebibytes` MiB in which every MiB differs (so that parts sent out of order, twice
 * or not at all change the md5), while the page holds only a 2 MiB random pool: MiB `i` is
 * the pool's 1 MiB window at offset `i × 4099 mod 1 MiB` (4099 is odd, so the first 1,048,576
 * offsets are distinct). `md5()` digests the same windows without building the file.
 */
export function variedBlob(mebibytes: number): { blob: Blob; md5: () => Promise<string> } {
  const pool = new Uint8Array(2 * MiB);
  for (let at = 0; at < pool.length; at += 65_536) crypto.getRandomValues(pool.subarray(at, at + 65_536));
  const window = (i: number) => {
    const offset = (i * 4099) % MiB;
    return pool.subarray(offset, offset + MiB);
  };
  // Groups of 64 MiB, then a Blob of those Blobs: the renderer copies one group at a time.
  const groups: Blob[] = [];
  for (let first = 0; first < mebibytes; first += 64) {
    const count = Math.min(64, mebibytes - first);
    groups.push(new Blob(Array.from({ length: count }, (_, j) => window(first + j))));
  }
  const md5 = async () => {
    const hasher = await createMD5();
    for (let i = 0; i < mebibytes; i++) hasher.update(window(i));
    return `md5:${hasher.digest('hex')}`;
  };
  return { blob: new Blob(groups), md5 };
}

/**
 * Samples {@link heapUsed} every `every` ms (and at each `sample()` call) from now until
 * `stop()`, which returns the largest growth over the heap at the start.
 */
export function heapSampler(every = 100): { sample: () => void; stop: () => number } {
  const baseline = heapUsed();
  let peak = baseline;
  const sample = () => {
    peak = Math.max(peak, heapUsed());
  };
  const timer = setInterval(sample, every);
  return {
    sample,
    stop: () => {
      clearInterval(timer);
      sample();
      return peak - baseline;
    },
  };
}
