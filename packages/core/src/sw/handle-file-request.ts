import type { Coffer } from '../api/coffer.js';
import type { ObjectVersion } from '../api/object-version.js';
import type { CofferRecord } from '../api/records.js';
import { BodyUnavailableError, InvalidKeyError, NotFoundError } from '../errors.js';
import { DEFAULT_URL_PREFIX, type FileRoute, parseFileUrl } from '../model/file-url.js';
import {
  type ByteRange,
  contentDisposition,
  contentRange,
  DEFAULT_INLINE_TYPES,
  httpDate,
  inlineTypeSet,
  isNotModified,
  parseRange,
  rangeStillValid,
  SECURITY_HEADERS,
  servedMimetype,
  type Validators,
} from '../model/http.js';
import { type ResolvedFile, resolveBucketFile, resolveRecordFile } from './records.js';

/**
 * Decides whether a stored file may be read. A denial is answered `404`, so that the file's
 * existence is not revealed (Invenio's hidden `object-read`).
 *
 * @param record the record whose rules apply: on `records/<id>/files/<key>` routes the record
 *   named; on `buckets/<id>/objects/<key>` routes (what `version.url` points at) the record that
 *   owns the bucket, so that one rule covers both URLs of a file; `undefined` only for a bucket
 *   no record owns. Its file metadata is in `record.files.get(key)` and `record.data._files`.
 * @param file the version about to be served.
 * @param request the request being answered.
 */
export type CanRead = (
  record: CofferRecord | undefined,
  file: ObjectVersion,
  request: Request,
) => boolean | Promise<boolean>;

/**
 * Options of {@link handleFileRequest} and `registerCofferRoutes`.
 *
 * @example
 * ```ts
 * registerCofferRoutes({ name: 'field-notes' }, {
 *   urlPrefix: '/files/',
 *   inlineTypes: [],                                        // Invenio's strict list
 *   canRead: (record) => record?.data.access !== 'closed',  // else 404
 * });
 * ```
 */
export interface FileRouteOptions {
  /** Where files are served (default: the coffer's `urlPrefix`, itself `/coffer/` by default). */
  urlPrefix?: string;
  /**
   * Media types served inline as they are, on top of Invenio's allow-list (which serves only
   * `audio/mpeg`, `audio/ogg`, `audio/wav`, `audio/webm`, `image/gif`, `image/jpeg`,
   * `image/png`, `image/tiff` and `text/plain` as is). Default {@link DEFAULT_INLINE_TYPES}:
   * PDF, MP4/WebM/Ogg video, MP4/AAC/FLAC audio, WebP and AVIF images, so that PDFs preview
   * inline and `<video>` can seek. Pass `[]` for Invenio's strict behaviour, where these are
   * `application/octet-stream` attachments. Types that could run script (HTML, SVG, XML,
   * JavaScript, JSON, CSS) are refused: they are always served as `text/plain`.
   */
  inlineTypes?: Iterable<string>;
  /** The permission hook; everything is readable by default. */
  canRead?: CanRead;
  /**
   * Serve the files of records in the trash (soft-deleted) too, on both routes (default
   * `false`: they are `404` until the record is restored, as the record itself is to
   * `records.get`). `canRead` still decides, and sees `record.deleted`.
   */
  serveDeletedRecords?: boolean;
}

const allow = 'GET, HEAD';

const plain = (status: number, text: string, headers: Record<string, string> = {}): Response =>
  new Response(text, {
    status,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers },
  });

const notFound = (): Response => plain(404, 'Not Found');

/**
 * Answer a request for a stored file, as Invenio's `file_download_ui` and files-rest object
 * GET do: `records/<recordId>/files/<key>` and `buckets/<bucketId>/objects/<key>` under the
 * URL prefix, with `?versionId=` and `?download`.
 *
 * - `GET` and `HEAD`; other methods get `405`.
 * - `404` for unknown records, buckets, keys and versions, delete markers, deleted buckets,
 *   records in the trash and the files of their buckets (unless
 *   {@link FileRouteOptions.serveDeletedRecords}), and reads that
 *   {@link FileRouteOptions.canRead} denies; `canRead` gets the record that owns the file on
 *   both routes.
 * - `Content-Type` sanitized (see {@link FileRouteOptions.inlineTypes}), `text/*` with
 *   `charset=utf-8`; `Content-Security-Policy: default-src 'none'` (plus what the browser's own
 *   viewers need: inline style, same-origin media), `nosniff` and Invenio's other security headers;
 *   `Content-Disposition` `attachment` with `?download` or for `application/octet-stream`, else
 *   `inline`, naming the key's basename (RFC 6266);
 *   `ETag: "md5:<hex>"`, `Last-Modified`, `Cache-Control: no-cache`, `Accept-Ranges: bytes`.
 * - `If-None-Match` / `If-Modified-Since` → `304`; `Range` (`a-b`, `a-`, `-n`, honouring
 *   `If-Range`) → `206` with `Content-Range`, unsatisfiable → `416`.
 * - The body streams from the stored chunks, reading only those the range covers, one at a
 *   time as the browser pulls.
 *
 * - A file pulled by sync without its bytes (`bodies: 'lazy'`) is fetched through the sync on
 *   its first `GET` (a `HEAD` or `304` does not fetch); `503` when they cannot be had now.
 * - Any other failure (storage) is reported (`reportError`) and answered `500`.
 *
 * @returns the response, or `undefined` when the URL is not one of the coffer's.
 * @example
 * ```ts
 * // sw.ts, without Workbox
 * const coffer = lazyCoffer({ name: 'field-notes' });
 * self.addEventListener('fetch', (event) => {
 *   if (isFileRequest(event.request)) event.respondWith(coffer().then((c) => handleFileRequest(event.request, c)));
 * });
 * ```
 */
export async function handleFileRequest(
  request: Request,
  coffer: Coffer,
  options: FileRouteOptions = {},
): Promise<Response | undefined> {
  const urlPrefix = options.urlPrefix ?? coffer.context.settings.urlPrefix;
  const route = parseFileUrl(request.url, urlPrefix, baseUrl(request));
  if (!route) return undefined;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return plain(405, 'Method Not Allowed', { Allow: allow });
  }
  const inlineTypes = inlineTypeSet(options.inlineTypes ?? DEFAULT_INLINE_TYPES);
  try {
    const found = await resolve(coffer, route, options.serveDeletedRecords ?? false);
    if (!found || found.version.isDeleteMarker) return notFound();
    if (options.canRead && !(await options.canRead(found.record, found.version, request))) return notFound();
    return await serve(request, found.version, route.download, inlineTypes);
  } catch (error) {
    if (error instanceof NotFoundError || error instanceof InvalidKeyError) return notFound();
    // Bytes on the sync remote only that the sync could not fetch now (offline, no leader tab).
    if (error instanceof BodyUnavailableError)
      return plain(503, 'Service Unavailable', { 'Retry-After': '30' });
    // A page gets a status it can show rather than a network error; the console gets the error.
    globalThis.reportError?.(error);
    return plain(500, 'Internal Server Error');
  }
}

/**
 * Whether a request is for a file under `urlPrefix` (default `/coffer/`) on this origin: the
 * synchronous test a router needs before it opens the coffer.
 *
 * @example
 * ```ts
 * self.addEventListener('fetch', (event) => {
 *   if (!isFileRequest(event.request)) return; // not a stored file: leave it to other routes
 *   event.respondWith(coffer().then(async (c) => (await handleFileRequest(event.request, c))!));
 * });
 * ```
 */
export function isFileRequest(request: Request, urlPrefix: string = DEFAULT_URL_PREFIX): boolean {
  return parseFileUrl(request.url, urlPrefix, baseUrl(request)) !== undefined;
}

// In a service worker a relative prefix belongs to the worker's own origin; elsewhere (tests,
// other hosts) to the request's.
const baseUrl = (request: Request): string =>
  (globalThis as { location?: { href: string } }).location?.href ?? request.url;

const resolve = (
  coffer: Coffer,
  route: FileRoute,
  includeDeleted: boolean,
): Promise<ResolvedFile | undefined> =>
  (route.kind === 'record' ? resolveRecordFile : resolveBucketFile)(
    coffer,
    route.id,
    route.key,
    route.versionId,
    includeDeleted,
  );

async function serve(
  request: Request,
  version: ObjectVersion,
  download: boolean,
  inlineTypes: ReadonlySet<string>,
): Promise<Response> {
  const file = await version.file();
  const validators: Validators = {
    etag: file.checksum === null ? undefined : `"${file.checksum}"`,
    lastModified: file.updated,
  };
  const cacheHeaders: Record<string, string> = {
    'Cache-Control': 'no-cache',
    'Last-Modified': httpDate(validators.lastModified),
    ...(validators.etag && { ETag: validators.etag }),
  };
  if (isNotModified(request.headers, validators)) {
    return new Response(null, { status: 304, headers: { ...SECURITY_HEADERS, ...cacheHeaders } });
  }

  const type = servedMimetype(version.mimetype, version.key, inlineTypes);
  const attachment = download || type === 'application/octet-stream';
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    ...cacheHeaders,
    'Accept-Ranges': 'bytes',
    'Content-Type': type,
    'Content-Disposition': contentDisposition(attachment ? 'attachment' : 'inline', version.key),
  };

  const requested = rangeStillValid(request.headers, validators)
    ? parseRange(request.headers.get('Range'), file.size)
    : undefined;
  if (requested === 'unsatisfiable') {
    return plain(416, 'Range Not Satisfiable', {
      'Accept-Ranges': 'bytes',
      'Content-Range': contentRange(file.size),
    });
  }
  const range: ByteRange = requested ?? { start: 0, end: file.size - 1 };
  const length = range.end - range.start + 1;
  headers['Content-Length'] = String(length);
  if (requested) headers['Content-Range'] = contentRange(file.size, requested);
  const body =
    request.method === 'HEAD' || length === 0 ? null : await version.stream(range.start, range.end + 1);
  return new Response(body, { status: requested ? 206 : 200, headers });
}
