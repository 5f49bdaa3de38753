// A page's own service worker (a module worker) serving Coffer's stored files, offline.
import { handleFileRequest, isFileRequest, lazyCoffer } from './coffer-sw.js';

// The same name as the page's openCoffer(); files are served under this folder's /coffer/.
const urlPrefix = new URL('./coffer/', self.location.href).pathname;
const coffer = lazyCoffer({ name: 'embed-example', urlPrefix });

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
