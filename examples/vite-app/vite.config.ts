import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * An ordinary Vite config: no `@coffer/source` condition, so `@coffer/*` resolve to their built
 * `dist/` as they would from the registry, and nothing Coffer-specific. Vite finds the
 * byte-pipeline worker through `new Worker(new URL(...), import.meta.url)` in
 * `@coffer/core`. The service worker is a second entry, served at /sw.js as an ES module.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  build: {
    target: 'es2022',
    rolldownOptions: {
      input: { index: 'index.html', sw: 'src/sw.ts' },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
});
