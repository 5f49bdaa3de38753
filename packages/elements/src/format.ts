/**
 * Bytes as people read them: `"0 B"`, `"12.3 KB"`, `"4.5 GB"` (powers of 1024, short units).
 *
 * @example
 * ```ts
 * formatBytes(1536);        // "1.5 KB"
 * formatBytes(5 * 1024 ** 3); // "5.0 GB"
 * formatBytes(null);        // "—"
 * ```
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/**
 * A date and time in the user's locale, e.g. "Nov 25, 2026, 6:53 PM".
 *
 * @example
 * ```ts
 * formatDateTime(version.created); // e.g. "Mar 1, 2026, 12:00 PM" (the user's locale)
 * ```
 */
export function formatDateTime(date: Date | number): string {
  return dateTime.format(date);
}

/**
 * How long ago, e.g. "5 minutes ago"; falls back to the date after a week.
 *
 * @example
 * ```ts
 * formatAgo(Date.now() - 5 * 60_000); // "5 minutes ago"
 * ```
 */
export function formatAgo(date: Date | number, now = Date.now()): string {
  const seconds = Math.round((new Date(date).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 7 * 86400) return relative.format(Math.round(seconds / 86400), 'day');
  return formatDateTime(date);
}

/**
 * The hex part of an `"md5:<hex>"` checksum.
 *
 * @example
 * ```ts
 * checksumHex('md5:5d41402abc4b2a76b9719d911017c592'); // "5d41402abc4b2a76b9719d911017c592"
 * ```
 */
export function checksumHex(checksum: string | null | undefined): string {
  if (!checksum) return '';
  const colon = checksum.indexOf(':');
  return colon === -1 ? checksum : checksum.slice(colon + 1);
}

/**
 * A short label for a media type: "JPEG image", "PDF", "Text", or the subtype.
 *
 * @example
 * ```ts
 * describeMimetype('application/pdf'); // "PDF"
 * describeMimetype('image/jpeg');      // "JPEG image"
 * ```
 */
export function describeMimetype(mimetype: string): string {
  const [type = '', subtype = ''] = mimetype.split(';')[0]!.trim().split('/');
  if (mimetype.startsWith('application/pdf')) return 'PDF';
  if (type === 'image') return `${subtype.replace(/^svg\+xml$/, 'SVG').toUpperCase()} image`;
  if (type === 'video') return `${subtype.toUpperCase()} video`;
  if (type === 'audio') return `${subtype.toUpperCase()} audio`;
  if (type === 'text') return subtype === 'plain' ? 'Text' : `${subtype.toUpperCase()} text`;
  if (subtype === 'json') return 'JSON';
  if (subtype === 'zip') return 'ZIP archive';
  if (subtype === 'octet-stream') return 'Binary';
  return subtype || 'File';
}

/**
 * A file name split for an ellipsis in the middle: `head` may be cut, `tail` (the extension
 * and a few characters before it) always shows. Rendered by `midName` in the elements.
 *
 * @example
 * ```ts
 * splitName('photograph-of-the-north-wall-2026.jpeg'); // { head: 'photograph-of-the-north-wa', tail: 'll-2026.jpeg' }
 * ```
 */
export function splitName(name: string): { head: string; tail: string } {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 12 ? name.length - dot : 0;
  const cut = Math.max(0, name.length - ext - 6);
  const chars = [...name];
  // Split by code points so that a surrogate pair is never cut in two.
  const at = [...name.slice(0, cut)].length;
  return { head: chars.slice(0, at).join(''), tail: chars.slice(at).join('') };
}
