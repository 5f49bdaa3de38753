// Issue 13, scale: one 2 GiB file synced from one coffer to another through the real gateway, in
// Chromium, with the page's heap bounded and the requests counted. Both coffers run their byte
// pipeline on the page (`worker: false`), so the heap sampled here is the heap of every step:
// the engine, S3Remote, fetch bodies, hashing and the chunk writes of the pull. Both use the
// default chunk size (32 MiB Blob chunks): the pulled body is a stream, which writeData turns
// into a Blob every 2 MiB, so the pull's heap does not grow with the chunk size.
//
// The size: 2 GiB by default (`VITE_COFFER_SYNC_LARGE_MIB` makes it smaller, to work on the
// test). It needs the browser project's profile on disk (vite.config.ts): an off-the-record
// context keeps every Blob and database in memory under one 2 GiB limit, where the source and
// the two coffers' copies did not fit ("TypeError: network error" from 1,000 MiB up). The
// gateway's memstore OSD must hold the file's parts: COFFER_S3_STORE_MIB=4096 (.ci/run and the
// gateway Vitest starts).
import { createMD5 } from 'hash-wasm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openSync } from '../../packages/core/src/sync/engine.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { cofferOpener } from '../helpers/coffer.js';
import { heapSampler, MiB, variedBlob } from '../helpers/large-blobs.js';
import { freshS3Bucket, s3Versions } from '../helpers/s3.js';

const SIZE_MIB = Number(import.meta.env.VITE_COFFER_SYNC_LARGE_MIB ?? 2048);
const SIZE = SIZE_MIB * MiB;
/** The engine's default part size. */
const PART_SIZE = 16 * MiB;
const HEAP_BOUND = 64 * MiB;
const open = cofferOpener('large-sync');

/** What one S3 request is, from its method and query: the kinds the engine sends. */
function kindOf(method: string, url: URL): string {
  const query = url.searchParams;
  if (method === 'POST' && query.has('uploads')) return 'createMultipartUpload';
  if (method === 'PUT' && query.has('partNumber')) return 'uploadPart';
  if (method === 'POST' && query.has('uploadId')) return 'completeMultipartUpload';
  if (method === 'GET' && query.has('list-type')) return 'list';
  if (method === 'GET' && query.has('uploadId')) return 'listParts';
  if (method === 'PUT') return url.pathname.includes('/journal/') ? 'putJournal' : 'putObject';
  return method === 'GET' ? (url.pathname.includes('/journal/') ? 'getJournal' : 'getObject') : method;
}

/** An S3Remote whose every HTTP request is counted by kind. */
function countedRemote(options: ConstructorParameters<typeof S3Remote>[0]) {
  const counts: Record<string, number> = {};
  const remote = new S3Remote({
    ...options,
    fetch: (input, init) => {
      const kind = kindOf(init?.method ?? 'GET', new URL(String(input)));
      counts[kind] = (counts[kind] ?? 0) + 1;
      return fetch(input, init);
    },
  });
  return {
    remote,
    counts,
    reset: () => {
      for (const kind of Object.keys(counts)) delete counts[kind];
    },
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

describe(`sync of a ${SIZE_MIB} MiB file in Chromium`, () => {
  it('pushes it as a multipart upload and pulls it on another coffer with the same md5, the heap bounded', async () => {
    const bucket = await freshS3Bucket({ label: 'large' });
    const a = countedRemote(bucket);
    const b = countedRemote(bucket);
    const first = await open({ worker: false });
    const second = await open({ worker: false });
    const syncA = openSync(first, { remote: a.remote });
    const syncB = openSync(second, { remote: b.remote });
    onTestFinished(async () => {
      await syncA.close();
      await syncB.close();
    });

    let t = performance.now();
    const { blob, md5 } = variedBlob(SIZE_MIB);
    const expected = await md5();
    const record = await first.records.create({ title: 'a large scan' });
    const stored = await record.files!.set('scan.tif', blob);
    const ingest = performance.now() - t;
    expect(stored.size).toBe(SIZE);
    expect(stored.checksum).toBe(expected);

    // Push: create + one PUT per part + complete, then the journal entry; the pull half of
    // the sync lists the journals once (there is no other device yet).
    let heap = heapSampler();
    t = performance.now();
    const pushed = await syncA.now({ onProgress: heap.sample });
    const push = performance.now() - t;
    const pushGrowth = heap.stop();
    const parts = Math.ceil(SIZE / PART_SIZE);
    expect(pushed.versionsPushed).toBe(1);
    expect(pushed.bytesPushed).toBe(SIZE);
    expect(a.counts).toEqual({
      createMultipartUpload: 1,
      uploadPart: parts,
      completeMultipartUpload: 1,
      putJournal: 1,
      list: 1,
    });
    expect(pushed.requests).toBe(parts + 4);
    const [onServer] = (await s3Versions(bucket.bucket)).filter((v) => !v.key.includes('journal/'));
    expect(onServer!.size).toBe(SIZE);
    expect(onServer!.etag).toMatch(new RegExp(`-${parts}"?$`));

    // Pull: the list of devices, the list of A's journal, its entry, the file.
    heap = heapSampler();
    t = performance.now();
    const pulled = await syncB.now({ onProgress: heap.sample });
    const pull = performance.now() - t;
    const pullGrowth = heap.stop();
    expect(pulled.versionsPulled).toBe(1);
    expect(pulled.bytesPulled).toBe(SIZE);
    expect(b.counts).toEqual({ list: 2, getJournal: 1, getObject: 1 });

    const copy = await (await second.records.get(record.id)).files!.get('scan.tif');
    expect(copy!.size).toBe(SIZE);
    expect(copy!.checksum).toBe(expected);
    t = performance.now();
    const hasher = await createMD5();
    const reader = (await copy!.stream()).getReader();
    let read = 0;
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      hasher.update(next.value);
      read += next.value.length;
    }
    const redigest = performance.now() - t;
    expect(read).toBe(SIZE);
    expect(`md5:${hasher.digest('hex')}`).toBe(expected);

    console.log(
      `${SIZE_MIB} MiB, ${parts} parts of ${PART_SIZE / MiB} MiB: ingest ${seconds(ingest)}, ` +
        `push ${seconds(push)} (heap +${mib(pushGrowth)} max, ${pushed.requests} requests), ` +
        `pull ${seconds(pull)} (heap +${mib(pullGrowth)} max, ${pulled.requests} requests), ` +
        `re-digest ${seconds(redigest)}`,
    );
    expect(pushGrowth).toBeLessThan(HEAP_BOUND);
    expect(pullGrowth).toBeLessThan(HEAP_BOUND);
  }, 1_800_000);
});
