// biome-ignore-all lint/suspicious/noExplicitAny: page-side code reaches Coffer objects kept on window without their types.
/**
 * Reliability in Chromium: a full disk, a tab closed mid-write, two tabs writing at once, and a
 * database upgrade from another tab. Each test counts what it tried; the figures go to
 * RELIABILITY.md.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {} from './fixtures/core-page/page.js';
import { type Harness, startHarness } from './reliability-harness.js';

const MiB = 1024 * 1024;
let harness: Harness;
const figures: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  console.info('reliability figures', JSON.stringify(figures));
  await harness?.close();
});

async function openPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.warn('page error', error.message));
  await page.goto(harness.origin);
  await page.waitForFunction(() => document.title === 'ready');
  return page;
}

describe('a full disk', () => {
  it('fails the write that does not fit with StorageQuotaExceededError, keeps the head, and recovers', async () => {
    const context = await harness.persistentContext();
    const page = await openPage(context);
    const cdp = await context.newCDPSession(page);
    // Chromium's IndexedDB keeps the space it last found free for an origin for a while (seen
    // here: still stale 10 s later, fresh after 31 s) and spends from that figure without asking
    // the quota manager again. An override sent after Coffer has written is therefore ignored
    // for that long, and a 64 MiB write goes through. So the quota is set before Coffer opens
    // its database: its first write then reads the overridden quota, and every write that
    // does not fit the remaining figure asks again.
    const usageBefore = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    const quota = usageBefore + 20 * MiB;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: harness.origin, quotaSize: quota });
    const setup = await page.evaluate(async () => {
      const { core, patterned, sha256, state } = window.fixture;
      // The worker (the default where Worker exists) writes the chunks: the quota error has to
      // cross back as a StorageQuotaExceededError.
      const coffer = await core.openCoffer({ name: 'full-disk', worker: true });
      const bucket = await coffer.buckets.create();
      const before = patterned(1024 * 1024, 1);
      const v = await bucket.objects.put('data.bin', before);
      Object.assign(state, { coffer, bucket, beforeSha: await sha256(before) });
      return {
        versionId: v.versionId,
        chunkStorage: coffer.chunkStorage,
        usage: (await navigator.storage.estimate()).usage ?? 0,
      };
    });

    const attempts = [];
    for (let round = 0; round < 3; round++) {
      attempts.push(
        await page.evaluate(async (round) => {
          const { patterned, sha256, state } = window.fixture;
          const { bucket, coffer } = state as { bucket: any; coffer: any };
          const { db } = coffer.context;
          let loaded = 0;
          const error = await bucket.objects
            .put('data.bin', patterned(64 * 1024 * 1024, 2 + round), {
              onProgress: (p: { loaded: number }) => {
                loaded = p.loaded;
              },
            })
            .then(
              () => undefined,
              (e: { name: string; code: string; cause?: { name?: string; message?: string } }) => ({
                name: e.name,
                code: e.code,
                cause: `${e.cause?.name ?? ''}: ${e.cause?.message ?? ''}`,
              }),
            );
          const usageAfterFailure = (await navigator.storage.estimate()).usage;
          const head = await bucket.objects.get('data.bin');
          const headSha = await sha256(await head.blob());
          const check = await head.verifyChecksum().then(
            (r: { ok: boolean }) => r,
            (e: { code: string }) => ({ ok: e.code }),
          );
          const versions = (await bucket.objects.versions('data.bin')).length;
          const leftovers = await coffer.gc({ graceMs: 0 });
          const writable = await db.files.where('writable').equals(1).count();
          const chunkBytes = (await db.chunks.toArray())
            .filter((c: { dataId: string }) => !c.dataId.startsWith('\u0000'))
            .reduce((n: number, c: { size: number }) => n + c.size, 0);
          const fileBytes = (await db.files.toArray()).reduce(
            (n: number, f: { size: number }) => n + f.size,
            0,
          );
          // The next write that fits, on the same coffer: no reopening.
          const small = patterned(1024 * 1024, 50 + round);
          const nextError = await bucket.objects.put(`after-${round}.bin`, small).then(
            () => undefined,
            (e: { code: string; message: string }) => `${e.code}: ${e.message}`,
          );
          const next = await bucket.objects.get(`after-${round}.bin`);
          const nextOk = next !== undefined && (await sha256(await next.blob())) === (await sha256(small));
          return {
            error,
            loadedBeforeFailure: loaded,
            usageAfterFailure,
            headVersion: head.versionId,
            headSha,
            fixity: check.ok,
            versions,
            leftovers,
            writable,
            strayChunkBytes: chunkBytes - fileBytes,
            nextError,
            nextOk,
            usage: (await navigator.storage.estimate()).usage,
          };
        }, round),
      );
    }
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: harness.origin });
    const beforeSha = await page.evaluate(() => window.fixture.state.beforeSha);
    figures.fullDisk = {
      usageBefore,
      quota,
      setup,
      attempts: attempts.map(({ headSha, ...a }) => ({ ...a, headIntact: headSha === beforeSha })),
    };

    for (const attempt of attempts) {
      expect(attempt.error).toMatchObject({
        name: 'StorageQuotaExceededError',
        code: 'STORAGE_QUOTA_EXCEEDED',
      });
      // Not asserted: how far the progress got. A Blob source is hashed as one stream while its
      // slices are stored, so whether the hashing ends before the refused slice fails is a race
      // (CI saw all 64 MiB hashed once). The figure goes to the report.
      expect(attempt.headVersion).toBe(setup.versionId);
      expect(attempt.headSha).toBe(beforeSha);
      expect(attempt.fixity).toBe(true);
      expect(attempt.versions).toBe(1);
      expect(attempt.writable).toBe(0);
      expect(attempt.strayChunkBytes).toBe(0);
      expect(attempt.nextError).toBeUndefined();
      expect(attempt.nextOk).toBe(true);
    }
    await context.close();
  });
});

describe('gc in one tab during a record-files write in another', () => {
  it('leaves the write alone: the write holds the shared write lock', async () => {
    const context = await harness.browser.newContext();
    const [writer, collector] = [await openPage(context), await openPage(context)];
    const piece = 4 * MiB;
    const { recordId } = await writer.evaluate(async (piece) => {
      const { core, patterned, sha256, state } = window.fixture;
      // 8 MiB chunks, so that progress passes 16 MiB while the stream is held.
      const coffer = await core.openCoffer({ name: 'record-lock', chunkSize: 8 * 1024 * 1024 });
      const record = await coffer.records.create({ title: 'survey' });
      const pieces = await Promise.all(
        [0, 1, 2, 3, 4].map(async (seed) => new Uint8Array(await patterned(piece, 30 + seed).arrayBuffer())),
      );
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let sent = 0;
      const source = new ReadableStream<Uint8Array>({
        async pull(controller) {
          // Four pieces (two 8 MiB chunks), then wait for the other tab's gc, then the last one.
          if (sent === 4) await gate;
          controller.enqueue(pieces[sent]!);
          sent += 1;
          if (sent === pieces.length) controller.close();
        },
      });
      state.loaded = 0;
      state.release = release;
      state.expectedSha = await sha256(new Blob(pieces));
      state.writing = record
        .files!.set('big.bin', source, {
          onProgress: (p: { loaded: number }) => {
            state.loaded = p.loaded;
          },
        })
        .then(
          async (file: any) => ({ sha: await sha256(await file.blob()), size: file.size }),
          (e: { code?: string; message: string }) => ({ error: `${e.code}: ${e.message}` }),
        );
      return { recordId: record.id };
    }, piece);
    await writer.waitForFunction(() => (window.fixture.state.loaded as number) >= 16 * 1024 * 1024);

    const during = await collector.evaluate(async () => {
      const { core } = window.fixture;
      const coffer = await core.openCoffer({ name: 'record-lock' });
      const { db } = coffer.context;
      const writable = await db.files.where('writable').equals(1).count();
      const gc = await coffer.gc({ graceMs: 0 });
      const writableAfterGc = await db.files.where('writable').equals(1).count();
      coffer.close();
      return { writable, gc, writableAfterGc };
    });
    const written = await writer.evaluate(async () => {
      const { state } = window.fixture;
      (state.release as () => void)();
      return { ...((await state.writing) as object), expectedSha: state.expectedSha as string };
    });
    const after = await collector.evaluate(async (recordId) => {
      const { core, sha256 } = window.fixture;
      const coffer = await core.openCoffer({ name: 'record-lock' });
      const record = await coffer.records.get(recordId);
      const file = await record.files!.get('big.bin');
      const gc = await coffer.gc({ graceMs: 0 });
      const result = {
        entries: (record.data._files ?? []).map((e: { key: string }) => e.key),
        sha: file && (await sha256(await file.blob())),
        gc,
      };
      coffer.close();
      return result;
    }, recordId);

    figures.recordFilesWriteLock = { during, written: { ...written }, after: after.gc };
    expect(during.writable).toBe(1);
    expect(during.gc).toMatchObject({ writesInProgress: true, abandonedWrites: 0, files: 0, chunks: 0 });
    expect(during.writableAfterGc).toBe(1);
    expect(written).toMatchObject({ size: 5 * piece, sha: written.expectedSha });
    expect(after.entries).toEqual(['big.bin']);
    expect(after.sha).toBe(written.expectedSha);
    expect(after.gc).toMatchObject({ writesInProgress: false, files: 0, abandonedWrites: 0 });
    await context.close();
  });
});

describe('a tab closed mid-write', () => {
  it('leaves the previous state intact on reopen, and gc reclaims the leftovers', async () => {
    const context = await harness.browser.newContext();
    const rounds = 2;
    const results = [];
    for (let round = 0; round < rounds; round++) {
      const writer = await openPage(context);
      const before = await writer.evaluate(async (round) => {
        const { core, patterned, sha256, state } = window.fixture;
        const coffer = await core.openCoffer({ name: 'closed-tab' });
        const bucket = (await coffer.buckets.list())[0] ?? (await coffer.buckets.create());
        const small = patterned(256 * 1024, 10 + round);
        await bucket.objects.put(`kept-${round}.bin`, small);
        state.loaded = 0;
        // 256 MiB: a Blob source is stored whole and hashed in parallel (blobChunkSize), so a
        // smaller one could finish between the progress seen here and the tab's close.
        const quarter = patterned(64 * 1024 * 1024, 20 + round);
        void bucket.objects
          .put('big.bin', new Blob([quarter, quarter, quarter, quarter]), {
            onProgress: (p: { loaded: number }) => {
              state.loaded = p.loaded;
            },
          })
          .catch(() => undefined);
        return { bucketId: bucket.id, keptSha: await sha256(small) };
      }, round);
      await writer.waitForFunction(
        () => (window.fixture.state.loaded as number) >= 16 * 1024 * 1024,
        undefined,
        {
          timeout: 60_000,
        },
      );
      const loadedAtClose = await writer.evaluate(() => window.fixture.state.loaded as number);
      await writer.close({ runBeforeUnload: false });

      const reader = await openPage(context);
      const after = await reader.evaluate(
        async ({ bucketId, round }) => {
          const { core, sha256 } = window.fixture;
          const coffer = await core.openCoffer({ name: 'closed-tab' });
          const bucket = await coffer.buckets.get(bucketId);
          const kept = await bucket!.objects.get(`kept-${round}.bin`);
          const big = await bucket!.objects.get('big.bin');
          const { db } = coffer.context;
          const writable = await db.files.where('writable').equals(1).count();
          const chunksBefore = await db.chunks.count();
          const gc = await coffer.gc({ graceMs: 0 });
          const chunksAfter = await db.chunks.count();
          const heads = await bucket!.objects.list();
          const shas = await Promise.all(heads.map(async (h) => [h.key, await sha256(await h.blob())]));
          const keptSha = kept && (await sha256(await kept.blob()));
          coffer.close();
          return {
            keptSha,
            bigVisible: big !== undefined,
            writable,
            chunksBefore,
            chunksAfter,
            gc,
            bucketSize: bucket!.size,
            headBytes: heads.reduce((n, h) => n + h.size, 0),
            heads: shas.length,
          };
        },
        { bucketId: before.bucketId, round },
      );
      await reader.close();
      results.push({ loadedAtClose, ...after, expectedKept: before.keptSha });
    }

    for (const r of results) {
      expect(r.keptSha).toBe(r.expectedKept);
      expect(r.bigVisible).toBe(false);
      expect(r.writable).toBe(1);
      expect(r.gc.abandonedWrites).toBe(1);
      expect(r.gc.bytes).toBeGreaterThanOrEqual(8 * MiB);
      expect(r.bucketSize).toBe(r.headBytes);
    }
    figures.closedTab = {
      tabsClosedMidWrite: results.length,
      bytesWrittenAtClose: results.map((r) => r.loadedAtClose),
      reclaimedByGc: results.map((r) => r.gc),
      dataLost: results.filter((r) => r.keptSha !== r.expectedKept).length,
      halfWrittenVisible: results.filter((r) => r.bigVisible).length,
    };
    await context.close();
  });
});

describe('two tabs', () => {
  let context: BrowserContext;
  let tabs: Page[];

  beforeAll(async () => {
    context = await harness.browser.newContext();
    tabs = [await openPage(context), await openPage(context)];
  });

  afterAll(async () => {
    await context.close();
  });

  it('keep both versions of concurrent writes to one key, with exactly one head', async () => {
    const bucketId = await tabs[0]!.evaluate(async () => {
      const coffer = await window.fixture.core.openCoffer({ name: 'two-tabs' });
      return (await coffer.buckets.create()).id;
    });
    const rounds = 8;
    const written: { versionId: string; sha: string }[] = [];
    for (let round = 0; round < rounds; round++) {
      const pair = await Promise.all(
        tabs.map((tab, t) =>
          tab.evaluate(
            async ({ bucketId, seed }) => {
              const { core, patterned, sha256, state } = window.fixture;
              state.coffer ??= await core.openCoffer({ name: 'two-tabs' });
              const bucket = await (state.coffer as any).buckets.get(bucketId);
              const source = patterned(2 * 1024 * 1024 + seed, seed);
              const v = await bucket.objects.put('shared.bin', source);
              return { versionId: v.versionId as string, sha: await sha256(source) };
            },
            { bucketId, seed: round * 2 + t },
          ),
        ),
      );
      written.push(...pair);
    }

    const state = await tabs[1]!.evaluate(async (bucketId) => {
      const { sha256, state } = window.fixture;
      const coffer = state.coffer as any;
      const bucket = await coffer.buckets.get(bucketId);
      const versions = await bucket.objects.versions('shared.bin');
      const { db } = coffer.context;
      return {
        versions: await Promise.all(
          versions.map(async (v: any) => ({
            versionId: v.versionId,
            isHead: v.isHead,
            sha: await sha256(await v.blob()),
          })),
        ),
        headRows: await db.heads.count(),
        size: bucket.size,
        sizes: versions.reduce((n: number, v: any) => n + v.size, 0),
      };
    }, bucketId);

    expect(state.versions).toHaveLength(rounds * 2);
    expect(state.versions.filter((v) => v.isHead)).toHaveLength(1);
    expect(state.headRows).toBe(1);
    expect(state.size).toBe(state.sizes);
    const stored = new Map(state.versions.map((v) => [v.versionId, v.sha]));
    for (const w of written) expect(stored.get(w.versionId)).toBe(w.sha);
    figures.twoTabsWrites = {
      concurrentWrites: written.length,
      versionsKept: state.versions.length,
      heads: state.versions.filter((v) => v.isHead).length,
      dataLost: written.filter((w) => stored.get(w.versionId) !== w.sha).length,
    };
  });

  it('let exactly one of two concurrent record commits win, and lose no update', async () => {
    const rounds = 10;
    const outcomes: string[] = [];
    let lost = 0;
    for (let round = 0; round < rounds; round++) {
      const recordId = await tabs[0]!.evaluate(async () => {
        const { core, state } = window.fixture;
        state.coffer ??= await core.openCoffer({ name: 'two-tabs' });
        const record = await (state.coffer as any).records.create({ title: 'survey', counter: 0 });
        return record.id as string;
      });
      await Promise.all(
        tabs.map((tab, t) =>
          tab.evaluate(
            async ({ recordId, t }) => {
              const { core, state } = window.fixture;
              state.coffer ??= await core.openCoffer({ name: 'two-tabs' });
              const record = await (state.coffer as any).records.get(recordId);
              record.data[`edit${t}`] = true;
              state.record = record;
            },
            { recordId, t },
          ),
        ),
      );
      const results = await Promise.all(
        tabs.map((tab, t) =>
          tab.evaluate(
            async ({ recordId, t }) => {
              const { state } = window.fixture;
              const coffer = state.coffer as any;
              const first = await (state.record as any).commit().then(
                () => 'committed',
                (e: { code: string }) => e.code,
              );
              if (first === 'committed') return { first, retried: false };
              const fresh = await coffer.records.get(recordId);
              fresh.data[`edit${t}`] = true;
              await fresh.commit();
              return { first, retried: true };
            },
            { recordId, t },
          ),
        ),
      );
      outcomes.push(...results.map((r) => r.first));
      const data = await tabs[0]!.evaluate(async (recordId) => {
        const record = await (window.fixture.state.coffer as any).records.get(recordId);
        return { data: record.data, revisionId: record.revisionId };
      }, recordId);
      if (!(data.data.edit0 && data.data.edit1)) lost += 1;
      expect(results.map((r) => r.first).sort()).toEqual(['REVISION_CONFLICT', 'committed'].sort());
      expect(data.data).toMatchObject({ edit0: true, edit1: true, title: 'survey' });
    }
    figures.twoTabsRecords = {
      concurrentCommits: outcomes.length,
      conflicts: outcomes.filter((o) => o === 'REVISION_CONFLICT').length,
      lostUpdates: lost,
    };
  });

  it('let a database upgrade in one tab proceed without hanging the other', async () => {
    const [old, upgrader] = tabs as [Page, Page];
    await old.evaluate(async () => {
      const { core, state } = window.fixture;
      const coffer = await core.openCoffer({ name: 'upgrade' });
      state.upgradeCoffer = coffer;
      state.upgradeBucket = (await coffer.buckets.create()).id;
      await (await coffer.buckets.get(state.upgradeBucket as string))!.objects.put(
        'a.txt',
        new Blob(['before']),
      );
    });

    const upgrade = await upgrader.evaluate(async () => {
      const started = performance.now();
      const current = await new Promise<number>((resolve, reject) => {
        const request = indexedDB.open('upgrade');
        request.onsuccess = () => {
          const version = request.result.version;
          request.result.close();
          resolve(version);
        };
        request.onerror = () => reject(request.error);
      });
      let blocked = false;
      const upgraded = await Promise.race([
        new Promise<string>((resolve, reject) => {
          const request = indexedDB.open('upgrade', current + 10);
          request.onupgradeneeded = () => request.result.createObjectStore('fromANewerTab');
          request.onblocked = () => {
            blocked = true;
          };
          request.onsuccess = () => {
            request.result.close();
            resolve('upgraded');
          };
          request.onerror = () => reject(request.error);
        }),
        new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 10_000)),
      ]);
      return { upgraded, blocked, ms: performance.now() - started };
    });

    const oldTab = await old.evaluate(async () => {
      const { state } = window.fixture;
      const coffer = state.upgradeCoffer as any;
      const started = performance.now();
      const outcome = await Promise.race([
        coffer.buckets.get(state.upgradeBucket).then(
          () => 'answered',
          (e: { name: string; code?: string }) => `${e.name}:${e.code ?? ''}`,
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 10_000)),
      ]);
      return { outcome, ms: performance.now() - started };
    });

    expect(upgrade.upgraded).toBe('upgraded');
    expect(upgrade.blocked).toBe(false);
    expect(oldTab.outcome).not.toBe('hung');
    figures.versionChange = { upgrade, oldTab };
  });
});
