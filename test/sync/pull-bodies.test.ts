// How a pulled file body is stored: a body that fits in one stored Blob chunk is gathered whole
// while it is hashed (one reader loop feeding `Response.blob()`), larger ones and ArrayBuffer
// chunks stream chunk by chunk; on every path the bytes are held to the size and md5 the
// journal names, and nothing of a refused body stays.
import type { CofferOptions } from '@coffer/core';
import { describe, expect, it, vi } from 'vitest';
import { IntegrityError } from '../../packages/core/src/errors.js';
import { RemoteError } from '../../packages/core/src/sync/errors.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket } from '../helpers/s3.js';
import { type Device, openDevice, stateOf, unreachable, WrappedRemote } from './harness.js';

vi.setConfig({ testTimeout: 60_000 });

const SIZE = 10_000;
/** Every byte of the file differs from its neighbours, so a shifted or cut body changes the md5. */
const bytes = Uint8Array.from({ length: SIZE }, (_, i) => (i * 131 + 17) % 251);

/** The bytes of the file B pulled. */
async function pulledBytes(device: Device, recordId: string): Promise<Uint8Array> {
  const file = await (await device.coffer.records.get(recordId)).files!.get('f.bin');
  return new Uint8Array(await (await file!.blob()).arrayBuffer());
}

/** A device A that pushed one record with a 10,000-byte file, and a device B opened with `options`. */
async function pushedFile(options: Partial<CofferOptions>) {
  const bucket = await freshS3Bucket({ label: 'pullbody' });
  const a = await openDevice(new S3Remote(bucket));
  const remote = new WrappedRemote(new S3Remote(bucket));
  const b = await openDevice(remote, undefined, {}, options);
  const record = await a.coffer.records.create({ title: 'T' });
  await record.files!.set('f.bin', new Blob([bytes]));
  await a.sync.now();
  return { a, b, remote, record };
}

/** The stored chunks of B's one file: size and kind of each. */
async function chunksOf(device: Device) {
  const rows = await device.coffer.context.db.chunks.orderBy(['dataId', 'offset']).toArray();
  return rows.map((row) => ({ size: row.size, kind: row.data instanceof Blob ? 'blob' : 'buffer' }));
}

/** Every piece of `stream` passed on, then `extra` bytes more. */
const longer = (stream: ReadableStream<Uint8Array>, extra: number) =>
  stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush: (controller) => controller.enqueue(new Uint8Array(extra)),
    }),
  );

/** `stream` cut after `keep` bytes. */
const cut = (stream: ReadableStream<Uint8Array>, keep: number) => {
  let passed = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const room = Math.max(0, keep - passed);
        if (room > 0) controller.enqueue(chunk.subarray(0, room));
        passed += chunk.length;
      },
    }),
  );
};

/** `stream` with one byte in the middle of the file flipped, its length kept. */
const flipped = (stream: ReadableStream<Uint8Array>) => {
  let offset = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const at = SIZE / 2 - offset;
        offset += chunk.length;
        if (at < 0 || at >= chunk.length) return controller.enqueue(chunk);
        const copy = chunk.slice();
        copy[at] = copy[at]! ^ 0x01;
        controller.enqueue(copy);
      },
    }),
  );
};

/** `stream` passing its first `keep` bytes, then failing as a connection that broke. */
const broken = (stream: ReadableStream<Uint8Array>, keep: number) => {
  let passed = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const room = keep - passed;
        passed += chunk.length;
        if (room >= chunk.length) return controller.enqueue(chunk);
        if (room > 0) controller.enqueue(chunk.subarray(0, room));
        controller.error(unreachable());
      },
    }),
  );
};

/** B pulls with A's file body rewritten by `map`: refused with IntegrityError, nothing of it kept. */
async function expectRefused(map: (stream: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>) {
  const { a, b, remote, record } = await pushedFile({ blobChunkSize: 16_384 });
  remote.mapBody = (key, stream) => (key.startsWith('records/') ? map(stream) : stream);
  const error = await b.sync.now().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(IntegrityError);
  expect(await b.coffer.records.list({ includeDeleted: true })).toEqual([]);
  expect(await b.coffer.context.db.files.count()).toBe(0);
  expect(await b.coffer.context.db.chunks.count()).toBe(0);

  remote.mapBody = undefined;
  await b.sync.now();
  expect(await pulledBytes(b, record.id)).toEqual(bytes);
  expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
  return error as IntegrityError;
}

describe('sync: pulled bodies', () => {
  it('stores a body that fits in one stored Blob as one Blob chunk, with the md5 of the bytes', async () => {
    const { a, b, record } = await pushedFile({ blobChunkSize: 16_384 });
    await b.sync.now();
    expect(await chunksOf(b)).toEqual([{ size: SIZE, kind: 'blob' }]);
    expect(await pulledBytes(b, record.id)).toEqual(bytes);
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
  });

  it('streams a body larger than blobChunkSize into chunks of chunkSize', async () => {
    const { a, b, record } = await pushedFile({ blobChunkSize: 8192 });
    await b.sync.now();
    expect(await chunksOf(b)).toEqual([
      { size: 4096, kind: 'blob' },
      { size: 4096, kind: 'blob' },
      { size: 1808, kind: 'blob' },
    ]);
    expect(await pulledBytes(b, record.id)).toEqual(bytes);
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
  });

  it('streams a body into ArrayBuffer chunks of chunkSize where chunks are ArrayBuffers', async () => {
    const { a, b, record } = await pushedFile({ chunkStorage: 'buffer', blobChunkSize: 16_384 });
    await b.sync.now();
    expect(await chunksOf(b)).toEqual([
      { size: 4096, kind: 'buffer' },
      { size: 4096, kind: 'buffer' },
      { size: 1808, kind: 'buffer' },
    ]);
    expect(await pulledBytes(b, record.id)).toEqual(bytes);
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
  });

  it('refuses a gathered body whose bytes differ from its md5, keeps nothing, and pulls it once the bytes are right', async () => {
    const error = await expectRefused(flipped);
    expect(error.key).toBe('f.bin');
    expect(error.expected).toMatch(/^md5:[0-9a-f]{32}$/);
    expect(error.actual).not.toBe(error.expected);
  });

  it('keeps nothing of a body whose connection breaks midway, and pulls it on the next sync', async () => {
    const { a, b, remote, record } = await pushedFile({ blobChunkSize: 16_384 });
    remote.mapBody = (key, stream) => (key.startsWith('records/') ? broken(stream, SIZE / 2) : stream);
    const error = await b.sync.now().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).code).toBe('REMOTE_UNREACHABLE');
    expect(await b.coffer.records.list({ includeDeleted: true })).toEqual([]);
    expect(await b.coffer.context.db.files.count()).toBe(0);
    expect(await b.coffer.context.db.chunks.count()).toBe(0);

    remote.mapBody = undefined;
    await b.sync.now();
    expect(await pulledBytes(b, record.id)).toEqual(bytes);
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
  });

  it('refuses a body longer than the journal names, keeps nothing, and pulls it once the bytes are right', async () => {
    await expectRefused((stream) => longer(stream, 1));
  });

  it('refuses a body shorter than the journal names, keeps nothing, and pulls it once the bytes are right', async () => {
    await expectRefused((stream) => cut(stream, SIZE - 1));
  });
});
