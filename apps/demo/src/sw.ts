/// <reference lib="webworker" />
/**
 * The app's service worker: the precached app shell (offline after the first visit), the
 * Coffer file routes (stored files at ordinary URLs, those pulled lazily by sync fetched
 * through the leader tab), and the app shell for navigations.
 * A new version waits until the page asks it to take over (`SKIP_WAITING`, see sw-update.ts).
 */
import { openCoffer } from '@coffer/core';
import { registerCofferRoutes } from '@coffer/core/sw/workbox';
import { askLeaderForBodies } from '@coffer/core/sync/bodies';
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { COFFER_NAME } from './config.js';

declare const self: ServiceWorkerGlobalScope & {
  __WB_MANIFEST: (string | { url: string; revision: string | null })[];
};

self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});

// The first install takes the open page over at once, so stored files preview through the
// routes below without a reload; later versions wait for the user (skipWaiting above).
clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(self.__WB_MANIFEST);
// Files pulled by sync without their bytes (the Sync screen's "download on first open") are
// fetched by the tab that leads sync: this worker has no sync and cannot start workers.
registerCofferRoutes(async () => {
  const coffer = await openCoffer({ name: COFFER_NAME });
  askLeaderForBodies(coffer);
  return coffer;
});
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: [/^\/coffer\//] }));
