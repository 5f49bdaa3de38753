// `npm run build:embed`: the standalone ESM bundles for pages without a build step, in
// dist/embed/:
//
//   coffer.js           the whole @coffer/core API (Ajv, for JSON Schemas, loads on first use
//                       from chunks/)
//   coffer.worker.js    the byte-pipeline worker, self-contained; coffer.js starts it with
//                       `new Worker(new URL('./coffer.worker.js', import.meta.url))`, so it
//                       must sit beside coffer.js
//   coffer-elements.js  every <coffer-*> element, with Lit; imports the API from ./coffer.js
//   coffer-sw.js        @coffer/core/sw for a page's own (module) service worker; without Ajv
//
// With `--sizes` it also measures every file (raw, minified, gzipped) and what each
// dependency costs, writes dist/embed/sizes.json and prints the README tables.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
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
};

/** The bundles; `external` lists packages left out (to measure what they cost). */
function bundles({ minify = true, write = true, external = [] } = {}) {
  const options = { ...common, minify, write, sourcemap: write ? 'linked' : false, external };
  return Promise.all([
    build({
      ...options,
      entryPoints: { coffer: `${core}/index.ts` },
      outdir,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
    }),
    build({ ...options, entryPoints: { 'coffer.worker': `${core}/worker/coffer.worker.ts` }, outdir }),
    build({ ...options, entryPoints: { 'coffer-sw': `${core}/sw/index.ts` }, outdir, plugins: [noAjv] }),
    build({
      ...options,
      entryPoints: { 'coffer-elements': `${elements}/index.ts` },
      outdir,
      plugins: [coreBeside],
    }),
  ]);
}

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const results = await bundles();
const files = results.flatMap((r) => Object.keys(r.metafile.outputs)).filter((f) => f.endsWith('.js'));
console.log(`dist/embed: ${files.map((f) => relative(outdir, `${root}${f}`)).join(', ')}`);

if (process.argv.includes('--sizes')) await measure(results);

/** The package a bundled input belongs to, or `@coffer/core` / `@coffer/elements`. */
function packageOf(input) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (match) return match[1];
  if (input.includes('packages/elements/')) return '@coffer/elements';
  return '@coffer/core';
}

/** A bundle's display name: entries by name, split chunks together (they are Ajv, loaded lazily). */
function bundleName(file) {
  const name = relative(outdir, `${root}${file}`);
  return name.startsWith('chunks/') ? 'chunks/*' : name;
}

/** Gzipped bytes of each bundle of a build made with `write: false`. */
function gzipSizes(results) {
  const sizes = {};
  for (const file of results.flatMap((r) => r.outputFiles ?? [])) {
    if (!file.path.endsWith('.js')) continue;
    const name = bundleName(relative(root, file.path));
    sizes[name] = (sizes[name] ?? 0) + gzipSync(file.contents, { level: 9 }).length;
  }
  return sizes;
}

async function measure(minified) {
  const sizes = {};
  const add = (name, field, bytes) => {
    sizes[name] ??= { raw: 0, minified: 0, gzip: 0 };
    sizes[name][field] += bytes;
  };
  for (const [file, out] of (await bundles({ minify: false, write: false })).flatMap((r) =>
    Object.entries(r.metafile.outputs),
  )) {
    if (file.endsWith('.js')) add(bundleName(file), 'raw', out.bytes);
  }
  const costs = {};
  for (const [file, out] of minified.flatMap((r) => Object.entries(r.metafile.outputs))) {
    if (!file.endsWith('.js')) continue;
    const name = bundleName(file);
    add(name, 'minified', out.bytes);
    add(name, 'gzip', gzipSync(readFileSync(`${root}${file}`), { level: 9 }).length);
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
      const pkg = packageOf(input);
      costs[pkg] ??= {};
      costs[pkg][name] = { minified: (costs[pkg][name]?.minified ?? 0) + bytesInOutput };
    }
  }
  // What a dependency costs gzipped: how much smaller each bundle is without it.
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
    console.log(`| \`${name}\` | ${kB(s.raw)} | ${kB(s.minified)} | ${kB(s.gzip)} |`);
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
