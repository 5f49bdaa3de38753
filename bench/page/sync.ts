/**
 * Issue 13's sync cases, driven by `bench/sync.mjs`: push and pull of one large file through
 * `openSync` + `S3Remote` against plain signed `fetch` requests of the same bytes to the same
 * gateway, and the requests a sync of many small records sends. Each call runs once and
 * returns milliseconds (or counts); the Node side repeats, rotates, takes medians.
 */
import { type Coffer, openCoffer } from '@coffer/core';
import {
  openSync,
  type RemotePart,
  S3Remote,
  type S3RemoteOptions,
  type SyncReport,
} from '@coffer/core/sync';
import { AwsV4Signer } from 'aws4fetch';
import { createMD5 } from 'hash-wasm';
import { heapByScope } from './memory.js';

const MiB = 1024 * 1024;

/** The gateway and bucket, as `bench/sync.mjs` made them. */
export interface SyncBenchTarget {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

let target: SyncBenchTarget | undefined;
let source: Blob | undefined;
/** In the sync worker (sync.worker.ts): the byte pipeline in process, as the app's sync worker has it. */
let pipeline: { worker?: false } = {};

/** For sync.worker.ts: run the cases here with the byte pipeline in process, on `next`'s gateway and source. */
export function useInProcess(next: SyncBenchTarget, blob: Blob | undefined): void {
  pipeline = { worker: false };
  target = next;
  source = blob;
}

const uid = () => crypto.randomUUID().slice(0, 8);

function configured(): SyncBenchTarget {
  if (!target) throw new Error('syncTarget() was not called');
  return target;
}

function theSource(): Blob {
  if (!source) throw new Error('syncSource() was not called');
  return source;
}

function remoteOptions(prefix: string, fetcher?: typeof fetch): S3RemoteOptions {
  const { endpoint, region, bucket, accessKeyId, secretAccessKey } = configured();
  return {
    endpoint,
    region,
    bucket,
    prefix,
    credentials: { accessKeyId, secretAccessKey },
    ...(fetcher ? { fetch: fetcher } : {}),
  };
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  });
}

/** A raw IndexedDB database with one store, `blobs` (out-of-line keys). */
function openRawBlobs(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => r.result.createObjectStore('blobs');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Put `blob` as it is under `pulled` in {@link openRawBlobs}'s store, to the transaction's end. */
function putRawBlob(db: IDBDatabase, blob: Blob): Promise<void> {
  const tx = db.transaction('blobs', 'readwrite');
  tx.objectStore('blobs').put(blob, 'pulled');
  return new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

async function disposeCoffer(coffer: Coffer): Promise<void> {
  coffer.close();
  await deleteDatabase(coffer.name);
}

/** A plain signed request, as an app without Coffer would send it (aws4fetch, unsigned payload). */
async function plain(
  method: string,
  key: string,
  query = '',
  body?: Blob | string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const { endpoint, region, bucket, accessKeyId, secretAccessKey } = configured();
  const path = key
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
  const signer = new AwsV4Signer({
    method,
    url: `${endpoint}/${bucket}/${path}${query ? `?${query}` : ''}`,
    headers,
    accessKeyId,
    secretAccessKey,
    service: 's3',
    region,
  });
  const signed = await signer.sign();
  const response = await fetch(signed.url, {
    method,
    headers: signed.headers,
    body: body ?? null,
    cache: 'no-store',
  });
  if (!response.ok)
    throw new Error(`${method} ${key}?${query}: HTTP ${response.status} ${await response.text()}`);
  return response;
}

async function consume(stream: ReadableStream<Uint8Array> | null): Promise<number> {
  if (!stream) return 0;
  let bytes = 0;
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) bytes += next.value.length;
  return bytes;
}

/** Run `task(0..count-1)` with at most `width` running at once. */
async function inFlight(count: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, count) }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(lanes);
}

/** A `fetch` that counts requests by method (and by what they address). */
function countingFetch() {
  const counts: Record<string, number> = {};
  const fetcher: typeof fetch = (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = init?.method ?? 'GET';
    const what = url.searchParams.has('uploads')
      ? 'create upload'
      : url.searchParams.has('partNumber')
        ? 'part'
        : url.searchParams.has('uploadId')
          ? method === 'POST'
            ? 'complete upload'
            : 'upload'
          : url.searchParams.has('list-type') || url.searchParams.has('versions')
            ? 'list'
            : url.pathname.includes('/journal/')
              ? 'journal'
              : url.pathname.includes('/files/')
                ? 'file'
                : 'other';
    const name = `${method} ${what}`;
    counts[name] = (counts[name] ?? 0) + 1;
    return fetch(input, init);
  };
  return { fetcher, counts };
}

/** A coffer with one record holding the source as `big.bin` (not timed). */
async function cofferWithSource(): Promise<{ coffer: Coffer; recordId: string }> {
  const coffer = await openCoffer({ name: `bench-sync-${uid()}`, ...pipeline });
  const record = await coffer.records.create({ title: 'Sync benchmark' });
  await record.files!.set('big.bin', theSource());
  return { coffer, recordId: record.id };
}

const usedHeap = () =>
  (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;

const collectGarbage = () => {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
};

/**
 * The last timed window, as epoch milliseconds (this context's `timeOrigin` + `now`), so that
 * the harness can take the processes' CPU time over exactly the timed part of a case.
 */
let lastWindow: { start: number; end: number } | undefined;

/** Milliseconds since `started` (a `performance.now()`), remembered as {@link lastWindow}. */
function timedSince(started: number): number {
  const end = performance.now();
  lastWindow = { start: performance.timeOrigin + started, end: performance.timeOrigin + end };
  return end - started;
}

/** Push or pull options of a timed sync. */
interface TimedSyncOptions {
  partSize?: number | undefined;
  threshold?: number | undefined;
  partsInFlight?: number | undefined;
  concurrency?: number | undefined;
  fetcher?: typeof fetch;
  /** Pull every body as a stream: the remote's bodies lose their `blob()` (as before it existed). */
  streamBodies?: boolean;
}

/** An S3Remote whose GET bodies have no `blob()` (a spread keeps only the body's own fields). */
function streamingRemote(remote: S3Remote): S3Remote {
  const getObject = remote.getObject.bind(remote);
  return Object.assign(remote, {
    getObject: async (...args: Parameters<S3Remote['getObject']>) => ({ ...(await getObject(...args)) }),
  });
}

async function timedSync(
  coffer: Coffer,
  prefix: string,
  options: TimedSyncOptions = {},
): Promise<{ ms: number; report: SyncReport; heapPeak: number; heapGrowth: number }> {
  const { partSize, threshold, partsInFlight, concurrency } = options;
  const remote = new S3Remote(remoteOptions(prefix, options.fetcher));
  const sync = openSync(coffer, {
    remote: options.streamBodies ? streamingRemote(remote) : remote,
    ...(partSize ? { partSize } : {}),
    ...(threshold || partSize ? { multipartThreshold: threshold ?? partSize } : {}),
    ...(partsInFlight ? { partsInFlight } : {}),
    ...(concurrency ? { concurrency } : {}),
  });
  collectGarbage();
  const before = usedHeap();
  let peak = before;
  // The page's JS heap (garbage included) sampled through the sync: what a part, or one PUT, holds.
  const sampler = setInterval(() => {
    peak = Math.max(peak, usedHeap());
  }, 10);
  try {
    const started = performance.now();
    const report = await sync.now();
    const ms = timedSince(started);
    // What the sync left live (the sync still open), against the heap it started from.
    collectGarbage();
    return { ms, report, heapPeak: peak - before, heapGrowth: usedHeap() - before };
  } finally {
    clearInterval(sampler);
    await sync.close();
  }
}

/** The two devices of `--only=sync-scale`, kept from its seed to its check. */
let scale: { a: Coffer; b: Coffer; prefix: string; concurrency: number | undefined } | undefined;

function scaleDevices() {
  if (!scale) throw new Error('syncScaleSeed() was not called');
  return scale;
}

/** Every record and every version of a coffer, as comparable sets (file ids are local, so left out). */
async function inventory(coffer: Coffer): Promise<{ records: string[]; versions: string[] }> {
  const { db } = coffer.context;
  const records = (await db.records.toArray()).map((row) => `${row.id}:${row.deleted}`).sort();
  const versions = (await db.objects.toArray())
    .map((row) => `${row.versionId}:${row.key}:${row.checksum ?? 'marker'}${row.isHead ? '*' : ''}`)
    .sort();
  return { records, versions };
}

export const syncCases = {
  /** The timed window of the last case that has one (epoch ms), then forgets it. */
  syncLastWindow() {
    const window = lastWindow;
    lastWindow = undefined;
    return window;
  },

  /** For the sync worker: the window of its last case (epoch ms). */
  lastWindowHere: () => lastWindow,

  /** Where the gateway and bucket are. */
  syncTarget(next: SyncBenchTarget) {
    target = next;
  },

  /** Random bytes as a Blob (built 1 MiB at a time), read once so the blob store has settled them. */
  async syncSource(sizeMiB: number) {
    source = undefined;
    const parts: Uint8Array<ArrayBuffer>[] = [];
    for (let offset = 0; offset < sizeMiB * MiB; offset += MiB) {
      const part = new Uint8Array(MiB);
      for (let at = 0; at < part.length; at += 65536) crypto.getRandomValues(part.subarray(at, at + 65536));
      parts.push(part);
    }
    source = new Blob(parts, { type: 'application/octet-stream' });
    await consume(source.stream());
    return source.size;
  },

  /**
   * Coffer's push: a fresh coffer holding the source in one record, `sync.now()` timed (the
   * file as a multipart upload, the journal entry, the pull's listing). Returns the file's key.
   * `partSize` sets the option of that name and, unless `threshold` is given, the multipart
   * threshold too; a `threshold` of at least the file's size sends it as one PUT;
   * `partsInFlight` sets the option of that name.
   */
  async syncPushCoffer(prefix: string, partSize?: number, threshold?: number, partsInFlight?: number) {
    const { coffer, recordId } = await cofferWithSource();
    try {
      const { ms, report, heapPeak } = await timedSync(coffer, prefix, {
        partSize,
        threshold,
        partsInFlight,
      });
      if (report.versionsPushed !== 1 || report.bytesPushed !== theSource().size) {
        throw new Error(`push sent ${report.versionsPushed} versions, ${report.bytesPushed} bytes`);
      }
      return {
        ms,
        heapPeak,
        requests: report.requests,
        key: `${prefix}records/${recordId}/files/big.bin`,
      };
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * A tool (`--only=sync-profile`): Coffer's push of the source with every request's start and
   * end (after its body was read) on one clock, to see where the time between requests goes.
   */
  async syncPushTimeline(prefix: string, partSize?: number) {
    const { coffer } = await cofferWithSource();
    const events: { what: string; start: number; end: number; bytes: number }[] = [];
    const counted = countingFetch();
    const fetcher: typeof fetch = async (input, init) => {
      const start = performance.now();
      const before = { ...counted.counts };
      const response = await counted.fetcher(input, init);
      const what = Object.keys(counted.counts).find((k) => counted.counts[k] !== before[k]) ?? '?';
      const body = init?.body;
      events.push({ what, start, end: performance.now(), bytes: body instanceof Blob ? body.size : 0 });
      return response;
    };
    try {
      const started = performance.now();
      const { ms } = await timedSync(coffer, prefix, { fetcher, ...(partSize ? { partSize } : {}) });
      return { ms, events: events.map((e) => ({ ...e, start: e.start - started, end: e.end - started })) };
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * A tool (`--only=sync-profile`): the pull's parts one by one, each timed on the same object:
   * a plain GET read to the end (and its chunk count), `S3Remote.getObject` read to the end,
   * a plain GET's body stored with `objects.put`, `S3Remote.getObject`'s body stored so.
   */
  async syncPullProfile(key: string, size: number) {
    const coffer = await openCoffer({ name: `bench-sync-${uid()}`, ...pipeline });
    const out: Record<string, number> = {};
    try {
      const bucket = await coffer.buckets.create();
      await bucket.objects.put('warm-up', new Blob(['warm']));
      const remote = new S3Remote(remoteOptions(''));
      let t = performance.now();
      const response = await plain('GET', key);
      const reader = response.body!.getReader();
      let chunks = 0;
      let bytes = 0;
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        chunks++;
        bytes += next.value.length;
      }
      out.plainStream = performance.now() - t;
      out.chunkKiB = bytes / chunks / 1024;
      t = performance.now();
      await consume((await remote.getObject(key)).stream);
      out.remoteStream = performance.now() - t;
      t = performance.now();
      await bucket.objects.put('plain.bin', (await plain('GET', key)).body!);
      out.plainIngest = performance.now() - t;
      t = performance.now();
      await bucket.objects.put('remote.bin', (await remote.getObject(key)).stream);
      out.remoteIngest = performance.now() - t;
      t = performance.now();
      await bucket.objects.put('blob.bin', theSource());
      out.blobIngest = performance.now() - t;
      t = performance.now();
      await bucket.objects.put('stream.bin', theSource().stream());
      out.memoryStreamIngest = performance.now() - t;
      for (const chunkKiB of [64, 1024, 4096]) {
        const blob = theSource();
        let at = 0;
        const chunked = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (at >= blob.size) return controller.close();
            const end = Math.min(blob.size, at + chunkKiB * 1024);
            controller.enqueue(new Uint8Array(await blob.slice(at, end).arrayBuffer()));
            at = end;
          },
        });
        t = performance.now();
        await bucket.objects.put(`chunks-${chunkKiB}.bin`, chunked);
        out[`streamIngest${chunkKiB}KiB`] = performance.now() - t;
      }
      if (bytes !== size) throw new Error(`read ${bytes} bytes, expected ${size}`);
      return out;
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * Untimed: the gateway's first writes create its data pools (a second or more), so one small
   * PUT, GET and a two-part multipart upload go before any timing.
   */
  async syncWarmUp(key: string) {
    const blob = new Blob([new Uint8Array(5 * MiB)]);
    await plain('PUT', key, '', blob);
    await consume((await plain('GET', key)).body);
    const created = await (await plain('POST', key, 'uploads=')).text();
    const uploadId = encodeURIComponent(/<UploadId>([^<]+)<\/UploadId>/.exec(created)![1]!);
    const etags: string[] = [];
    for (const n of [1, 2]) {
      etags.push(
        (await plain('PUT', key, `partNumber=${n}&uploadId=${uploadId}`, blob)).headers.get('etag')!,
      );
    }
    const xml = `<CompleteMultipartUpload>${etags
      .map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    await (await plain('POST', key, `uploadId=${uploadId}`, xml)).text();
  },

  /**
   * {@link syncCases.syncPushCoffer} or {@link syncCases.syncPullCoffer} in a dedicated worker
   * whose coffer has its byte pipeline in process: where the app's `openBrowserSync` runs the
   * engine (sync.worker.ts of @coffer/core), bytes between IndexedDB and the network never
   * crossing a thread. Timed inside the worker.
   */
  async syncInWorker(op: 'push' | 'pull', prefix: string, arg?: number, arg2?: number) {
    const worker = new Worker(new URL('./sync.worker.ts', import.meta.url), { type: 'module' });
    try {
      return await new Promise<{ ms: number; requests: number; key?: string }>((resolve, reject) => {
        worker.onmessage = (e) => {
          if (e.data.error) return reject(new Error(e.data.error));
          lastWindow = e.data.window;
          resolve(e.data.result);
        };
        worker.onerror = (e) => reject(new Error(e.message));
        worker.postMessage({ op, prefix, arg, arg2, target: configured(), source });
      });
    } finally {
      worker.terminate();
    }
  },

  /** The ceiling: one plain signed `fetch` PUT of the same Blob. */
  async syncPushPlain(key: string) {
    const started = performance.now();
    await plain('PUT', key, '', theSource());
    return timedSince(started);
  },

  /**
   * One plain signed `fetch` PUT of the file as Coffer stores it: the Blob that
   * `files.get().blob()` returns (IndexedDB's chunks, read from disk), not the source in memory.
   */
  async syncPushPlainStored(key: string) {
    const { coffer, recordId } = await cofferWithSource();
    try {
      const record = await coffer.records.get(recordId);
      const blob = await (await record.files!.get('big.bin'))!.blob();
      const started = performance.now();
      await plain('PUT', key, '', blob);
      return timedSince(started);
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * A plain multipart upload of the same Blob: `partSize` parts, `width` in flight, no
   * Content-MD5 (the ETags from the answers).
   */
  async syncPushMultipart(key: string, partSize: number, width: number) {
    const blob = theSource();
    const started = performance.now();
    const created = await (await plain('POST', key, 'uploads=')).text();
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created)?.[1];
    if (!uploadId) throw new Error(`no UploadId in ${created}`);
    const count = Math.ceil(blob.size / partSize);
    const etags: string[] = [];
    await inFlight(count, width, async (i) => {
      const part = blob.slice(i * partSize, Math.min(blob.size, (i + 1) * partSize));
      const response = await plain(
        'PUT',
        key,
        `partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId)}`,
        part,
      );
      etags[i] = response.headers.get('etag') ?? '';
    });
    const xml = `<CompleteMultipartUpload>${etags
      .map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    await (await plain('POST', key, `uploadId=${encodeURIComponent(uploadId)}`, xml)).text();
    return timedSince(started);
  },

  /**
   * A multipart loop without the engine's bookkeeping, with `width` parts in flight: the stored
   * file's Blob cut into `partSize` parts, each hashed (md5, hash-wasm, on this thread, where the
   * engine hashes in the byte pipeline) and sent with `S3Remote.uploadPart` (Content-MD5), then
   * completed. Timed from the create to the complete.
   */
  async syncPushRemoteParts(
    prefix: string,
    partSize: number,
    width: number,
    mode: 'stream' | 'buffer' | 'known' = 'stream',
  ) {
    const { coffer, recordId } = await cofferWithSource();
    try {
      const record = await coffer.records.get(recordId);
      const blob = await (await record.files!.get('big.bin'))!.blob();
      const remote = new S3Remote(remoteOptions(prefix));
      const key = 'big.bin';
      const count = Math.ceil(blob.size / partSize);
      const partOf = (i: number) => blob.slice(i * partSize, Math.min(blob.size, (i + 1) * partSize));
      const md5Of = async (part: Blob) => {
        const hasher = await createMD5();
        hasher.init();
        if (mode === 'buffer') return hasher.update(new Uint8Array(await part.arrayBuffer())).digest('hex');
        const reader = part.stream().getReader();
        for (let next = await reader.read(); !next.done; next = await reader.read())
          hasher.update(next.value);
        return hasher.digest('hex');
      };
      // `known`: every part's md5 computed before the timing starts; `buffer`: each part read
      // with one arrayBuffer() to be hashed, instead of streamed.
      const known: string[] = [];
      if (mode === 'known') for (let i = 0; i < count; i++) known[i] = await md5Of(partOf(i));
      const started = performance.now();
      const uploadId = await remote.createMultipartUpload(key, { md5: '0'.repeat(32) });
      const parts: RemotePart[] = [];
      await inFlight(count, width, async (i) => {
        const part = partOf(i);
        parts[i] = await remote.uploadPart(key, uploadId, i + 1, part, {
          md5: known[i] ?? (await md5Of(part)),
        });
      });
      await remote.completeMultipartUpload(key, uploadId, parts);
      return timedSince(started);
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * Coffer's pull: a fresh coffer, `sync.now()` on the prefix another device pushed to, timed
   * (listing, journal entry, the file stored in chunked storage and checked by md5). With
   * `stream`, the body is streamed even where it fits in one stored Blob (no `blob()`).
   */
  async syncPullCoffer(prefix: string, size: number, stream = false) {
    const coffer = await openCoffer({ name: `bench-sync-${uid()}`, ...pipeline });
    try {
      // Start the worker outside the timing, in a bucket no record owns (never synced).
      await (await coffer.buckets.create()).objects.put('warm-up', new Blob(['warm']));
      const { ms, report, heapPeak } = await timedSync(coffer, prefix, { streamBodies: stream });
      if (report.versionsPulled !== 1 || report.bytesPulled !== size) {
        throw new Error(`pull got ${report.versionsPulled} versions, ${report.bytesPulled} bytes`);
      }
      return { ms, requests: report.requests, heapPeak };
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /** The ceiling: one plain signed `fetch` GET of the same object, its body read to the end. */
  async syncPullPlain(key: string, size: number) {
    const started = performance.now();
    const response = await plain('GET', key);
    const bytes = await consume(response.body);
    if (bytes !== size) throw new Error(`GET read ${bytes} bytes, expected ${size}`);
    return performance.now() - started;
  },

  /**
   * The bound of any pull into Coffer: the same plain GET, its body stored with
   * `objects.put` (the byte pipeline's stream ingest: worker, chunks, md5), no sync around it.
   */
  async syncPullPlainIngest(key: string, size: number) {
    const coffer = await openCoffer({ name: `bench-sync-${uid()}`, ...pipeline });
    try {
      const bucket = await coffer.buckets.create();
      await bucket.objects.put('warm-up', new Blob(['warm']));
      const started = performance.now();
      const response = await plain('GET', key);
      const version = await bucket.objects.put('pulled.bin', response.body!);
      const ms = performance.now() - started;
      if (version.size !== size) throw new Error(`stored ${version.size} bytes, expected ${size}`);
      return ms;
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * The platform's bound for a pull into IndexedDB: the same plain GET, its `response.blob()`
   * put as it is into a raw IndexedDB store (no Coffer, no hashing), the transaction committed.
   */
  async syncPullPlainBlobRaw(key: string, size: number) {
    const name = `bench-sync-raw-${uid()}`;
    const db = await openRawBlobs(name);
    try {
      const started = performance.now();
      const blob = await (await plain('GET', key)).blob();
      await putRawBlob(db, blob);
      const ms = performance.now() - started;
      if (blob.size !== size) throw new Error(`GET gave ${blob.size} bytes, expected ${size}`);
      return ms;
    } finally {
      db.close();
      await deleteDatabase(name);
    }
  },

  /**
   * `--only=sync-gather` (a tool): the same plain GET read and stored in one of the ways a
   * verified pull could take, without Coffer, each timed to the committed raw IndexedDB put
   * (or to the end of the body where nothing is stored). `read`: `default` (the body's pieces
   * as they come) or `byob` (1 MiB reads into one reused buffer, `min` 1 MiB); `md5`: hash every
   * byte (hash-wasm); `gather`: `none`, `response` (pieces handed to `new Response(stream).blob()`
   * by one loop), `blobs` (a Blob per 1–2 MiB, then a Blob of those).
   */
  async syncPullGather(key: string, size: number, variant: string) {
    const [read, md5, gather] = variant.split('-') as [
      'default' | 'byob' | 'fresh',
      'md5' | 'raw' | 'split',
      'none' | 'response' | 'response4' | 'blobs' | 'after',
    ];
    const name = `bench-sync-gather-${uid()}`;
    const db = gather === 'none' ? undefined : await openRawBlobs(name);
    const hasher = await createMD5();
    try {
      const started = performance.now();
      const body = (await plain('GET', key)).body!;
      let pieces: () => Promise<Uint8Array | undefined> = async () => undefined;
      if (gather === 'after') {
        // read below, from the gathered Blob
      } else if (read === 'byob' || read === 'fresh') {
        const reader = body.getReader({ mode: 'byob' });
        let buffer = new ArrayBuffer(MiB);
        pieces = async () => {
          if (read === 'fresh') buffer = new ArrayBuffer(MiB);
          const { done, value } = await (
            reader.read as (
              v: Uint8Array,
              o: { min: number },
            ) => Promise<ReadableStreamReadResult<Uint8Array>>
          )(new Uint8Array(buffer), { min: MiB });
          if (value) buffer = value.buffer as ArrayBuffer;
          return done ? (value?.length ? value : undefined) : value;
        };
      } else {
        const reader = body.getReader();
        pieces = async () => (await reader.read()).value;
      }
      let loaded = 0;
      let blob: Blob | undefined;
      const own = (piece: Uint8Array) => (read === 'byob' ? piece.slice() : piece);
      if (md5 === 'split') {
        // The md5 on another thread: each piece's copy transferred to a hashing worker while
        // this thread hands the piece to Response.blob().
        const worker = new Worker(new URL('./md5.worker.ts', import.meta.url), { type: 'module' });
        const answer = () =>
          new Promise<{ checksum?: string }>((resolve) => {
            worker.onmessage = (e) => resolve(e.data);
          });
        try {
          let next = answer();
          worker.postMessage({ kind: 'begin' });
          await next;
          blob = await new Response(
            new ReadableStream<Uint8Array>(
              {
                async pull(controller) {
                  const piece = await pieces();
                  if (!piece) return controller.close();
                  loaded += piece.length;
                  const copy = piece.slice();
                  worker.postMessage(copy.buffer, [copy.buffer]);
                  controller.enqueue(own(piece));
                },
              },
              { highWaterMark: 0 },
            ),
          ).blob();
          next = answer();
          worker.postMessage({ kind: 'end' });
          await next;
        } finally {
          worker.terminate();
        }
      } else if (gather === 'after') {
        // The path before: the body gathered with blob(), then hashed from the Blob.
        blob = await new Response(body).blob();
        const reader = blob.stream().getReader();
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          hasher.update(next.value);
          loaded += next.value.length;
        }
      } else if (gather === 'response' || gather === 'response4') {
        blob = await new Response(
          new ReadableStream<Uint8Array>(
            {
              async pull(controller) {
                const piece = await pieces();
                if (!piece) return controller.close();
                if (md5 === 'md5') hasher.update(piece);
                loaded += piece.length;
                controller.enqueue(own(piece));
              },
            },
            { highWaterMark: gather === 'response4' ? 4 : 0 },
          ),
        ).blob();
      } else {
        const groups: Blob[] = [];
        let held: Uint8Array[] = [];
        let heldBytes = 0;
        for (let piece = await pieces(); piece; piece = await pieces()) {
          if (md5 === 'md5') hasher.update(piece);
          loaded += piece.length;
          if (gather === 'blobs') {
            held.push(own(piece));
            heldBytes += piece.length;
            if (heldBytes >= MiB) {
              groups.push(new Blob(held as Uint8Array<ArrayBuffer>[]));
              held = [];
              heldBytes = 0;
            }
          }
        }
        if (gather === 'blobs') blob = new Blob([...groups, new Blob(held as Uint8Array<ArrayBuffer>[])]);
      }
      if (db && blob) await putRawBlob(db, blob);
      const ms = performance.now() - started;
      if (loaded !== size || (blob && blob.size !== size))
        throw new Error(`${variant}: ${loaded} bytes, expected ${size}`);
      hasher.digest('hex');
      return ms;
    } finally {
      db?.close();
      if (db) await deleteDatabase(name);
    }
  },

  /** The same GET with `arrayBuffer()`. */
  async syncPullPlainArrayBuffer(key: string, size: number) {
    const started = performance.now();
    const response = await plain('GET', key);
    const bytes = (await response.arrayBuffer()).byteLength;
    if (bytes !== size) throw new Error(`GET read ${bytes} bytes, expected ${size}`);
    return performance.now() - started;
  },

  /**
   * `count` records (each with one file of `fileBytes` bytes when `fileBytes` > 0) pushed by one
   * coffer and pulled by another, counting the requests of each by method.
   */
  async syncRequests(prefix: string, count: number, fileBytes: number) {
    const a = await openCoffer({ name: `bench-sync-${uid()}`, ...pipeline });
    const b = await openCoffer({ name: `bench-sync-${uid()}`, ...pipeline });
    try {
      const data = Array.from({ length: count }, (_, i) => ({ title: `Record ${i}`, n: i }));
      const records = await a.records.createMany(data, { withBucket: fileBytes > 0 });
      if (fileBytes > 0) {
        const bytes = new Uint8Array(fileBytes);
        await inFlight(records.length, 16, async (i) => {
          crypto.getRandomValues(bytes);
          await records[i]!.files!.set('note.txt', new Blob([bytes]));
        });
      }
      const pushCount = countingFetch();
      const push = await timedSync(a, prefix, { fetcher: pushCount.fetcher });
      const pullCount = countingFetch();
      const pull = await timedSync(b, prefix, { fetcher: pullCount.fetcher });
      const expectFiles = fileBytes > 0 ? count : 0;
      if (push.report.recordsPushed !== count || push.report.versionsPushed !== expectFiles) {
        throw new Error(
          `push sent ${push.report.recordsPushed} records, ${push.report.versionsPushed} files`,
        );
      }
      if (pull.report.recordsPulled !== count || pull.report.versionsPulled !== expectFiles) {
        throw new Error(`pull got ${pull.report.recordsPulled} records, ${pull.report.versionsPulled} files`);
      }
      return {
        push: { ms: push.ms, requests: push.report.requests, byMethod: pushCount.counts },
        pull: { ms: pull.ms, requests: pull.report.requests, byMethod: pullCount.counts },
      };
    } finally {
      await disposeCoffer(a);
      await disposeCoffer(b);
    }
  },
  /**
   * `--only=sync-scale`, step 1 (timed): device A gets `records` records, each with
   * `filesPerRecord` files of `fileBytes` random bytes (distinct, so no copy is deduplicated),
   * by `createMany` and one `setMany` per record, 8 records at a time; device B starts empty.
   * `concurrency` sets `openSync`'s option of that name in the syncs that follow (default 8).
   */
  async syncScaleSeed(
    prefix: string,
    records: number,
    filesPerRecord: number,
    fileBytes: number,
    concurrency?: number,
  ) {
    const a = await openCoffer({ name: `bench-sync-${uid()}`, ...pipeline });
    const b = await openCoffer({ name: `bench-sync-${uid()}`, ...pipeline });
    scale = { a, b, prefix, concurrency };
    const started = performance.now();
    const created = await a.records.createMany(
      Array.from({ length: records }, (_, i) => ({ title: `Record ${i}`, n: i })),
    );
    await inFlight(created.length, 8, async (i) => {
      const items = Array.from({ length: filesPerRecord }, (_, j) => ({
        key: `file-${j}.bin`,
        source: new Blob([crypto.getRandomValues(new Uint8Array(fileBytes))]),
      }));
      const results = await created[i]!.files!.setMany(items);
      const failed = results.find((r) => !r.ok);
      if (failed && !failed.ok) throw failed.error;
    });
    return { ms: performance.now() - started };
  },

  /**
   * `--only=sync-scale`, the syncs: `device`'s `sync.now()` timed, its requests counted by
   * method, the time requests took (until their answer's headers) summed and as a union (the
   * rest of the time none was in flight), the page heap's peak (garbage included) and its
   * growth after a collection, and the growth of the workers' heaps (both coffers' byte
   * pipelines; `measureUserAgentSpecificMemory`, after a collection).
   */
  async syncScaleSync(device: 'a' | 'b') {
    const { prefix, concurrency, ...devices } = scaleDevices();
    const counted = countingFetch();
    const network = { inFlight: 0, since: 0, busyMs: 0, requestMs: 0 };
    const fetcher: typeof fetch = async (input, init) => {
      const start = performance.now();
      if (network.inFlight++ === 0) network.since = start;
      try {
        return await counted.fetcher(input, init);
      } finally {
        const end = performance.now();
        network.requestMs += end - start;
        if (--network.inFlight === 0) network.busyMs += end - network.since;
      }
    };
    const workersBefore = (await heapByScope()).DedicatedWorkerGlobalScope;
    const { ms, report, heapPeak, heapGrowth } = await timedSync(devices[device], prefix, {
      fetcher,
      concurrency,
    });
    const workersAfter = (await heapByScope()).DedicatedWorkerGlobalScope;
    const workerGrowth =
      workersBefore === undefined || workersAfter === undefined ? undefined : workersAfter - workersBefore;
    const { busyMs, requestMs } = network;
    return { ms, report, byMethod: counted.counts, busyMs, requestMs, heapPeak, heapGrowth, workerGrowth };
  },

  /**
   * `--only=sync-scale`, the check: B holds every record and every version A holds (ids,
   * keys, checksums, heads), else it throws; then both devices are closed and deleted.
   */
  async syncScaleCheck() {
    const { a, b } = scaleDevices();
    const started = performance.now();
    const [mine, theirs] = [await inventory(a), await inventory(b)];
    const same = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
    const result = {
      ms: performance.now() - started,
      records: [mine.records.length, theirs.records.length],
      versions: [mine.versions.length, theirs.versions.length],
    };
    if (!same(mine.records, theirs.records) || !same(mine.versions, theirs.versions)) {
      throw new Error(
        `B differs from A: records ${result.records.join(' / ')}, versions ${result.versions.join(' / ')}`,
      );
    }
    return result;
  },

  /** `--only=sync-scale`: close and delete both devices (also after a failure). */
  async syncScaleDispose() {
    if (!scale) return;
    const { a, b } = scale;
    scale = undefined;
    await disposeCoffer(a);
    await disposeCoffer(b);
  },
};
