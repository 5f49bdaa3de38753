#!/usr/bin/env node
/**
 * `npm run bench`: build the benchmark page with Vite, serve it on 127.0.0.1, drive Debian's
 * Chromium headless with playwright-core, print a table and write bench/results/latest.json.
 *
 * Options: `--quick` (small sizes, one run each: for developing the harness),
 * `--only=ingest,tune,md5,main-thread,heap,reads,listing,records`, `--out=<file>`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? true];
  }),
);
const quick = Boolean(args.quick);
const only = typeof args.only === 'string' ? new Set(args.only.split(',')) : undefined;
const wanted = (name) => !only || only.has(name);
const MiB = 1024 * 1024;

/** Sizes and repetitions: medians of several runs, fewer for the largest files. */
const plan = quick
  ? {
      ingest: [
        [1, 1],
        [16, 1],
      ],
      md5: [16, 1],
      mainThread: [16, 1],
      heap: [32, 1],
      reads: [32, 1, 10],
      listing: [500, 3],
      records: 500,
      tune: [32, [2, 8, 32]],
    }
  : {
      ingest: [
        [1, 7],
        [16, 5],
        [256, 3],
      ],
      md5: [256, 3],
      mainThread: [256, 3],
      heap: [512, 2],
      reads: [512, 2, 40],
      listing: [10_000, 5],
      records: 10_000,
      tune: [256, [2, 8, 32]],
    };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mibps = (sizeMiB, ms) => sizeMiB / (ms / 1000);
const round = (x, digits = 2) => (x === undefined || Number.isNaN(x) ? x : Number(x.toFixed(digits)));

// ------------------------------------------------------------ build and serve

const dist = join(here, 'dist');
await build({ configFile: join(here, 'vite.config.mjs') });

const types = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(
    /^(\.\.[/\\])+/,
    '',
  );
  const file = join(dist, path.endsWith('/') ? `${path}index.html` : path);
  try {
    const body = readFileSync(file);
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      // Cross-origin isolation, for performance.measureUserAgentSpecificMemory().
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-store',
    });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--enable-precise-memory-info',
    '--js-flags=--expose-gc',
    '--enable-blink-features=ForceEagerMeasureMemory',
  ],
});
const page = await browser.newPage();
page.setDefaultTimeout(0);
page.on('pageerror', (e) => console.error('page error:', e));
await page.goto(url);
await page.waitForFunction(() => document.title === 'ready');
const call = (name, ...params) => page.evaluate(([n, p]) => globalThis.bench[n](...p), [name, params]);

// ------------------------------------------------------------ cases

const started = Date.now();
const loadBefore = os.loadavg();
const results = {};
const rows = [];
const log = (...x) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)}s]`, ...x);

/** One line of the table: a figure, what it is compared with, the ratio and the target. */
function row(name, figure, unit, versus, ratio, target, pass) {
  rows.push({ name, figure: round(figure), unit, versus, ratio: round(ratio), target, pass });
}

if (wanted('ingest')) {
  results.ingest = {};
  for (const [sizeMiB, runs] of plan.ingest) {
    log(`ingest ${sizeMiB} MiB × ${runs}`);
    await call('makeSource', sizeMiB);
    const methods = ['ingestCoffer', 'ingestRawBlob', 'ingestRawChunks', 'ingestPouch', 'hashSource'];
    const times = Object.fromEntries(methods.map((m) => [m, []]));
    for (let i = 0; i < runs; i++) {
      // Rotate the order so that no method always runs first (or right after the slowest).
      for (let j = 0; j < methods.length; j++) {
        const method = methods[(i + j) % methods.length];
        times[method].push(await call(method));
      }
    }
    const ms = Object.fromEntries(methods.map((m) => [m, median(times[m])]));
    const speed = Object.fromEntries(methods.map((m) => [m, mibps(sizeMiB, ms[m])]));
    results.ingest[sizeMiB] = { runs, ms, mibps: speed, all: times };
    const gated = sizeMiB >= 16;
    const vsRaw = speed.ingestCoffer / speed.ingestRawBlob;
    const vsPouch = speed.ingestCoffer / speed.ingestPouch;
    row(
      `ingest ${sizeMiB} MiB`,
      speed.ingestCoffer,
      'MiB/s',
      `raw IDB Blob ${round(speed.ingestRawBlob)}`,
      vsRaw,
      gated ? '≥ 0.85' : '—',
      gated ? vsRaw >= 0.85 : undefined,
    );
    row(
      `ingest ${sizeMiB} MiB`,
      speed.ingestCoffer,
      'MiB/s',
      `raw IDB 1 MiB ArrayBuffers ${round(speed.ingestRawChunks)}`,
      speed.ingestCoffer / speed.ingestRawChunks,
      '—',
      undefined,
    );
    row(
      `ingest ${sizeMiB} MiB`,
      speed.ingestCoffer,
      'MiB/s',
      `PouchDB putAttachment ${round(speed.ingestPouch)}`,
      vsPouch,
      gated ? '≥ 2.5' : '—',
      gated ? vsPouch >= 2.5 : undefined,
    );
    const slower = Math.min(speed.ingestRawBlob, speed.hashSource);
    row(
      `ingest ${sizeMiB} MiB`,
      speed.ingestCoffer,
      'MiB/s',
      `slower of raw put and md5 alone ${round(slower)}`,
      speed.ingestCoffer / slower,
      '—',
      undefined,
    );
  }
}

if (wanted('tune')) {
  const [sizeMiB, chunkSizes] = plan.tune;
  log(`chunk sizes for ${sizeMiB} MiB: ${chunkSizes.join(', ')} MiB`);
  await call('makeSource', sizeMiB);
  results.tune = { sizeMiB, chunkMiB: {} };
  for (const chunkMiB of chunkSizes) {
    const times = [];
    for (let i = 0; i < 2; i++) times.push(await call('ingestCoffer', { chunkSize: chunkMiB * MiB }));
    const speed = mibps(sizeMiB, median(times));
    results.tune.chunkMiB[chunkMiB] = { ms: times, mibps: speed };
    row(`ingest ${sizeMiB} MiB, ${chunkMiB} MiB chunks`, speed, 'MiB/s', '', undefined, '—', undefined);
  }
}

if (wanted('md5')) {
  const [sizeMiB, runs] = plan.md5;
  log(`md5 ${sizeMiB} MiB × ${runs}`);
  await call('makeSource', sizeMiB);
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await call('md5'));
  const worker = mibps(sizeMiB, median(all.map((r) => r.workerMs)));
  const standalone = mibps(sizeMiB, median(all.map((r) => r.standaloneMs)));
  const blob = mibps(sizeMiB, median(all.map((r) => r.blobMs)));
  results.md5 = { sizeMiB, runs, mibps: { worker, standalone, blob }, all };
  row(
    `md5 of stored ${sizeMiB} MiB in the worker`,
    worker,
    'MiB/s',
    `hash-wasm over the same rows ${round(standalone)}`,
    worker / standalone,
    '≥ 0.9',
    worker / standalone >= 0.9,
  );
  row(
    `md5 of stored ${sizeMiB} MiB in the worker`,
    worker,
    'MiB/s',
    `hash-wasm over the source Blob ${round(blob)}`,
    worker / blob,
    '—',
    undefined,
  );
}

if (wanted('main-thread')) {
  const [sizeMiB, runs] = plan.mainThread;
  log(`main thread during ${sizeMiB} MiB × ${runs}`);
  await call('makeSource', sizeMiB);
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await call('mainThread'));
  const longest = Math.max(...all.map((r) => r.longestTask));
  const lag = Math.max(...all.map((r) => r.worstLag));
  results.mainThread = { sizeMiB, runs, longestTask: longest, worstTimerLag: lag, all };
  row(
    `longest main-thread task, ${sizeMiB} MiB ingest`,
    longest,
    'ms',
    'Long Tasks API (reports ≥ 50 ms)',
    undefined,
    '< 50',
    longest < 50,
  );
  row(`worst 10 ms timer lag, ${sizeMiB} MiB ingest`, lag, 'ms', 'setInterval', undefined, '—', undefined);
}

if (wanted('heap')) {
  const [sizeMiB, runs] = plan.heap;
  log(`heap during ${sizeMiB} MiB × ${runs}`);
  await call('makeSource', sizeMiB);
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await call('heap'));
  const main = Math.max(...all.map((r) => r.mainGrowth)) / MiB;
  const mainGc = Math.max(...all.map((r) => r.mainGrowthAfterGc)) / MiB;
  const worker = Math.max(...all.map((r) => r.workerGrowthAfterGc)) / MiB;
  results.heap = {
    sizeMiB,
    runs,
    mainGrowthMiB: main,
    mainGrowthAfterGcMiB: mainGc,
    workerGrowthAfterGcMiB: worker,
    all,
  };
  row(
    `main heap growth, ${sizeMiB} MiB ingest`,
    main,
    'MiB',
    'performance.memory peak − start',
    undefined,
    '< 64',
    main < 64,
  );
  row(
    `main heap growth (live), ${sizeMiB} MiB ingest`,
    mainGc,
    'MiB',
    'measureUserAgentSpecificMemory',
    undefined,
    '< 64',
    mainGc < 64,
  );
  row(
    `worker heap growth (live), ${sizeMiB} MiB ingest`,
    worker,
    'MiB',
    'measureUserAgentSpecificMemory',
    undefined,
    '< 64',
    worker < 64,
  );
}

if (wanted('reads')) {
  const [sizeMiB, runs, ranges] = plan.reads;
  log(`reads of ${sizeMiB} MiB × ${runs}`);
  await call('makeSource', sizeMiB);
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await call('reads', ranges));
  const pick = (k) => median(all.map((r) => r[k]));
  const stream = mibps(sizeMiB, pick('cofferStream'));
  const blob = mibps(sizeMiB, pick('cofferBlob'));
  const raw = mibps(sizeMiB, pick('raw'));
  const range = pick('cofferRange');
  const rawRange = pick('rawRange');
  results.reads = {
    sizeMiB,
    runs,
    ranges,
    mibps: { stream, blob, raw },
    rangeMs: range,
    rawRangeMs: rawRange,
    all,
  };
  row(
    `full read ${sizeMiB} MiB, blob().stream()`,
    blob,
    'MiB/s',
    `raw IDB Blob ${round(raw)}`,
    blob / raw,
    '≥ 0.8',
    blob / raw >= 0.8,
  );
  row(
    `full read ${sizeMiB} MiB, stream()`,
    stream,
    'MiB/s',
    `raw IDB Blob ${round(raw)}`,
    stream / raw,
    '≥ 0.8',
    stream / raw >= 0.8,
  );
  row(
    `64 KiB range of ${sizeMiB} MiB (median)`,
    range,
    'ms',
    `raw IDB Blob slice ${round(rawRange)} ms`,
    range / rawRange,
    '< 20 ms',
    range < 20,
  );
}

if (wanted('listing')) {
  const [count, repeats] = plan.listing;
  log(`listing ${count} files`);
  const r = await call('listing', count, repeats);
  results.listing = { count, repeats, ...r };
  row(
    `list() of ${count} files`,
    r.list,
    'ms',
    `raw Dexie ${round(r.rawList)} ms`,
    r.list / r.rawList,
    '≤ 2',
    r.list / r.rawList <= 2,
  );
  row(
    `list() of ${count} files`,
    r.list,
    'ms',
    `raw Dexie with .filter() ${round(r.rawListFiltered)} ms`,
    r.list / r.rawListFiltered,
    '—',
    undefined,
  );
  row(
    `get(key) among ${count} files`,
    r.get,
    'ms',
    `raw Dexie ${round(r.rawGet)} ms`,
    r.get / r.rawGet,
    '—',
    undefined,
  );
  row(
    `get(key) among ${count} files`,
    r.get,
    'ms',
    `10-file bucket ${round(r.getSmallBucket)} ms`,
    r.get / r.getSmallBucket,
    '≈ 1',
    r.get / r.getSmallBucket < 1.5,
  );
  row(`populate ${count} files (16 concurrent puts)`, r.populate / 1000, 's', '', undefined, '—', undefined);
}

if (wanted('records')) {
  const count = plan.records;
  log(`records × ${count}`);
  const r = await call('records', count);
  results.records = { count, ...r };
  if (r.available) {
    row(
      `create ${count} records one by one`,
      r.oneByOne,
      'ms',
      `raw Dexie add ${round(r.rawOneByOne)} ms`,
      r.oneByOne / r.rawOneByOne,
      '—',
      undefined,
    );
    row(
      `create ${count} records at once`,
      r.concurrent,
      'ms',
      `raw Dexie bulkAdd ${round(r.rawBulk)} ms`,
      r.concurrent / r.rawBulk,
      '—',
      undefined,
    );
  }
}

// ------------------------------------------------------------ report

const info = await call('info');
const cpu = (() => {
  try {
    return execFileSync('lscpu', { encoding: 'utf8' })
      .match(/Model name:\s*(.+)/)?.[1]
      ?.trim();
  } catch {
    return os.cpus()[0]?.model;
  }
})();
const machine = {
  cpu,
  cores: os.cpus().length,
  memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  chromium: browser.version(),
  userAgent: info.userAgent,
  crossOriginIsolated: info.crossOriginIsolated,
  loadAverage: { before: loadBefore.map((x) => round(x)), after: os.loadavg().map((x) => round(x)) },
};
await browser.close();
server.close();

const report = {
  date: new Date().toISOString(),
  quick,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  machine,
  rows,
  results,
};
const out = typeof args.out === 'string' ? args.out : join(here, 'results', 'latest.json');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);

const pad = (s, n) => String(s ?? '').padEnd(n);
const header = ['case', 'figure', 'vs', 'ratio', 'target', 'ok'];
const lines = rows.map((r) => [
  r.name,
  `${r.figure} ${r.unit}`,
  r.versus,
  r.ratio === undefined ? '' : `${r.ratio}×`,
  r.target,
  r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
console.log(
  `\n${machine.cpu} (${machine.cores} cores), Chromium ${machine.chromium}, ${report.durationSeconds} s, load ${machine.loadAverage.before[0]} → ${machine.loadAverage.after[0]}\n`,
);
console.log(header.map((h, i) => pad(h, widths[i])).join('  '));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const l of lines) console.log(l.map((c, i) => pad(c, widths[i])).join('  '));
console.log(`\nwritten to ${out}`);
