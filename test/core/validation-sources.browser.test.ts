import { AbortError } from '@coffer/core';
import { describe, expect, it } from 'vitest';
import { cofferOpener } from '../helpers/coffer.js';

const open = cofferOpener('validation-sources');
const MiB = 1024 * 1024;

describe('byte sources sent to the worker', () => {
  it('leaves a Uint8Array and an ArrayBuffer the caller passed to put() intact', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const array = new Uint8Array(2 * MiB).fill(7);
    const buffer = new Uint8Array(MiB).fill(8).buffer;

    const a = await bucket.objects.put('array.bin', array);
    const b = await bucket.objects.put('buffer.bin', buffer);

    expect(array.byteLength).toBe(2 * MiB);
    expect(array[2 * MiB - 1]).toBe(7);
    expect(buffer.byteLength).toBe(MiB);
    expect([a.size, b.size]).toEqual([2 * MiB, MiB]);
  });

  it('leaves the caller a Uint8Array intact when the put is aborted', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const array = new Uint8Array(8 * MiB).fill(3);
    const controller = new AbortController();

    const writing = bucket.objects.put('aborted.bin', array, { signal: controller.signal });
    controller.abort();

    await expect(writing).rejects.toBeInstanceOf(AbortError);
    expect(array.byteLength).toBe(8 * MiB);
    expect(array[0]).toBe(3);
  });

  it('leaves a part passed to putPart intact', async () => {
    const coffer = await open({ multipart: { minChunkSize: 4, maxChunkSize: MiB, maxParts: 10 } });
    const bucket = await coffer.buckets.create();
    const upload = await bucket.multipart.create('m.bin', { size: 8, chunkSize: 4 });
    const part = new Uint8Array([1, 2, 3, 4]);

    await upload.putPart(0, part);

    expect(part).toEqual(new Uint8Array([1, 2, 3, 4]));
  });

  it('transfers the buffer without a copy only when asked, detaching it', async () => {
    const coffer = await open();
    const bucket = await coffer.buckets.create();
    const array = new Uint8Array(MiB).fill(5);
    const buffer = new Uint8Array(MiB).fill(6).buffer;

    const a = await bucket.objects.put('array.bin', array, { transfer: true });
    const b = await bucket.objects.put('buffer.bin', buffer, { transfer: true });

    expect(array.byteLength).toBe(0);
    expect(buffer.byteLength).toBe(0);
    expect([a.size, b.size]).toEqual([MiB, MiB]);
    expect(new Uint8Array(await (await a.slice(0, 2)).arrayBuffer())).toEqual(new Uint8Array([5, 5]));
  });
});
