import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../../scripts/serve.mjs';
import { launchChromium } from '../helpers/chromium.js';

/**
 * The packages as they would be published: built, packed with npm, linted with publint and
 * are-the-types-wrong, and bundled by a consumer's esbuild.
 */
const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const names = ['core', 'elements'] as const;
type Name = (typeof names)[number];

interface Packed {
  tarball: string;
  files: string[];
  manifest: {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    exports: Record<string, Record<string, string>>;
  };
}

let workDir: string;
const packed = {} as Record<Name, Packed>;

beforeAll(async () => {
  await run(process.execPath, ['scripts/build-packages.mjs', '--if-changed'], { cwd: root });
  workDir = await mkdtemp(join(tmpdir(), 'coffer-packaging-'));
  for (const name of names) {
    const dir = join(root, 'packages', name);
    // --ignore-scripts: the build above is the prepack script's.
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', workDir],
      {
        cwd: dir,
      },
    );
    const [result] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    packed[name] = {
      tarball: join(workDir, result.filename),
      files: result.files.map((f) => f.path).sort(),
      manifest: JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')),
    };
  }
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('packs every export of @coffer/core with its types, declaration map and source map', () => {
    const { files } = packed.core;

    for (const entry of ['index', 'worker/coffer.worker', 'sw/index', 'sw/workbox', 'sync/index']) {
      for (const suffix of ['.js', '.js.map', '.d.ts', '.d.ts.map'])
        expect(files).toContain(`dist/${entry}${suffix}`);
      expect(files).toContain(`src/${entry}.ts`);
    }
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
  });

  it('packs every element of @coffer/elements as its own module', () => {
    const { files } = packed.elements;

    for (const entry of ['index', 'coffer-files', 'coffer-record-list', 'base-element']) {
      for (const suffix of ['.js', '.js.map', '.d.ts']) expect(files).toContain(`dist/${entry}${suffix}`);
    }
  });

  it('leaves tests, build configs and build caches out of both packages', () => {
    const all = [...packed.core.files, ...packed.elements.files];

    expect(all.filter((f) => /\.test\.|tsconfig|tsbuildinfo|node_modules|^test\//.test(f))).toEqual([]);
    expect(all.filter((f) => !/^(dist|src)\/|^package\.json$|^README\.md$|^LICENSE/.test(f))).toEqual([]);
  });

  it('points every export condition at a packed file, with the @coffer/source condition first', () => {
    for (const name of names) {
      const { files, manifest } = packed[name];
      for (const [subpath, conditions] of Object.entries(manifest.exports)) {
        expect(Object.keys(conditions), `${name} ${subpath}`).toEqual(['@coffer/source', 'types', 'default']);
        for (const target of Object.values(conditions)) expect(files).toContain(target.replace(/^\.\//, ''));
      }
    }
  });
});

describe('dependencies', () => {
  it('declares only what runs in the browser; workbox-routing is an optional peer', () => {
    expect(Object.keys(packed.core.manifest.dependencies ?? {}).sort()).toEqual([
      'ajv',
      'aws4fetch',
      'comlink',
      'dexie',
      'fflate',
      'hash-wasm',
    ]);
    expect(packed.core.manifest.peerDependencies).toEqual({ 'workbox-routing': expect.any(String) });
    expect(packed.core.manifest.peerDependenciesMeta?.['workbox-routing']?.optional).toBe(true);
    expect(Object.keys(packed.elements.manifest.dependencies ?? {}).sort()).toEqual([
      '@coffer/core',
      '@lit/context',
      'lit',
    ]);
  });

  it('keeps S3 (aws4fetch, sync/) out of the main entry point: only @coffer/core/sync brings it', async () => {
    const dir = join(root, 'packages/core');
    const inputs = async (entry: string) => {
      const { metafile } = await build({
        entryPoints: [join(dir, entry)],
        bundle: true,
        write: false,
        metafile: true,
        format: 'esm',
        outdir: join(workDir, 'split'),
        nodePaths: [join(root, 'node_modules')],
        logLevel: 'silent',
      });
      return Object.keys(metafile.inputs);
    };
    expect((await inputs('dist/index.js')).filter((i) => /aws4fetch|[\\/]sync[\\/]/.test(i))).toEqual([]);
    expect((await inputs('dist/sync/index.js')).some((i) => i.includes('aws4fetch'))).toBe(true);
  });

  it('imports nothing from the built code but declared packages (no Node built-ins)', async () => {
    for (const name of names) {
      const { files, manifest } = packed[name];
      const declared = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      const dir = join(root, 'packages', name);
      // esbuild's metafile lists every import of every module, packages left external.
      const { metafile } = await build({
        entryPoints: files.filter((f) => f.startsWith('dist/') && f.endsWith('.js')).map((f) => join(dir, f)),
        bundle: true,
        write: false,
        metafile: true,
        packages: 'external',
        format: 'esm',
        platform: 'neutral',
        outdir: join(workDir, 'imports'),
        logLevel: 'silent',
      });
      const imported = new Set(
        Object.values(metafile.inputs).flatMap((input) =>
          input.imports.filter((i) => i.external).map((i) => i.path),
        ),
      );
      const packageOf = (s: string) =>
        s
          .split('/')
          .slice(0, s.startsWith('@') ? 2 : 1)
          .join('/');
      expect(
        [...imported].map(packageOf).filter((p) => !declared.has(p)),
        name,
      ).toEqual([]);
      expect(imported.size, name).toBeGreaterThan(0);
    }
  });
});

describe('linters', () => {
  it.each(names)('publint finds nothing in @coffer/%s (strict)', async (name) => {
    const tarball = (await readFile(packed[name].tarball)).buffer as ArrayBuffer;

    const { messages, pkg } = await publint({ pack: { tarball }, strict: true });

    expect(messages.map((m) => formatMessage(m, pkg) ?? m.code)).toEqual([]);
  });

  it.each(names)('are-the-types-wrong finds no problem in @coffer/%s (ESM only)', async (name) => {
    const attw = join(root, 'node_modules/.bin/attw');

    // attw exits non-zero on any problem the profile does not ignore.
    const { stdout } = await run(attw, [packed[name].tarball, '--profile', 'esm-only', '--format', 'json'], {
      cwd: root,
    });

    const report = JSON.parse(stdout) as {
      analysis: { types: { kind: string } };
      problems: Record<string, { resolutionKind?: string }[]>;
    };
    expect(report.analysis.types.kind).toBe('included');
    // The ESM-only profile ignores Node 10 and require() resolution; nothing else may fail.
    const problems = Object.values(report.problems)
      .flat()
      .filter((p) => !['node10', 'node16-cjs'].includes(p.resolutionKind ?? ''));
    expect(problems).toEqual([]);
  });
});

describe('a consumer bundling with esbuild', () => {
  let server: Server | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('keeps the worker a file of its own, which the page starts and uses', async () => {
    const app = join(workDir, 'esbuild-app');
    const entry = join(workDir, 'app.js');
    await writeFile(
      entry,
      `import { openCoffer } from '@coffer/core';
       window.check = async () => {
         const coffer = await openCoffer({ name: 'esbuild-consumer' });
         const bucket = await coffer.buckets.create();
         const version = await bucket.objects.put('hello.txt', new Blob(['hello']));
         const text = await (await version.blob()).text();
         coffer.close();
         return { checksum: version.checksum, text };
       };`,
    );
    await writeFile(
      join(workDir, 'index.html'),
      '<!doctype html><script type="module" src="app.js"></script>',
    );

    // The worker is the package's `./worker` export, given as a second entry beside the app.
    await build({
      entryPoints: { app: entry, 'coffer.worker': '@coffer/core/worker' },
      bundle: true,
      format: 'esm',
      outdir: app,
      nodePaths: [join(root, 'node_modules')],
      logLevel: 'error',
    });
    await writeFile(join(app, 'index.html'), '<!doctype html><script type="module" src="app.js"></script>');
    const bundled = await readFile(join(app, 'app.js'), 'utf8');
    expect(bundled).toContain('new URL("./coffer.worker.js", import.meta.url)');
    expect(bundled).not.toContain('/src/');

    const served = await serve(app);
    server = served.server;
    browser = await launchChromium();
    const page = await browser.newPage();
    const workers: string[] = [];
    page.on('worker', (worker) => workers.push(worker.url()));
    await page.goto(served.url);
    await page.waitForFunction(() => 'check' in window);

    const result = await page.evaluate(() => (window as unknown as { check(): Promise<unknown> }).check());

    expect(result).toEqual({ checksum: 'md5:5d41402abc4b2a76b9719d911017c592', text: 'hello' });
    expect(workers).toEqual([`${served.url}coffer.worker.js`]);
  });
});
