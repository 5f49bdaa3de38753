/**
 * `@coffer/core/sw/workbox`: {@link registerCofferRoutes}, the one-line Workbox registration of
 * the file routes of `@coffer/core/sw`. Needs the optional peer dependency `workbox-routing`.
 *
 * @packageDocumentation
 * @module @coffer/core/sw/workbox
 */
import { type Route, registerRoute } from 'workbox-routing';
import { DEFAULT_URL_PREFIX } from '../model/file-url.js';
import { DEFAULT_INLINE_TYPES, inlineTypeSet } from '../model/http.js';
import { type FileRouteOptions, handleFileRequest, isFileRequest } from './handle-file-request.js';
import { type CofferSource, lazyCoffer, sourceUrlPrefix } from './lazy-coffer.js';

/**
 * Serve a coffer's files from the service worker through Workbox routing: registers `GET` and
 * `HEAD` routes for every URL under the prefix, answered by {@link handleFileRequest}. Register
 * it before a catch-all or navigation route. The coffer opens on the first file request and is
 * reopened after another connection upgrades its database (see {@link lazyCoffer}).
 *
 * The prefix is `options.urlPrefix`, else the source's `urlPrefix`, else `/coffer/`; with a
 * function source, give `options.urlPrefix` when the coffer uses another prefix.
 *
 * @param source the coffer, its {@link @coffer/core!CofferOptions | options} (opened lazily), or a function opening it.
 * @returns the two registered routes, for `unregisterRoute`.
 * @throws {InvalidArgumentError} for an `inlineTypes` entry that could run script.
 * @example
 * ```ts
 * // the app's sw.ts
 * import { precacheAndRoute } from 'workbox-precaching';
 * import { registerCofferRoutes } from '@coffer/core/sw/workbox';
 *
 * registerCofferRoutes({ name: 'field-notes' });
 * precacheAndRoute(self.__WB_MANIFEST);
 * ```
 */
export function registerCofferRoutes(source: CofferSource, options: FileRouteOptions = {}): Route[] {
  const urlPrefix = options.urlPrefix ?? sourceUrlPrefix(source) ?? DEFAULT_URL_PREFIX;
  const routeOptions: FileRouteOptions = {
    ...options,
    urlPrefix,
    inlineTypes: inlineTypeSet(options.inlineTypes ?? DEFAULT_INLINE_TYPES),
  };
  const coffer = lazyCoffer(source);
  const match = ({ request }: { request: Request }) => isFileRequest(request, urlPrefix);
  const handler = async ({ request }: { request: Request }) =>
    (await handleFileRequest(request, await coffer(), routeOptions)) ?? fetch(request);
  return [registerRoute(match, handler, 'GET'), registerRoute(match, handler, 'HEAD')];
}

export type { CofferSource, FileRouteOptions };
