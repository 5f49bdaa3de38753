/**
 * Random sequences of bucket operations against a small in-memory reference model. After every
 * step: one head per key, the bucket's size equals the bytes its versions and open uploads
 * hold, every head reads back with its bytes and checksum; after every gc, no orphan.
 */
import {
  type Bucket,
  type Coffer,
  CofferError,
  type FileId,
  type MultipartUpload,
  type VersionId,
} from '@coffer/core';
import fc from 'fast-check';
import { createMD5 } from 'hash-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { bytes, bytesOf, dispose, freshCoffer } from '../helpers/coffer.js';

const KEYS = ['a', 'b/c', 'd'];
const MAX_BUCKETS = 4;

interface ModelVersion {
  versionId: VersionId;
  fileId: FileId | null;
  data: Uint8Array | null;
}

interface ModelBucket {
  bucket: Bucket;
  locked: boolean;
  /** Versions of each key, newest first. */
  keys: Map<string, ModelVersion[]>;
  uploads: MultipartUpload[];
}

type Op =
  | { op: 'put'; b: number; k: number; len: number; seed: number }
  | { op: 'delete'; b: number; k: number }
  | { op: 'remove'; b: number; k: number; i: number }
  | { op: 'restore'; b: number; k: number; i: number }
  | { op: 'copy'; b: number; k: number; b2: number; k2: number }
  | { op: 'rename'; b: number; k: number; k2: number }
  | { op: 'snapshot'; b: number; lock: boolean }
  | { op: 'sync'; b: number; b2: number; deleteExtras: boolean }
  | { op: 'lock'; b: number; locked: boolean }
  | {
      op: 'multipart';
      b: number;
      k: number;
      size: number;
      chunk: number;
      seed: number;
      end: 'complete' | 'abort' | 'open';
    }
  | { op: 'abortOpen'; b: number }
  | { op: 'gc' };

const idx = fc.nat({ max: 7 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('put' as const),
      b: idx,
      k: idx,
      len: fc.nat({ max: 12 }),
      seed: fc.nat({ max: 3 }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), b: idx, k: idx }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('remove' as const), b: idx, k: idx, i: idx }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('restore' as const), b: idx, k: idx, i: idx }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('copy' as const), b: idx, k: idx, b2: idx, k2: idx }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('rename' as const), b: idx, k: idx, k2: idx }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('snapshot' as const), b: idx, lock: fc.boolean() }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('sync' as const), b: idx, b2: idx, deleteExtras: fc.boolean() }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant('lock' as const), b: idx, locked: fc.boolean() }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant('multipart' as const),
      b: idx,
      k: idx,
      size: fc.integer({ min: 5, max: 20 }),
      chunk: fc.integer({ min: 4, max: 8 }),
      seed: fc.nat({ max: 3 }),
      end: fc.constantFrom('complete' as const, 'abort' as const, 'open' as const),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant('abortOpen' as const), b: idx }), weight: 1 },
  { arbitrary: fc.constant({ op: 'gc' as const }), weight: 1 },
);

const stats = { runs: 0, operations: 0, refused: 0, headsVerified: 0, gcRuns: 0, dataLost: 0 };
const tally: Record<string, number> = {};

const md5 = async (data: Uint8Array): Promise<string> => {
  const hasher = await createMD5();
  hasher.update(data);
  return `md5:${hasher.digest('hex')}`;
};

const head = (m: ModelBucket, key: string): ModelVersion | undefined => m.keys.get(key)?.[0];
const live = (m: ModelBucket, key: string): ModelVersion | undefined => {
  const h = head(m, key);
  return h?.fileId ? h : undefined;
};
const push = (m: ModelBucket, key: string, v: ModelVersion) =>
  m.keys.set(key, [v, ...(m.keys.get(key) ?? [])]);
const fromVersion = (
  v: { versionId: VersionId; fileId: FileId | null },
  data: Uint8Array | null,
): ModelVersion => ({
  versionId: v.versionId,
  fileId: v.fileId,
  data,
});

/** Run `action` expecting success when `allowed`, else a typed refusal; return its result. */
async function attempt<T>(allowed: boolean, action: () => Promise<T>): Promise<T | undefined> {
  if (allowed) return action();
  const error = await action().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the operation should have been refused').toBeInstanceOf(CofferError);
  stats.refused += 1;
  return undefined;
}

async function apply(coffer: Coffer, buckets: ModelBucket[], op: Op): Promise<void> {
  tally[op.op] = (tally[op.op] ?? 0) + 1;
  if (op.op === 'gc') {
    stats.gcRuns += 1;
    await coffer.gc({ graceMs: 0 });
    return;
  }
  const m = buckets[op.b % buckets.length]!;
  const key = 'k' in op ? KEYS[op.k % KEYS.length]! : KEYS[0]!;
  const versions = m.keys.get(key) ?? [];
  switch (op.op) {
    case 'put': {
      const data = bytes(op.len, op.seed * 31);
      const v = await attempt(!m.locked, () => m.bucket.objects.put(key, data));
      if (v) push(m, key, fromVersion(v, data));
      return;
    }
    case 'delete': {
      const allowed = !m.locked && live(m, key) !== undefined;
      const marker = await attempt(allowed, () => m.bucket.objects.delete(key));
      if (marker) push(m, key, fromVersion(marker, null));
      return;
    }
    case 'remove': {
      if (versions.length === 0) return;
      const target = versions[op.i % versions.length]!;
      const real = await m.bucket.objects.get(key, { versionId: target.versionId });
      await attempt(!m.locked, () => real!.remove());
      if (!m.locked)
        m.keys.set(
          key,
          versions.filter((v) => v !== target),
        );
      if (m.keys.get(key)?.length === 0) m.keys.delete(key);
      return;
    }
    case 'restore': {
      if (versions.length === 0) return;
      const target = versions[op.i % versions.length]!;
      const real = await m.bucket.objects.get(key, { versionId: target.versionId });
      const allowed = !m.locked && target !== versions[0] && target.fileId !== null;
      const v = await attempt(allowed, () => real!.restore());
      if (v) push(m, key, fromVersion(v, target.data));
      return;
    }
    case 'copy': {
      const source = live(m, key);
      if (!source) return;
      const dest = buckets[op.b2 % buckets.length]!;
      const key2 = KEYS[op.k2 % KEYS.length]!;
      const real = await m.bucket.objects.get(key);
      const v = await attempt(!dest.locked, () => real!.copy(dest.bucket, key2));
      if (v) push(dest, key2, fromVersion(v, source.data));
      return;
    }
    case 'rename': {
      const source = live(m, key);
      const key2 = KEYS[op.k2 % KEYS.length]!;
      if (!source || key2 === key) return;
      const real = await m.bucket.objects.get(key);
      const v = await attempt(!m.locked, () => real!.copy(m.bucket, key2));
      if (!v) return;
      push(m, key2, fromVersion(v, source.data));
      const marker = await m.bucket.objects.delete(key);
      push(m, key, fromVersion(marker, null));
      return;
    }
    case 'snapshot': {
      if (buckets.length >= MAX_BUCKETS) return;
      const snapshot = await m.bucket.snapshot({ lock: op.lock });
      const copy: ModelBucket = {
        bucket: snapshot,
        locked: op.lock || m.locked,
        keys: new Map(),
        uploads: [],
      };
      for (const k of KEYS) {
        const source = live(m, k);
        if (!source) continue;
        const real = await snapshot.objects.get(k);
        push(copy, k, fromVersion(real!, source.data));
      }
      buckets.push(copy);
      return;
    }
    case 'sync': {
      const dest = buckets[op.b2 % buckets.length]!;
      if (dest === m) return;
      const changes = await attempt(!dest.locked, () =>
        m.bucket.sync(dest.bucket, { deleteExtras: op.deleteExtras }),
      );
      if (!changes) return;
      for (const change of changes) {
        if (change.type === 'add') {
          push(dest, change.key, fromVersion(change.version, live(m, change.key)!.data));
        } else {
          const versionsNow = await dest.bucket.objects.versions(change.key);
          push(dest, change.key, fromVersion(versionsNow[0]!, null));
        }
      }
      await expectSyncMirrors(m, dest, op.deleteExtras);
      return;
    }
    case 'lock': {
      if (op.locked) await m.bucket.lock();
      else await m.bucket.unlock();
      m.locked = op.locked;
      return;
    }
    case 'multipart': {
      const upload = await attempt(!m.locked, () =>
        m.bucket.multipart.create(key, { size: op.size, chunkSize: op.chunk }),
      );
      if (!upload) return;
      const data = bytes(op.size, 100 + op.seed);
      for (let n = upload.lastPartNumber; n >= 0; n--)
        await upload.putPart(n, data.slice(...upload.partRange(n)));
      if (op.end === 'complete') push(m, key, fromVersion(await upload.complete(), data));
      else if (op.end === 'abort') await upload.abort();
      else m.uploads.push(upload);
      return;
    }
    case 'abortOpen': {
      const upload = m.uploads.shift();
      if (upload) await upload.abort();
      return;
    }
  }
}

/** After a sync, the destination's live heads hold what the source's live heads hold. */
async function expectSyncMirrors(
  source: ModelBucket,
  dest: ModelBucket,
  deleteExtras: boolean,
): Promise<void> {
  for (const key of KEYS) {
    const s = live(source, key);
    const d = live(dest, key);
    if (s) expect(d?.fileId).toBe(s.fileId);
    else if (head(source, key) || deleteExtras) expect(d).toBeUndefined();
  }
}

async function checkInvariants(coffer: Coffer, buckets: ModelBucket[]): Promise<void> {
  const { db } = coffer.context;
  for (const m of buckets) {
    const row = await db.buckets.get(m.bucket.id);
    const stored = [...m.keys.values()].flat().reduce((sum, v) => sum + (v.data?.length ?? 0), 0);
    const reserved = m.uploads.reduce((sum, u) => sum + u.size, 0);
    expect(row?.size, 'bucket size').toBe(stored + reserved);
    expect(row?.locked === 1).toBe(m.locked);
    for (const key of KEYS) {
      const model = m.keys.get(key) ?? [];
      const real = await m.bucket.objects.versions(key);
      expect(real.map((v) => v.versionId)).toEqual(model.map((v) => v.versionId));
      expect(real.filter((v) => v.isHead).map((v) => v.versionId)).toEqual(
        model.slice(0, 1).map((v) => v.versionId),
      );
      expect((await db.heads.get([m.bucket.id, key]))?.versionId).toBe(model[0]?.versionId);
      const h = live(m, key);
      const got = await m.bucket.objects.get(key);
      expect(got?.versionId).toBe(h?.versionId);
      if (h && got) {
        const back = await bytesOf(await got.blob());
        const ok = back.length === h.data!.length && back.every((b, i) => b === h.data![i]);
        if (!ok) stats.dataLost += 1;
        expect(back).toEqual(h.data);
        expect(got.checksum).toBe(await md5(h.data!));
        stats.headsVerified += 1;
      }
    }
  }
}

async function expectNoOrphans(coffer: Coffer): Promise<void> {
  const { db } = coffer.context;
  const fileIds = new Set<unknown>([
    ...(await db.objects.orderBy('fileId').uniqueKeys()),
    ...(await db.multipartUploads.orderBy('fileId').uniqueKeys()),
  ]);
  const files = await db.files.toArray();
  expect(
    files.filter((f) => !fileIds.has(f.id)).map((f) => f.id),
    'orphan files',
  ).toEqual([]);
  const dataIds = new Set<string>([
    ...files.flatMap((f) => f.dataIds),
    ...(await db.parts.toArray()).map((p) => p.dataId),
  ]);
  const keys = (await db.chunks.toCollection().primaryKeys()) as [string, number][];
  const orphans = keys.filter(([dataId]) => !dataId.startsWith('\u0000') && !dataIds.has(dataId));
  expect(orphans, 'orphan chunks').toEqual([]);
  for (const file of files.filter((f) => f.readable)) {
    for (const extent of file.extents) {
      const stored = keys.filter(([dataId]) => dataId === extent.dataId).length;
      expect(stored, 'every chunk of a readable file is there').toBe(
        Math.ceil(extent.size / extent.chunkSize),
      );
    }
  }
}

describe('random operation sequences', () => {
  afterAll(() => {
    console.info('property stats', JSON.stringify({ ...stats, tally }));
  });

  it('keep every invariant after every step', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
        stats.runs += 1;
        const coffer = await freshCoffer({
          chunkSize: 4,
          inlineBelow: 2,
          multipart: { minChunkSize: 4, maxChunkSize: 8, maxParts: 10, expiresAfter: 3_600_000 },
        });
        try {
          const buckets: ModelBucket[] = [];
          for (let i = 0; i < 2; i++) {
            buckets.push({
              bucket: await coffer.buckets.create(),
              locked: false,
              keys: new Map(),
              uploads: [],
            });
          }
          for (const op of ops) {
            stats.operations += 1;
            await apply(coffer, buckets, op);
            await checkInvariants(coffer, buckets);
            if (op.op === 'gc') await expectNoOrphans(coffer);
          }
          await coffer.gc({ graceMs: 0 });
          stats.gcRuns += 1;
          await checkInvariants(coffer, buckets);
          await expectNoOrphans(coffer);
        } finally {
          await dispose(coffer);
        }
      }),
      { numRuns: 100 },
    );
  });
});
