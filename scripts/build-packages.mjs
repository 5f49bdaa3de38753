// `npm run build:packages`: the publishable builds of @coffer/core and @coffer/elements
// (`node scripts/build-packages.mjs core` builds one; elements need core's build).
//
// tsc emits one ESM file per source module (with .d.ts, declaration maps and source maps), so
// `new Worker(new URL('./coffer.worker.js', import.meta.url))` in dist/worker/client.js stays a
// relative reference to dist/worker/coffer.worker.js that a consumer's bundler follows.
// Elements are compiled against core's built declarations (no `@coffer/source` condition), as a
// consumer's TypeScript would see them.
//
// `--if-changed` skips a package whose sources, tsconfig and package.json are unchanged since
// its last build here (the tests use it so that each test file does not rebuild).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const stampFile = join(root, 'node_modules/.cache/coffer-build/stamps.json');

/** The newest modification time of a package's build inputs, and their count. */
function inputsStamp(dir) {
  let newest = 0;
  let count = 0;
  const visit = (path) => {
    const info = statSync(path);
    if (info.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else {
      newest = Math.max(newest, info.mtimeMs);
      count++;
    }
  };
  for (const input of ['src', 'tsconfig.build.json', 'package.json']) visit(join(dir, input));
  return `${newest}:${count}`;
}

const args = process.argv.slice(2);
const ifChanged = args.includes('--if-changed');
const names = args.filter((arg) => !arg.startsWith('--'));
const stamps = existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : {};
let rebuilt = false;

for (const name of names.length > 0 ? names : ['core', 'elements']) {
  const dir = join(root, 'packages', name);
  const stamp = `${inputsStamp(dir)}:${rebuilt}`;
  if (ifChanged && stamps[name] === stamp && existsSync(join(dir, 'dist/index.js'))) {
    console.log(`@coffer/${name}: up to date`);
    continue;
  }
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  const started = performance.now();
  const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.error(`tsc failed for @coffer/${name}`);
    delete stamps[name];
    process.exitCode = result.status ?? 1;
    break;
  }
  stamps[name] = `${inputsStamp(dir)}:false`;
  rebuilt = true;
  console.log(`@coffer/${name}: built in ${Math.round(performance.now() - started)} ms`);
}
mkdirSync(join(stampFile, '..'), { recursive: true });
writeFileSync(stampFile, JSON.stringify(stamps));
