import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * For the service-worker build only: core's Web Worker client (`worker/client`) becomes a stub.
 * A service worker has no `Worker`, so `openCoffer` runs its byte pipeline in process there;
 * without the stub, Vite would still bundle a second copy of the worker chunk for the
 * `new Worker(new URL(...))` it sees, and the precache would download it for nothing.
 */
function noWorkerInServiceWorker(): Plugin {
  const stub = '\0coffer-no-worker-client';
  return {
    name: 'coffer:no-worker-in-sw',
    enforce: 'pre',
    resolveId(source, importer) {
      if (/[/\\]worker[/\\]client(\.[jt]s)?$/.test(source) && importer && /[/\\]core[/\\]/.test(importer)) {
        return stub;
      }
      return undefined;
    },
    load(id) {
      if (id !== stub) return undefined;
      return `export function createWorkerPipeline() {
  throw new Error('The service worker has no Web Worker: open the coffer with worker: false.');
}`;
    },
  };
}

/**
 * The app build: the page, its Web Worker (Vite bundles `new Worker(new URL(...))`), and the
 * service worker (src/sw.ts) with the precache manifest injected by vite-plugin-pwa.
 */
export default defineConfig({
  root,
  base: './',
  // Workspace packages resolve to their TypeScript sources (the `source` export condition).
  resolve: { conditions: ['@coffer/source', 'module', 'browser', 'development|production'] },
  // The sync worker opens its coffer with the byte pipeline in process: no nested byte worker.
  worker: { format: 'es', plugins: () => [noWorkerInServiceWorker()] },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  server: { host: '127.0.0.1', port: 5173 },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      injectRegister: false,
      manifest: false,
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest,wasm}'],
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        buildPlugins: { vite: [noWorkerInServiceWorker()] },
        rollupFormat: 'iife',
      },
    }),
  ],
});
