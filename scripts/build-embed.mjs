// `npm run build:embed`: the standalone ESM bundles for pages without a build step, in
// dist/embed/ (keep the files together: each worker is found beside the file that starts it):
//
//   coffer.js           the whole @coffer/core API; imports its code from chunks/ (shared with
//                       coffer-sync.js), and Ajv, for JSON Schemas, on first use
//   coffer-sync.js      @coffer/core/sync (openBrowserSync, openSync, S3Remote); the same
//                       chunks as coffer.js, so the two share one copy of every class
//   coffer.worker.js    the byte-pipeline worker, self-contained; coffer.js starts it with
//                       `new Worker(new URL('./coffer.worker.js', import.meta.url))`
//   sync.worker.js      the sync engine's worker; coffer-sync.js starts it, in the tab that
//                       leads sync, with `new URL('./sync.worker.js', import.meta.url)`; Ajv,
//                       for a coffer with schemas, comes from chunks/sync-*
//   coffer-elements.js  every <coffer-*> element, with Lit; imports the API from ./coffer.js
//   coffer-sw.js        @coffer/core/sw for a page's own (module) service worker, with
//                       openCoffer and askLeaderForBodies (files sync pulled lazily); without Ajv
//
// With `--sizes` it also measures what a page loads with each file (raw, minified, gzipped:
// coffer.js with the chunks it imports, coffer-sync.js with what it adds) and what each
// dependency costs, writes dist/embed/sizes.json and prints the README tables.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/embed`;
const core = `${root}packages/core/src`;
const elements = `${root}packages/elements/src`;

/** The elements bundle takes the API from the core bundle beside it: one copy of the classes. */
const coreBeside = {
  name: 'coffer-core-beside',
  setup(build) {
    build.onResolve({ filter: /^@coffer\/core$/ }, () => ({ path: './coffer.js', external: true }));
  },
};

/**
 * In coffer-sw.js, Ajv is left out: a service worker cannot import() it lazily and only reads
 * files. A coffer opened there with `schemas` fails when it would validate, and says why.
 */
const noAjv = {
  name: 'coffer-no-ajv',
  setup(build) {
    build.onResolve({ filter: /^ajv(\/|$)/ }, (args) => ({ path: args.path, namespace: 'no-ajv' }));
    build.onLoad({ filter: /.*/, namespace: 'no-ajv' }, () => ({
      contents: `export default class {
        constructor() {
          throw new Error('coffer-sw.js validates no JSON Schemas: open the coffer without \`schemas\` here.');
        }
      }`,
    }));
  },
};

/**
 * coffer-sw.js: @coffer/core/sw, plus what a service worker needs to serve files that sync
 * pulled without their bytes: `openCoffer`, and `askLeaderForBodies` (@coffer/core/sync/bodies).
 */
const swEntry = 'coffer-sw-entry';
const swEntryPlugin = {
  name: 'coffer-sw-entry',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^${swEntry}$`) }, () => ({ path: swEntry, namespace: swEntry }));
    build.onLoad({ filter: /.*/, namespace: swEntry }, () => ({
      contents: `export * from './sw/index.ts';
        export { openCoffer } from './api/coffer.ts';
        export { askLeaderForBodies } from './sync/leader-channel.ts';`,
      resolveDir: core,
      loader: 'ts',
    }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // Workspace packages from their TypeScript sources, like the tests and the app.
  conditions: ['@coffer/source'],
  legalComments: 'eof',
  logLevel: 'warning',
  metafile: true,
  absWorkingDir: root,
};

/** The bundles; `external` lists packages left out (to measure what they cost). */
function bundles({ minify = true, write = true, external = [] } = {}) {
  const options = { ...common, minify, write, sourcemap: write ? 'linked' : false, external };
  return Promise.all([
    // One build for both APIs: code they share goes to chunks/ once.
    build({
      ...options,
      entryPoints: { coffer: `${core}/index.ts`, 'coffer-sync': `${core}/sync/index.ts` },
      outdir,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
    }),
    build({ ...options, entryPoints: { 'coffer.worker': `${core}/worker/coffer.worker.ts` }, outdir }),
    // Self-contained too, but for Ajv: loaded (from chunks/sync-*) only by a coffer with schemas.
    build({
      ...options,
      entryPoints: { 'sync.worker': `${core}/sync/sync.worker.ts` },
      outdir,
      splitting: true,
      chunkNames: 'chunks/sync-[name]-[hash]',
    }),
    build({ ...options, entryPoints: { 'coffer-sw': swEntry }, outdir, plugins: [noAjv, swEntryPlugin] }),
    build({
      ...options,
      entryPoints: { 'coffer-elements': `${elements}/index.ts` },
      outdir,
      plugins: [coreBeside],
    }),
  ]);
}

/** The `.js` outputs of some builds, by path inside dist/embed. */
function outputsOf(results) {
  return Object.fromEntries(
    results
      .flatMap((r) => Object.entries(r.metafile.outputs))
      .filter(([file]) => file.endsWith('.js'))
      .map(([file, out]) => [relative(outdir, `${root}${file}`), out]),
  );
}

/**
 * `new URL('./x.js', import.meta.url)` resolves against the file the code was bundled into, and
 * splitting may move a module into chunks/: fail the build unless every such URL still names a
 * file that is there.
 */
function checkRelativeUrls(results) {
  const outputs = outputsOf(results);
  const problems = [];
  for (const [file, out] of Object.entries(outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
      if (bytesInOutput === 0 || !input.startsWith('packages/')) continue;
      const source = readFileSync(`${root}${input}`, 'utf8');
      for (const [, url] of source.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]+)['"],\s*import\.meta\.url/g)) {
        const target = join(dirname(file), url);
        if (!(target in outputs)) problems.push(`${input}, bundled into ${file}, looks for ${target}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(`dist/embed: a worker would not be found:\n  ${problems.join('\n  ')}`);
  }
}

/** The package a bundled input belongs to, or `@coffer/core` / `@coffer/elements`. */
function packageOf(input) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (match) return match[1];
  if (input.includes('packages/elements/')) return '@coffer/elements';
  return '@coffer/core';
}

/** What is measured (a row of the README table), in order, with what it is. */
const UNITS = {
  'coffer.js': 'the whole API, with the chunks it imports',
  'coffer-sync.js': 'sync: what it adds to `coffer.js`',
  'coffer.worker.js': 'loaded on the first file operation',
  'sync.worker.js': 'started by the tab that leads sync',
  'coffer-elements.js': 'imports `./coffer.js`',
  'chunks/*': 'Ajv, loaded only with `schemas`',
  'chunks/sync-*': 'Ajv for `sync.worker.js`, loaded only with `schemas`',
  'coffer-sw.js': 'service worker; without Ajv: no `schemas` there',
};

/**
 * The row each output file counts in: what a page loads with an entry is the entry and every
 * chunk it imports statically; coffer-sync.js counts only what coffer.js has not loaded, and
 * the chunks no entry imports statically are Ajv's, loaded with `import()` (chunks/sync-* by
 * sync.worker.js).
 */
function unitsOf(outputs) {
  const unit = {};
  const claim = (name, file) => {
    if (unit[file]) return;
    unit[file] = name;
    for (const { path, kind, external } of outputs[file].imports) {
      if (kind === 'import-statement' && !external) claim(name, relative(outdir, `${root}${path}`));
    }
  };
  for (const name of Object.keys(UNITS)) if (name in outputs) claim(name, name);
  for (const file of Object.keys(outputs))
    unit[file] ??= file.startsWith('chunks/sync-') ? 'chunks/sync-*' : 'chunks/*';
  return unit;
}

/** Gzipped bytes of each row, from a build made with `write: false`. */
function gzipSizes(results) {
  const unit = unitsOf(outputsOf(results));
  const sizes = {};
  for (const file of results.flatMap((r) => r.outputFiles ?? [])) {
    if (!file.path.endsWith('.js')) continue;
    const name = unit[relative(outdir, file.path)];
    sizes[name] = (sizes[name] ?? 0) + gzipSync(file.contents, { level: 9 }).length;
  }
  return sizes;
}

async function measure(minified) {
  const sizes = Object.fromEntries(
    Object.keys(UNITS).map((name) => [name, { raw: 0, minified: 0, gzip: 0 }]),
  );
  const unminified = outputsOf(await bundles({ minify: false, write: false }));
  const rawUnit = unitsOf(unminified);
  for (const [file, out] of Object.entries(unminified)) sizes[rawUnit[file]].raw += out.bytes;
  const outputs = outputsOf(minified);
  const unit = unitsOf(outputs);
  const costs = {};
  for (const [file, out] of Object.entries(outputs)) {
    const name = unit[file];
    sizes[name].minified += out.bytes;
    sizes[name].gzip += gzipSync(readFileSync(`${outdir}/${file}`), { level: 9 }).length;
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
      const pkg = packageOf(input);
      costs[pkg] ??= {};
      costs[pkg][name] = { minified: (costs[pkg][name]?.minified ?? 0) + bytesInOutput };
    }
  }
  // What a dependency costs gzipped: how much smaller each row is without it.
  const all = gzipSizes(await bundles({ write: false }));
  for (const pkg of Object.keys(costs)) {
    if (pkg.startsWith('@coffer/')) continue;
    const without = gzipSizes(await bundles({ write: false, external: [pkg, `${pkg}/*`] }));
    for (const name of Object.keys(costs[pkg])) costs[pkg][name].gzip = all[name] - (without[name] ?? 0);
  }
  writeFileSync(`${outdir}/sizes.json`, `${JSON.stringify({ sizes, costs }, null, 2)}\n`);

  const kB = (n) => `${(n / 1000).toFixed(1)} kB`;
  console.log('\n| file | raw | minified | gzipped |\n|---|--:|--:|--:|');
  for (const [name, s] of Object.entries(sizes)) {
    console.log(`| \`${name}\` (${UNITS[name]}) | ${kB(s.raw)} | ${kB(s.minified)} | ${kB(s.gzip)} |`);
  }
  const names = Object.keys(sizes);
  console.log(`\n| package | ${names.map((n) => `\`${n}\``).join(' | ')} |`);
  console.log(`|---|${names.map(() => '--:').join('|')}|`);
  for (const pkg of Object.keys(costs).sort()) {
    const cells = names.map((n) => {
      const c = costs[pkg][n];
      if (!c) return '';
      return c.gzip === undefined ? kB(c.minified) : `${kB(c.minified)} (${kB(c.gzip)} gz)`;
    });
    console.log(`| ${pkg} | ${cells.join(' | ')} |`);
  }
  console.log(`\n(written to ${relative(root, dirname(`${outdir}/sizes.json`))}/sizes.json)`);
}

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const results = await bundles();
checkRelativeUrls(results);
console.log(`dist/embed: ${Object.keys(outputsOf(results)).join(', ')}`);

if (process.argv.includes('--sizes')) await measure(results);
