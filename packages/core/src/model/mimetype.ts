import { basename } from './key.js';

// A fixed table, so the same key gets the same type on every platform (invenio-files-rest#263).
const typesByExtension: Record<string, string> = {
  aac: 'audio/aac',
  avi: 'video/x-msvideo',
  avif: 'image/avif',
  bin: 'application/octet-stream',
  bmp: 'image/bmp',
  css: 'text/css',
  csv: 'text/csv',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  epub: 'application/epub+zip',
  flac: 'audio/flac',
  geojson: 'application/geo+json',
  gif: 'image/gif',
  h5: 'application/x-hdf5',
  heic: 'image/heic',
  htm: 'text/html',
  html: 'text/html',
  ico: 'image/vnd.microsoft.icon',
  ics: 'text/calendar',
  ipynb: 'application/x-ipynb+json',
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  js: 'application/javascript',
  json: 'application/json',
  jsonld: 'application/ld+json',
  m4a: 'audio/mp4',
  md: 'text/markdown',
  mjs: 'application/javascript',
  mkv: 'video/x-matroska',
  mov: 'video/quicktime',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  mpeg: 'video/mpeg',
  nc: 'application/x-netcdf',
  odp: 'application/vnd.oasis.opendocument.presentation',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odt: 'application/vnd.oasis.opendocument.text',
  oga: 'audio/ogg',
  ogg: 'audio/ogg',
  ogv: 'video/ogg',
  opus: 'audio/opus',
  otf: 'font/otf',
  pdf: 'application/pdf',
  png: 'image/png',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  py: 'text/x-python',
  rdf: 'application/rdf+xml',
  rtf: 'application/rtf',
  svg: 'image/svg+xml',
  tar: 'application/x-tar',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  tsv: 'text/tab-separated-values',
  ttf: 'font/ttf',
  ttl: 'text/turtle',
  txt: 'text/plain',
  wav: 'audio/wav',
  weba: 'audio/webm',
  webm: 'video/webm',
  webp: 'image/webp',
  woff: 'font/woff',
  woff2: 'font/woff2',
  xhtml: 'application/xhtml+xml',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  zip: 'application/zip',
};

// A compression suffix names the type of the whole file: `data.csv.gz` is gzip (invenio-files-rest#199).
const typesByEncoding: Record<string, string> = {
  gz: 'application/gzip',
  tgz: 'application/gzip',
  z: 'application/gzip',
  bz2: 'application/x-bzip2',
  xz: 'application/x-xz',
};

/** The fallback type of bytes whose type is unknown. */
export const OCTET_STREAM = 'application/octet-stream';

// An extension is the user's text: `constructor` must not find Object.prototype.constructor.
const typeOf = (table: Record<string, string>, extension: string): string | undefined =>
  Object.hasOwn(table, extension) ? table[extension] : undefined;

/**
 * The media type of a key, guessed from its extension with a fixed table.
 *
 * @example
 * ```ts
 * guessMimetype('site.jpg'); // 'image/jpeg'
 * guessMimetype('data.csv.gz'); // 'application/gzip'
 * guessMimetype('README'); // 'application/octet-stream'
 * ```
 */
export function guessMimetype(key: string): string {
  const name = basename(key).toLowerCase();
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return OCTET_STREAM;
  const extension = name.slice(dot + 1);
  return typeOf(typesByEncoding, extension) ?? typeOf(typesByExtension, extension) ?? OCTET_STREAM;
}

// Invenio's allow-list for serving stored files (invenio-files-rest `sanitize_mimetype`).
const servedAsIs = new Set([
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/webm',
  'image/gif',
  'image/jpeg',
  'image/png',
  'image/tiff',
  'text/plain',
]);
const servedAsText = new Set([
  'application/javascript',
  'application/json',
  'application/xhtml+xml',
  'application/xml',
  'text/css',
  'text/csv',
  'text/html',
  'image/svg+xml',
]);

/**
 * The media type a stored file is served with: Invenio's allow-list passes a few types
 * through, turns active or markup types into `text/plain` (so they never execute) and makes
 * everything else `application/octet-stream`.
 *
 * @example
 * ```ts
 * sanitizeMimetype('text/html', 'page.html'); // "text/plain"
 * sanitizeMimetype('image/png', 'map.png');   // "image/png"
 * sanitizeMimetype('application/x-foo', 'a');  // "application/octet-stream"
 * ```
 */
export function sanitizeMimetype(mimetype: string, key: string): string {
  const type = mimetype.split(';')[0]!.trim().toLowerCase();
  if (basename(key).toLowerCase() === 'readme') return 'text/plain';
  if (servedAsIs.has(type)) return type;
  if (servedAsText.has(type)) return 'text/plain';
  return OCTET_STREAM;
}

/** Whether a media type is text, and so is served with `charset=utf-8`. */
export const isTextType = (mimetype: string): boolean => mimetype.startsWith('text/');
