// A page's own service worker (a module worker) serving Coffer's stored files, offline.
import { askLeaderForBodies, handleFileRequest, isFileRequest, lazyCoffer, openCoffer } from './coffer-sw.js';

// The same name as the pages' openCoffer(); files are served under this folder's /coffer/.
const urlPrefix = new URL('./coffer/', self.location.href).pathname;
const coffer = lazyCoffer(async () => {
  const opened = await openCoffer({ name: 'embed-example', urlPrefix });
  // Files that sync.html pulled without their bytes: the tab that leads sync fetches them.
  askLeaderForBodies(opened);
  return opened;
});

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  if (!isFileRequest(event.request, urlPrefix)) return;
  event.respondWith(
    coffer().then(
      async (c) => (await handleFileRequest(event.request, c, { urlPrefix })) ?? fetch(event.request),
    ),
  );
});
