/**
 * The benchmark page. Every case runs once per call and returns its timings in milliseconds
 * (or bytes); `bench/run.mjs` repeats the calls, takes medians and computes the ratios.
 */
import { type Coffer, type CofferOptions, type ObjectVersion, openCoffer } from '@coffer/core';
import { createMD5 } from 'hash-wasm';
import PouchDB from 'pouchdb-browser';
import { CofferDb } from '../../packages/core/src/storage/schema.js';
import type { Md5Job } from './md5.worker.js';
import { heapByScope } from './memory.js';
import { syncCases } from './sync.js';

const MiB = 1024 * 1024;
const KiB = 1024;

// ---------------------------------------------------------------- helpers

const uid = () => crypto.randomUUID().slice(0, 8);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  });
}

/** A raw IndexedDB database: `blobs` (out-of-line keys) and `chunks` (keys `[name, offset]`). */
function openRaw(name: string): Promise<IDBDatabase> {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => {
    r.result.createObjectStore('blobs');
    r.result.createObjectStore('chunks');
  };
  return request(r);
}

/** Random bytes as a Blob, built 1 MiB at a time. */
function randomBlob(size: number): Blob {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (let offset = 0; offset < size; offset += MiB) {
    const part = new Uint8Array(Math.min(MiB, size - offset));
    for (let at = 0; at < part.length; at += 65536) crypto.getRandomValues(part.subarray(at, at + 65536));
    parts.push(part);
  }
  return new Blob(parts, { type: 'application/octet-stream' });
}

async function consume(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) bytes += next.value.length;
  return bytes;
}

async function freshCoffer(options: Partial<CofferOptions> = {}): Promise<Coffer> {
  const coffer = await openCoffer({ name: `bench-${uid()}`, ...options });
  // Start the worker (and instantiate its hashers) outside the timings.
  const bucket = await coffer.buckets.create();
  await bucket.objects.put('warm-up', new Blob(['warm']));
  return coffer;
}

async function disposeCoffer(coffer: Coffer): Promise<void> {
  coffer.close();
  await deleteDatabase(coffer.name);
}

/**
 * Run `job` in a fresh plain worker, started and warmed (hash-wasm instantiated) first. `ms` is
 * the job's round trip timed on this thread, as the Coffer worker's operations are;
 * `workerMs` the time inside the worker.
 */
async function md5Worker<T = { ms: number; workerMs: number; checksum: string }>(job: Md5Job): Promise<T> {
  const worker = new Worker(new URL('./md5.worker.ts', import.meta.url), { type: 'module' });
  const ask = (message: Md5Job) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage(message);
    });
  try {
    await ask({ kind: 'warm' });
    const started = performance.now();
    const result = await ask(job);
    const ms = performance.now() - started;
    return (job.kind === 'profile' ? result : { ...result, ms, workerMs: result.ms }) as T;
  } finally {
    worker.terminate();
  }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const usedHeap = () =>
  (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;

// ---------------------------------------------------------------- state

let source: Blob | undefined;
const theSource = () => {
  if (!source) throw new Error('Call makeSource first.');
  return source;
};

// ---------------------------------------------------------------- cases

const cases = {
  info() {
    return { userAgent: navigator.userAgent, crossOriginIsolated, cores: navigator.hardwareConcurrency };
  },

  /**
   * A source of random bytes in memory, read once so that it is settled in the blob store
   * (with `settle` false, as fresh as a Blob a page has just built).
   */
  async makeSource(sizeMiB: number, settle = true) {
    source = randomBlob(sizeMiB * MiB);
    if (settle) await consume(source.stream());
    return source.size;
  },

  /** The file chosen in the page's file input (set by the harness): a disk-backed File. */
  useInputFile() {
    const file = document.querySelector<HTMLInputElement>('#file')?.files?.[0];
    if (!file) throw new Error('No file in the input.');
    source = file;
    return file.size;
  },

  /**
   * `bucket.objects.put` of the source through the worker (the coffer is warmed first);
   * `settings` override the coffer's settings after it opens (write-path knobs).
   */
  async ingestCoffer(options: Partial<CofferOptions> = {}, settings: object = {}) {
    const coffer = await freshCoffer(options);
    Object.assign(coffer.context.settings, settings);
    try {
      const bucket = await coffer.buckets.create();
      const started = performance.now();
      await bucket.objects.put('file.bin', theSource());
      return performance.now() - started;
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /** One raw IndexedDB put of the whole source Blob, awaited to `complete`. */
  async ingestRawWhole() {
    const name = `raw-${uid()}`;
    const db = await openRaw(name);
    try {
      const started = performance.now();
      const tx = db.transaction('blobs', 'readwrite');
      tx.objectStore('blobs').put(theSource(), 'file.bin');
      await done(tx);
      return performance.now() - started;
    } finally {
      db.close();
      await deleteDatabase(name);
    }
  },

  /**
   * The honest ceiling of a chunked write: the source Blob sliced into `chunkMiB` slices, each
   * put in its own transaction awaited to `complete`, one after another (what Coffer stores,
   * without hashing). `perTxMiB` groups slices into transactions of that many MiB.
   */
  async ingestRawSlices(chunkMiB = 8, perTxMiB = chunkMiB) {
    const name = `raw-${uid()}`;
    const db = await openRaw(name);
    const blob = theSource();
    const chunk = chunkMiB * MiB;
    const perTx = Math.max(1, Math.floor(perTxMiB / chunkMiB));
    try {
      const started = performance.now();
      for (let offset = 0; offset < blob.size; ) {
        const tx = db.transaction('chunks', 'readwrite');
        for (let i = 0; i < perTx && offset < blob.size; i++, offset += chunk) {
          tx.objectStore('chunks').put(blob.slice(offset, offset + chunk), ['file.bin', offset]);
        }
        await done(tx);
      }
      return performance.now() - started;
    } finally {
      db.close();
      await deleteDatabase(name);
    }
  },

  /**
   * The Coffer worker's write alone (`ingestFile`: chunks and digests, no commit), with the
   * write path's knobs overridden by `tuning`: for comparing settings in one run.
   */
  async ingestTuned(options: { chunkMiB?: number; inlineBelow?: number; tuning?: object } = {}) {
    const coffer = await freshCoffer();
    try {
      const { settings, pipeline } = coffer.context;
      const started = performance.now();
      await pipeline.ingestFile({
        fileId: crypto.randomUUID() as never,
        location: settings.location,
        source: theSource(),
        chunkSize: (options.chunkMiB ?? settings.chunkSize / MiB) * MiB,
        chunkStorage: settings.chunkStorage,
        inlineBelow: options.inlineBelow ?? settings.inlineBelow,
        sha256: false,
        ...(options.tuning ? { tuning: options.tuning } : {}),
      } as never);
      return performance.now() - started;
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * Where ingest time goes, on this thread: reading the source as a stream, md5 over it, and
   * raw IndexedDB puts of its 8 MiB slices as Blobs (one transaction each).
   */
  async ingestBreakdown(chunkMiB = 8) {
    const blob = theSource();
    let t = performance.now();
    await consume(blob.stream());
    const read = performance.now() - t;
    const md5 = await createMD5();
    t = performance.now();
    const reader = blob.stream().getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) md5.update(next.value);
    md5.digest('hex');
    const hash = performance.now() - t;
    const name = `raw-${uid()}`;
    const db = await openRaw(name);
    try {
      t = performance.now();
      for (let offset = 0; offset < blob.size; offset += chunkMiB * MiB) {
        const tx = db.transaction('chunks', 'readwrite');
        tx.objectStore('chunks').put(blob.slice(offset, offset + chunkMiB * MiB), ['file.bin', offset]);
        await done(tx);
      }
      const slices = performance.now() - t;
      t = performance.now();
      for (let offset = 0; offset < blob.size; offset += chunkMiB * MiB) {
        const tx = db.transaction('chunks', 'readwrite', { durability: 'relaxed' });
        tx.objectStore('chunks').put(blob.slice(offset, offset + chunkMiB * MiB), ['relaxed', offset]);
        await done(tx);
      }
      const relaxedSlices = performance.now() - t;
      t = performance.now();
      const tx = db.transaction('chunks', 'readwrite');
      for (let offset = 0; offset < blob.size; offset += chunkMiB * MiB) {
        tx.objectStore('chunks').put(blob.slice(offset, offset + chunkMiB * MiB), ['one-tx', offset]);
      }
      await done(tx);
      const oneTxSlices = performance.now() - t;
      return { read, hash, slices, relaxedSlices, oneTxSlices };
    } finally {
      db.close();
      await deleteDatabase(name);
    }
  },

  /**
   * Raw IndexedDB writes of the source, several ways, each awaited to `complete`: for finding
   * what the write path costs (`--only=explore`).
   */
  async writeVariants(chunkMiB = 8, variants?: string[]) {
    const blob = theSource();
    const chunk = chunkMiB * MiB;
    const name = `raw-${uid()}`;
    const db = await openRaw(name);
    const out: Record<string, number> = {};
    const all: Record<string, (tag: string) => Promise<void>> = {
      whole: async (tag) => {
        const tx = db.transaction('blobs', 'readwrite');
        tx.objectStore('blobs').put(blob, tag);
        await done(tx);
      },
      slices: async (tag) => {
        for (let offset = 0; offset < blob.size; offset += chunk) {
          const tx = db.transaction('chunks', 'readwrite');
          tx.objectStore('chunks').put(blob.slice(offset, offset + chunk), [tag, offset]);
          await done(tx);
        }
      },
      slicesStrict: async (tag) => {
        for (let offset = 0; offset < blob.size; offset += chunk) {
          const tx = db.transaction('chunks', 'readwrite', { durability: 'strict' });
          tx.objectStore('chunks').put(blob.slice(offset, offset + chunk), [tag, offset]);
          await done(tx);
        }
      },
      slicesRelaxed: async (tag) => {
        for (let offset = 0; offset < blob.size; offset += chunk) {
          const tx = db.transaction('chunks', 'readwrite', { durability: 'relaxed' });
          tx.objectStore('chunks').put(blob.slice(offset, offset + chunk), [tag, offset]);
          await done(tx);
        }
      },
      slicesOneTx: async (tag) => {
        const tx = db.transaction('chunks', 'readwrite');
        for (let offset = 0; offset < blob.size; offset += chunk) {
          tx.objectStore('chunks').put(blob.slice(offset, offset + chunk), [tag, offset]);
        }
        await done(tx);
      },
      bytesBlob: async (tag) => {
        let pending = Promise.resolve();
        for (let offset = 0; offset < blob.size; offset += chunk) {
          const bytes = await blob.slice(offset, offset + chunk).arrayBuffer();
          await pending;
          const tx = db.transaction('chunks', 'readwrite');
          tx.objectStore('chunks').put(new Blob([bytes]), [tag, offset]);
          pending = done(tx);
        }
        await pending;
      },
      bytesBuffer: async (tag) => {
        let pending = Promise.resolve();
        for (let offset = 0; offset < blob.size; offset += chunk) {
          const bytes = await blob.slice(offset, offset + chunk).arrayBuffer();
          await pending;
          const tx = db.transaction('chunks', 'readwrite');
          tx.objectStore('chunks').put(bytes, [tag, offset]);
          pending = done(tx);
        }
        await pending;
      },
      readOnly: async () => {
        for (let offset = 0; offset < blob.size; offset += chunk) {
          await blob.slice(offset, offset + chunk).arrayBuffer();
        }
      },
    };
    try {
      for (const variant of variants ?? Object.keys(all)) {
        const t = performance.now();
        await all[variant]!(`${variant}-${uid()}`);
        out[variant] = performance.now() - t;
      }
      return out;
    } finally {
      db.close();
      await deleteDatabase(name);
    }
  },

  /** hash-wasm md5 over the source in a plain worker: the hashing half of an ingest, alone. */
  async hashSource() {
    return (await md5Worker({ kind: 'blob', blob: theSource() })).ms;
  },

  /** Reading and hashing the source in a plain worker, separately (`--only=profile`). */
  async hashProfile(chunkMiB = 8) {
    return md5Worker<Record<string, number>>({ kind: 'profile', blob: theSource(), chunk: chunkMiB * MiB });
  },

  /**
   * Small files stored as Blob chunks or inline (ArrayBuffer rows): `count` puts and reads of
   * a file of `sizeKiB`, with `inlineBelow` 0 (Blob) and above the size (inline), interleaved.
   */
  async inlineThreshold(sizeKiB: number, count: number) {
    const out: Record<string, number> = {};
    const blobs = Array.from({ length: count }, () => randomBlob(sizeKiB * KiB));
    for (const [mode, inlineBelow] of [
      ['blob', 0],
      ['inline', sizeKiB * KiB + 1],
    ] as const) {
      const coffer = await freshCoffer({ inlineBelow });
      try {
        const bucket = await coffer.buckets.create();
        let t = performance.now();
        const versions: ObjectVersion[] = [];
        for (let i = 0; i < count; i++) versions.push(await bucket.objects.put(`f${i}`, blobs[i]!));
        out[`${mode}Put`] = (performance.now() - t) / count;
        t = performance.now();
        for (const v of versions) await (await v.blob()).arrayBuffer();
        out[`${mode}Read`] = (performance.now() - t) / count;
      } finally {
        await disposeCoffer(coffer);
      }
    }
    return out;
  },

  /** PouchDB's `putAttachment` of the source. */
  async ingestPouch() {
    const db = new PouchDB(`pouch-${uid()}`);
    try {
      const started = performance.now();
      await db.putAttachment('doc', 'file.bin', theSource(), 'application/octet-stream');
      return performance.now() - started;
    } finally {
      await db.destroy();
    }
  },

  /**
   * md5 of the same stored file: in the Coffer worker (its digest operation) and in a plain
   * worker running hash-wasm over the same chunk rows; and hash-wasm over the source Blob.
   */
  async md5() {
    const coffer = await freshCoffer();
    try {
      const bucket = await coffer.buckets.create();
      const version = await bucket.objects.put('file.bin', theSource());
      const file = (await coffer.context.db.files.get(version.fileId!))!;
      const keys = (await coffer.context.db.chunks
        .where('[dataId+offset]')
        .between([file.id, 0], [file.id, Number.MAX_SAFE_INTEGER], true, true)
        .primaryKeys()) as [string, number][];
      const started = performance.now();
      const inWorker = await coffer.context.pipeline.digest({ extents: file.extents, sha256: false });
      const workerMs = performance.now() - started;
      const standalone = await md5Worker({ kind: 'stored', dbName: coffer.name, chunks: keys });
      const blob = await md5Worker({ kind: 'blob', blob: theSource() });
      if (inWorker.checksum !== standalone.checksum || blob.checksum !== version.checksum) {
        throw new Error('The checksums disagree.');
      }
      return { workerMs, standaloneMs: standalone.ms, blobMs: blob.ms };
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /** Long tasks (≥ 50 ms, Long Tasks API) and the worst lag of a 10 ms timer during an ingest. */
  async mainThread() {
    const coffer = await freshCoffer();
    const longTasks: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longTasks.push(entry.duration);
    });
    observer.observe({ type: 'longtask', buffered: false });
    let worstLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstLag = Math.max(worstLag, now - last - 10);
      last = now;
    }, 10);
    try {
      const bucket = await coffer.buckets.create();
      const started = performance.now();
      await bucket.objects.put('file.bin', theSource());
      const ms = performance.now() - started;
      await new Promise((r) => setTimeout(r, 100));
      return { ms, longTasks: longTasks.length, longestTask: Math.max(0, ...longTasks), worstLag };
    } finally {
      clearInterval(timer);
      observer.disconnect();
      await disposeCoffer(coffer);
    }
  },

  /** Growth of the JS heaps (main and worker) during an ingest. */
  async heap() {
    const coffer = await freshCoffer();
    try {
      const bucket = await coffer.buckets.create();
      gc();
      await new Promise((r) => setTimeout(r, 200));
      const mainBefore = usedHeap();
      const scopesBefore = await heapByScope();
      let mainPeak = mainBefore;
      const samples: Record<string, number>[] = [];
      let sampling = true;
      const sampler = setInterval(() => {
        mainPeak = Math.max(mainPeak, usedHeap());
      }, 20);
      const scopeSampler = (async () => {
        while (sampling) {
          samples.push(await heapByScope());
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const started = performance.now();
      await bucket.objects.put('file.bin', theSource());
      const ms = performance.now() - started;
      sampling = false;
      clearInterval(sampler);
      await scopeSampler;
      const peak = (scope: string) =>
        Math.max(0, ...samples.map((s) => s[scope] ?? 0)) - (scopesBefore[scope] ?? 0);
      return {
        ms,
        mainGrowth: mainPeak - mainBefore,
        mainGrowthAfterGc: peak('Window'),
        workerGrowthAfterGc: peak('DedicatedWorkerGlobalScope'),
        samples: samples.length,
        measured: Object.keys(scopesBefore).length > 0,
      };
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * Full reads and 64 KiB range reads of the source stored by Coffer (opened with `options`)
   * and as one raw Blob.
   */
  async reads(ranges: number, round = 0, options: Partial<CofferOptions> = {}) {
    const coffer = await freshCoffer(options);
    const name = `raw-${uid()}`;
    const db = await openRaw(name);
    try {
      const bucket = await coffer.buckets.create();
      const version: ObjectVersion = await bucket.objects.put('file.bin', theSource());
      const tx = db.transaction('blobs', 'readwrite');
      tx.objectStore('blobs').put(theSource(), 'file.bin');
      await done(tx);
      const rawBlob = () =>
        request(db.transaction('blobs').objectStore('blobs').get('file.bin')) as Promise<Blob>;
      const size = version.size;
      const storedChunk = (await coffer.context.db.files.get(version.fileId!))!.extents[0]!.chunkSize;

      // The three full reads, in an order that rotates with `round`.
      const full: Record<string, () => Promise<ReadableStream<Uint8Array>>> = {
        cofferStream: () => version.stream(),
        cofferBlob: async () => (await version.blob()).stream(),
        raw: async () => (await rawBlob()).stream(),
      };
      const took: Record<string, number> = {};
      const names = Object.keys(full);
      for (let j = 0; j < names.length; j++) {
        const n = names[(round + j) % names.length]!;
        const started = performance.now();
        if ((await consume(await full[n]!())) !== size) throw new Error('short read');
        took[n] = performance.now() - started;
      }
      const { cofferStream, cofferBlob, raw } = took as Record<'cofferStream' | 'cofferBlob' | 'raw', number>;
      let t: number;
      // Range reads through a second connection, whose handle cache the full reads above have
      // not filled: the first read in each chunk gets its row, as after opening a coffer.
      const reopened = await openCoffer({ name: coffer.name });
      const ranged = (await (await reopened.buckets.get(bucket.id))!.objects.get('file.bin'))!;
      const cofferRange: number[] = [];
      const rawRange: number[] = [];
      const cofferRangeCold: number[] = [];
      const touched = new Set<number>();
      // The part of each range read spent finding the Blob (rows), before reading its bytes.
      const cofferLookup: number[] = [];
      const rawLookup: number[] = [];
      for (let i = 0; i < ranges; i++) {
        const start = Math.floor(Math.random() * (size - 64 * KiB));
        t = performance.now();
        const range = await ranged.slice(start, start + 64 * KiB);
        cofferLookup.push(performance.now() - t);
        const a = await range.arrayBuffer();
        cofferRange.push(performance.now() - t);
        // The first read in a chunk gets its row; later ones reuse the chunk's Blob handle.
        const chunk = Math.floor(start / storedChunk);
        if (!touched.has(chunk)) cofferRangeCold.push(performance.now() - t);
        touched.add(chunk);
        t = performance.now();
        const stored = await rawBlob();
        rawLookup.push(performance.now() - t);
        const b = await stored.slice(start, start + 64 * KiB).arrayBuffer();
        rawRange.push(performance.now() - t);
        if (a.byteLength !== b.byteLength) throw new Error('range sizes differ');
      }
      reopened.close();
      return {
        cofferStream,
        cofferBlob,
        raw,
        cofferRange: median(cofferRange),
        rawRange: median(rawRange),
        cofferRangeMax: Math.max(...cofferRange),
        cofferRangeCold: median(cofferRangeCold),
        cofferRangeLookup: median(cofferLookup),
        rawRangeLookup: median(rawLookup),
      };
    } finally {
      db.close();
      await deleteDatabase(name);
      await disposeCoffer(coffer);
    }
  },

  /** Where a range read's time goes (`--only=rangeprobe`): gets of Blob and plain rows, reads of a held handle. */
  async rangeProbe(count = 30) {
    const name = `raw-${uid()}`;
    const db = await openRaw(name);
    try {
      const tx = db.transaction(['blobs', 'chunks'], 'readwrite');
      tx.objectStore('blobs').put(theSource(), 'file.bin');
      tx.objectStore('chunks').put({ small: 'row' }, ['x', 0]);
      await done(tx);
      const t: Record<string, number[]> = {
        getBlobRow: [],
        getPlainRow: [],
        readHeld: [],
        getBlobRowTwice: [],
      };
      const held = (await request(db.transaction('blobs').objectStore('blobs').get('file.bin'))) as Blob;
      for (let i = 0; i < count; i++) {
        const start = Math.floor(Math.random() * (held.size - 64 * KiB));
        let s0 = performance.now();
        await request(db.transaction('blobs').objectStore('blobs').get('file.bin'));
        t.getBlobRow!.push(performance.now() - s0);
        s0 = performance.now();
        await request(db.transaction('chunks').objectStore('chunks').get(['x', 0]));
        t.getPlainRow!.push(performance.now() - s0);
        s0 = performance.now();
        await held.slice(start, start + 64 * KiB).arrayBuffer();
        t.readHeld!.push(performance.now() - s0);
        s0 = performance.now();
        const store = db.transaction('blobs').objectStore('blobs');
        await Promise.all([request(store.get('file.bin')), request(store.get('file.bin'))]);
        t.getBlobRowTwice!.push(performance.now() - s0);
      }
      return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
    } finally {
      db.close();
      await deleteDatabase(name);
    }
  },

  /** A bucket of `count` small files: `list()` and `get(key)` against raw Dexie reads of the same rows. */
  async listing(count: number, repeats: number) {
    const coffer = await freshCoffer();
    try {
      const bucket = await coffer.buckets.create();
      const small = await coffer.buckets.create();
      const keys = Array.from(
        { length: count },
        (_, i) => `dir-${i % 100}/file-${String(i).padStart(6, '0')}.txt`,
      );
      let t = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < keys.length) {
            const key = keys[next++]!;
            await bucket.objects.put(key, new Blob([key]));
          }
        }),
      );
      const populate = performance.now() - t;
      for (const key of keys.slice(0, 10)) await small.objects.put(key, new Blob([key]));
      const db = coffer.context.db;
      const rawList = () =>
        db.objects
          .where('[bucketId+isHead+key]')
          .between([bucket.id, 1, ''], [bucket.id, 1, '\uffff'], true, true)
          .toArray();

      const list: number[] = [];
      const raw: number[] = [];
      const rawCursor: number[] = [];
      for (let i = 0; i < repeats; i++) {
        t = performance.now();
        await db.objects
          .where('[bucketId+isHead+key]')
          .between([bucket.id, 1, ''], [bucket.id, 1, '\uffff'], true, true)
          .filter((row) => row.fileId !== null)
          .toArray();
        rawCursor.push(performance.now() - t);
        t = performance.now();
        const a = await bucket.objects.list();
        list.push(performance.now() - t);
        t = performance.now();
        const b = await rawList();
        raw.push(performance.now() - t);
        if (a.length !== count || b.length !== count) throw new Error(`listed ${a.length} and ${b.length}`);
      }

      const get: number[] = [];
      const getSmall: number[] = [];
      const rawGet: number[] = [];
      for (let i = 0; i < 200; i++) {
        const key = keys[Math.floor(Math.random() * count)]!;
        t = performance.now();
        await bucket.objects.get(key);
        get.push(performance.now() - t);
        t = performance.now();
        const head = await db.heads.get([bucket.id, key]);
        await db.objects.get(head!.versionId);
        rawGet.push(performance.now() - t);
        t = performance.now();
        await small.objects.get(keys[i % 10]!);
        getSmall.push(performance.now() - t);
      }
      return {
        populate,
        list: median(list),
        rawList: median(raw),
        rawListFiltered: median(rawCursor),
        get: median(get),
        rawGet: median(rawGet),
        getSmallBucket: median(getSmall),
      };
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /** `count` records (no bucket) created one by one and all at once, against raw Dexie adds. */
  async records(count: number) {
    const coffer = await openCoffer({ name: `bench-${uid()}` });
    const raw = new CofferDb(`raw-${uid()}`);
    const records = (coffer as unknown as { records?: { create(d: object, o: object): Promise<unknown> } })
      .records;
    try {
      if (!records) return { available: false };
      await records.create({ title: 'warm-up' }, { withBucket: false });
      const row = (i: number) => {
        const now = Date.now();
        return {
          id: `r-${i}-${uid()}`,
          revisionId: 0,
          data: { title: `Record ${i}` },
          deleted: 0 as const,
          created: now,
          updated: now,
        };
      };
      let t = performance.now();
      for (let i = 0; i < count; i++) await records.create({ title: `Record ${i}` }, { withBucket: false });
      const oneByOne = performance.now() - t;
      t = performance.now();
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          records.create({ title: `Bulk ${i}` }, { withBucket: false }),
        ),
      );
      const concurrent = performance.now() - t;
      t = performance.now();
      for (let i = 0; i < count; i++) await raw.records.add(row(i) as never);
      const rawOneByOne = performance.now() - t;
      const rows = Array.from({ length: count }, (_, i) => row(count + i));
      t = performance.now();
      await raw.records.bulkAdd(rows as never);
      const rawBulk = performance.now() - t;
      return { available: true, oneByOne, concurrent, rawOneByOne, rawBulk };
    } finally {
      raw.close();
      await deleteDatabase(raw.name);
      coffer.close();
      await deleteDatabase(coffer.name);
    }
  },
};

/**
 * Longest gap between animation frames while `work` runs, and the same measured on the idle
 * page for as long just before (the page's own frame rate under this machine's load).
 */
async function frameGaps(work: () => Promise<unknown>): Promise<{ idle: number; busy: number; ms: number }> {
  const watch = () => {
    let longest = 0;
    let last = performance.now();
    let running = true;
    const frame = (now: number) => {
      longest = Math.max(longest, now - last);
      last = now;
      if (running) requestAnimationFrame(frame);
    };
    requestAnimationFrame((now) => {
      last = now;
      requestAnimationFrame(frame);
    });
    return () => {
      running = false;
      return longest;
    };
  };
  // Let frames settle first.
  await new Promise((r) => setTimeout(r, 200));
  const t = performance.now();
  const stopBusy = watch();
  await work();
  const ms = performance.now() - t;
  await new Promise((r) => requestAnimationFrame(() => r(null)));
  const busy = stopBusy();
  await new Promise((r) => setTimeout(r, 200));
  const stopIdle = watch();
  await new Promise((r) => setTimeout(r, Math.max(ms, 500)));
  const idle = stopIdle();
  return { idle, busy, ms };
}

/** Random bytes for many small files, one Blob each. */
const smallBlobs = (count: number, size: number) => {
  const bytes = new Uint8Array(count * size);
  for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
  return Array.from({ length: count }, (_, i) => new Blob([bytes.subarray(i * size, (i + 1) * size)]));
};

/** Run `task(i)` for i in [0, count) with `width` in flight. */
async function inFlight(count: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const more = {
  /**
   * `count` small files of `sizeKiB`: `objects.putMany` against a raw IndexedDB put of the
   * same Blobs in one transaction, and single `objects.put` calls (16 in flight) against raw
   * puts of the same Blobs, one transaction per file (16 in flight). Each on a fresh database.
   */
  async smallFiles(count: number, sizeKiB: number, which: string[]) {
    const blobs = smallBlobs(count, sizeKiB * KiB);
    const out: Record<string, number> = {};
    for (const name of which) {
      if (name === 'putMany' || name === 'puts') {
        const coffer = await freshCoffer();
        try {
          const bucket = await coffer.buckets.create();
          const t = performance.now();
          if (name === 'putMany') {
            const results = await bucket.objects.putMany(
              blobs.map((source, i) => ({ key: `f${i}`, source })),
            );
            if (results.some((r) => !r.ok)) throw new Error('a put failed');
          } else {
            await inFlight(count, 16, (i) => bucket.objects.put(`f${i}`, blobs[i]!));
          }
          out[name] = performance.now() - t;
        } finally {
          await disposeCoffer(coffer);
        }
      } else {
        const dbName = `raw-${uid()}`;
        const db = await openRaw(dbName);
        try {
          const t = performance.now();
          if (name === 'rawBulk') {
            const tx = db.transaction('blobs', 'readwrite');
            const store = tx.objectStore('blobs');
            for (const [i, b] of blobs.entries()) store.put(b, `f${i}`);
            await done(tx);
          } else {
            await inFlight(count, 16, async (i) => {
              const tx = db.transaction('blobs', 'readwrite');
              tx.objectStore('blobs').put(blobs[i]!, `f${i}`);
              await done(tx);
            });
          }
          out[name] = performance.now() - t;
        } finally {
          db.close();
          await deleteDatabase(dbName);
        }
      }
    }
    return out;
  },

  /** `records.createMany` of `count` records without buckets against raw Dexie `bulkAdd` of the same rows. */
  async createMany(count: number, round: number) {
    const coffer = await openCoffer({ name: `bench-${uid()}` });
    const raw = new CofferDb(`raw-${uid()}`);
    try {
      await coffer.records.create({ title: 'warm-up' }, { withBucket: false });
      await raw.records.put({
        id: 'warm',
        revisionId: 0,
        data: {},
        deleted: 0,
        created: 0,
        updated: 0,
      } as never);
      const now = Date.now();
      const rows = Array.from({ length: count }, (_, i) => ({
        id: `r-${i}-${uid()}`,
        revisionId: 0,
        data: { title: `Record ${i}` },
        deleted: 0 as const,
        created: now,
        updated: now,
      }));
      const data = Array.from({ length: count }, (_, i) => ({ title: `Record ${i}` }));
      const runs: Record<string, () => Promise<unknown>> = {
        createMany: () => coffer.records.createMany(data, { withBucket: false }),
        rawBulkAdd: () => raw.records.bulkAdd(rows as never),
      };
      const out: Record<string, number> = {};
      const names = Object.keys(runs);
      for (let j = 0; j < names.length; j++) {
        const n = names[(round + j) % names.length]!;
        const t = performance.now();
        await runs[n]!();
        out[n] = performance.now() - t;
      }
      return out;
    } finally {
      raw.close();
      await deleteDatabase(raw.name);
      coffer.close();
      await deleteDatabase(coffer.name);
    }
  },

  /**
   * Full reads of the source stored by Coffer (`blob().arrayBuffer()`, `stream()`) and as one
   * raw IndexedDB Blob (get + `arrayBuffer()`, get + `stream()`), in an order rotating with `round`.
   * With `slicedMiB`, also the same reads of the source stored as slices of that many MiB (the
   * layout of Blob sources before `blobChunkSize`), as `sliced…`.
   */
  async fullReads(round: number, slicedMiB?: number) {
    const coffer = await freshCoffer();
    const sliced = slicedMiB ? await freshCoffer({ blobChunkSize: slicedMiB * MiB }) : undefined;
    const name = `raw-${uid()}`;
    const db = await openRaw(name);
    try {
      const bucket = await coffer.buckets.create();
      const version = await bucket.objects.put('file.bin', theSource());
      const slicedVersion = await (await sliced?.buckets.create())?.objects.put('file.bin', theSource());
      const tx = db.transaction('blobs', 'readwrite');
      tx.objectStore('blobs').put(theSource(), 'file.bin');
      await done(tx);
      const rawBlob = () =>
        request(db.transaction('blobs').objectStore('blobs').get('file.bin')) as Promise<Blob>;
      const size = version.size;
      const reads: Record<string, () => Promise<number>> = {
        cofferArrayBuffer: async () => (await (await version.blob()).arrayBuffer()).byteLength,
        rawArrayBuffer: async () => (await (await rawBlob()).arrayBuffer()).byteLength,
        cofferStream: async () => consume(await version.stream()),
        rawStream: async () => consume((await rawBlob()).stream()),
        ...(slicedVersion
          ? {
              slicedArrayBuffer: async () => (await (await slicedVersion.blob()).arrayBuffer()).byteLength,
              slicedStream: async () => consume(await slicedVersion.stream()),
            }
          : {}),
      };
      const out: Record<string, number> = {};
      const names = Object.keys(reads);
      for (let j = 0; j < names.length; j++) {
        const n = names[(round + j) % names.length]!;
        const t = performance.now();
        if ((await reads[n]!()) !== size) throw new Error('short read');
        out[n] = performance.now() - t;
      }
      return out;
    } finally {
      db.close();
      await deleteDatabase(name);
      await disposeCoffer(coffer);
      if (sliced) await disposeCoffer(sliced);
    }
  },

  /**
   * A bucket of `count` files written with `putMany` (1 to 30 bytes each): `list()` against
   * the raw indexed query of the same rows (Dexie `toArray()` over `[bucketId+isHead+key]`),
   * interleaved, `repeats` times.
   */
  async listAll(count: number, repeats: number) {
    const coffer = await freshCoffer();
    try {
      const bucket = await coffer.buckets.create();
      const keys = Array.from(
        { length: count },
        (_, i) => `dir-${i % 100}/file-${String(i).padStart(6, '0')}.txt`,
      );
      let t = performance.now();
      // Code from before putMany: 16 concurrent puts.
      const results = bucket.objects.putMany
        ? await bucket.objects.putMany(keys.map((key) => ({ key, source: new Blob([key]) })))
        : await Promise.all(
            keys.map((key) => bucket.objects.put(key, new Blob([key])).then(() => ({ ok: true }))),
          );
      const populate = performance.now() - t;
      if (results.some((r) => !r.ok)) throw new Error('a put failed');
      const db = coffer.context.db;
      const list: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const order = i % 2 ? ['raw', 'list'] : ['list', 'raw'];
        for (const n of order) {
          t = performance.now();
          const rows =
            n === 'list'
              ? await bucket.objects.list()
              : await db.objects
                  .where('[bucketId+isHead+key]')
                  .between([bucket.id, 1, ''], [bucket.id, 1, '\uffff'], true, true)
                  .toArray();
          (n === 'list' ? list : raw).push(performance.now() - t);
          if (rows.length !== count) throw new Error(`listed ${rows.length}`);
        }
      }
      return { populate, list: median(list), raw: median(raw), lists: list, raws: raw };
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * A bucket of `count` files (version rows added with Dexie `bulkAdd`, all sharing one stored
   * file instance, as deduplicated files do): `pages` pages of 100 from random keys with
   * `list({ limit: 100, after })`, and the raw indexed query of the same page.
   */
  async bigListing(count: number, pages: number) {
    const coffer = await freshCoffer();
    try {
      const bucket = await coffer.buckets.create();
      const shared = await bucket.objects.put('shared', new Blob(['x']));
      const db = coffer.context.db;
      const keys = Array.from(
        { length: count },
        (_, i) => `dir-${i % 100}/file-${String(i).padStart(7, '0')}.txt`,
      );
      let t = performance.now();
      const now = Date.now();
      for (let at = 0; at < count; at += 10_000) {
        const rows = keys.slice(at, at + 10_000).map((key, i) => ({
          versionId: crypto.randomUUID(),
          bucketId: bucket.id,
          key,
          fileId: shared.fileId,
          size: 1,
          checksum: shared.checksum,
          mimetype: null,
          isHead: 1 as const,
          seq: 1_000_000 + at + i,
          rank: -(1_000_000 + at + i),
          created: now,
          updated: now,
        }));
        await db.transaction('rw', db.objects, db.heads, async () => {
          await db.objects.bulkAdd(rows as never);
          await db.heads.bulkAdd(
            rows.map((r) => ({ bucketId: r.bucketId, key: r.key, versionId: r.versionId })) as never,
          );
        });
      }
      const populate = performance.now() - t;
      const sorted = [...keys].sort();
      const page: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < pages; i++) {
        const after = sorted[Math.floor(Math.random() * (count - 200))]!;
        t = performance.now();
        const a = await bucket.objects.list({ limit: 100, after });
        page.push(performance.now() - t);
        t = performance.now();
        const b = await db.objects
          .where('[bucketId+isHead+key]')
          .between([bucket.id, 1, after], [bucket.id, 1, '\uffff'], false, true)
          .limit(100)
          .toArray();
        raw.push(performance.now() - t);
        if (a.length !== 100 || b.length !== 100 || a[0]!.key !== b[0]!.key) throw new Error('pages differ');
      }
      return { populate, page: median(page), pageMax: Math.max(...page), raw: median(raw) };
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * Where the fixed cost of one put goes (`--only=putprofile`): the write lock, the bucket read,
   * the worker's hashing round trip, and whole puts, for a source of `sizeKiB`, medians of `reps`.
   */
  async putProfile(sizeKiB: number, reps: number) {
    const coffer = await freshCoffer();
    try {
      const bucket = await coffer.buckets.create();
      const { context } = coffer;
      const blobs = smallBlobs(reps, sizeKiB * KiB);
      const t: Record<string, number[]> = {
        lock: [],
        bucketRead: [],
        hashRoundTrip: [],
        hashMany: [],
        put: [],
      };
      const time = async (name: string, f: () => Promise<unknown>) => {
        const s0 = performance.now();
        await f();
        t[name]!.push(performance.now() - s0);
      };
      for (let i = 0; i < reps; i++) {
        await time('lock', () =>
          navigator.locks.request('bench-lock', { mode: 'shared' }, async () => undefined),
        );
        await time('bucketRead', () => context.store.getWritableBucket(bucket.id, 'k'));
        await time('hashRoundTrip', () =>
          context.pipeline.hashSources({ sources: [blobs[i]!], sha256: false, bytesBelow: 65536 }),
        );
        await time('put', () => bucket.objects.put(`k${i}`, blobs[i]!));
      }
      await time('hashMany', () =>
        context.pipeline.hashSources({ sources: blobs, sha256: false, bytesBelow: 65536 }),
      );
      // The same work as `reps` calls 16 in flight, as concurrent puts make them.
      t.hash16 = [];
      t.lock16 = [];
      t.puts16 = [];
      await time('hash16', () =>
        inFlight(reps, 16, (i) =>
          context.pipeline.hashSources({ sources: [blobs[i]!], sha256: false, bytesBelow: 65536 }),
        ),
      );
      await time('lock16', () =>
        inFlight(reps, 16, () =>
          navigator.locks.request('bench-lock', { mode: 'shared' }, async () => undefined),
        ),
      );
      await time('puts16', () => inFlight(reps, 16, (i) => bucket.objects.put(`c${i}`, blobs[i]!)));
      return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /**
   * Where a bulk commit's time goes (`--only=commitprofile`): `count` versions added in one
   * transaction through `addVersion` (delete markers: no file), the same through `putMany` of
   * 1-byte files, and raw Dexie `add`s of as many version rows in one transaction.
   */
  async commitProfile(count: number) {
    const coffer = await freshCoffer();
    try {
      const { db, store } = coffer.context;
      const out: Record<string, number> = {};
      const bucket = await coffer.buckets.create();
      let t = performance.now();
      await db.transaction('rw', db.tables, async () => {
        for (let i = 0; i < count; i++) {
          await store.addVersion({
            bucketId: bucket.id,
            key: `m${i}`,
            content: { kind: 'marker' },
            mimetype: null,
            tags: {},
            dedupe: false,
          });
        }
      });
      out.addVersionMarkers = performance.now() - t;
      t = performance.now();
      await db.transaction('rw', db.tables, async () => {
        for (let i = 0; i < count; i++) {
          await db.objects.add({
            versionId: crypto.randomUUID(),
            bucketId: bucket.id,
            key: `r${i}`,
            fileId: null,
            size: 0,
            checksum: null,
            mimetype: null,
            isHead: 1,
            seq: 1e9 + i,
            rank: -1e9 - i,
            created: 0,
            updated: 0,
          } as never);
        }
      });
      out.rawAddsAwaited = performance.now() - t;
      const blobs = smallBlobs(count, 1);
      t = performance.now();
      await bucket.objects.putMany(blobs.map((source, i) => ({ key: `p${i}`, source })));
      out.putMany = performance.now() - t;
      t = performance.now();
      await coffer.context.pipeline.hashSources({ sources: blobs, sha256: false, bytesBelow: 65536 });
      out.hashOnly = performance.now() - t;
      const noDedupe = await freshCoffer({ dedupe: false });
      try {
        const other = await noDedupe.buckets.create();
        t = performance.now();
        await other.objects.putMany(blobs.map((source, i) => ({ key: `p${i}`, source })));
        out.putManyNoDedupe = performance.now() - t;
      } finally {
        await disposeCoffer(noDedupe);
      }
      // The rows a group commit writes, written raw in one transaction (no reads).
      const rows = blobs.map((b, i) => ({ id: crypto.randomUUID(), i, b }));
      t = performance.now();
      await db.transaction('rw', db.tables, async () => {
        await Promise.all([
          db.files.bulkAdd(
            rows.map((r) => ({
              id: r.id,
              location: 'idb',
              size: 1024,
              checksum: `md5:${r.id}`,
              sha256: null,
              readable: 1,
              writable: 0,
              lastCheck: null,
              lastCheckAt: null,
              extents: [],
              dataIds: [r.id],
              created: 0,
              updated: 0,
            })) as never,
          ),
          db.chunks.bulkAdd(
            rows.map((r) => ({ dataId: r.id, offset: 0, size: 1024, data: new ArrayBuffer(1024) })) as never,
          ),
          db.objects.bulkAdd(
            rows.map((r) => ({
              versionId: crypto.randomUUID(),
              bucketId: bucket.id,
              key: `w${r.i}`,
              fileId: r.id,
              size: 1024,
              checksum: null,
              mimetype: null,
              isHead: 1,
              seq: 2e9 + r.i,
              rank: -2e9 - r.i,
              created: 0,
              updated: 0,
            })) as never,
          ),
          db.heads.bulkPut(
            rows.map((r) => ({ bucketId: bucket.id, key: `w${r.i}`, versionId: r.id })) as never,
          ),
        ]);
      });
      out.rawGroupWrites = performance.now() - t;
      return out;
    } finally {
      await disposeCoffer(coffer);
    }
  },

  /** Longest frame gap during an ingest of the source against the idle page's (see {@link frameGaps}). */
  async frames() {
    const coffer = await freshCoffer();
    try {
      const bucket = await coffer.buckets.create();
      return await frameGaps(() => bucket.objects.put('file.bin', theSource()));
    } finally {
      await disposeCoffer(coffer);
    }
  },
};

/** The cases, for `page.evaluate`. */
export type BenchCases = typeof cases & typeof more & typeof syncCases;
(globalThis as unknown as { bench: BenchCases }).bench = { ...cases, ...more, ...syncCases };
document.title = 'ready';
