/**
 * A ZIP writer whose output is a Blob built from parts, so that memory stays bounded: stored
 * chunk Blobs are referenced, not copied, and bytes in memory are wrapped into a Blob every few
 * MiB. Entries are written whole (size and CRC known), so local headers carry their real sizes
 * and no data descriptors are needed. ZIP64 fields appear where sizes, offsets or the entry count
 * need them (fflate's own `Zip` has no ZIP64, and a coffer can exceed 4 GiB).
 *
 * @module
 */

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const FLAG_UTF8 = 0x0800;
/** Made by: Unix (3), so that the external attributes below are read as a file mode. */
const MADE_BY = (3 << 8) | 45;
const FILE_MODE = 0o100644 << 16;

/** An entry's content: Blobs (handles, not bytes) or bytes. */
export type ZipPart = Blob | Uint8Array;

/** What the central directory needs of an entry. */
export interface ZipEntryInfo {
  name: string;
  /** 0: stored, 8: deflated. */
  method: 0 | 8;
  crc: number;
  size: number;
  compressedSize: number;
  modified: Date;
}

interface WrittenEntry extends ZipEntryInfo {
  nameBytes: Uint8Array;
  offset: number;
}

/**
 * A list of Blob parts that wraps the bytes it holds into a Blob every `flushBytes` (and keeps
 * the number of parts small), so that the JS heap holds at most `flushBytes` of them.
 */
export class BlobParts {
  private blobs: Blob[] = [];
  private pending: ZipPart[] = [];
  private pendingBytes = 0;
  /** Bytes pushed so far. */
  size = 0;

  constructor(private readonly flushBytes = 8 * 1024 * 1024) {}

  push(part: ZipPart): void {
    const length = part instanceof Blob ? part.size : part.byteLength;
    if (length === 0) return;
    this.pending.push(part);
    this.size += length;
    if (!(part instanceof Blob)) this.pendingBytes += length;
    if (this.pendingBytes >= this.flushBytes || this.pending.length >= 512) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.blobs.push(new Blob(this.pending as BlobPart[]));
    this.pending = [];
    this.pendingBytes = 0;
    if (this.blobs.length >= 512) this.blobs = [new Blob(this.blobs)];
  }

  /** Everything pushed, as Blobs. */
  toBlobs(): Blob[] {
    this.flush();
    return this.blobs;
  }
}

const encoder = new TextEncoder();

/** Date and time in MS-DOS format, local time as the format expects, clamped to 1980–2107. */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.min(Math.max(date.getFullYear(), 1980), 2107);
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/** A ZIP archive written entry by entry into Blob parts. */
export class ZipWriter {
  private readonly out = new BlobParts();
  private readonly entries: WrittenEntry[] = [];
  private readonly names = new Set<string>();

  /** @param forceZip64 write ZIP64 fields even where not needed (for tests). */
  constructor(private readonly forceZip64 = false) {}

  /** Bytes written so far. */
  get size(): number {
    return this.out.size;
  }

  /** Append one entry: its local header, then `content` (already deflated when `method` is 8). */
  add(info: ZipEntryInfo, content: readonly ZipPart[]): void {
    if (this.names.has(info.name)) throw new Error(`Duplicate ZIP entry ${info.name}.`);
    this.names.add(info.name);
    const entry: WrittenEntry = { ...info, nameBytes: encoder.encode(info.name), offset: this.out.size };
    this.entries.push(entry);
    this.out.push(this.localHeader(entry));
    for (const part of content) this.out.push(part);
  }

  /** Write the central directory and return the archive. */
  finish(): Blob {
    const start = this.out.size;
    for (const entry of this.entries) this.out.push(this.centralHeader(entry));
    const size = this.out.size - start;
    const count = this.entries.length;
    const zip64 = this.forceZip64 || count >= MAX16 || size >= MAX32 || start >= MAX32;
    if (zip64) {
      const recordOffset = this.out.size;
      const record = new DataView(new ArrayBuffer(56 + 20));
      record.setUint32(0, 0x06064b50, true);
      record.setBigUint64(4, 44n, true);
      record.setUint16(12, MADE_BY, true);
      record.setUint16(14, 45, true);
      record.setBigUint64(24, BigInt(count), true);
      record.setBigUint64(32, BigInt(count), true);
      record.setBigUint64(40, BigInt(size), true);
      record.setBigUint64(48, BigInt(start), true);
      record.setUint32(56, 0x07064b50, true);
      record.setBigUint64(64, BigInt(recordOffset), true);
      record.setUint32(72, 1, true);
      this.out.push(new Uint8Array(record.buffer));
    }
    const end = new DataView(new ArrayBuffer(22));
    end.setUint32(0, 0x06054b50, true);
    end.setUint16(8, zip64 ? MAX16 : count, true);
    end.setUint16(10, zip64 ? MAX16 : count, true);
    end.setUint32(12, zip64 ? MAX32 : size, true);
    end.setUint32(16, zip64 ? MAX32 : start, true);
    this.out.push(new Uint8Array(end.buffer));
    return new Blob(this.out.toBlobs(), { type: 'application/zip' });
  }

  private localHeader(entry: WrittenEntry): Uint8Array {
    const zip64 = this.forceZip64 || entry.size >= MAX32 || entry.compressedSize >= MAX32;
    const extra = zip64 ? 20 : 0;
    const view = new DataView(new ArrayBuffer(30 + entry.nameBytes.length + extra));
    const { time, date } = dosDateTime(entry.modified);
    view.setUint32(0, 0x04034b50, true);
    view.setUint16(4, zip64 ? 45 : 20, true);
    view.setUint16(6, FLAG_UTF8, true);
    view.setUint16(8, entry.method, true);
    view.setUint16(10, time, true);
    view.setUint16(12, date, true);
    view.setUint32(14, entry.crc, true);
    view.setUint32(18, zip64 ? MAX32 : entry.compressedSize, true);
    view.setUint32(22, zip64 ? MAX32 : entry.size, true);
    view.setUint16(26, entry.nameBytes.length, true);
    view.setUint16(28, extra, true);
    new Uint8Array(view.buffer).set(entry.nameBytes, 30);
    if (zip64) {
      const at = 30 + entry.nameBytes.length;
      view.setUint16(at, 0x0001, true);
      view.setUint16(at + 2, 16, true);
      view.setBigUint64(at + 4, BigInt(entry.size), true);
      view.setBigUint64(at + 12, BigInt(entry.compressedSize), true);
    }
    return new Uint8Array(view.buffer);
  }

  private centralHeader(entry: WrittenEntry): Uint8Array {
    const force = this.forceZip64;
    const wide = [
      force || entry.size >= MAX32 ? entry.size : undefined,
      force || entry.compressedSize >= MAX32 ? entry.compressedSize : undefined,
      force || entry.offset >= MAX32 ? entry.offset : undefined,
    ].filter((n) => n !== undefined);
    const extra = wide.length > 0 ? 4 + 8 * wide.length : 0;
    const view = new DataView(new ArrayBuffer(46 + entry.nameBytes.length + extra));
    const { time, date } = dosDateTime(entry.modified);
    view.setUint32(0, 0x02014b50, true);
    view.setUint16(4, MADE_BY, true);
    view.setUint16(6, extra ? 45 : 20, true);
    view.setUint16(8, FLAG_UTF8, true);
    view.setUint16(10, entry.method, true);
    view.setUint16(12, time, true);
    view.setUint16(14, date, true);
    view.setUint32(16, entry.crc, true);
    view.setUint32(20, force ? MAX32 : Math.min(entry.compressedSize, MAX32), true);
    view.setUint32(24, force ? MAX32 : Math.min(entry.size, MAX32), true);
    view.setUint16(28, entry.nameBytes.length, true);
    view.setUint16(30, extra, true);
    view.setUint32(38, FILE_MODE, true);
    view.setUint32(42, force ? MAX32 : Math.min(entry.offset, MAX32), true);
    new Uint8Array(view.buffer).set(entry.nameBytes, 46);
    if (extra) {
      let at = 46 + entry.nameBytes.length;
      view.setUint16(at, 0x0001, true);
      view.setUint16(at + 2, 8 * wide.length, true);
      at += 4;
      for (const value of wide) {
        view.setBigUint64(at, BigInt(value), true);
        at += 8;
      }
    }
    return new Uint8Array(view.buffer);
  }
}
