import { InvalidArgumentError } from '../errors.js';
import { basename } from './key.js';
import { isTextType, OCTET_STREAM, sanitizeMimetype } from './mimetype.js';

/**
 * Media types served inline by default on top of Invenio's allow-list: documents and media the
 * browser renders in a sandboxed viewer or decoder, never as a script-capable document.
 *
 * Invenio serves these as `application/octet-stream` attachments, which breaks inline PDF
 * preview and `<video>` seeking; see {@link servedMimetype}.
 *
 * @example
 * ```ts
 * // serve PDFs and video inline, but not audio
 * registerCofferRoutes({ name: 'notes' }, { inlineTypes: DEFAULT_INLINE_TYPES.filter((t) => !t.startsWith('audio/')) });
 * ```
 */
export const DEFAULT_INLINE_TYPES: readonly string[] = [
  'application/pdf',
  'audio/aac',
  'audio/flac',
  'audio/mp4',
  'image/avif',
  'image/webp',
  'video/mp4',
  'video/ogg',
  'video/webm',
];

const normalizeType = (mimetype: string): string => mimetype.split(';')[0]!.trim().toLowerCase();

// A type that may run script or be parsed as markup when rendered inline.
const isActiveType = (type: string): boolean =>
  /html|xml|svg|script|javascript|json|css/.test(type) || !/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(type);

/**
 * Check and normalize an extra inline allow-list.
 *
 * @throws {InvalidArgumentError} for a malformed type or one that could run script (HTML, SVG,
 *   XML, JavaScript, JSON, CSS): those are always served as `text/plain`.
 */
export function inlineTypeSet(types: Iterable<string>): ReadonlySet<string> {
  const set = new Set<string>();
  for (const raw of types) {
    const type = normalizeType(raw);
    if (isActiveType(type)) {
      throw new InvalidArgumentError(`${raw} cannot be served inline.`, {
        argument: 'inlineTypes',
      });
    }
    set.add(type);
  }
  return set;
}

/**
 * The `Content-Type` a stored file is served with: Invenio's sanitization
 * ({@link sanitizeMimetype}: its allow-list as is, HTML, SVG, JS, XML, JSON, CSS and `README`s as
 * `text/plain`, the rest `application/octet-stream`), except that types in `inlineTypes` pass
 * through too. Text types get `; charset=utf-8`.
 *
 * @example
 * ```ts
 * servedMimetype('text/html', 'page.html'); // 'text/plain; charset=utf-8'
 * servedMimetype('application/pdf', 'a.pdf', new Set()); // 'application/octet-stream' (Invenio)
 * servedMimetype('application/pdf', 'a.pdf', inlineTypeSet(DEFAULT_INLINE_TYPES)); // 'application/pdf'
 * ```
 */
export function servedMimetype(
  mimetype: string,
  key: string,
  inlineTypes: ReadonlySet<string> = new Set(),
): string {
  let type = sanitizeMimetype(mimetype, key);
  if (type === OCTET_STREAM && inlineTypes.has(normalizeType(mimetype))) type = normalizeType(mimetype);
  return isTextType(type) ? `${type}; charset=utf-8` : type;
}

// RFC 7230 `token` characters: a file name made of these needs no quotes.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * RFC 5987 `ext-value` encoding: `encodeURIComponent` leaves `'()*` bare, which `attr-char`
 * forbids. A lone surrogate (only in keys stored before Coffer refused them) becomes U+FFFD,
 * which is harmless in a suggested file name, instead of throwing `URIError`.
 */
const encodeExtValue = (text: string): string =>
  encodeURIComponent(text.replace(/\p{Surrogate}/gu, '\ufffd')).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/**
 * The ASCII stand-in of a file name: compatibility-decomposed (NFKD) with everything outside
 * printable ASCII dropped, as Invenio does (`żółć.dat` → `zoc.dat`).
 *
 * @example
 * ```ts
 * asciiFilename('żółć.dat'); // "zoc.dat"
 * ```
 */
export function asciiFilename(name: string): string {
  const ascii = name.normalize('NFKD').replace(/[^\x20-\x7e]/g, '');
  return ascii.trim() === '' ? 'download' : ascii;
}

/**
 * A `Content-Disposition` value (RFC 6266) naming the key's basename: `filename=` in ASCII
 * (a token, or a quoted string), plus `filename*=UTF-8''…` when the name is not plain ASCII.
 *
 * @example
 * ```ts
 * contentDisposition('attachment', 'data/żółć.dat');
 * // `attachment; filename=zoc.dat; filename*=UTF-8''%C5%BC%C3%B3%C5%82%C4%87.dat`
 * ```
 */
export function contentDisposition(type: 'inline' | 'attachment', key: string): string {
  const name = basename(key) || 'download';
  const fallback = asciiFilename(name);
  const quoted = TOKEN.test(fallback) ? fallback : `"${fallback.replace(/["\\]/g, '\\$&')}"`;
  const extended = fallback === name ? '' : `; filename*=UTF-8''${encodeExtValue(name)}`;
  return `${type}; filename=${quoted}${extended}`;
}

/** An inclusive byte range `[start, end]` of a representation. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What a `Range` header asks of a representation of `size` bytes:
 * - `undefined`: serve the whole representation (no header, another unit, or several ranges,
 *   which a server may ignore by RFC 9110 §14.2);
 * - `'unsatisfiable'`: 416 (a malformed byte range, as in Invenio; a start at or past the end;
 *   a suffix of zero bytes; any range of an empty representation);
 * - a {@link ByteRange}, its end clamped to the last byte: 206.
 *
 * @example
 * ```ts
 * parseRange('bytes=0-99', 1000); // { start: 0, end: 99 }
 * parseRange('bytes=900-', 1000); // { start: 900, end: 999 }
 * parseRange('bytes=-100', 1000); // { start: 900, end: 999 }
 * parseRange('bytes=1000-', 1000); // 'unsatisfiable'
 * ```
 */
export function parseRange(header: string | null, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === null) return undefined;
  const match = /^\s*bytes\s*=\s*(.*?)\s*$/i.exec(header);
  if (!match) return undefined;
  const specs = match[1]!.split(',');
  if (specs.length > 1) return undefined;
  const spec = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0]!.trim());
  if (!spec || (spec[1] === '' && spec[2] === '')) return 'unsatisfiable';
  const [, first, last] = spec as unknown as [string, string, string];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Number(last);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** `Content-Range` of a 206 (`bytes a-b/size`) or, without a range, of a 416 (`bytes *\/size`). */
export const contentRange = (size: number, range?: ByteRange): string =>
  range ? `bytes ${range.start}-${range.end}/${size}` : `bytes */${size}`;

/** An HTTP date (IMF-fixdate), e.g. `Wed, 25 Nov 2026 18:53:15 GMT`. */
export const httpDate = (date: Date): string => date.toUTCString();

// HTTP dates have whole seconds: compare at that precision.
const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

const entityTags = (header: string): string[] =>
  header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .filter((tag) => tag !== '');

/** The validators a response carries: its strong `ETag` and its `Last-Modified` time. */
export interface Validators {
  etag: string | undefined;
  lastModified: Date;
}

/**
 * Whether a GET or HEAD is answered `304 Not Modified` (RFC 9110 §13.1.2–3): `If-None-Match`
 * matches (weak comparison, `*` matches anything); or, only when there is no `If-None-Match`,
 * the representation has not changed since `If-Modified-Since`.
 */
export function isNotModified(headers: Headers, validators: Validators): boolean {
  const ifNoneMatch = headers.get('If-None-Match');
  if (ifNoneMatch !== null) {
    const tags = entityTags(ifNoneMatch);
    const etag = validators.etag?.replace(/^W\//, '');
    return tags.includes('*') || (etag !== undefined && tags.includes(etag));
  }
  const ifModifiedSince = headers.get('If-Modified-Since');
  if (ifModifiedSince === null) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && seconds(validators.lastModified) <= Math.floor(since / 1000);
}

/**
 * Whether a `Range` still applies under `If-Range` (RFC 9110 §13.1.5): without `If-Range`,
 * yes; with an entity tag, only when it strongly equals ours; with a date, only when it equals
 * our `Last-Modified`. Otherwise the whole representation is sent.
 */
export function rangeStillValid(headers: Headers, validators: Validators): boolean {
  const ifRange = headers.get('If-Range')?.trim();
  if (ifRange === undefined) return true;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === validators.etag;
  const date = Date.parse(ifRange);
  return !Number.isNaN(date) && Math.floor(date / 1000) === seconds(validators.lastModified);
}

/**
 * The security headers of every served file, as Invenio sends them for untrusted content,
 * except for two things. Frames are allowed from the same origin (the app previews PDFs and
 * images in an `<iframe>`), where Invenio denies every frame. And the policy lets the browser's
 * own viewers work when a file is opened in a tab of its own: Chromium's image and media
 * documents style themselves inline, and its media document loads the file from its own URL
 * (`style-src 'unsafe-inline'; media-src 'self'`). Script and everything from elsewhere stay
 * denied, and markup is never served as such ({@link servedMimetype}). GitHub's user content
 * adds `sandbox`; that makes a media document's origin opaque, so it can no longer load the
 * file it shows.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; media-src 'self'; frame-ancestors 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Download-Options': 'noopen',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-Frame-Options': 'sameorigin',
  'X-XSS-Protection': '1; mode=block',
};
