import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Builds the benchmark page: `@coffer/core` from its sources, the worker as an ES module. */
export default defineConfig({
  root: fileURLToPath(new URL('./page', import.meta.url)),
  base: './',
  logLevel: 'warn',
  resolve: { conditions: ['@coffer/source', 'module', 'browser', 'production'] },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'esnext',
    reportCompressedSize: false,
  },
});
