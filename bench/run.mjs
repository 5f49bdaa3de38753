#!/usr/bin/env node
/**
 * `npm run bench`: build the benchmark page with Vite, serve it on 127.0.0.1, drive Debian's
 * Chromium headless with playwright-core, print a table and write bench/results/latest.json.
 *
 * Options: `--quick` (small sizes, one run each: for developing the harness),
 * `--only=ingest,ingest-file,small,createmany,fullread,listall,biglist,frames,tune,md5,main-thread,heap,reads,listing,records,sync-push,sync-pull,sync-requests`,
 * `--out=<file>`. Tools outside the full run, only with `--only=`: `knobs`, `sync-profile`,
 * `sync-parts`, `sync-scale`, `sync-gather` (bench/sync.mjs says what each measures).
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { runSyncCases, SYNC_CASES } from './sync.mjs';

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
        [1, 1, 1],
        [16, 1, 1],
      ],
      md5: [16, 1],
      mainThread: [16, 1],
      heap: [32, 1],
      reads: [32, 1, 10],
      listing: [500, 3],
      records: 500,
      tune: [32, 1],
      ingestFile: [[16, 1]],
      small: [200, 1, 1],
      createMany: [500, 1],
      fullRead: [16, 1],
      listAll: [500, 3],
      bigList: [5_000, 10],
      frames: [16, 1],
    }
  : {
      ingest: [
        [1, 5, 5],
        [16, 5, 3],
        [256, 3, 2],
      ],
      md5: [256, 3],
      mainThread: [256, 3],
      heap: [512, 2],
      reads: [512, 3, 40],
      listing: [10_000, 5],
      records: 10_000,
      tune: [128, 3],
      ingestFile: [
        [16, 5],
        [256, 3],
      ],
      small: [10_000, 1, 3],
      createMany: [10_000, 5],
      fullRead: [128, 5],
      listAll: [10_000, 7],
      bigList: [100_000, 40],
      frames: [256, 3],
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

/**
 * Make the page's source: random bytes built in memory (a Blob), or with `file`, the same
 * kind of bytes written to a temporary file and chosen in the page's file input (a disk-backed
 * File, as a user's upload is).
 */
const tempFiles = new Set();
async function source(sizeMiB, file = false) {
  if (!file) return call('makeSource', sizeMiB);
  const path = join(os.tmpdir(), `coffer-bench-${sizeMiB}.bin`);
  const fd = openSync(path, 'w');
  const part = Buffer.alloc(MiB);
  for (let i = 0; i < sizeMiB; i++) {
    randomFillSync(part);
    writeSync(fd, part);
  }
  closeSync(fd);
  await page.setInputFiles('#file', path);
  tempFiles.add(path);
  return call('useInputFile');
}

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

const fresh = Boolean(args.fresh);
if (wanted('ingest')) {
  results.ingest = {};
  for (const [sizeMiB, runs, pouchRuns] of plan.ingest) {
    log(`ingest ${sizeMiB} MiB × ${runs}, load ${round(os.loadavg()[0])}`);
    await call('makeSource', sizeMiB);
    // The raw ceilings: the same Blob sliced like Coffer's default chunks (32 MiB), one
    // transaction each, and the whole Blob in one put; both awaited to `complete`.
    const methods = ['ingestCoffer', 'ingestRawSlices', 'ingestRawWhole', 'hashSource', 'ingestPouch'];
    const args = { ingestRawSlices: [32] };
    const times = Object.fromEntries(methods.map((m) => [m, []]));
    for (let i = 0; i < runs; i++) {
      // Rotate the order so that no method always runs first (or right after the slowest).
      for (let j = 0; j < methods.length; j++) {
        const method = methods[(i + j) % methods.length];
        if (method === 'ingestPouch' && times.ingestPouch.length >= pouchRuns) continue;
        // --fresh: every method gets a Blob built just before it, never read.
        if (fresh) await call('makeSource', sizeMiB, false);
        times[method].push(await call(method, ...(args[method] ?? [])));
      }
    }
    const ms = Object.fromEntries(methods.map((m) => [m, median(times[m])]));
    const speed = Object.fromEntries(methods.map((m) => [m, mibps(sizeMiB, ms[m])]));
    results.ingest[sizeMiB] = { runs, ms, mibps: speed, all: times, load: os.loadavg() };
    const gated = sizeMiB >= 16;
    const line = (versus, peer, target, ok) =>
      row(
        `ingest ${sizeMiB} MiB${fresh ? ' (fresh Blob)' : ''}`,
        speed.ingestCoffer,
        'MiB/s',
        `${versus} ${round(peer)}`,
        speed.ingestCoffer / peer,
        gated ? target : '—',
        gated ? ok(speed.ingestCoffer / peer) : undefined,
      );
    // Issue 14: ≥ 0.85× a raw put of the same Blob at 256 MiB, ≥ 0.75× at 16 MiB; ≥ 7× PouchDB.
    const target = sizeMiB >= 256 ? 0.85 : 0.75;
    line(
      'raw IDB put of the same Blob (one put, awaited to complete)',
      speed.ingestRawWhole,
      `≥ ${target}`,
      (r) => r >= target,
    );
    line('raw IDB put, same Blob as 32 MiB slices, one tx each', speed.ingestRawSlices, '—', () => undefined);
    row(
      `ingest ${sizeMiB} MiB${fresh ? ' (fresh Blob)' : ''}`,
      speed.ingestCoffer,
      'MiB/s',
      `PouchDB putAttachment ${round(speed.ingestPouch)}`,
      speed.ingestCoffer / speed.ingestPouch,
      '≥ 7',
      speed.ingestCoffer / speed.ingestPouch >= 7,
    );
    line('md5 alone (hash-wasm in a plain worker, same Blob)', speed.hashSource, '—', () => undefined);
    // The bound of any write that must hash every byte: md5 alone against the raw put.
    row(
      `ingest ${sizeMiB} MiB: bound`,
      speed.hashSource,
      'MiB/s',
      `md5 alone vs raw IDB put of the same Blob ${round(speed.ingestRawWhole)}`,
      speed.hashSource / speed.ingestRawWhole,
      '—',
      undefined,
    );
    row(
      `ingest ${sizeMiB} MiB: fixed cost`,
      ms.ingestCoffer - Math.max(ms.hashSource, ms.ingestRawWhole),
      'ms',
      'Coffer − max(md5 alone, raw put)',
      undefined,
      '—',
      undefined,
    );
  }
}

/**
 * `--only=knobs`: the write path's settings compared in one run, interleaved, each against
 * the same baseline. `--size=`, `--reps=`, `--file` (a disk-backed File as the source),
 * `--variants=` a JSON object of name → options for `ingestTuned`.
 */
if (only?.has('knobs')) {
  const sizeMiB = Number(args.size ?? 64);
  const reps = Number(args.reps ?? 5);
  await source(sizeMiB, Boolean(args.file));
  const variants =
    typeof args.variants === 'string'
      ? JSON.parse(args.variants)
      : {
          before: { tuning: { txBytes: 0, heartbeatMs: 0, hashRead: 'stream' } },
          defaults: {},
        };
  const names = Object.keys(variants);
  const raws = String(args.raw ?? '8')
    .split(',')
    .map(Number);
  const extra = [...raws.map((c) => `rawSlices${c}`), 'md5Alone'];
  const times = Object.fromEntries([...names, ...extra].map((n) => [n, []]));
  for (let i = 0; i < reps; i++) {
    const order = [...names, ...extra];
    for (let j = 0; j < order.length; j++) {
      const n = order[(i + j) % order.length];
      times[n].push(
        n.startsWith('rawSlices')
          ? await call('ingestRawSlices', Number(n.slice(9)))
          : n === 'md5Alone'
            ? await call('hashSource')
            : await call('ingestTuned', variants[n]),
      );
    }
    log(`rep ${i + 1}, load ${round(os.loadavg()[0])}`);
  }
  const med = Object.fromEntries(Object.entries(times).map(([n, t]) => [n, median(t)]));
  console.log(`knobs ${sizeMiB} MiB${args.file ? ' (File)' : ''}, load ${round(os.loadavg()[0])}`);
  for (const n of Object.keys(times)) {
    console.log(
      `  ${n.padEnd(14)} ${String(Math.round(med[n])).padStart(6)} ms  ${String(round(mibps(sizeMiB, med[n]))).padStart(7)} MiB/s  ×${round(med.rawSlices8 / med[n])} of raw 8 MiB slices, ×${round(med.md5Alone / med[n])} of md5 alone  ${JSON.stringify(times[n].map(Math.round))}`,
    );
  }
  results.knobs = { sizeMiB, variants, times };
}

if (only?.has('profile')) {
  const sizeMiB = Number(args.size ?? 64);
  await source(sizeMiB, Boolean(args.file));
  for (let i = 0; i < Number(args.reps ?? 3); i++) {
    const r = await call('hashProfile', Number(args.chunk ?? 8));
    log(
      Object.entries(r)
        .map(([k, v]) => `${k} ${Math.round(v)} ms (${round(mibps(sizeMiB, v))} MiB/s)`)
        .join(', '),
      `load ${round(os.loadavg()[0])}`,
    );
  }
}

if (wanted('inline')) {
  const sizes = quick ? [16, 256] : [4, 16, 64, 256, 1024];
  const count = quick ? 20 : 40;
  const reps = quick ? 1 : 3;
  log(`inline threshold: ${sizes.join(', ')} KiB × ${count} files`);
  results.inline = {};
  for (const sizeKiB of sizes) {
    const all = [];
    for (let i = 0; i < reps; i++) all.push(await call('inlineThreshold', sizeKiB, count));
    const pick = (k) => median(all.map((r) => r[k]));
    results.inline[sizeKiB] = { count, all };
    row(
      `put of a ${sizeKiB} KiB file, inline`,
      pick('inlinePut'),
      'ms',
      `as a Blob chunk ${round(pick('blobPut'))} ms`,
      pick('inlinePut') / pick('blobPut'),
      '—',
      undefined,
    );
    row(
      `read of a ${sizeKiB} KiB file, inline`,
      pick('inlineRead'),
      'ms',
      `as a Blob chunk ${round(pick('blobRead'))} ms`,
      pick('inlineRead') / pick('blobRead'),
      '—',
      undefined,
    );
  }
}

if (only?.has('rangeprobe')) {
  await source(Number(args.size ?? 64), Boolean(args.file));
  for (let i = 0; i < 2; i++)
    log(JSON.stringify(await call('rangeProbe', 30)), `load ${round(os.loadavg()[0])}`);
}

if (wanted('tune')) {
  // The write path before this tuning (8 MiB chunks, one transaction and one heartbeat per
  // chunk, each chunk hashed from its own stream) against the tuned one, in the same run.
  const [sizeMiB, runs] = plan.tune;
  log(`write path, before and after, ${sizeMiB} MiB × ${runs}, load ${round(os.loadavg()[0])}`);
  await call('makeSource', sizeMiB);
  const variants = {
    'before (8 MiB)': { chunkMiB: 8, tuning: { txBytes: 0, heartbeatMs: 0, hashRead: 'stream' } },
    'tuned, 8 MiB chunks': { chunkMiB: 8 },
    'tuned, 32 MiB chunks (default)': { chunkMiB: 32 },
    'raw slices 8 MiB': 8,
    'raw slices 32 MiB': 32,
    'md5 alone': null,
  };
  const names = Object.keys(variants);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < names.length; j++) {
      const n = names[(i + j) % names.length];
      const v = variants[n];
      times[n].push(
        v === null
          ? await call('hashSource')
          : typeof v === 'number'
            ? await call('ingestRawSlices', v)
            : await call('ingestTuned', v),
      );
    }
  }
  const speed = Object.fromEntries(names.map((n) => [n, mibps(sizeMiB, median(times[n]))]));
  results.tune = { sizeMiB, runs, variants, times, mibps: speed, load: os.loadavg() };
  for (const n of names) {
    row(
      `write path ${sizeMiB} MiB: ${n}`,
      speed[n],
      'MiB/s',
      `before ${round(speed['before (8 MiB)'])}`,
      speed[n] / speed['before (8 MiB)'],
      '—',
      undefined,
    );
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
  for (let i = 0; i < runs; i++) all.push(await call('reads', ranges, i));
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
    rangeColdMs: pick('cofferRangeCold'),
    rawRangeMs: rawRange,
    rangeLookupMs: pick('cofferRangeLookup'),
    rawRangeLookupMs: pick('rawRangeLookup'),
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
  row(
    `64 KiB range, first read in its chunk (median)`,
    pick('cofferRangeCold'),
    'ms',
    `raw IDB Blob slice ${round(rawRange)} ms`,
    pick('cofferRangeCold') / rawRange,
    '< 20 ms',
    pick('cofferRangeCold') < 20,
  );
  row(
    `64 KiB range: finding the Blob (rows)`,
    pick('cofferRangeLookup'),
    'ms',
    `raw IDB get ${round(pick('rawRangeLookup'))} ms`,
    pick('cofferRangeLookup') / pick('rawRangeLookup'),
    '—',
    undefined,
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

if (wanted('ingest-file')) {
  // A disk-backed File (chosen in a file input), as a user's upload is: Coffer's ingest
  // against hash-wasm md5 alone over the same File in a plain worker (target ≥ 0.9×), and a raw
  // IndexedDB put of the same File.
  results.ingestFile = {};
  for (const [sizeMiB, runs] of plan.ingestFile) {
    log(`ingest of a File, ${sizeMiB} MiB × ${runs}, load ${round(os.loadavg()[0])}`);
    await source(sizeMiB, true);
    // `slices`: the File stored as 32 MiB slices, the layout of Blob sources before
    // `blobChunkSize` (issue 14's "before", in the same run).
    const methods = ['ingestCoffer', 'hashSource', 'ingestRawWhole', 'slices'];
    const calls = { slices: () => call('ingestCoffer', { blobChunkSize: 32 * MiB }) };
    const times = Object.fromEntries(methods.map((m) => [m, []]));
    for (let i = 0; i < runs; i++) {
      for (let j = 0; j < methods.length; j++) {
        const method = methods[(i + j) % methods.length];
        times[method].push(await (calls[method]?.() ?? call(method)));
      }
    }
    const ms = Object.fromEntries(methods.map((m) => [m, median(times[m])]));
    const speed = Object.fromEntries(methods.map((m) => [m, mibps(sizeMiB, ms[m])]));
    results.ingestFile[sizeMiB] = { runs, ms, mibps: speed, all: times, load: os.loadavg() };
    const r = speed.ingestCoffer / speed.hashSource;
    row(
      `ingest of a File ${sizeMiB} MiB`,
      speed.ingestCoffer,
      'MiB/s',
      `md5 alone over the same File (hash-wasm, plain worker) ${round(speed.hashSource)}`,
      r,
      '≥ 0.9',
      r >= 0.9,
    );
    row(
      `ingest of a File ${sizeMiB} MiB as 32 MiB slices (before)`,
      speed.slices,
      'MiB/s',
      `md5 alone over the same File ${round(speed.hashSource)}`,
      speed.slices / speed.hashSource,
      '—',
      undefined,
    );
    row(
      `ingest of a File ${sizeMiB} MiB`,
      speed.ingestCoffer,
      'MiB/s',
      `raw IDB put of the same File ${round(speed.ingestRawWhole)}`,
      speed.ingestCoffer / speed.ingestRawWhole,
      '—',
      undefined,
    );
  }
}

if (wanted('small')) {
  const [count, sizeKiB, runs] = plan.small;
  log(`small files: ${count} × ${sizeKiB} KiB × ${runs}, load ${round(os.loadavg()[0])}`);
  // --small=puts,rawSingles: some of them (the code before putMany has no putMany).
  const names =
    typeof args.small === 'string' ? args.small.split(',') : ['putMany', 'rawBulk', 'puts', 'rawSingles'];
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]);
    const r = await call('smallFiles', count, sizeKiB, order);
    for (const n of names) times[n].push(r[n]);
  }
  const ms = Object.fromEntries(names.map((n) => [n, median(times[n])]));
  const rate = (n) => count / (ms[n] / 1000);
  results.small = { count, sizeKiB, runs, ms, all: times, load: os.loadavg() };
  if (names.includes('putMany'))
    row(
      `putMany ${count} × ${sizeKiB} KiB`,
      rate('putMany'),
      'files/s',
      `raw IDB put of the same Blobs in one transaction ${round(rate('rawBulk'))}`,
      rate('putMany') / rate('rawBulk'),
      '≥ 0.7',
      rate('putMany') / rate('rawBulk') >= 0.7,
    );
  if (names.includes('puts'))
    row(
      `put × ${count} of ${sizeKiB} KiB, 16 in flight`,
      rate('puts'),
      'files/s',
      `raw IDB put of the same Blob, one transaction per file, 16 in flight ${round(rate('rawSingles'))}`,
      rate('puts') / rate('rawSingles'),
      '≥ 0.7',
      rate('puts') / rate('rawSingles') >= 0.7,
    );
}

if (wanted('createmany')) {
  const [count, runs] = plan.createMany;
  log(`createMany ${count} × ${runs}`);
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await call('createMany', count, i));
  const a = median(all.map((r) => r.createMany));
  const b = median(all.map((r) => r.rawBulkAdd));
  results.createMany = { count, runs, all, load: os.loadavg() };
  row(
    `records.createMany of ${count} (no bucket)`,
    a,
    'ms',
    `raw Dexie bulkAdd of the same rows ${round(b)} ms`,
    a / b,
    '≤ 2',
    a / b <= 2,
  );
}

if (wanted('fullread')) {
  const [sizeMiB, runs] = plan.fullRead;
  log(`full reads ${sizeMiB} MiB × ${runs}`);
  await call('makeSource', sizeMiB);
  const all = [];
  // Also the reads of the same bytes stored as 32 MiB slices (Blob sources before `blobChunkSize`).
  for (let i = 0; i < runs; i++) all.push(await call('fullReads', i, 32));
  const pick = (k) => mibps(sizeMiB, median(all.map((r) => r[k])));
  results.fullRead = { sizeMiB, runs, all, load: os.loadavg() };
  for (const [mine, raw, label, rawLabel] of [
    [
      'cofferArrayBuffer',
      'rawArrayBuffer',
      'blob().arrayBuffer()',
      'raw IDB get + arrayBuffer() of the same Blob',
    ],
    ['cofferStream', 'rawStream', 'stream()', 'raw IDB get + stream() of the same Blob'],
    [
      'slicedArrayBuffer',
      'rawArrayBuffer',
      'blob().arrayBuffer(), 32 MiB slices (before)',
      'raw IDB get + arrayBuffer() of the same Blob',
    ],
    [
      'slicedStream',
      'rawStream',
      'stream(), 32 MiB slices (before)',
      'raw IDB get + stream() of the same Blob',
    ],
  ]) {
    const r = pick(mine) / pick(raw);
    row(
      `full read ${sizeMiB} MiB, ${label}`,
      pick(mine),
      'MiB/s',
      `${rawLabel} ${round(pick(raw))}`,
      r,
      '≥ 0.9',
      r >= 0.9,
    );
  }
}

if (wanted('listall')) {
  const [count, repeats] = plan.listAll;
  log(`list() of ${count}`);
  const r = await call('listAll', count, repeats);
  results.listAll = { count, repeats, ...r, load: os.loadavg() };
  row(
    `list() of ${count} files`,
    r.list,
    'ms',
    `raw indexed query of the same rows (Dexie toArray over [bucketId+isHead+key]) ${round(r.raw)} ms`,
    r.list / r.raw,
    '≤ 1.3',
    r.list / r.raw <= 1.3,
  );
  row(
    `putMany of ${count} files of 1–30 bytes (populating the listing)`,
    r.populate,
    'ms',
    '',
    undefined,
    '—',
    undefined,
  );
}

if (wanted('biglist')) {
  const [count, pages] = plan.bigList;
  log(`pages of 100 among ${count}`);
  const r = await call('bigListing', count, pages);
  results.bigList = { count, pages, ...r, load: os.loadavg() };
  row(
    `list({ limit: 100, after }) among ${count} files (median)`,
    r.page,
    'ms',
    `raw indexed query of the same page ${round(r.raw)} ms; worst ${round(r.pageMax)} ms`,
    r.page / r.raw,
    '< 20 ms',
    r.page < 20,
  );
}

if (wanted('frames')) {
  const [sizeMiB, runs] = plan.frames;
  log(`frames during ${sizeMiB} MiB × ${runs}`);
  await call('makeSource', sizeMiB);
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await call('frames'));
  const busy = median(all.map((r) => r.busy));
  const idle = median(all.map((r) => r.idle));
  results.frames = { sizeMiB, runs, all, load: os.loadavg() };
  row(
    `longest frame (rAF gap) during a ${sizeMiB} MiB ingest (median of runs)`,
    busy,
    'ms',
    `idle page, as long, same run ${round(idle)} ms`,
    busy / idle,
    '≤ 1.25',
    busy / idle <= 1.25,
  );
}

if (only?.has('putprofile')) {
  for (const sizeKiB of String(args.sizes ?? '1,1024')
    .split(',')
    .map(Number)) {
    const r = await call('putProfile', sizeKiB, Number(args.reps ?? 50));
    log(
      `put of ${sizeKiB} KiB:`,
      JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]))),
      `load ${round(os.loadavg()[0])}`,
    );
  }
}

if (only?.has('commitprofile')) {
  const r = await call('commitProfile', Number(args.count ?? 200));
  log(
    'commit profile:',
    JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]))),
    `load ${round(os.loadavg()[0])}`,
  );
}

if (only?.has('onetx')) {
  // Small Blobs: hashed first and stored with their version in one transaction, or stored
  // while they are hashed and committed after (the threshold `oneTransactionBelow`).
  const reps = Number(args.reps ?? 9);
  for (const sizeMiB of String(args.sizes ?? '0.25,1,2,4')
    .split(',')
    .map(Number)) {
    await call('makeSource', sizeMiB);
    const variants = { oneTx: { oneTransactionBelow: 64 * MiB }, stored: { oneTransactionBelow: 0 } };
    const times = { oneTx: [], stored: [] };
    for (let i = 0; i < reps; i++) {
      for (const n of i % 2 ? ['stored', 'oneTx'] : ['oneTx', 'stored']) {
        if (fresh) await call('makeSource', sizeMiB, false);
        times[n].push(await call('ingestCoffer', {}, variants[n]));
      }
    }
    log(
      `${sizeMiB} MiB: one transaction ${round(median(times.oneTx))} ms, stored while hashed ${round(median(times.stored))} ms, load ${round(os.loadavg()[0])}`,
    );
  }
}

if (only?.has('bigchunk')) {
  // A Blob (with --file, a disk-backed File) larger than the default chunk: as 32 MiB slices
  // (the layout before `blobChunkSize`), with the default `blobChunkSize` (slices of 1 GiB), or
  // as one stored Blob (`blobChunkSize` = its size), against the raw put and md5 alone.
  const reps = Number(args.reps ?? 3);
  for (const sizeMiB of String(args.sizes ?? '64,256')
    .split(',')
    .map(Number)) {
    await source(sizeMiB, Boolean(args.file));
    const runs = {
      slices: () => call('ingestCoffer', { blobChunkSize: 32 * MiB }),
      ...(sizeMiB > 1024 ? { default: () => call('ingestCoffer') } : {}),
      oneBlob: () => call('ingestCoffer', { blobChunkSize: sizeMiB * MiB }),
      rawPut: () => call('ingestRawWhole'),
      md5Alone: () => call('hashSource'),
    };
    // --variants=oneBlob,default: some of them (2 GiB each fill an off-the-record context's storage).
    const names = typeof args.variants === 'string' ? args.variants.split(',') : Object.keys(runs);
    const times = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < reps; i++) {
      for (let j = 0; j < names.length; j++) {
        const n = names[(i + j) % names.length];
        times[n].push(await runs[n]());
      }
    }
    log(
      `${sizeMiB} MiB: ${names.map((n) => `${n} ${round(median(times[n]))} ms`).join(', ')}, load ${round(os.loadavg()[0])}`,
    );
    results.bigchunk = { ...results.bigchunk, [sizeMiB]: times };
  }
}

// Issue 13's sync cases: their own module, with their own gateway.
if (SYNC_CASES.some(wanted)) {
  const tracing = {
    start: (categories) => browser.startTracing(page, { categories }),
    stop: () => browser.stopTracing(),
  };
  await runSyncCases({ call, wanted, only, args, quick, row, results, log, round, median, mibps, tracing });
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
for (const path of tempFiles) unlinkSync(path);

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
