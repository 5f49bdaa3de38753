/**
 * `@coffer/core/sw`: serve stored files at ordinary URLs from a service worker, offline (the
 * browser's counterpart of Invenio's `file_download_ui` and files-rest object GET). Free of
 * Workbox; `@coffer/core/sw/workbox` adds the one-line Workbox registration.
 *
 * @example
 * ```ts
 * // sw.ts, without Workbox
 * import { handleFileRequest, isFileRequest, lazyCoffer } from '@coffer/core/sw';
 *
 * const coffer = lazyCoffer({ name: 'field-notes' });
 * self.addEventListener('fetch', (event) => {
 *   if (!isFileRequest(event.request)) return;
 *   event.respondWith(coffer().then(async (c) => (await handleFileRequest(event.request, c))!));
 * });
 * ```
 *
 * @packageDocumentation
 * @module @coffer/core/sw
 */

export {
  bucketObjectUrl,
  DEFAULT_URL_PREFIX,
  encodeKeyPath,
  type FileRoute,
  parseFileUrl,
  recordFileUrl,
} from '../model/file-url.js';
export {
  asciiFilename,
  type ByteRange,
  contentDisposition,
  DEFAULT_INLINE_TYPES,
  parseRange,
  servedMimetype,
} from '../model/http.js';
export {
  type CanRead,
  type FileRouteOptions,
  handleFileRequest,
  isFileRequest,
} from './handle-file-request.js';
export { type CofferSource, lazyCoffer } from './lazy-coffer.js';
