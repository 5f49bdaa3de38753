/**
 * Sync at a size CI can afford, through the real gateway: 1,000 records with 5,000 small files
 * from device A to device B (`COFFER_SYNC_SCALE_RECORDS=10000` for the 50,000-file run of
 * RELIABILITY.md, about 15 minutes). Asserts the request bounds of docs/sync-protocol.md (per file,
 * per record, per sync with nothing to do), that a push reads only the records written since
 * the last one (schema version 3, `recordWrites`), and prints the times and the heap (live after
 * a collection, and the peak with garbage; fake-indexeddb keeps every stored row in this heap).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Dexie } from 'dexie';
import { describe, expect, it, vi } from 'vitest';
import { CofferDb } from '../../packages/core/src/storage/schema.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket } from '../helpers/s3.js';
import { openDevice, stateOf, WrappedRemote } from './harness.js';

/** `COFFER_SYNC_SCALE_RECORDS` makes it smaller or larger (default 1,000). */
const RECORDS = Number(process.env.COFFER_SYNC_SCALE_RECORDS ?? 1_000);
// 15 min for the CI size, and as much again per 1,000 records above it.
vi.setConfig({ testTimeout: Math.max(900_000, RECORDS * 900), hookTimeout: 300_000 });
const FILES_PER_RECORD = 5;
const FILES = RECORDS * FILES_PER_RECORD;

/** Requests of a wrapper by method, and the journal PUTs among them. */
function countJournalPuts(remote: WrappedRemote) {
  const journal = { puts: 0 };
  const put = remote.putObject;
  remote.putObject = (key, body, options) => {
    if (key.startsWith('journal/')) journal.puts++;
    return put(key, body, options);
  };
  return journal;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const MiB = 1024 * 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The live heap after a full collection. */
function liveHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** The highest heap (garbage included) seen while `work` runs, sampled every 50 ms. */
async function peakHeapOf<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 50);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage().heapUsed) };
  } finally {
    clearInterval(timer);
  }
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

describe(`sync at scale (${RECORDS.toLocaleString('en')} records, ${FILES.toLocaleString('en')} files, real gateway)`, () => {
  it('stays within the request bounds, and a sync with nothing new only LISTs', async () => {
    const heapAtStart = liveHeap();
    const bucket = await freshS3Bucket({ label: 'scale' });
    const wa = new WrappedRemote(new S3Remote(bucket));
    const wb = new WrappedRemote(new S3Remote(bucket));
    const journalA = countJournalPuts(wa);
    const a = await openDevice(wa, undefined, {}, { chunkSize: 64 * 1024 });
    const b = await openDevice(wb, undefined, {}, { chunkSize: 64 * 1024 });

    let t = Date.now();
    const records = await a.coffer.records.createMany(
      Array.from({ length: RECORDS }, (_, i) => ({ title: `record ${i}`, n: i })),
    );
    for (const [i, record] of records.entries()) {
      await record.files!.setMany(
        Array.from({ length: FILES_PER_RECORD }, (_, j) => ({
          key: `file-${j}.txt`,
          source: new Blob([`record ${i} file ${j} `.repeat(1 + ((i + j) % 7))]),
        })),
      );
    }
    const seeded = Date.now() - t;
    console.log(`seeded ${RECORDS} records, ${FILES} files in ${seconds(seeded)}`);

    const heapSeeded = liveHeap();
    t = Date.now();
    const { result: pushed, peak: pushPeak } = await peakHeapOf(() => a.sync.now());
    const push = Date.now() - t;
    expect(pushed.versionsPushed).toBe(FILES);
    expect(pushed.recordsPushed).toBe(RECORDS);
    // Per file: 1 PUT. Per record: none of its own (record ops ride in journal entries of
    // at most 500 version ops / 1,000 ops). Plus the pull's 1 LIST.
    const maxEntries = Math.ceil(FILES / 500) + Math.ceil(RECORDS / 1000) + 1;
    expect(journalA.puts).toBeLessThanOrEqual(maxEntries);
    expect(wa.counts).toEqual({ putObject: FILES + journalA.puts, list: 1 });

    const heapPushed = liveHeap();
    t = Date.now();
    const { result: pulled, peak: pullPeak } = await peakHeapOf(() => b.sync.now());
    const pull = Date.now() - t;
    const heapPulled = liveHeap();
    expect(pulled.versionsPulled).toBe(FILES);
    // Per file pulled: 1 GET; per entry: 1 GET; 2 LISTs (devices, A's journal).
    expect(wb.counts).toEqual({ list: 2, getObject: FILES + journalA.puts });

    // Nothing new: LISTs only, on both sides (B has written no journal entry: A lists 1).
    wa.reset();
    wb.reset();
    t = Date.now();
    await b.sync.now();
    await a.sync.now();
    const idle = Date.now() - t;
    expect(wb.counts).toEqual({ list: 2 });
    expect(wa.counts).toEqual({ list: 1 });

    // A push reads only the records written since the last one: one edit, one record read.
    const { db } = a.coffer.context;
    const reads = vi.spyOn(db.records, 'bulkGet');
    const one = records[Math.floor(RECORDS / 2)]!;
    one.data.title = 'edited';
    await one.commit();
    wa.reset();
    t = Date.now();
    const edited = await a.sync.now();
    const small = Date.now() - t;
    expect(edited.recordsPushed).toBe(1);
    expect(reads.mock.calls.reduce((n, [ids]) => n + ids.length, 0)).toBe(1);
    reads.mockRestore();
    expect(wa.counts).toEqual({ putObject: 1, list: 1 });
    await b.sync.now();

    t = Date.now();
    const [sa, sb] = [await stateOf(a.coffer), await stateOf(b.coffer)];
    expect(sb).toEqual(sa);
    expect(Object.keys(sb.versions)).toHaveLength(FILES);
    const compare = Date.now() - t;

    const line = (label: string, ms: number) => `  ${label.padEnd(34)} ${seconds(ms)}`;
    const perFile = (requests: number) => (requests / FILES).toFixed(4);
    console.log(
      [
        `sync scale: ${RECORDS} records, ${FILES} files (${pushed.bytesPushed} bytes), real radosgw`,
        line('seed A (createMany + setMany)', seeded),
        line(`push A (${FILES + journalA.puts} PUT, 1 LIST)`, push),
        line(`pull B (${FILES + journalA.puts} GET, 2 LIST)`, pull),
        line('nothing new, B then A (3 LIST)', idle),
        line('one record edited, push+pull A', small),
        line('compare states', compare),
        `  requests per file: push ${perFile(FILES + journalA.puts + 1)}, pull ${perFile(FILES + journalA.puts + 2)}; per record: 0 of its own`,
        `  live heap after gc: start ${mib(heapAtStart)}, seeded ${mib(heapSeeded)}, pushed ${mib(heapPushed)}, pulled ${mib(heapPulled)} (B's rows: ${((heapPulled - heapPushed) / FILES / 1024).toFixed(2)} KiB per file)`,
        `  heap peak (garbage included) over the live heap before: push +${mib(pushPeak - heapSeeded)}, pull +${mib(pullPeak - heapPushed)}`,
      ].join('\n'),
    );
  });

  it('upgrades a version 2 database: every existing record gets a write seq once', async () => {
    const name = `sync-upgrade-${crypto.randomUUID()}`;
    const old = new Dexie(name);
    old.version(2).stores({
      records: 'id, [deleted+updated]',
      syncRecords: 'recordId',
    });
    await old.open();
    await old.table('records').bulkAdd([
      { id: 'r1', revisionId: 0, data: {}, deleted: 0, created: 1, updated: 1 },
      { id: 'r2', revisionId: 0, data: {}, deleted: 0, created: 1, updated: 1 },
    ]);
    // r3: synced once, then removed for good here.
    await old.table('syncRecords').bulkAdd([
      { recordId: 'r2', head: 'c', revisionId: 0, deleted: 0, resolving: 0 },
      { recordId: 'r3', head: 'd', revisionId: 0, deleted: 0, resolving: 0 },
    ]);
    old.close();
    const db = new CofferDb(name);
    await db.open();
    const writes = await db.recordWrites.orderBy('seq').toArray();
    expect(writes.map((w) => w.recordId).sort()).toEqual(['r1', 'r2', 'r3']);
    expect(writes.map((w) => w.seq)).toEqual([1, 2, 3]);
    // New writes, from any code, continue the sequence, in the writing transaction.
    await db.records.put({ id: 'r1' as never, revisionId: 1, data: {}, deleted: 0, created: 1, updated: 0 });
    await db.transaction('rw', db.records, async () => {
      await Promise.all([db.records.delete('r2' as never), db.records.delete('r4' as never)]);
    });
    const after = await db.recordWrites.orderBy('seq').toArray();
    expect(after.map((w) => `${w.recordId}:${w.seq}`)).toEqual(['r3:3', 'r1:4', 'r2:5', 'r4:6']);
    db.close();
    await Dexie.delete(name);
  });
});
