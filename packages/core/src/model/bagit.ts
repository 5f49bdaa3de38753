/**
 * BagIt (RFC 8493) as plain text rules: the bag declaration, manifests, `bag-info.txt`,
 * Payload-Oxum, and the paths a bag may hold. No I/O here.
 *
 * @module
 */
import { type BagProblem, InvalidBagError } from '../errors.js';

/** The bag declaration (`bagit.txt`), RFC 8493 §2.1.1. */
export const BAG_DECLARATION = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';

/** The checksum algorithms Coffer verifies, by their BagIt names (it writes md5 and sha256). */
export type BagAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

const HEX_LENGTH: Record<BagAlgorithm, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

/** The algorithm a (tag) manifest's file name names, if Coffer can verify it. */
export function manifestAlgorithm(name: string): BagAlgorithm | undefined {
  const match = /^(?:tag)?manifest-([a-z0-9]+)\.txt$/.exec(name);
  return match && Object.hasOwn(HEX_LENGTH, match[1] as string) ? (match[1] as BagAlgorithm) : undefined;
}

const fail = (reason: BagProblem, message: string, path?: string): never => {
  throw new InvalidBagError(reason, message, path === undefined ? {} : { path });
};

/** The lines of a tag file, whatever its line endings (LF, CRLF or CR). */
const linesOf = (text: string): string[] => {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
};

/** A manifest path: CR, LF and `%` percent-encoded, and only those (RFC 8493 §2.1.3). */
export const encodeManifestPath = (path: string): string =>
  path.replace(/[%\r\n]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

/** The inverse of {@link encodeManifestPath}. */
export const decodeManifestPath = (text: string): string =>
  text.replace(/%(0A|0D|25)/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** A manifest: one `checksum path` line per file. */
export const formatManifest = (entries: Iterable<readonly [path: string, hex: string]>): string => {
  let text = '';
  for (const [path, hex] of entries) text += `${hex} ${encodeManifestPath(path)}\n`;
  return text;
};

/**
 * Parse a manifest into path → lowercase hex checksum.
 *
 * @throws {InvalidBagError} `invalid-tag-file` on a malformed line, a bad checksum or a path
 * listed twice; `unsafe-path` on a path that escapes the bag.
 */
export function parseManifest(text: string, algorithm: BagAlgorithm, name: string): Map<string, string> {
  const digests = new Map<string, string>();
  const hexPattern = new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[algorithm]}}$`);
  for (const line of linesOf(text)) {
    const match = /^(\S+)[ \t]+(.+)$/.exec(line);
    if (!match) fail('invalid-tag-file', `${name} has a malformed line.`, name);
    const [, hex, encoded] = match as RegExpExecArray & [string, string, string];
    if (!hexPattern.test(hex))
      fail('invalid-tag-file', `${name} has a malformed ${algorithm} checksum.`, name);
    const path = decodeManifestPath(encoded);
    const problem = pathProblem(path);
    if (problem) fail('unsafe-path', `${name} lists an unsafe path: ${problem}.`, path);
    if (digests.has(path)) fail('invalid-tag-file', `${name} lists a path twice.`, path);
    digests.set(path, hex.toLowerCase());
  }
  return digests;
}

/** `bag-info.txt`: one `Label: value` line per field, in order. */
export const formatBagInfo = (fields: Iterable<readonly [label: string, value: string]>): string => {
  let text = '';
  for (const [label, value] of fields) text += `${label}: ${value.replace(/\r\n|\r|\n/g, '\n  ')}\n`;
  return text;
};

/**
 * Parse `bag-info.txt` (or `bagit.txt`) into its fields, in order; a line that starts with
 * whitespace continues the previous value (RFC 8493 §2.2.2).
 *
 * @throws {InvalidBagError} `invalid-tag-file` on a line that is neither.
 */
export function parseTagFields(text: string, name: string): [label: string, value: string][] {
  const fields: [string, string][] = [];
  for (const line of linesOf(text)) {
    const last = fields.at(-1);
    if (/^[ \t]/.test(line) && last) {
      last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    const label = line.slice(0, colon);
    if (colon <= 0 || label.trim() !== label) fail('invalid-tag-file', `${name} has a malformed line.`, name);
    fields.push([label, line.slice(colon + 1).trim()]);
  }
  return fields;
}

/** The Payload-Oxum of a payload: `<octets>.<files>`. */
export const payloadOxum = (octets: number, files: number): string => `${octets}.${files}`;

/**
 * Check `bagit.txt`: BagIt 1.0 (or 0.97) in UTF-8.
 *
 * @throws {InvalidBagError} `not-a-bag` otherwise.
 */
export function checkDeclaration(text: string): void {
  const fields = new Map(parseTagFields(text, 'bagit.txt'));
  const version = fields.get('BagIt-Version');
  const encoding = fields.get('Tag-File-Character-Encoding');
  if (!version || !/^(1\.0|0\.97)$/.test(version) || encoding?.toUpperCase() !== 'UTF-8') {
    fail('not-a-bag', 'bagit.txt does not declare a BagIt 1.0 bag in UTF-8.', 'bagit.txt');
  }
}

/**
 * Why a path inside a bag is unsafe, or `undefined` when it is safe: a relative path with `/`
 * separators, no empty, `.` or `..` segment, no backslash, no drive letter, no control character.
 */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'empty path';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'drive letter';
  if (path.includes('\\')) return 'backslash';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'control character';
  for (const segment of path.split('/')) {
    if (segment === '') return 'empty segment';
    if (segment === '.' || segment === '..') return `"${segment}" segment`;
  }
  return undefined;
}

/**
 * The most UTF-8 bytes a path segment of a payload file takes: 200 fits every common file
 * system (255 bytes on ext4 and APFS, 255 UTF-16 units on NTFS) with room for a `~N` suffix.
 */
export const MAX_SEGMENT_BYTES = 200;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are replaced on purpose.
const REPLACED_IN_SEGMENT = /[\\/:*?"<>|%\u0000-\u001f\u007f-\u009f]/g;
/** Names Windows keeps for devices, alone or before an extension (`NUL`, `con.txt`). */
const DEVICE_NAME = /^(?:con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(?:\.|$)/i;
const TRUNCATED = '\u2026';

const utf8 = new TextEncoder();
const byteLength = (text: string): number => utf8.encode(text).length;

/** Where a segment's extension starts (its last `.`, not a leading one), or its length. */
const extensionStart = (segment: string): number => {
  const dot = segment.lastIndexOf('.');
  return dot > 0 ? dot : segment.length;
};

/** `segment` cut to {@link MAX_SEGMENT_BYTES}, keeping an extension of up to 16 characters. */
function shorten(segment: string): string {
  if (byteLength(segment) <= MAX_SEGMENT_BYTES) return segment;
  const at = extensionStart(segment);
  const extension = segment.length - at <= 16 ? segment.slice(at) : '';
  const room = MAX_SEGMENT_BYTES - byteLength(TRUNCATED) - byteLength(extension);
  let stem = '';
  let bytes = 0;
  for (const character of extension ? segment.slice(0, at) : segment) {
    bytes += byteLength(character);
    if (bytes > room) break;
    stem += character;
  }
  return `${stem}${TRUNCATED}${extension}`;
}

/**
 * One segment of an object key (or an id) as a file or folder name that `unzip` writes on
 * Linux, macOS and Windows and that `md5sum -c` finds from a BagIt manifest, in this order:
 * 1. `\ / : * ? " < > | %` and control characters (U+0000–U+001F, U+007F–U+009F) become `_`
 *    (`%` because a BagIt manifest percent-encodes it and `md5sum` would not decode it);
 * 2. each trailing `.` or space becomes `_` (Windows drops them), so `.` is `_` and `..` is `__`;
 * 3. an empty segment becomes `_`;
 * 4. a Windows device name (`CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9`, alone or
 *    before a `.`) gets a leading `_`;
 * 5. a segment longer than {@link MAX_SEGMENT_BYTES} UTF-8 bytes is cut, ending in `…` before
 *    its extension (the last `.`-part, up to 16 characters).
 * The mapping is not one to one (`a?b` and `a*b` both give `a_b`): {@link BagPathSet.claimFile}
 * tells them apart, and the bucket documents name every version's path, so nothing is lost.
 */
export function bagSegment(segment: string): string {
  let name = segment.replace(REPLACED_IN_SEGMENT, '_').replace(/[. ]+$/, (tail) => '_'.repeat(tail.length));
  if (name === '') name = '_';
  if (DEVICE_NAME.test(name)) name = `_${name}`;
  return shorten(name);
}

/** An object key as path segments: split at every `/`, each segment mapped by {@link bagSegment}. */
export const keySegments = (key: string): string[] => key.split('/').map(bagSegment);

/** `segment` told apart by a number: `~N` before its extension (`a_b.txt` → `a_b~2.txt`). */
export const numberedSegment = (segment: string, n: number): string => {
  const at = extensionStart(segment);
  return `${segment.slice(0, at)}~${n}${segment.slice(at)}`;
};

/**
 * The paths of a bag being written, so that no two collide where the bag is unpacked: a file
 * cannot also be a directory, and paths equal but for case or Unicode normalization collide
 * on macOS and Windows.
 */
export class BagPathSet {
  private readonly files = new Set<string>();
  private readonly directories = new Set<string>();

  private static fold(path: string): string {
    return path.normalize('NFC').toLowerCase();
  }

  /** Take `path` if it collides with nothing taken so far; say whether it was taken. */
  claim(path: string): boolean {
    const folded = BagPathSet.fold(path);
    if (this.files.has(folded) || this.directories.has(folded)) return false;
    const segments = folded.split('/');
    const parents: string[] = [];
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (this.files.has(parent)) return false;
      parents.push(parent);
    }
    this.files.add(folded);
    for (const parent of parents) this.directories.add(parent);
    return true;
  }

  /**
   * Take a file at `parent` (a directory path ending in `/`, already free of files) followed by
   * `segments`, and return its path. The first segment that collides (a folder name that is
   * a file's, or a file name that is taken) is numbered by {@link numberedSegment} with the
   * lowest free `N` from 2; folders are shared, so keys `a?/x` and `a:/y` both go under `a_/`.
   */
  claimFile(parent: string, segments: readonly string[]): string {
    let path = parent;
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      const free = (candidate: string) => {
        const folded = BagPathSet.fold(path + candidate);
        return !this.files.has(folded) && !(last && this.directories.has(folded));
      };
      let name = segment;
      for (let n = 2; !free(name); n++) name = numberedSegment(segment, n);
      path += last ? name : `${name}/`;
    });
    if (!this.claim(path)) throw new Error(`Bag path ${path} collides.`);
    return path;
  }

  /**
   * Take a directory `parent + segment` (numbered by {@link numberedSegment} if that name is
   * taken in any way) for one record or bucket alone, and return its path with a trailing `/`.
   */
  claimDirectory(parent: string, segment: string): string {
    const taken = (name: string) => {
      const folded = BagPathSet.fold(parent + name);
      return this.files.has(folded) || this.directories.has(folded);
    };
    let name = segment;
    for (let n = 2; taken(name); n++) name = numberedSegment(segment, n);
    this.directories.add(BagPathSet.fold(parent + name));
    return `${parent}${name}/`;
  }
}
