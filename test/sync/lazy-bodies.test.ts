/**
 * Lazy bodies (`bodies: 'lazy'`): a pull applies metadata only, and the first read of a file
 * fetches its bytes through the sync, verified by md5 before they become readable. Two
 * devices through the real gateway.
 */
import { BodyUnavailableError, IntegrityError, openCoffer } from '@coffer/core';
import { describe, expect, it, vi } from 'vitest';
import { RemoteError } from '../../packages/core/src/sync/errors.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket } from '../helpers/s3.js';
import { closeDevice, type Device, fileText, openDevice, unreachable, WrappedRemote } from './harness.js';

vi.setConfig({ testTimeout: 60_000 });

const text = (s: string) => new Blob([s], { type: 'text/plain' });

/** Device A (eager) and device B (lazy) on a fresh bucket; B's remote counts its requests. */
async function pair() {
  const bucket = await freshS3Bucket({ label: 'lazy' });
  const wb = new WrappedRemote(new S3Remote(bucket));
  const a = await openDevice(new S3Remote(bucket));
  const b = await openDevice(wb, undefined, { bodies: 'lazy' });
  return { bucket, a, b, wb };
}

/** A record with two small files on `device`, pushed. */
async function seed(device: Device) {
  const record = await device.coffer.records.create({ title: 'Survey' });
  await record.files!.set('a.txt', text('bytes of a'));
  await record.files!.set('b.txt', text('bytes of b, a little longer'));
  await device.sync.now();
  return record;
}

/** Body GETs (file versions, not journal entries) seen by `remote` since its last reset. */
function bodyGets(remote: WrappedRemote) {
  const keys: string[] = [];
  const inner = remote.getObject;
  remote.getObject = (key, options) => {
    if (key.startsWith('records/')) keys.push(key);
    return inner(key, options);
  };
  return keys;
}

/** The file instance behind a record's file. */
async function fileOf(device: Device, recordId: string, key: string) {
  const file = await (await device.coffer.records.get(recordId)).files!.get(key);
  return file!.version.file();
}

describe('sync with lazy bodies', () => {
  it('pulls heads with their size, md5 and type and makes no body GET', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    const gets = bodyGets(wb);

    const report = await b.sync.now();

    expect(gets).toEqual([]);
    expect(report.versionsPulled).toBe(2);
    const files = await (await b.coffer.records.get(record.id)).files!.dumps();
    const there = await (await a.coffer.records.get(record.id)).files!.dumps();
    expect(files.map(({ key, size, checksum }) => ({ key, size, checksum }))).toEqual(
      there.map(({ key, size, checksum }) => ({ key, size, checksum })),
    );
    const file = await fileOf(b, record.id, 'a.txt');
    expect(file).toMatchObject({ lazy: true, readable: false, size: 10 });
    const head = await (await b.coffer.records.get(record.id)).files!.get('a.txt');
    expect(head!.mimetype).toBe('text/plain');
  });

  it('fetches a body on its first read, verified, and reads it locally after', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    const gets = bodyGets(wb);

    const first = await fileText(b.coffer, record.id, 'b.txt');
    const second = await fileText(b.coffer, record.id, 'b.txt');

    expect(first).toBe('bytes of b, a little longer');
    expect(second).toBe(first);
    expect(gets).toHaveLength(1);
    expect(await fileOf(b, record.id, 'b.txt')).toMatchObject({ lazy: false, readable: true });
    expect((await fileOf(b, record.id, 'a.txt')).lazy).toBe(true);
  });

  it('serves a range and a stream of a lazy body', async () => {
    const { a, b } = await pair();
    const record = await seed(a);
    await b.sync.now();
    const file = await (await b.coffer.records.get(record.id)).files!.get('b.txt');

    const range = await file!.version.slice(9, 12);
    const streamed = await new Response(await file!.stream()).text();

    expect(await range.text()).toBe('b, ');
    expect(streamed).toBe('bytes of b, a little longer');
  });

  it('shares one download between concurrent first reads of a body', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    const gets = bodyGets(wb);

    const texts = await Promise.all([1, 2, 3].map(() => fileText(b.coffer, record.id, 'a.txt')));

    expect(texts).toEqual(['bytes of a', 'bytes of a', 'bytes of a']);
    expect(gets).toHaveLength(1);
  });

  it('refuses a corrupted body with IntegrityError, keeps the file lazy, and reads it once the bytes are right', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    const chunks = await b.coffer.context.db.chunks.count();
    wb.mapBody = (_key, stream) =>
      stream.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            const copy = chunk.slice();
            copy[0] = copy[0]! ^ 0xff;
            controller.enqueue(copy);
          },
        }),
      );

    const error = await fileText(b.coffer, record.id, 'a.txt').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(IntegrityError);
    expect(error).toMatchObject({ code: 'INTEGRITY', key: 'a.txt' });
    expect(await fileOf(b, record.id, 'a.txt')).toMatchObject({ lazy: true, readable: false });
    expect(await b.coffer.context.db.chunks.count()).toBe(chunks);
    wb.mapBody = undefined;
    expect(await fileText(b.coffer, record.id, 'a.txt')).toBe('bytes of a');
  });

  it('reads offline with BodyUnavailableError naming the file, changing nothing', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    const head = await (await b.coffer.records.get(record.id)).files!.get('a.txt');
    wb.before = (method) => {
      if (method === 'getObject') throw unreachable();
    };

    const error = await head!.blob().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BodyUnavailableError);
    expect(error).toMatchObject({
      code: 'BODY_UNAVAILABLE',
      reason: 'offline',
      key: 'a.txt',
      versionId: head!.versionId,
      fileId: head!.fileId,
    });
    expect((await head!.version.file()).lazy).toBe(true);
    wb.before = undefined;
    expect(await (await head!.blob()).text()).toBe('bytes of a');
  });

  it('reads a version the server lost with BodyUnavailableError (gone)', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    wb.before = (method) => {
      if (method === 'getObject') throw new RemoteError('REMOTE_NOT_FOUND', 'No such version (simulated).');
    };

    const error = await fileText(b.coffer, record.id, 'a.txt').catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'BODY_UNAVAILABLE', reason: 'gone', key: 'a.txt' });
    expect((await fileOf(b, record.id, 'a.txt')).lazy).toBe(true);
  });

  it('reads a body the server refuses with BodyUnavailableError (refused), keeping the cause', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    wb.before = (method) => {
      if (method === 'getObject') throw new RemoteError('REMOTE_AUTH', 'Access denied (simulated).');
    };

    const error = await fileText(b.coffer, record.id, 'a.txt').catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'BODY_UNAVAILABLE', reason: 'refused', key: 'a.txt' });
    expect((error as Error).cause).toMatchObject({ code: 'REMOTE_AUTH' });
  });

  it('reads without a sync open with BodyUnavailableError (no-sync)', async () => {
    const { a, b } = await pair();
    const record = await seed(a);
    await b.sync.now();
    await b.sync.close();

    const error = await fileText(b.coffer, record.id, 'a.txt').catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'BODY_UNAVAILABLE', reason: 'no-sync', key: 'a.txt' });
  });

  it('exports a coffer with lazy files by fetching their bytes first: the bag holds every byte', async () => {
    const { a, b } = await pair();
    const record = await seed(a);
    await b.sync.now();

    const zip = await b.coffer.export();
    const other = await openCoffer({ name: `lazy-import-${crypto.randomUUID()}`, worker: false });
    await other.import(zip);

    expect(await fileText(other, record.id, 'a.txt')).toBe('bytes of a');
    expect(await fileText(other, record.id, 'b.txt')).toBe('bytes of b, a little longer');
    other.close();
    indexedDB.deleteDatabase(other.name);
  });

  it('refuses an export whose lazy files cannot be fetched, naming every one of them', async () => {
    const { a, b } = await pair();
    const record = await seed(a);
    await b.sync.now();
    await b.sync.close();
    const ids = await Promise.all(
      ['a.txt', 'b.txt'].map(async (key) => (await fileOf(b, record.id, key)).id),
    );

    const error = await b.coffer.export().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BodyUnavailableError);
    expect(((error as BodyUnavailableError).fileIds ?? []).sort()).toEqual(ids.sort());
  });

  it('reports lazy files to fixity as on the remote, not checked and not failed', async () => {
    const { a, b } = await pair();
    const record = await seed(a);
    await b.sync.now();
    await fileText(b.coffer, record.id, 'a.txt');

    const result = await b.coffer.verifyChecksums();
    const head = await (await b.coffer.records.get(record.id)).files!.get('b.txt');
    const single = await head!.version.verifyChecksum().catch((e: unknown) => e);

    expect(result).toMatchObject({ checked: 1, failed: [], remote: 1 });
    expect(single).toMatchObject({ code: 'BODY_UNAVAILABLE', reason: 'not-fetched', key: 'b.txt' });
    expect((await head!.version.file()).lastCheck).toBeNull();
  });

  it('never collects a lazy file while a version references it', async () => {
    const { a, b } = await pair();
    const record = await seed(a);
    await b.sync.now();

    const freed = await b.coffer.gc({ graceMs: 0 });

    expect(freed).toMatchObject({ files: 0, abandonedWrites: 0 });
    expect(await fileText(b.coffer, record.id, 'b.txt')).toBe('bytes of b, a little longer');
  });

  it('pushes a local copy of a lazy version by a server-side copy, and it arrives intact', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    const gets = bodyGets(wb);
    const source = await (await b.coffer.records.get(record.id)).files!.get('a.txt');
    await source!.version.copy(source!.bucketId, 'copy of a.txt');
    wb.reset();

    await b.sync.now();

    expect(wb.counts.copyObject).toBe(1);
    expect(wb.counts.putObject).toBe(1); // the journal entry only
    expect(gets).toEqual([]);
    await a.sync.now();
    expect(await fileText(a.coffer, record.id, 'copy of a.txt')).toBe('bytes of a');
  });

  it('deletes and trashes lazy files without fetching them', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    const gets = bodyGets(wb);
    const here = await b.coffer.records.get(record.id);

    await here.files!.delete('a.txt');
    await here.delete();
    await b.sync.now();
    await a.sync.now();

    expect(gets).toEqual([]);
    const there = await a.coffer.records.get(record.id, { includeDeleted: true });
    expect(there.deleted).toBe(true);
    expect((await there.files!.dumps()).map((f) => f.key)).toEqual(['b.txt']);
  });

  it('fills a lazy file with the same bytes written here, so that reading it makes no request', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    const gets = bodyGets(wb);
    const here = await b.coffer.records.get(record.id);

    await here.files!.set('again.txt', text('bytes of a'));

    expect(await fileOf(b, record.id, 'a.txt')).toMatchObject({ lazy: false, readable: true });
    expect(await fileText(b.coffer, record.id, 'a.txt')).toBe('bytes of a');
    expect(gets).toEqual([]);
  });

  it('fetches every lazy body of a record ahead of reading ("keep offline")', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();

    const fetched = await b.sync.fetchBodies({ recordId: record.id });
    const gets = bodyGets(wb);

    expect(fetched).toEqual({ files: 2, bytes: 10 + 27 });
    expect(await fileText(b.coffer, record.id, 'a.txt')).toBe('bytes of a');
    expect(await fileText(b.coffer, record.id, 'b.txt')).toBe('bytes of b, a little longer');
    expect(gets).toEqual([]);
  });

  it('keeps reading lazy files after the coffer is reopened with a new sync', async () => {
    const { a, b, wb } = await pair();
    const record = await seed(a);
    await b.sync.now();
    await closeDevice(b);

    const again = await openDevice(wb, b.name, { bodies: 'lazy' });

    expect(await fileText(again.coffer, record.id, 'b.txt')).toBe('bytes of b, a little longer');
  });

  it("refuses a bodies option other than 'eager' or 'lazy'", async () => {
    const bucket = await freshS3Bucket({ label: 'lazy' });

    const error = await openDevice(new S3Remote(bucket), undefined, {
      bodies: 'sometimes' as 'lazy',
    }).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'bodies' });
  });
});
