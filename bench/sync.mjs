/**
 * Issue 13's sync cases of `npm run bench` (`--only=sync-push,sync-pull,sync-requests`):
 *
 * - sync-push: a coffer's `sync.now()` of one large file (`openSync` + `S3Remote`, a multipart
 *   upload) against a plain signed `fetch` PUT of the same Blob to the same gateway (the
 *   ceiling, target ≥ 0.8×), and plain multipart uploads of the same Blob with Coffer's part
 *   size, one part in flight and four;
 * - sync-pull: another coffer's `sync.now()` pulling that file against a plain signed GET of
 *   the same object read to its end (stream, and `arrayBuffer()`);
 * - sync-requests: 1,000 small records, without files and with one small file each, pushed by
 *   one coffer and pulled by another, requests counted by method.
 *
 * Tools, only with `--only=`: sync-profile, sync-parts, sync-scale (10,000 records with 5
 * small files each, pushed, pulled and synced again with nothing new; see `scaleTool`), and
 * sync-gather (one GET's body read, hashed and stored raw in each of the ways a verified pull
 * could take, `--variants=`, with the CPU seconds of each process). `--methods=` and `--reps=`
 * narrow sync-pull to a few methods.
 *
 * The gateway: `COFFER_S3_ENDPOINT` & co. when set, else its own Ceph radosgw started with
 * `scripts/s3-gateway.sh start` on free ports and stopped by its PID files when the cases end,
 * fail, or the process exits. One versioned bucket with the sync CORS rule, emptied as it goes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { AwsV4Signer } from 'aws4fetch';
import { corsXml } from '../scripts/s3-cors.mjs';
import { cpuDelta, cpuRecorder, cpuSnapshot, formatCores } from './cpu.mjs';
import { PROFILE_CATEGORIES, profileThreads } from './cpu-profile.mjs';

const MiB = 1024 * 1024;
const script = fileURLToPath(new URL('../scripts/s3-gateway.sh', import.meta.url));

/** The cases of this module, for `--only`. */
export const SYNC_CASES = [
  'sync-push',
  'sync-pull',
  'sync-requests',
  'sync-profile',
  'sync-parts',
  'sync-scale',
  'sync-gather',
];

/** Coffer's default part size (engine.ts `partSize`). */
const PART_SIZE = 16 * MiB;

/** Sizes and repetitions. */
const plans = {
  quick: { push: [32, 1], pull: 1, requests: [100, 1024] },
  full: { push: [256, 3], pull: 3, requests: [1_000, 1024] },
};

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function parseEnv(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

/**
 * The gateway to use: the environment's, or one started here. `stop()` stops ours (by the PID
 * files in its folder); an `exit`, SIGINT or SIGTERM handler stops it when the run dies first.
 */
async function gateway(storeMiB, log) {
  const env = process.env;
  if (env.COFFER_S3_ENDPOINT) {
    return { env, dir: undefined, stop: async () => {} };
  }
  const [port, monPort] = [await freePort(), await freePort()];
  log(`starting a Ceph S3 gateway on 127.0.0.1:${port} (memstore ${storeMiB} MiB)`);
  const out = await new Promise((resolve, reject) =>
    execFile(
      'bash',
      [script, 'start'],
      {
        env: {
          ...env,
          COFFER_S3_PORT: String(port),
          COFFER_S3_MON_PORT: String(monPort),
          COFFER_S3_STORE_MIB: String(storeMiB),
        },
        timeout: 180_000,
      },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`scripts/s3-gateway.sh start failed:\n${stderr}`, { cause: error }))
          : resolve(stdout),
    ),
  );
  const started = parseEnv(out);
  const dir = started.COFFER_S3_GATEWAY_DIR;
  if (!dir) throw new Error(`scripts/s3-gateway.sh start printed no COFFER_S3_GATEWAY_DIR:\n${out}`);
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    execFileSync('bash', [script, 'stop', dir], { stdio: 'ignore' });
  };
  const onSignal = (signal) => {
    stopNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', stopNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    env: started,
    dir,
    stop: async () => {
      process.off('exit', stopNow);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (stopped) return;
      stopped = true;
      await new Promise((resolve, reject) =>
        execFile('bash', [script, 'stop', dir], { timeout: 120_000 }, (error, _o, stderr) =>
          error
            ? reject(new Error(`scripts/s3-gateway.sh stop failed:\n${stderr}`, { cause: error }))
            : resolve(),
        ),
      );
      log('gateway stopped');
    },
  };
}

/** Signed requests from Node, for making, emptying and removing the bucket. */
function admin(target) {
  const request = async (method, path, query = '', body) => {
    const url = `${target.endpoint}${path}${query ? `?${query}` : ''}`;
    const signed = await new AwsV4Signer({
      method,
      url,
      accessKeyId: target.accessKeyId,
      secretAccessKey: target.secretAccessKey,
      service: 's3',
      region: target.region,
      ...(body === undefined ? {} : { body }),
    }).sign();
    const response = await fetch(signed.url, { method, headers: signed.headers, body: body ?? null });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}?${query}: HTTP ${response.status} ${text}`);
    return text;
  };
  const bucketPath = `/${target.bucket}`;
  const encodeKey = (key) =>
    key
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
  return {
    async create() {
      await request('PUT', bucketPath);
      await request(
        'PUT',
        bucketPath,
        'versioning',
        '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
      );
      const cors = corsXml();
      await request('PUT', bucketPath, 'cors', cors);
    },
    /** Every version, delete marker and unfinished upload under `prefix`, removed for good. */
    async empty(prefix = '') {
      const uploads = await request('GET', bucketPath, `prefix=${encodeURIComponent(prefix)}&uploads`);
      for (const [, body] of uploads.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)) {
        const key = /<Key>([^<]*)<\/Key>/.exec(body)[1];
        const id = /<UploadId>([^<]*)<\/UploadId>/.exec(body)[1];
        await request('DELETE', `${bucketPath}/${encodeKey(key)}`, `uploadId=${encodeURIComponent(id)}`);
      }
      for (;;) {
        const listed = await request(
          'GET',
          bucketPath,
          `encoding-type=url&prefix=${encodeURIComponent(prefix)}&versions`,
        );
        const entries = [
          ...listed.matchAll(/<(?:Version|DeleteMarker)>([\s\S]*?)<\/(?:Version|DeleteMarker)>/g),
        ];
        if (entries.length === 0) return;
        for (const [, body] of entries) {
          const key = decodeURIComponent(/<Key>([^<]*)<\/Key>/.exec(body)[1].replace(/\+/g, '%20'));
          const id = /<VersionId>([^<]*)<\/VersionId>/.exec(body)[1];
          await request('DELETE', `${bucketPath}/${encodeKey(key)}`, `versionId=${encodeURIComponent(id)}`);
        }
      }
    },
    async remove() {
      await request('DELETE', bucketPath);
    },
  };
}

/** `{ 'PUT file': 3, … }` as `"3 PUT file, …"`, sorted. */
const describeMethods = (byMethod) =>
  Object.entries(byMethod)
    .sort()
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');

const requestsOf = (byMethod) => Object.values(byMethod).reduce((a, b) => a + b, 0);

/**
 * The request bounds of docs/sync-protocol.md for `records` records with `files` files: 1 PUT or
 * GET per file; record and version ops ride in journal entries of at most 500 version ops and
 * 1,000 ops; the push LISTs once, the pull twice (devices, the one journal).
 */
function requestBounds(records, files) {
  const entries = Math.ceil(files / 500) + Math.ceil(records / 1000);
  return { push: files + entries + 1, pull: files + entries + 2 };
}

/** Log each thread's busiest functions (samples of their own) from a trace of the pull. */
function logProfile(log, round, trace) {
  for (const thread of profileThreads(trace).slice(0, 4)) {
    log(
      `  profile of the pull, ${thread.thread}: ${thread.samples} samples, idle ${round(100 * thread.idleShare, 1)} %`,
    );
    for (const { where, share } of thread.top) log(`    ${round(100 * share, 1)} % ${where}`);
  }
}

/**
 * `--only=sync-scale` (`--records=<n>`, default 10,000; `--files=<per record>`, default 5;
 * `--bytes=<per file>`, default 1024; `--concurrency=<n>`, default openSync's 8; `--profile[=<file>]`:
 * the pull traced with V8's sampler, each thread's busiest functions logged, the trace kept in
 * `<file>`): device A is
 * seeded, pushes (`openSync` + `S3Remote` in the page, the byte pipeline in its worker), device
 * B in the same page pulls, then B and A sync with nothing new; each step timed, requests
 * counted by method, the page heap's growth after a collection reported. B must then hold
 * every record and version A holds, or the case fails.
 */
async function scaleTool(bench) {
  const { call, args, log, round, row, results } = bench;
  const records = Number(args.records ?? 10_000);
  const perRecord = Number(args.files ?? 5);
  const fileBytes = Number(args.bytes ?? 1024);
  const concurrency = args.concurrency ? Number(args.concurrency) : undefined;
  const files = records * perRecord;
  const label = `${records.toLocaleString('en')} records / ${files.toLocaleString('en')} files of ${fileBytes} B`;
  const load = () => os.loadavg().map((x) => round(x));
  const out = { records, perRecord, fileBytes, concurrency: concurrency ?? 8, steps: {} };
  results.syncScale = out;
  try {
    log(`sync scale: seeding A with ${label}, load ${load()[0]}`);
    out.steps.seed = {
      ...(await call('syncScaleSeed', 'scale/', records, perRecord, fileBytes, concurrency)),
      load: load(),
    };
    log(`  seeded in ${round(out.steps.seed.ms / 1000)} s; A pushes, load ${load()[0]}`);
    out.steps.push = { ...(await call('syncScaleSync', 'a')), load: load() };
    log(`  pushed in ${round(out.steps.push.ms / 1000)} s; B pulls, load ${load()[0]}`);
    if (args.profile) await bench.tracing.start(PROFILE_CATEGORIES);
    out.steps.pull = { ...(await call('syncScaleSync', 'b')), load: load() };
    if (args.profile) {
      const trace = await bench.tracing.stop();
      if (typeof args.profile === 'string') writeFileSync(args.profile, trace);
      logProfile(log, round, trace);
    }
    log(`  pulled in ${round(out.steps.pull.ms / 1000)} s; nothing new, B then A`);
    out.steps.idleB = { ...(await call('syncScaleSync', 'b')), load: load() };
    out.steps.idleA = { ...(await call('syncScaleSync', 'a')), load: load() };
    out.steps.check = await call('syncScaleCheck');
  } finally {
    await call('syncScaleDispose');
  }
  const { push, pull, idleA, idleB, check } = out.steps;
  const bounds = requestBounds(records, files);
  const mib = (bytes) => `${round(bytes / MiB, 1)} MiB`;
  for (const [phase, step, bound, moved] of [
    ['push', push, bounds.push, push.report.versionsPushed],
    ['pull', pull, bounds.pull, pull.report.versionsPulled],
  ]) {
    if (moved !== files) throw new Error(`sync scale: the ${phase} moved ${moved} files of ${files}`);
    const total = requestsOf(step.byMethod);
    log(
      `  ${phase}: ${round(step.ms / 1000)} s, ${round(step.ms / files, 2)} ms per file; ${describeMethods(step.byMethod)}; ` +
        `requests ${round(step.requestMs / total, 1)} ms each (to their headers), ${round(step.requestMs / step.ms, 2)} in flight on average, ` +
        `none in flight ${round(100 * (1 - step.busyMs / step.ms), 1)} % of the time; ` +
        `heap peak +${mib(step.heapPeak)}, after gc ${mib(step.heapGrowth)}; ` +
        `workers' heap ${step.workerGrowth === undefined ? 'not measured' : mib(step.workerGrowth)}; load ${step.load[0]}`,
    );
    row(
      `sync ${phase} of ${label} (openSync in the page)`,
      step.ms / 1000,
      's',
      `${round(step.ms / files, 2)} ms per file; ${total} requests (${describeMethods(step.byMethod)}), ` +
        `${round(total / files, 4)} per file, ${round(total / records, 3)} per record`,
      undefined,
      `≤ ${bound} requests`,
      total <= bound,
    );
    row(
      `sync ${phase} of ${label}: page heap after a collection`,
      step.heapGrowth / MiB,
      'MiB',
      `peak with garbage +${mib(step.heapPeak)}; workers' heap after a collection ` +
        (step.workerGrowth === undefined
          ? 'not measured'
          : `${step.workerGrowth < 0 ? '' : '+'}${mib(step.workerGrowth)}`),
      undefined,
      '< 64 MiB',
      step.heapGrowth < 64 * MiB,
    );
  }
  const idle = { ...idleB.byMethod };
  for (const [k, v] of Object.entries(idleA.byMethod)) idle[k] = (idle[k] ?? 0) + v;
  log(
    `  nothing new: B ${round(idleB.ms)} ms (${describeMethods(idleB.byMethod)}), A ${round(idleA.ms)} ms (${describeMethods(idleA.byMethod)}); ` +
      `B holds ${check.records[1]} records and ${check.versions[1]} versions, as A`,
  );
  row(
    `sync with nothing new after ${label}, B then A`,
    (idleB.ms + idleA.ms) / 1000,
    's',
    describeMethods(idle),
    undefined,
    '≤ 3 requests',
    requestsOf(idle) <= 3,
  );
}

/**
 * The ways to send one file compared with one plain signed PUT of the same Blob, interleaved
 * and rotated (`--only=sync-parts`, `--size=<MiB>`, `--reps=`, `--methods=a,b`):
 * - `mpPxW`: plain multipart, P MiB parts, W in flight, no Content-MD5;
 * - `coffer`: `sync.now()` with Coffer's defaults; `cofferP`: `partSize` P MiB (and the
 *   threshold with it); `cofferPxW`: `partSize` P MiB and `partsInFlight` W; `cofferPut`: the
 *   multipart threshold at the file's size, i.e. one PUT with Content-MD5 (the file's md5,
 *   known from the ingest).
 */
async function partsTool(bench, bucket, collect, defaultMiB) {
  const { call, args, log, round, median, mibps } = bench;
  const sizeMiB = Number(args.size ?? defaultMiB);
  const size = sizeMiB * MiB;
  const reps = Number(args.reps ?? 3);
  const methods =
    typeof args.methods === 'string'
      ? args.methods.split(',')
      : [
          'plainPut',
          'mp8x1',
          'mp8x4',
          'mp16x1',
          'mp16x4',
          'mp32x1',
          'mp32x4',
          'coffer',
          'coffer8x1',
          'coffer8x4',
          'coffer16x4',
          'coffer32x4',
          'cofferPut',
        ];
  await call('syncSource', sizeMiB);
  const times = Object.fromEntries(methods.map((m) => [m, []]));
  const heap = Object.fromEntries(methods.map((m) => [m, []]));
  const coffer = async (method, i, ...options) => {
    const r = await call('syncPushCoffer', `parts/${method}-${i}/`, ...options);
    heap[method].push(r.heapPeak);
    return r.ms;
  };
  for (let i = 0; i < reps; i++) {
    for (let j = 0; j < methods.length; j++) {
      const method = methods[(i + j) % methods.length];
      const key = `parts/${method}-${i}.bin`;
      const mp = /^mp(\d+)x(\d+)$/.exec(method);
      const cofferParts = /^coffer(\d+)$/.exec(method);
      const cofferWidth = /^coffer(\d+)x(\d+)$/.exec(method);
      // The part loop without the engine: loop16x4 (parts streamed to be hashed), loop16x4buffer
      // (read with arrayBuffer()), loop16x4known (every md5 computed before the timing).
      const loop = /^loop(\d+)x(\d+)(buffer|known)?$/.exec(method);
      let ms;
      if (method === 'plainPut') ms = await call('syncPushPlain', key);
      else if (mp) ms = await call('syncPushMultipart', key, Number(mp[1]) * MiB, Number(mp[2]));
      else if (method === 'coffer') ms = await coffer(method, i);
      else if (cofferParts) ms = await coffer(method, i, Number(cofferParts[1]) * MiB);
      else if (cofferWidth)
        ms = await coffer(method, i, Number(cofferWidth[1]) * MiB, undefined, Number(cofferWidth[2]));
      else if (method === 'cofferPut') ms = await coffer(method, i, undefined, size);
      else if (loop)
        ms = await call(
          'syncPushRemoteParts',
          `parts/${method}-${i}/`,
          Number(loop[1]) * MiB,
          Number(loop[2]),
          loop[3] ?? 'stream',
        );
      else throw new Error(`sync-parts: unknown method ${method}`);
      times[method].push(ms);
    }
    await bucket.empty('parts/');
    collect();
    log(`sync parts ${sizeMiB} MiB, rep ${i + 1}/${reps}, load ${round(os.loadavg()[0])}`);
  }
  const put = median(times.plainPut ?? [Number.NaN]);
  for (const m of methods) {
    const t = median(times[m]);
    log(
      `  ${m.padEnd(11)} ${round(mibps(sizeMiB, t))} MiB/s (${times[m].map((x) => round(x)).join(', ')} ms), ` +
        `${round(put / t, 2)}× the plain PUT` +
        (heap[m].length ? `, page heap peak +${round(Math.max(...heap[m]) / MiB, 1)} MiB` : ''),
    );
  }
  bench.results.syncParts = { sizeMiB, reps, all: times, heapPeak: heap, load: os.loadavg() };
}

/**
 * Runs the wanted sync cases. `bench` is run.mjs's toolkit: `call` (a page case), `wanted`,
 * `quick`, `row`, `results`, `log`, `round`, `median`, `mibps`.
 */
export async function runSyncCases(bench) {
  const { call, wanted, quick, row, results, log, round, median, mibps } = bench;
  const plan = quick ? plans.quick : plans.full;
  const [sizeMiB, pushRuns] = plan.push;
  // Every upload of a repetition (11 × the file) plus the one kept for the pull, with room: a
  // full memstore OSD makes radosgw hold writes without an answer (a run at 12 × hung in its
  // second repetition, most likely so).
  const server = await gateway(Math.max(2048, 16 * Math.max(sizeMiB, Number(bench.args.size ?? 0))), log);
  const env = server.env;
  const target = {
    endpoint: env.COFFER_S3_ENDPOINT.replace(/\/+$/, ''),
    region: env.COFFER_S3_REGION || 'us-east-1',
    accessKeyId: env.COFFER_S3_ACCESS_KEY,
    secretAccessKey: env.COFFER_S3_SECRET_KEY,
    bucket: `bench-sync-${Date.now().toString(36)}`,
  };
  const bucket = admin(target);
  /** Free the gateway's memory: deleted data is garbage-collected at once where the gateway is ours. */
  const collect = () => {
    if (!server.dir) return;
    try {
      execFileSync('radosgw-admin', ['-c', `${server.dir}/ceph.conf`, 'gc', 'process', '--include-all'], {
        stdio: 'ignore',
        timeout: 120_000,
      });
    } catch (error) {
      log(`radosgw-admin gc process failed (${error.message}); going on`);
    }
  };
  try {
    await bucket.create();
    await call('syncTarget', target);
    await call('syncWarmUp', 'warm-up/object.bin');
    await bucket.empty('warm-up/');
    const size = sizeMiB * MiB;
    let pullSource;

    // A tool, not in the full run: where a push's time goes, request by request.
    if (bench.only?.has('sync-profile')) {
      const profileMiB = Number(bench.args.size ?? sizeMiB);
      await call('syncSource', profileMiB);
      for (let i = 0; i < Number(bench.args.reps ?? 2); i++) {
        const partSize = bench.args.part ? Number(bench.args.part) * MiB : undefined;
        const { ms, events } = await call('syncPushTimeline', `profile-${i}/`, partSize);
        let busy = 0;
        let gaps = 0;
        let last = 0;
        for (const e of events) {
          gaps += Math.max(0, e.start - last);
          busy += e.end - e.start;
          last = e.end;
        }
        const parts = events.filter((e) => e.what === 'PUT part');
        const partMs = parts.map((e) => e.end - e.start);
        log(
          `push ${profileMiB} MiB: ${round(ms)} ms (${round(mibps(profileMiB, ms))} MiB/s), ${events.length} requests, ` +
            `in requests ${round(busy)} ms, between them ${round(gaps)} ms, after the last ${round(ms - last)} ms; ` +
            `parts median ${round(median(partMs))} ms, load ${round(os.loadavg()[0])}`,
        );
        if (bench.args.verbose)
          for (const e of events) log(`  ${e.what} ${round(e.start)} → ${round(e.end)} (${e.bytes} B)`);
        await bucket.empty(`profile-${i}/`);
      }
      await call('syncPushPlain', 'profile/pull.bin');
      for (let i = 0; i < Number(bench.args.reps ?? 2); i++) {
        const r = await call('syncPullProfile', 'profile/pull.bin', profileMiB * MiB);
        log(
          `pull ${profileMiB} MiB: ${Object.entries(r)
            .map(([k, v]) =>
              k === 'chunkKiB' ? `chunks of ${round(v)} KiB` : `${k} ${round(mibps(profileMiB, v))} MiB/s`,
            )
            .join(', ')}, load ${round(os.loadavg()[0])}`,
        );
      }
      await bucket.empty('profile/');
      collect();
    }

    // A tool, not in the full run: the push's ways of sending one file, each against one plain PUT.
    if (bench.only?.has('sync-parts')) await partsTool(bench, bucket, collect, sizeMiB);

    // A tool, not in the full run: ways of reading, hashing and storing one GET's body, without Coffer.
    if (bench.only?.has('sync-gather')) {
      const gatherMiB = Number(bench.args.size ?? sizeMiB);
      await call('syncSource', gatherMiB);
      await call('syncPushPlain', 'gather/pull.bin');
      const variants = String(
        bench.args.variants ??
          'plain,blobRaw,default-md5-none,byob-raw-none,byob-md5-none,default-md5-response,byob-md5-response,default-md5-blobs,byob-md5-blobs',
      ).split(',');
      const times = Object.fromEntries(variants.map((v) => [v, []]));
      const cpu = Object.fromEntries(variants.map((v) => [v, []]));
      for (let i = 0; i < Number(bench.args.reps ?? 3); i++) {
        for (let j = 0; j < variants.length; j++) {
          const v = variants[(i + j) % variants.length];
          const before = cpuSnapshot(server.dir);
          const bytes = gatherMiB * MiB;
          times[v].push(
            v === 'plain'
              ? await call('syncPullPlain', 'gather/pull.bin', bytes)
              : v === 'blobRaw'
                ? await call('syncPullPlainBlobRaw', 'gather/pull.bin', bytes)
                : await call('syncPullGather', 'gather/pull.bin', bytes, v),
          );
          cpu[v].push(cpuDelta(before, cpuSnapshot(server.dir)).roles);
        }
        log(`sync gather, rep ${i + 1}, load ${round(os.loadavg()[0])}`);
      }
      const plainMs = median(times.plain ?? [Number.NaN]);
      for (const v of variants) {
        const kinds = [...new Set(cpu[v].flatMap((c) => Object.keys(c)))].sort();
        const parts = kinds
          .map((kind) => [kind, median(cpu[v].map((c) => c[kind] ?? 0))])
          .filter(([, s]) => s >= 0.01)
          .map(([kind, s]) => `${kind.replace('chromium:', '')} ${round(s, 2)}`);
        log(
          `gather ${v}: ${round(mibps(gatherMiB, median(times[v])))} MiB/s (${round(plainMs / median(times[v]))}× plain GET); cpu s ${parts.join(', ')}`,
        );
      }
      results.syncGather = { sizeMiB: gatherMiB, all: times, cpu, load: os.loadavg() };
      await bucket.empty('gather/');
      collect();
    }

    // A tool, not in the full run: 50,000 small files pushed and pulled.
    if (bench.only?.has('sync-scale')) await scaleTool(bench);

    if (wanted('sync-push') || wanted('sync-pull')) {
      log(`sync: source of ${sizeMiB} MiB`);
      await call('syncSource', sizeMiB);
    }

    if (wanted('sync-push') || wanted('sync-pull')) {
      const runs = wanted('sync-push') ? pushRuns : 1;
      // coffer: Coffer's defaults, openSync in the page; cofferWorker: the same in a worker with
      // the byte pipeline in process (where the app runs it); coffer32: its `partSize` option at 32 MiB; plainPut: the
      // ceiling; plainPutStored: the same PUT of the Blob Coffer stored; multipartN: plain
      // multipart, N parts in flight; partsN: the engine's loop
      // (stored Blob, md5 per part, S3Remote) without its bookkeeping, N parts in flight;
      // cofferPut: the multipart threshold at the file's size, so one PUT with Content-MD5;
      // cofferSerial: the defaults but one part in flight (as before partsInFlight).
      const methods = wanted('sync-push')
        ? [
            'coffer',
            'plainPut',
            'cofferWorker',
            'plainPutStored',
            'multipart1',
            'multipart4',
            'parts1',
            'parts4',
            'partsKnown4',
            'coffer32',
            'cofferPut',
            'cofferSerial',
          ]
        : ['coffer'];
      const times = Object.fromEntries(methods.map((m) => [m, []]));
      const cpu = Object.fromEntries(methods.map((m) => [m, []]));
      const requests = [];
      for (let i = 0; i < runs; i++) {
        for (let j = 0; j < methods.length; j++) {
          const method = methods[(i + j) % methods.length];
          const key = `plain/${method}-${i}.bin`;
          if (bench.args.verbose) log(`  ${method}…`);
          const recording = cpuRecorder(server.dir);
          if (method === 'coffer') {
            const prefix = `coffer-${i}/`;
            const r = await call('syncPushCoffer', prefix);
            times.coffer.push(r.ms);
            requests.push(r.requests);
            if (pullSource) await bucket.empty(pullSource.prefix);
            pullSource = { prefix, key: r.key };
          } else if (method === 'cofferWorker') {
            times.cofferWorker.push((await call('syncInWorker', 'push', `plain/worker-${i}/`)).ms);
          } else if (method === 'coffer32') {
            times.coffer32.push((await call('syncPushCoffer', `plain/coffer32-${i}/`, 32 * MiB)).ms);
          } else if (method === 'cofferSerial') {
            times.cofferSerial.push(
              (await call('syncPushCoffer', `plain/serial-${i}/`, undefined, undefined, 1)).ms,
            );
          } else if (method === 'cofferPut') {
            times.cofferPut.push((await call('syncPushCoffer', `plain/put-${i}/`, undefined, size)).ms);
          } else if (method === 'plainPut') times.plainPut.push(await call('syncPushPlain', key));
          else if (method === 'plainPutStored')
            times.plainPutStored.push(await call('syncPushPlainStored', key));
          else if (method.startsWith('multipart')) {
            times[method].push(await call('syncPushMultipart', key, PART_SIZE, Number(method.slice(9))));
          } else if (method === 'partsKnown4') {
            times.partsKnown4.push(
              await call('syncPushRemoteParts', `plain/${method}-${i}/`, PART_SIZE, 4, 'known'),
            );
          } else {
            times[method].push(
              await call('syncPushRemoteParts', `plain/${method}-${i}/`, PART_SIZE, Number(method.slice(5))),
            );
          }
          const over = recording.stop();
          const window = await call('syncLastWindow');
          if (bench.args.verbose)
            log(`  window ${JSON.stringify(window)} now ${performance.timeOrigin + performance.now()}`);
          cpu[method].push(over(window));
        }
        await bucket.empty('plain/');
        collect();
        log(`sync push, rep ${i + 1}/${runs}, load ${round(os.loadavg()[0])}`);
      }
      if (wanted('sync-push')) {
        const speed = Object.fromEntries(methods.map((m) => [m, mibps(sizeMiB, median(times[m]))]));
        // Where the cores went, over each method's timed window: the run whose time is its median.
        const cores = {};
        for (const m of methods) {
          const mid = [...cpu[m]].sort((a, b) => a.wall - b.wall)[Math.floor(cpu[m].length / 2)];
          cores[m] = { cores: mid.cores, roles: mid.roles, wall: mid.wall };
          log(`  cpu ${m}: ${round(mid.cores)} cores in ${round(mid.wall)} s (${formatCores(mid)})`);
        }
        results.syncPush = {
          sizeMiB,
          runs,
          partSize: PART_SIZE,
          mibps: speed,
          all: times,
          cores,
          requests,
          load: os.loadavg(),
        };
        const part = `${PART_SIZE / MiB} MiB parts`;
        const versus = [
          ['coffer', 'plainPut', 'plain fetch PUT of the same Blob', '≥ 0.8'],
          ['cofferWorker', 'plainPut', 'plain fetch PUT of the same Blob', '≥ 0.8'],
          ['coffer', 'plainPutStored', "plain fetch PUT of the Blob Coffer stored (IndexedDB's)"],
          ['coffer', 'multipart1', `plain multipart, ${part}, 1 in flight`],
          ['coffer', 'multipart4', `plain multipart, ${part}, 4 in flight`],
          [
            'coffer',
            'parts1',
            `a part loop alone (stored Blob, md5 with hash-wasm on the page's thread, S3Remote), ${part}, 1 in flight`,
          ],
          ['parts4', 'plainPut', 'plain fetch PUT of the same Blob'],
          ['partsKnown4', 'plainPut', 'plain fetch PUT of the same Blob'],
          ['coffer32', 'plainPut', 'plain fetch PUT of the same Blob'],
          ['cofferPut', 'plainPut', 'plain fetch PUT of the same Blob'],
          ['cofferSerial', 'plainPut', 'plain fetch PUT of the same Blob'],
        ];
        const label = {
          coffer: `sync push ${sizeMiB} MiB (openSync in the page)`,
          cofferWorker: `sync push ${sizeMiB} MiB (in a worker, as the app)`,
          parts4: `sync push ${sizeMiB} MiB: the part loop, 4 in flight`,
          partsKnown4: `sync push ${sizeMiB} MiB: the part loop, 4 in flight, every md5 known before`,
          coffer32: `sync push ${sizeMiB} MiB, partSize 32 MiB`,
          cofferPut: `sync push ${sizeMiB} MiB, multipartThreshold ${sizeMiB} MiB (one PUT)`,
          cofferSerial: `sync push ${sizeMiB} MiB, partsInFlight 1`,
        };
        for (const [mine, peer, peerLabel, target] of versus) {
          const ratio = speed[mine] / speed[peer];
          row(
            label[mine],
            speed[mine],
            'MiB/s',
            `${peerLabel} ${round(speed[peer])}`,
            ratio,
            target ?? '—',
            target ? ratio >= 0.8 : undefined,
          );
        }
      }
    }

    if (wanted('sync-pull')) {
      const runs = Number(bench.args.reps ?? plan.pull);
      // coffer: Coffer's pull in the page, its pipeline in a worker (a body up to blobChunkSize
      // taken with blob(), hashed after); cofferWorker: in a worker with the pipeline in process,
      // as the app (the same path); cofferWorkerStream: that worker with the bodies' blob()
      // stripped (the pipeline hashes the stream while it gathers it); cofferStream: the page's pull with
      // the bodies' blob() stripped (the stream crosses to the pipeline's worker); plainBlobRaw:
      // the platform's bound, a plain GET's blob() put raw into IndexedDB.
      const methods = bench.args.methods
        ? String(bench.args.methods).split(',')
        : [
            'coffer',
            'plainStream',
            'cofferWorker',
            'plainArrayBuffer',
            'plainIngest',
            'cofferStream',
            'plainBlobRaw',
            'cofferWorkerStream',
          ];
      const times = Object.fromEntries(methods.map((m) => [m, []]));
      const heap = { coffer: [], cofferStream: [] };
      const cpu = Object.fromEntries(methods.map((m) => [m, []]));
      for (let i = 0; i < runs; i++) {
        for (let j = 0; j < methods.length; j++) {
          const method = methods[(i + j) % methods.length];
          if (bench.args.verbose) log(`  ${method}…`);
          const cpuBefore = cpuSnapshot(server.dir);
          if (method === 'coffer' || method === 'cofferStream') {
            const r = await call('syncPullCoffer', pullSource.prefix, size, method === 'cofferStream');
            times[method].push(r.ms);
            heap[method].push(r.heapPeak);
          } else if (method === 'plainBlobRaw')
            times.plainBlobRaw.push(await call('syncPullPlainBlobRaw', pullSource.key, size));
          else if (method === 'plainStream')
            times.plainStream.push(await call('syncPullPlain', pullSource.key, size));
          else if (method === 'cofferWorker')
            times.cofferWorker.push((await call('syncInWorker', 'pull', pullSource.prefix, size)).ms);
          else if (method === 'cofferWorkerStream')
            times.cofferWorkerStream.push(
              (await call('syncInWorker', 'pull', pullSource.prefix, size, 1)).ms,
            );
          else if (method === 'plainArrayBuffer')
            times.plainArrayBuffer.push(await call('syncPullPlainArrayBuffer', pullSource.key, size));
          else times.plainIngest.push(await call('syncPullPlainIngest', pullSource.key, size));
          cpu[method].push(cpuDelta(cpuBefore, cpuSnapshot(server.dir)).roles);
        }
        log(`sync pull, rep ${i + 1}/${runs}, load ${round(os.loadavg()[0])}`);
      }
      const speed = Object.fromEntries(methods.map((m) => [m, mibps(sizeMiB, median(times[m]))]));
      results.syncPull = { sizeMiB, runs, mibps: speed, all: times, heapPeak: heap, cpu, load: os.loadavg() };
      // Who worked during each method (median CPU seconds by process, the wall time beside):
      // on 2 cores the gateway, Chromium's processes and Coffer share them.
      for (const method of methods) {
        const kinds = [...new Set(cpu[method].flatMap((c) => Object.keys(c)))].sort();
        const parts = kinds
          .map((kind) => [kind, median(cpu[method].map((c) => c[kind] ?? 0))])
          .filter(([, s]) => s >= 0.01)
          .map(([kind, s]) => `${kind} ${round(s, 2)}`);
        log(
          `sync pull cpu s, ${method} (wall ${round(median(times[method]) / 1000, 2)}): ${parts.join(', ')}`,
        );
      }
      log(
        `sync pull page heap peak: blob +${round(Math.max(...heap.coffer) / MiB, 1)} MiB, ` +
          `stream +${round(Math.max(...heap.cofferStream) / MiB, 1)} MiB`,
      );
      const name = `sync pull ${sizeMiB} MiB (openSync in the page)`;
      const ratio = speed.coffer / speed.plainStream;
      const workerRatio = speed.cofferWorker / speed.plainStream;
      row(
        `sync pull ${sizeMiB} MiB (in a worker, as the app)`,
        speed.cofferWorker,
        'MiB/s',
        `plain fetch GET of the same object, body streamed to its end ${round(speed.plainStream)}`,
        workerRatio,
        '≥ 0.8',
        workerRatio >= 0.8,
      );
      row(
        name,
        speed.coffer,
        'MiB/s',
        `plain fetch GET of the same object, body streamed to its end ${round(speed.plainStream)}`,
        ratio,
        '≥ 0.8',
        ratio >= 0.8,
      );
      /** Coffer's pull beside one more way of getting the same bytes (no target). */
      const beside = (label, value) =>
        row(name, speed.coffer, 'MiB/s', `${label} ${round(value)}`, speed.coffer / value, '—', undefined);
      beside('plain fetch GET + arrayBuffer()', speed.plainArrayBuffer);
      beside(
        "plain fetch GET, body stored with objects.put (the pipeline's stream ingest)",
        speed.plainIngest,
      );
      beside("Coffer's pull with the body streamed (no blob())", speed.cofferStream);
      row(
        `sync pull ${sizeMiB} MiB (in a worker, as the app)`,
        speed.cofferWorker,
        'MiB/s',
        `the same with the body streamed, hashed while the pipeline gathers it ${round(speed.cofferWorkerStream)}`,
        speed.cofferWorker / speed.cofferWorkerStream,
        '—',
        undefined,
      );
      row(
        `sync pull ${sizeMiB} MiB: platform bound`,
        speed.plainBlobRaw,
        'MiB/s',
        `GET + blob() put raw into IndexedDB vs GET alone ${round(speed.plainStream)}`,
        speed.plainBlobRaw / speed.plainStream,
        '—',
        undefined,
      );
      beside('plain fetch GET + blob() put raw into IndexedDB', speed.plainBlobRaw);
      row(
        `sync pull ${sizeMiB} MiB: bound`,
        speed.plainIngest,
        'MiB/s',
        `GET + objects.put vs GET alone ${round(speed.plainStream)}`,
        speed.plainIngest / speed.plainStream,
        '—',
        undefined,
      );
    }
    if (pullSource) await bucket.empty(pullSource.prefix);
    collect();

    if (wanted('sync-requests')) {
      const [count, fileBytes] = plan.requests;
      results.syncRequests = { count, fileBytes, load: os.loadavg() };
      for (const [label, bytes] of [
        ['without files', 0],
        [`with one ${fileBytes} B file each`, fileBytes],
      ]) {
        log(`sync requests: ${count} records ${label}, load ${round(os.loadavg()[0])}`);
        const prefix = `requests-${bytes}/`;
        const r = await call('syncRequests', prefix, count, bytes);
        await bucket.empty(prefix);
        results.syncRequests[bytes ? 'withFiles' : 'withoutFiles'] = r;
        const files = bytes ? count : 0;
        const bounds = requestBounds(count, files);
        for (const [phase, result, bound] of [
          ['push', r.push, bounds.push],
          ['pull', r.pull, bounds.pull],
        ]) {
          const total = requestsOf(result.byMethod);
          row(
            `sync ${phase} of ${count} records ${label}`,
            total,
            'requests',
            `${describeMethods(result.byMethod)}; ${round(total / count, 3)} per record${files ? `, ${round(total / files, 3)} per file` : ''}; ${round(result.ms / 1000)} s`,
            undefined,
            `≤ ${bound}`,
            total <= bound,
          );
        }
      }
    }
  } finally {
    // A gateway of our own goes with its data (a memstore): only the environment's is emptied.
    if (!server.dir) {
      await bucket
        .empty()
        .then(() => bucket.remove())
        .catch((error) => log(`could not remove bucket ${target.bucket}: ${error.message}`));
    }
    await server.stop();
  }
}
