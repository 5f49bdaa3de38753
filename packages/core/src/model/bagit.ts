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

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are escaped on purpose.
const UNSAFE_IN_SEGMENT = /[%\\<>:"|?*\u0000-\u001f\u007f]/g;

/**
 * One segment of an object key as a path segment that every file system and unzip tool can
 * take: `%`, `\`, the characters Windows refuses and control characters are percent-encoded;
 * an empty, `.` or `..` segment is encoded whole. The mapping is one to one.
 */
export function encodeKeySegment(segment: string): string {
  if (segment === '') return '%2F';
  if (segment === '.' || segment === '..') return segment.replaceAll('.', '%2E');
  return segment.replace(
    UNSAFE_IN_SEGMENT,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** An object key as a relative bag path: its `/`-separated segments, each encoded. */
export const keyToBagPath = (key: string): string => key.split('/').map(encodeKeySegment).join('/');

/**
 * The paths of a bag being written, so that no two collide where the bag is unpacked: a file
 * cannot also be a directory, and paths equal but for case or Unicode normalization collide
 * on macOS and Windows.
 */
export class BagPathSet {
  private readonly files = new Set<string>();
  private readonly directories = new Set<string>();

  /** Take `path` if it collides with nothing taken so far; say whether it was taken. */
  claim(path: string): boolean {
    const folded = path.normalize('NFC').toLowerCase();
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
}
