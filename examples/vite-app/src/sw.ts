/// <reference lib="webworker" />
/**
 * The app's own service worker, with its own Workbox routes, to which Coffer adds its file
 * routes: `/coffer/records/<id>/files/<key>` and `/coffer/buckets/<id>/objects/<key>` answer
 * from IndexedDB, offline.
 */
import { registerCofferRoutes } from '@coffer/core/sw/workbox';
import { clientsClaim } from 'workbox-core';
import { registerRoute } from 'workbox-routing';
import { StaleWhileRevalidate } from 'workbox-strategies';
import { COFFER_NAME } from './config.js';

declare const self: ServiceWorkerGlobalScope;

void self.skipWaiting();
clientsClaim();

// The app's own routes: its scripts and styles from a cache, and an answer of its own.
registerRoute(
  ({ request }) => request.destination === 'script' || request.destination === 'style',
  new StaleWhileRevalidate({ cacheName: 'app-assets' }),
);
registerRoute(
  ({ url }) => url.pathname === '/api/hello',
  async () => Response.json({ from: 'the app’s own route' }),
);

// Coffer's file routes, beside them.
registerCofferRoutes({ name: COFFER_NAME });
