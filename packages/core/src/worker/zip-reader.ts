/**
 * A defensive ZIP reader over a Blob: it reads the central directory from the end with slice
 * reads (never the whole archive), refuses what is unsafe before any entry is read, and streams
 * each entry with its size and CRC checked as it goes.
 *
 * @module
 */
import { Inflate } from 'fflate';
import { createCRC32, type IHasher } from 'hash-wasm';
import { type BagProblem, InvalidBagError } from '../errors.js';
import { pathProblem } from '../model/bagit.js';

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const EOCD_SIZE = 22;
/** Compressed bytes handed to the inflater at once: deflate expands at most ~1032×. */
const INFLATE_INPUT = 16 * 1024;

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  directory: boolean;
  method: 0 | 8;
  flags: number;
  crc: number;
  size: number;
  compressedSize: number;
  offset: number;
  /** Where the next entry (or the central directory) starts: the entry's data must end before. */
  boundary: number;
}

/** Bounds on what an archive may declare. */
export interface ZipLimits {
  /** The most uncompressed bytes, all entries together. */
  maxSize: number;
  /** The highest size / compressed size of a deflated entry over 1 MiB. */
  maxRatio: number;
  /** The most entries. */
  maxEntries: number;
}

const fail = (reason: BagProblem, message: string, path?: string, cause?: unknown): never => {
  throw new InvalidBagError(reason, message, {
    ...(path === undefined ? {} : { path }),
    ...(cause === undefined ? {} : { cause }),
  });
};

const read = async (blob: Blob, start: number, end: number): Promise<DataView> =>
  new DataView(await blob.slice(start, end).arrayBuffer());

const u64 = (view: DataView, at: number): number => {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail('unsupported-zip', 'A ZIP64 field is out of range.');
  return Number(value);
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    return fail('unsupported-zip', 'An entry name is not UTF-8.', undefined, cause);
  }
}

/** The ZIP64 extended information field (0x0001), where the 32-bit fields overflowed. */
function readZip64Extra(
  extra: DataView,
  wants: { size: boolean; compressedSize: boolean; offset: boolean },
  name: string,
): { size?: number; compressedSize?: number; offset?: number } {
  for (let at = 0; at + 4 <= extra.byteLength; ) {
    const id = extra.getUint16(at, true);
    const length = extra.getUint16(at + 2, true);
    if (at + 4 + length > extra.byteLength) break;
    if (id === 0x0001) {
      const out: { size?: number; compressedSize?: number; offset?: number } = {};
      let field = at + 4;
      for (const key of ['size', 'compressedSize', 'offset'] as const) {
        if (!wants[key]) continue;
        if (field + 8 > at + 4 + length) fail('unsupported-zip', 'A ZIP64 field is missing.', name);
        out[key] = u64(extra, field);
        field += 8;
      }
      return out;
    }
    at += 4 + length;
  }
  return wants.size || wants.compressedSize || wants.offset
    ? fail('unsupported-zip', 'A ZIP64 field is missing.', name)
    : {};
}

/** Find the end of central directory record and, behind it, the ZIP64 one. */
async function readEnd(
  blob: Blob,
): Promise<{ count: number; cdStart: number; cdSize: number; cdEnd: number }> {
  const tailStart = Math.max(0, blob.size - (EOCD_SIZE + MAX16));
  const tail = await read(blob, tailStart, blob.size);
  let at = -1;
  for (let i = tail.byteLength - EOCD_SIZE; i >= 0; i--) {
    if (
      tail.getUint32(i, true) === 0x06054b50 &&
      i + EOCD_SIZE + tail.getUint16(i + 20, true) === tail.byteLength
    ) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    const head = blob.size >= 4 ? await read(blob, 0, 4) : undefined;
    if (head?.getUint32(0, true) === 0x04034b50)
      fail('truncated', 'The archive is truncated: it has no end record.');
    fail('not-zip', 'This is not a ZIP archive.');
  }
  const eocd = tailStart + at;
  if (tail.getUint16(at + 4, true) !== 0 || tail.getUint16(at + 6, true) !== 0) {
    fail('unsupported-zip', 'Archives split over several disks are not supported.');
  }
  let count = tail.getUint16(at + 10, true);
  let cdSize = tail.getUint32(at + 12, true);
  let cdStart = tail.getUint32(at + 16, true);
  let cdEnd = eocd;
  const locator = eocd >= 20 ? await read(blob, eocd - 20, eocd) : undefined;
  const hasLocator = locator?.getUint32(0, true) === 0x07064b50;
  if (count === MAX16 || cdSize === MAX32 || cdStart === MAX32 || hasLocator) {
    if (!locator || !hasLocator) fail('truncated', 'The ZIP64 locator is missing.');
    const recordAt = u64(locator as DataView, 8);
    if (recordAt + 56 > eocd - 20) fail('truncated', 'The ZIP64 end record is out of bounds.');
    const record = await read(blob, recordAt, recordAt + 56);
    if (record.getUint32(0, true) !== 0x06064b50) fail('truncated', 'The ZIP64 end record is missing.');
    count = u64(record, 32);
    cdSize = u64(record, 40);
    cdStart = u64(record, 48);
    cdEnd = recordAt;
  }
  if (cdStart + cdSize !== cdEnd) {
    fail(
      cdStart + cdSize > cdEnd ? 'truncated' : 'unsupported-zip',
      'The central directory is not where the end record says.',
    );
  }
  return { count, cdStart, cdSize, cdEnd };
}

/**
 * Read and check the central directory: every entry's name is a safe relative path, no name
 * appears twice, declared sizes stay within `limits`, entries do not overlap.
 *
 * The end record must declare every entry the central directory holds.
 *
 * @throws {InvalidBagError} `not-zip`, `truncated`, `unsupported-zip`, `unsafe-path`,
 * `duplicate-entry`, `size-mismatch`, `compression-ratio`, `too-large`, `overlapping-entries`.
 */
export async function readZipDirectory(blob: Blob, limits: ZipLimits): Promise<ZipEntry[]> {
  const { count, cdStart, cdSize } = await readEnd(blob);
  if (count > limits.maxEntries)
    fail('too-large', `The archive has ${count} entries, more than ${limits.maxEntries}.`);
  if (cdSize > count * (46 + 3 * MAX16))
    fail('unsupported-zip', 'The central directory is larger than its entries.');
  const cd = await read(blob, cdStart, cdStart + cdSize);
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let total = 0;
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.byteLength || cd.getUint32(at, true) !== 0x02014b50)
      fail('truncated', 'The central directory is damaged.');
    const flags = cd.getUint16(at + 8, true);
    const crc = cd.getUint32(at + 16, true);
    const method = cd.getUint16(at + 10, true);
    const nameLength = cd.getUint16(at + 28, true);
    const extraLength = cd.getUint16(at + 30, true);
    const commentLength = cd.getUint16(at + 32, true);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > cd.byteLength) fail('truncated', 'The central directory is damaged.');
    const name = decodeName(new Uint8Array(cd.buffer, at + 46, nameLength));
    let compressedSize = cd.getUint32(at + 20, true);
    let size = cd.getUint32(at + 24, true);
    let offset = cd.getUint32(at + 42, true);
    const wide = readZip64Extra(
      new DataView(cd.buffer, at + 46 + nameLength, extraLength),
      { size: size === MAX32, compressedSize: compressedSize === MAX32, offset: offset === MAX32 },
      name,
    );
    size = wide.size ?? size;
    compressedSize = wide.compressedSize ?? compressedSize;
    offset = wide.offset ?? offset;
    at = next;

    if (flags & 0x41) fail('unsupported-zip', 'Encrypted entries are not supported.', name);
    if (method !== 0 && method !== 8)
      fail('unsupported-zip', `Compression method ${method} is not supported.`, name);
    const directory = name.endsWith('/');
    const problem = pathProblem(directory ? name.slice(0, -1) : name);
    if (problem) fail('unsafe-path', `An entry has an unsafe path: ${problem}.`, name);
    if (names.has(name)) fail('duplicate-entry', 'An entry appears twice.', name);
    names.add(name);
    if (directory && size !== 0) fail('size-mismatch', 'A directory entry has content.', name);
    if (method === 0 && compressedSize !== size)
      fail('size-mismatch', 'A stored entry’s sizes differ.', name);
    if (method === 8 && size > 1024 * 1024 && size > compressedSize * limits.maxRatio) {
      fail('compression-ratio', `An entry expands more than ${limits.maxRatio}×.`, name);
    }
    total += size;
    if (total > limits.maxSize)
      fail('too-large', `The archive would expand to more than ${limits.maxSize} bytes.`, name);
    entries.push({
      name,
      directory,
      method: method as 0 | 8,
      flags,
      crc,
      size,
      compressedSize,
      offset,
      boundary: cdStart,
    });
  }
  if (at !== cd.byteLength)
    fail('unsupported-zip', 'The central directory holds more entries than the end record declares.');
  const byOffset = [...entries].sort((a, b) => a.offset - b.offset);
  byOffset.forEach((entry, i) => {
    entry.boundary = byOffset[i + 1]?.offset ?? cdStart;
    if (entry.offset + 30 + encodedLength(entry.name) + entry.compressedSize > entry.boundary) {
      fail(
        entry.boundary === cdStart ? 'truncated' : 'overlapping-entries',
        'An entry runs past where the next begins.',
        entry.name,
      );
    }
  });
  return entries;
}

const encodedLength = (text: string): number => new TextEncoder().encode(text).length;

/**
 * Where an entry's data starts, after checking its local header against the central directory.
 *
 * @throws {InvalidBagError} `size-mismatch` when the local header disagrees, `truncated` or
 * `overlapping-entries` when the data runs past the entry's bounds.
 */
export async function entryDataStart(blob: Blob, entry: ZipEntry): Promise<number> {
  const head = await read(blob, entry.offset, Math.min(entry.offset + 30, blob.size));
  if (head.byteLength < 30 || head.getUint32(0, true) !== 0x04034b50)
    fail('truncated', 'A local header is missing.', entry.name);
  const nameLength = head.getUint16(26, true);
  const extraLength = head.getUint16(28, true);
  const start = entry.offset + 30 + nameLength + extraLength;
  if (start + entry.compressedSize > entry.boundary)
    fail('overlapping-entries', 'An entry runs past where the next begins.', entry.name);
  const rest = await read(blob, entry.offset + 30, start);
  if (decodeName(new Uint8Array(rest.buffer, 0, nameLength)) !== entry.name) {
    fail('size-mismatch', 'A local header names another entry.', entry.name);
  }
  const flags = head.getUint16(6, true);
  if (!(flags & 0x08)) {
    let compressedSize = head.getUint32(18, true);
    let size = head.getUint32(22, true);
    const wide = readZip64Extra(
      new DataView(rest.buffer, nameLength, extraLength),
      { size: size === MAX32, compressedSize: compressedSize === MAX32, offset: false },
      entry.name,
    );
    size = wide.size ?? size;
    compressedSize = wide.compressedSize ?? compressedSize;
    if (
      size !== entry.size ||
      compressedSize !== entry.compressedSize ||
      head.getUint32(14, true) !== entry.crc
    ) {
      fail(
        'size-mismatch',
        'The local header and the central directory disagree on the entry’s size.',
        entry.name,
      );
    }
  }
  if (head.getUint16(8, true) !== entry.method)
    fail('size-mismatch', 'The local header has another method.', entry.name);
  return start;
}

/** The chunks of a stream, read until it ends; the stream is cancelled if the loop stops early. */
export async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * The entry's uncompressed bytes as a stream, inflated a little at a time. The stream fails
 * with `size-mismatch` as soon as more bytes than declared come out or fewer in the end, and
 * with `checksum-mismatch` on a bad CRC or damaged deflate data.
 */
export function entryStream(blob: Blob, entry: ZipEntry, start: number): ReadableStream<Uint8Array> {
  const chunks = entryChunks(blob, entry, start);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

async function* entryChunks(blob: Blob, entry: ZipEntry, start: number): AsyncGenerator<Uint8Array> {
  const crc: IHasher = await createCRC32();
  let produced = 0;
  const accept = (bytes: Uint8Array) => {
    produced += bytes.length;
    if (produced > entry.size)
      fail('size-mismatch', 'An entry holds more bytes than its header says.', entry.name);
    crc.update(bytes);
  };
  const source = blob.slice(start, start + entry.compressedSize).stream();
  if (entry.method === 0) {
    for await (const piece of chunksOf(source)) {
      accept(piece);
      yield piece;
    }
  } else {
    const out: Uint8Array[] = [];
    const inflate = new Inflate((data) => {
      if (data.length > 0) out.push(data);
    });
    const push = (data: Uint8Array, final: boolean) => {
      try {
        inflate.push(data, final);
      } catch (cause) {
        fail('checksum-mismatch', 'An entry’s compressed data is damaged.', entry.name, cause);
      }
    };
    for await (const piece of chunksOf(source)) {
      for (let at = 0; at < piece.length; at += INFLATE_INPUT) {
        push(piece.subarray(at, at + INFLATE_INPUT), false);
        for (const data of out.splice(0)) {
          accept(data);
          yield data;
        }
      }
    }
    push(new Uint8Array(0), true);
    for (const data of out.splice(0)) {
      accept(data);
      yield data;
    }
  }
  if (produced !== entry.size)
    fail('size-mismatch', 'An entry holds fewer bytes than its header says.', entry.name);
  if (Number.parseInt(crc.digest('hex'), 16) !== entry.crc)
    fail('checksum-mismatch', 'An entry fails its CRC.', entry.name);
}

/** An entry's bytes in memory, for small entries (tag files and JSON documents). */
export async function readEntry(blob: Blob, entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
  if (entry.size > maxBytes) fail('too-large', `An entry is larger than ${maxBytes} bytes.`, entry.name);
  const bytes = new Uint8Array(entry.size);
  let at = 0;
  for await (const chunk of chunksOf(entryStream(blob, entry, await entryDataStart(blob, entry)))) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
