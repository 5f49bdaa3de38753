import type { Coffer } from '@coffer/core';

/** One file of {@link zipBlobs}. */
export interface ZipEntry {
  /** Its path in the archive; `/` separates folders. */
  name: string;
  blob: Blob;
  modified?: Date | undefined;
}

/** A name safe to unzip anywhere: no leading slash, no `..` segment, forward slashes. */
const safePath = (name: string): string =>
  name
    .replace(/\\/g, '/')
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .map((part) => (part === '..' ? '_' : part))
    .join('/') || 'file';

const dosTime = (d: Date) => (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1);
const dosDate = (d: Date) =>
  ((Math.max(d.getFullYear(), 1980) - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();

/**
 * A ZIP (stored, not compressed: photos and scans do not shrink) of `entries`, at their paths.
 * The bytes are only read to compute each CRC-32, in `coffer`'s worker ({@link Coffer.crc32}),
 * and never copied: the result is a Blob made of the source Blobs between small headers. Plain
 * ZIP, so at most 65,535 files and 4 GiB.
 *
 * @param coffer - The open coffer whose byte pipeline reads the Blobs (any Blobs, not only its files).
 * @param onProgress - Bytes read so far, of the total of every entry.
 * @throws {RangeError} when the archive would pass those limits.
 * @example
 * ```ts
 * saveBlob(await zipBlobs(coffer, [{ name: 'raw/a.tif', blob }]), 'files.zip');
 * ```
 */
export async function zipBlobs(
  coffer: Pick<Coffer, 'crc32'>,
  entries: readonly ZipEntry[],
  onProgress?: (done: number, total: number) => void,
): Promise<Blob> {
  const total = entries.reduce((sum, e) => sum + e.blob.size, 0);
  if (entries.length > 0xffff || total + entries.length * 200 > 0xffffffff) {
    throw new RangeError('A ZIP of more than 4 GiB or 65,535 files needs ZIP64: use a backup instead.');
  }
  const encoder = new TextEncoder();
  const parts: BlobPart[] = [];
  const central: Uint8Array<ArrayBuffer>[] = [];
  let offset = 0;
  const crcs = await coffer.crc32(
    entries.map((entry) => entry.blob),
    { onProgress: ({ loaded }) => onProgress?.(loaded, total) },
  );
  for (const [index, entry] of entries.entries()) {
    const name = encoder.encode(safePath(entry.name));
    const crc = crcs[index]!;
    const when = entry.modified ?? new Date();
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, 0x0800, true); // names are UTF-8
    local.setUint16(8, 0, true);
    local.setUint16(10, dosTime(when), true);
    local.setUint16(12, dosDate(when), true);
    local.setUint32(14, crc, true);
    local.setUint32(18, entry.blob.size, true);
    local.setUint32(22, entry.blob.size, true);
    local.setUint16(26, name.length, true);
    parts.push(local.buffer, name, entry.blob);
    const dir = new DataView(new ArrayBuffer(46));
    dir.setUint32(0, 0x02014b50, true);
    dir.setUint16(4, 20, true);
    dir.setUint16(6, 20, true);
    for (let i = 6; i < 28; i++) dir.setUint8(i + 2, local.getUint8(i));
    dir.setUint32(42, offset, true);
    const record = new Uint8Array(46 + name.length);
    record.set(new Uint8Array(dir.buffer));
    record.set(name, 46);
    central.push(record);
    offset += 30 + name.length + entry.blob.size;
  }
  const size = central.reduce((sum, c) => sum + c.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, size, true);
  end.setUint32(16, offset, true);
  return new Blob([...parts, ...central, end.buffer], { type: 'application/zip' });
}
