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
