/**
 * Where the service worker serves stored files unless a coffer says otherwise.
 *
 * @example
 * ```ts
 * isFileRequest(request, DEFAULT_URL_PREFIX); // "/coffer/", as without a prefix
 * ```
 */
export const DEFAULT_URL_PREFIX = '/coffer/';

const isDotSegment = (segment: string): boolean => segment === '.' || segment === '..';

const percentByte = (byte: number): string => `%${byte.toString(16).toUpperCase()}`;

/**
 * `encodeURIComponent`, except that it does not throw on a lone surrogate: that one is encoded
 * as the three bytes UTF-8 would give the code point (WTF-8), which `decodeURIComponent` refuses,
 * so the URL matches no stored file rather than the one with U+FFFD in its place. Coffer
 * refuses such keys and ids at write time; this serves rows stored before it did.
 */
function encodeSegment(text: string): string {
  return text
    .split(/(\p{Surrogate})/u)
    .map((part, index) => {
      if (index % 2 === 0) return encodeURIComponent(part);
      const unit = part.charCodeAt(0);
      return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map(percentByte)
        .join('');
    })
    .join('');
}

/**
 * Encode a key as a URL path, keeping its `/` separators, so that any key (Unicode, `?`, `#`,
 * `%`, `\`) round-trips through {@link parseFileUrl}.
 *
 * URL parsers drop `.` and `..` segments (even as `%2E`), so a `/` next to such a segment is
 * encoded as `%2F`, gluing it to its neighbour: `a/../b` → `a%2F..%2Fb`. The keys `.` and `..`
 * alone have no path that survives, and so no URL. A key with a lone surrogate (refused since
 * it cannot be exported; possible only in rows stored earlier) gets a path that matches no
 * file, never another file's; encoding never throws.
 *
 * @example
 * ```ts
 * encodeKeyPath('notes/été #1.txt'); // "notes/%C3%A9t%C3%A9%20%231.txt"
 * ```
 */
export function encodeKeyPath(key: string): string {
  const segments = key.split('/');
  let path = encodeSegment(segments[0]!);
  for (let i = 1; i < segments.length; i++) {
    const glue = isDotSegment(segments[i - 1]!) || isDotSegment(segments[i]!) ? '%2F' : '/';
    path += glue + encodeSegment(segments[i]!);
  }
  return path;
}

/**
 * The URL path of a bucket object (or, with `versionId`, of that version).
 *
 * @example
 * ```ts
 * bucketObjectUrl('/coffer/', bucket.id, 'raw/a.tif');              // "/coffer/buckets/<id>/objects/raw/a.tif"
 * bucketObjectUrl('/coffer/', bucket.id, 'raw/a.tif', versionId); // "…/raw/a.tif?versionId=<versionId>"
 * ```
 */
export function bucketObjectUrl(
  urlPrefix: string,
  bucketId: string,
  key: string,
  versionId?: string,
): string {
  const url = `${urlPrefix}buckets/${encodeSegment(bucketId)}/objects/${encodeKeyPath(key)}`;
  return versionId === undefined ? url : `${url}?versionId=${encodeSegment(versionId)}`;
}

/**
 * The URL path of a record's file (or, with `versionId`, of that version of it).
 *
 * @example
 * ```ts
 * recordFileUrl('/coffer/', record.id, 'site.jpg'); // "/coffer/records/<id>/files/site.jpg"
 * ```
 */
export function recordFileUrl(urlPrefix: string, recordId: string, key: string, versionId?: string): string {
  const url = `${urlPrefix}records/${encodeSegment(recordId)}/files/${encodeKeyPath(key)}`;
  return versionId === undefined ? url : `${url}?versionId=${encodeSegment(versionId)}`;
}

/** A request for a stored file, as {@link parseFileUrl} reads it from a URL. */
export interface FileRoute {
  /** `bucket` for `buckets/<id>/objects/<key>`, `record` for `records/<id>/files/<key>`. */
  kind: 'bucket' | 'record';
  /** The bucket id or the record id. */
  id: string;
  key: string;
  /** `?versionId=`; absent (or empty) for the head. */
  versionId: string | undefined;
  /** `?download` is present, with any value: serve as an attachment. */
  download: boolean;
}

const ROUTE = /^(buckets|records)\/([^/]+)\/(objects|files)\/(.+)$/;

/**
 * Read a stored-file URL under `urlPrefix`: `records/<recordId>/files/<key>` or
 * `buckets/<bucketId>/objects/<key>`, with `?versionId=` and `?download`. A relative prefix is
 * resolved against `base` (by default the URL itself, so it is matched by path on any origin).
 * Returns `undefined` for any other URL, a foreign origin, or a malformed percent-encoding.
 *
 * @example
 * ```ts
 * parseFileUrl('https://app.example/coffer/buckets/b1/objects/docs/%C3%A9t%C3%A9.pdf?download');
 * // { kind: 'bucket', id: 'b1', key: 'docs/été.pdf', versionId: undefined, download: true }
 * ```
 */
export function parseFileUrl(
  url: string | URL,
  urlPrefix: string = DEFAULT_URL_PREFIX,
  base: string | URL = url,
): FileRoute | undefined {
  const target = new URL(url);
  const prefix = new URL(urlPrefix.endsWith('/') ? urlPrefix : `${urlPrefix}/`, base);
  if (target.origin !== prefix.origin || !target.pathname.startsWith(prefix.pathname)) return undefined;
  const match = ROUTE.exec(target.pathname.slice(prefix.pathname.length));
  if (!match) return undefined;
  const [, collection, id, items, keyPath] = match as unknown as [string, string, string, string, string];
  if ((collection === 'buckets') !== (items === 'objects')) return undefined;
  try {
    return {
      kind: collection === 'buckets' ? 'bucket' : 'record',
      id: decodeURIComponent(id),
      key: keyPath.split('/').map(decodeURIComponent).join('/'),
      versionId: target.searchParams.get('versionId') || undefined,
      download: target.searchParams.has('download'),
    };
  } catch {
    return undefined;
  }
}
