/** One file of {@link zipBlobs}. */
export interface ZipEntry {
  /** Its path in the archive; `/` separates folders. */
  name: string;
  blob: Blob;
  modified?: Date | undefined;
}

/** The CRC-32 table (reflected polynomial 0xedb88320). */
function crcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The CRC-32 of `blob`, read as a stream; `onRead` gets the bytes read so far every few MiB. */
async function crc32(table: Uint32Array, blob: Blob, onRead: (read: number) => void): Promise<number> {
  let crc = 0xffffffff;
  let read = 0;
  let reported = 0;
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    for (let i = 0; i < value.length; i++) crc = table[(crc ^ value[i]!) & 0xff]! ^ (crc >>> 8);
    read += value.length;
    if (read - reported >= 4 * 1024 * 1024) {
      reported = read;
      onRead(read);
    }
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * The worker's program. It is sent as source text, so it takes what it uses as arguments
 * (a bundler may rename module-level names, never a function's own parameters).
 */
function crcWorker(table: Uint32Array, checksum: typeof crc32): void {
  addEventListener('message', async (event: MessageEvent<{ id: number; blob: Blob }>) => {
    const { id, blob } = event.data;
    try {
      const crc = await checksum(table, blob, (read) => postMessage({ id, read }));
      postMessage({ id, crc });
    } catch (error) {
      postMessage({ id, error: String(error) });
    }
  });
}

type CrcAnswer = { id: number; read?: number; crc?: number; error?: string };

/**
 * CRC-32s computed in a worker of their own, off the page: 500 MB hashed on the page blocked
 * it for up to 104 ms at a time. The worker is made from a Blob URL, so no bundler needs to
 * know of it; where a page's Content-Security-Policy forbids that (`worker-src` without
 * `blob:`), the page computes them itself.
 */
class CrcHasher {
  private readonly table = crcTable();
  private worker: Worker | undefined;
  /** The worker's source; revoked only when done, since the worker loads it asynchronously. */
  private url: string | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { blob: Blob; onRead: (read: number) => void; resolve: (crc: number) => void; reject: (e: Error) => void }
  >();

  constructor() {
    try {
      const source = `(${crcWorker})((${crcTable})(), ${crc32});`;
      this.url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      this.worker = new Worker(this.url);
      this.worker.addEventListener('message', this.onAnswer);
      this.worker.addEventListener('error', this.onWorkerFailed);
    } catch {
      this.worker = undefined;
    }
  }

  of(blob: Blob, onRead: (read: number) => void): Promise<number> {
    if (!this.worker) return crc32(this.table, blob, onRead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { blob, onRead, resolve, reject });
      this.worker!.postMessage({ id, blob });
    });
  }

  close(): void {
    this.worker?.terminate();
    if (this.url) URL.revokeObjectURL(this.url);
  }

  private onAnswer = ({ data }: MessageEvent<CrcAnswer>): void => {
    const job = this.pending.get(data.id);
    if (!job) return;
    if (data.read !== undefined) job.onRead(data.read);
    if (data.crc === undefined && data.error === undefined) return;
    this.pending.delete(data.id);
    if (data.crc !== undefined) job.resolve(data.crc);
    else job.reject(new Error(data.error));
  };

  /** The worker could not start (a policy forbids it): hash here what was sent to it. */
  private onWorkerFailed = (event: Event): void => {
    event.preventDefault();
    this.worker?.terminate();
    this.worker = undefined;
    for (const [id, job] of this.pending) {
      this.pending.delete(id);
      crc32(this.table, job.blob, job.onRead).then(job.resolve, job.reject);
    }
  };
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
 * The bytes are only read to compute each CRC-32, in a worker, and never copied: the result is a Blob made
 * of the source Blobs between small headers. Plain ZIP, so at most 65,535 files and 4 GiB.
 *
 * @throws {RangeError} when the archive would pass those limits.
 * @example
 * ```ts
 * saveBlob(await zipBlobs([{ name: 'raw/a.tif', blob }]), 'files.zip');
 * ```
 */
export async function zipBlobs(
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
  let read = 0;
  const hasher = new CrcHasher();
  try {
    for (const entry of entries) {
      const name = encoder.encode(safePath(entry.name));
      const crc = await hasher.of(entry.blob, (partly) => onProgress?.(read + partly, total));
      read += entry.blob.size;
      onProgress?.(read, total);
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
  } finally {
    hasher.close();
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
