import { openSync } from '@coffer/core/sync';
import { describe, expect, it, vi } from 'vitest';
import {
  IntegrityError,
  InvalidArgumentError,
  SyncAlreadyOpenError,
  SyncError,
} from '../../packages/core/src/errors.js';
import { md5Hex } from '../../packages/core/src/model/sync-merge.js';
import { RemoteError } from '../../packages/core/src/sync/errors.js';
import type { Remote } from '../../packages/core/src/sync/remote.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket } from '../helpers/s3.js';
import {
  closeDevice,
  fileText,
  openDevice,
  stateOf,
  throttled,
  unreachable,
  WrappedRemote,
} from './harness.js';

vi.setConfig({ testTimeout: 60_000 });

const text = (s: string) => new Blob([s], { type: 'text/plain' });

/** Two devices on a fresh bucket, each with its own wrapper around the real remote. */
async function pair() {
  const bucket = await freshS3Bucket({ label: 'fail' });
  const wa = new WrappedRemote(new S3Remote(bucket));
  const wb = new WrappedRemote(new S3Remote(bucket));
  return { bucket, wa, wb, a: await openDevice(wa), b: await openDevice(wb) };
}

/** The most calls of `method` that were waiting for an answer at once. */
function inFlight(remote: WrappedRemote, method: 'putObject' | 'getObject') {
  const seen = { now: 0, most: 0 };
  const call = remote[method] as (...args: unknown[]) => Promise<unknown>;
  const counted = async (...args: unknown[]) => {
    seen.most = Math.max(seen.most, ++seen.now);
    try {
      return await call(...args);
    } finally {
      seen.now--;
    }
  };
  (remote as unknown as Record<string, unknown>)[method] = counted;
  return seen;
}

/** A corrupting stream: the first byte of each chunk flipped. */
const corrupt = (stream: ReadableStream<Uint8Array>) =>
  stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const copy = chunk.slice();
        copy[0] = copy[0]! ^ 0xff;
        controller.enqueue(copy);
      },
    }),
  );

/** A stream with one byte more at its end. */
const longer = (stream: ReadableStream<Uint8Array>) =>
  stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush(controller) {
        controller.enqueue(new Uint8Array([0x21]));
      },
    }),
  );

/** A record with three small files on `device`. */
async function seed(device: Awaited<ReturnType<typeof openDevice>>) {
  const record = await device.coffer.records.create({ title: 'T' });
  for (const key of ['a.txt', 'b.txt', 'c.txt']) await record.files!.set(key, text(`bytes of ${key}`));
  return record;
}

describe('sync: failures lose nothing and show nothing half-done', () => {
  it('refuses a corrupted body with IntegrityError, shows nothing, and succeeds once the bytes are right', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await a.sync.now();
    wb.mapBody = (key, stream) => (key.startsWith('records/') ? corrupt(stream) : stream);
    const error = await b.sync.now().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(await b.coffer.records.list({ includeDeleted: true })).toEqual([]);
    expect(await b.coffer.context.db.objects.count()).toBe(0);
    expect(await b.coffer.context.db.files.count()).toBe(0);
    expect((await b.sync.status()).lastErrorCode).toBe('INTEGRITY');

    wb.mapBody = undefined;
    await b.sync.now();
    expect(await fileText(b.coffer, record.id, 'b.txt')).toBe('bytes of b.txt');
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
    expect((await b.sync.status()).lastErrorCode).toBeUndefined();
  });

  it('loses nothing when the gateway becomes unreachable at any call of a sync, and the next sync finishes', async () => {
    for (const failFrom of [1, 2, 3, 4, 5]) {
      const { a, b, wa } = await pair();
      const record = await seed(a);
      wa.before = (_method, _n, total) => {
        if (total >= failFrom) throw unreachable();
      };
      const error = await a.sync.now().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect((await a.sync.status()).phase).toBe('offline');
      // Calls 1-4 are the push (3 PUTs, the journal entry); from call 5 on only the pull fails.
      expect(await a.sync.recordStatus(record.id)).toBe(failFrom <= 4 ? 'pending' : 'synced');
      wa.before = undefined;
      await a.sync.now();
      await b.sync.now();
      expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
      expect(await fileText(b.coffer, record.id, 'c.txt')).toBe('bytes of c.txt');
      expect(await a.sync.recordStatus(record.id)).toBe('synced');
    }
  });

  it('sends file requests several at a time but never more than `concurrency`, and one bad body among them shows nothing', async () => {
    const bucket = await freshS3Bucket({ label: 'fail' });
    const wa = new WrappedRemote(new S3Remote(bucket));
    const wb = new WrappedRemote(new S3Remote(bucket));
    const a = await openDevice(wa, undefined, { concurrency: 3 });
    const b = await openDevice(wb, undefined, { concurrency: 3 });
    const record = await a.coffer.records.create({ title: 'T' });
    await record.files!.setMany(
      Array.from({ length: 12 }, (_, i) => ({ key: `f${i}.txt`, source: text(`file number ${i}`) })),
    );
    const puts = inFlight(wa, 'putObject');
    await a.sync.now();
    expect(puts.most).toBe(3);
    expect(wa.counts).toEqual({ putObject: 13, list: 1 });

    const gets = inFlight(wb, 'getObject');
    wb.mapBody = (key, stream) => (key.endsWith('/f7.txt') ? corrupt(stream) : stream);
    const error = await b.sync.now().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(gets.most).toBe(3);
    expect(await b.coffer.records.list({ includeDeleted: true })).toEqual([]);
    expect(await b.coffer.context.db.objects.count()).toBe(0);
    expect(await b.coffer.context.db.files.count()).toBe(0);

    wb.mapBody = undefined;
    await b.sync.now();
    expect(await fileText(b.coffer, record.id, 'f11.txt')).toBe('file number 11');
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
  });

  it('stores small bodies a batch at a time, and one bad body in a late batch leaves no byte of the entry', async () => {
    const { a, b, wb } = await pair();
    const record = await a.coffer.records.create({ title: 'T' });
    // 150 small files: three batches of the pull's small bodies, in one journal entry.
    await record.files!.setMany(
      Array.from({ length: 150 }, (_, i) => ({ key: `f${i}.txt`, source: text(`small file ${i}`) })),
    );
    await a.sync.now();

    for (const bad of [
      (stream: ReadableStream<Uint8Array>) => corrupt(stream),
      (stream: ReadableStream<Uint8Array>) => longer(stream),
    ]) {
      wb.mapBody = (key, stream) => (key.endsWith('/f140.txt') ? bad(stream) : stream);
      const error = await b.sync.now().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IntegrityError);
      expect(error).toMatchObject({ key: 'f140.txt' });
      expect(await b.coffer.records.list({ includeDeleted: true })).toEqual([]);
      expect(await b.coffer.context.db.objects.count()).toBe(0);
      expect(await b.coffer.context.db.files.count()).toBe(0);
      expect(await b.coffer.context.db.chunks.count()).toBe(0);
    }

    wb.mapBody = undefined;
    wb.reset();
    const report = await b.sync.now();
    expect(report.versionsPulled).toBe(150);
    expect(wb.counts.getObject).toBe(150 + 1);
    expect(await fileText(b.coffer, record.id, 'f149.txt')).toBe('small file 149');
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
  });

  it('refuses a concurrency that is not a positive integer', async () => {
    const { a } = await pair();
    const remote = a.remote as Remote;
    await a.sync.close();
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      expect(() => openSync(a.coffer, { remote, concurrency })).toThrow(InvalidArgumentError);
    }
  });

  it('refuses a second sync on a coffer whose sync is open, and opens one once it is closed', async () => {
    const { a } = await pair();
    const remote = a.remote as Remote;
    expect(() => openSync(a.coffer, { remote })).toThrow(SyncAlreadyOpenError);
    expect(() => openSync(a.coffer, { remote })).toThrow(expect.objectContaining({ code: 'SYNC_OPEN' }));
    await a.sync.close();
    const again = openSync(a.coffer, { remote });
    await again.close();
  });

  it('refuses a multipart threshold below the part size or above what S3 takes in one PUT (5 GiB)', async () => {
    const { a } = await pair();
    const remote = a.remote as Remote;
    await a.sync.close();
    const GiB = 1024 ** 3;
    for (const multipartThreshold of [4 * 1024 ** 2, 5 * GiB + 1, 1.5 * GiB + 0.5]) {
      expect(() => openSync(a.coffer, { remote, partSize: 8 * 1024 ** 2, multipartThreshold })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'multipartThreshold' }),
      );
    }
    await openSync(a.coffer, { remote, multipartThreshold: 5 * GiB }).close();
  });

  it('backs off on 503 and 429 and then passes', async () => {
    const { a, wa } = await pair();
    await seed(a);
    wa.before = (method, n) => {
      if (method === 'putObject' && n <= 2) throw throttled(n === 1 ? 503 : 429);
    };
    const report = await a.sync.now();
    expect(report.versionsPushed).toBe(3);
    // 3 files and 1 journal entry, plus the 2 refused attempts.
    expect(wa.counts.putObject).toBe(6);
    expect(report.requests).toBe(wa.total);
  });

  it('pulls incrementally: a sync with nothing new makes 1 + devices LISTs and no GET', async () => {
    const { a, b, wa, wb } = await pair();
    await seed(a);
    await a.sync.now();
    // Per file: 1 PUT; per record: no request of its own (it rides in the journal entry).
    expect(wa.counts).toEqual({ putObject: 4, list: 1 });
    await b.sync.now();
    expect(wb.counts).toEqual({ list: 2, getObject: 4 });
    wa.reset();
    wb.reset();
    await b.sync.now();
    expect(wb.counts).toEqual({ list: 2 });
    await a.sync.now();
    // b has written no journal entry yet: for a there is no other device to list.
    expect(wa.counts).toEqual({ list: 1 });
  });

  it('refuses hostile journal entries written straight to the bucket and changes nothing', async () => {
    const { a, b, bucket } = await pair();
    const record = await seed(a);
    await a.sync.now();
    await b.sync.now();
    const before = await stateOf(b.coffer);
    const raw = new S3Remote(bucket);
    const put = (device: string, body: string) =>
      raw.putObject(`journal/${device}/000000000001.json`, new Blob([body]), { md5: md5Hex(body) });
    const entry = (device: string, ops: unknown[]) =>
      JSON.stringify({ format: 'coffer-sync/1', device, seq: 1, ops });
    const bucketId = record.bucketId!;
    const version = {
      op: 'version',
      recordId: record.id,
      bucketId,
      versionId: 'evil-version',
      key: 'a.txt',
      parents: [],
      marker: false,
      size: 3,
      checksum: `md5:${md5Hex('bad')}`,
      mimetype: null,
      remote: { key: `records/${record.id}/files/a.txt`, versionId: 'x' },
    };
    await put('notjson', '{ nope');
    await put('badsum', entry('badsum', [{ ...version, checksum: 'md5:zz' }]));
    await put(
      'elsewhere',
      entry('elsewhere', [{ ...version, remote: { key: 'journal/x/1.json', versionId: 'x' } }]),
    );
    await put('wrongdevice', entry('someoneelse', []));
    await put('stealer', entry('stealer', [{ ...version, recordId: 'another-record' }]));
    await put('nobytes', entry('nobytes', [version]));
    const error = await b.sync.now().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).code).toBe('SYNC_INVALID_JOURNAL');
    expect(await stateOf(b.coffer)).toEqual(before);
    expect((await b.sync.status()).lastErrorCode).toBe('SYNC_INVALID_JOURNAL');
    // Valid entries of good devices still arrive.
    await record.files!.set('d.txt', text('still syncing'));
    // a pushes first, then refuses the same entries on its pull.
    await expect(a.sync.now()).rejects.toBeInstanceOf(SyncError);
    await expect(b.sync.now()).rejects.toBeInstanceOf(SyncError);
    expect(await fileText(b.coffer, record.id, 'd.txt')).toBe('still syncing');
  });

  it('keeps a pulled record that breaks a JSON Schema registered here in the inbox, and applies it once the schema allows it', async () => {
    const bucket = await freshS3Bucket({ label: 'fail' });
    const uri = 'urn:coffer:survey';
    const schema = (title: object) => ({ [uri]: { type: 'object', properties: { title } } });
    const a = await openDevice(new S3Remote(bucket));
    const b = await openDevice(new S3Remote(bucket), undefined, {}, { schemas: schema({ type: 'string' }) });
    const bad = await a.coffer.records.create({ $schema: uri, title: 42 });
    const good = await a.coffer.records.create({ $schema: uri, title: 'Survey' });
    await a.sync.now();
    await b.sync.now();
    await expect(b.coffer.records.get(bad.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await b.sync.recordStatus(bad.id)).toBe('error');
    expect((await b.coffer.records.get(good.id)).data.title).toBe('Survey');
    expect(await b.sync.recordStatus(good.id)).toBe('synced');

    // An edit that breaks the schema leaves the record as it was here.
    good.data.title = 7;
    await good.commit();
    await a.sync.now();
    await b.sync.now();
    expect((await b.coffer.records.get(good.id)).data.title).toBe('Survey');
    expect(await b.sync.recordStatus(good.id)).toBe('error');

    // Reopened with a schema that allows numbers, the next sync applies both.
    await closeDevice(b);
    const looser = await openDevice(
      new S3Remote(bucket),
      b.name,
      {},
      {
        schemas: schema({ type: ['string', 'number'] }),
      },
    );
    await looser.sync.now();
    expect((await looser.coffer.records.get(bad.id)).data.title).toBe(42);
    expect((await looser.coffer.records.get(good.id)).data.title).toBe(7);
    expect(await looser.sync.recordStatus(bad.id)).toBe('synced');
    expect(await looser.sync.recordStatus(good.id)).toBe('synced');
    expect(await stateOf(looser.coffer)).toEqual(await stateOf(a.coffer));
  });
});
