import { AbortError, IntegrityError, NotFoundError, type Progress } from '@coffer/core';
import { describe, expect } from 'vitest';
import { bytes, bytesOf, caught, itWithMultipart as it } from '../helpers/coffer.js';
import { flipStoredByte } from './helpers-reliability.js';

describe('verifyChecksum', () => {
  it('passes for intact bytes and records the check', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('a', bytes(10));

    const result = await version.verifyChecksum();

    expect(result).toMatchObject({
      fileId: version.fileId,
      ok: true,
      expected: version.checksum,
      actual: version.checksum,
    });
    const file = await version.file();
    expect(file.lastCheck).toBe(true);
    expect(file.lastCheckAt?.getTime()).toBe(result.checkedAt.getTime());
  });

  it('detects a flipped bit in a stored chunk and never serves it as good', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('a', bytes(10));
    await flipStoredByte(coffer, version.fileId!, 6);

    const result = await version.verifyChecksum();

    expect(result.ok).toBe(false);
    expect(result.actual).not.toBe(version.checksum);
    expect((await version.file()).lastCheck).toBe(false);
    expect(await caught(() => version.blob())).toBeInstanceOf(IntegrityError);
    expect(await caught(() => version.stream())).toBeInstanceOf(IntegrityError);
    expect(await caught(async () => (await bucket.objects.get('a'))!.slice(0, 2))).toMatchObject({
      code: 'INTEGRITY',
      key: 'a',
      expected: version.checksum,
    });
  });

  it('reports missing chunks as a failed check', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('a', bytes(10));
    await coffer.context.db.chunks.delete([version.fileId!, 4]);

    const result = await version.verifyChecksum();

    expect(result).toMatchObject({ ok: false, actual: null });
  });

  it('serves the file again once a later check passes', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('a', bytes(10));
    await flipStoredByte(coffer, version.fileId!, 2);
    await version.verifyChecksum();
    await flipStoredByte(coffer, version.fileId!, 2);

    const result = await version.verifyChecksum();

    expect(result.ok).toBe(true);
    expect(await bytesOf(await version.blob())).toEqual(bytes(10));
  });

  it('verifies a file made of multipart parts', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const upload = await bucket.multipart.create('big', { size: 20, chunkSize: 8 });
    for (let n = 0; n < 3; n++) await upload.putPart(n, bytes(20).slice(...upload.partRange(n)));
    const version = await upload.complete();

    expect((await version.verifyChecksum()).ok).toBe(true);
    await flipStoredByte(coffer, version.fileId!, 17);
    expect((await version.verifyChecksum()).ok).toBe(false);
  });

  it('refuses a delete marker', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', bytes(3));
    const marker = await bucket.objects.delete('a');

    expect(await caught(() => marker.verifyChecksum())).toBeInstanceOf(NotFoundError);
  });
});

describe('verifyChecksums', () => {
  it('checks every readable file and reports the corrupt ones', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a = await bucket.objects.put('a', bytes(10));
    await bucket.objects.put('b', bytes(7, 1));
    const c = await bucket.objects.put('c', bytes(5, 2));
    await flipStoredByte(coffer, a.fileId!, 0);
    await flipStoredByte(coffer, c.fileId!, 4);

    const result = await coffer.verifyChecksums();

    expect(result.checked).toBe(3);
    expect(result.bytes).toBe(22);
    expect(result.failed.map((f) => f.fileId).sort()).toEqual([a.fileId, c.fileId].sort());
  });

  it('checks the least recently checked files first, up to the limit', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a = await bucket.objects.put('a', bytes(10));
    const b = await bucket.objects.put('b', bytes(7, 1));
    const c = await bucket.objects.put('c', bytes(5, 2));
    await a.verifyChecksum();
    const cutoff = new Date(Date.now() + 1);

    const first = await coffer.verifyChecksums({ olderThan: cutoff, limit: 1 });
    const fileOf = async (fileId: string) => coffer.context.db.files.get(fileId as never);

    expect(first.checked).toBe(1);
    const checked = [await fileOf(b.fileId!), await fileOf(c.fileId!)].filter((f) => f?.lastCheck === true);
    expect(checked).toHaveLength(1);
    expect((await coffer.verifyChecksums({ olderThan: new Date(0) })).checked).toBe(1);
    expect((await coffer.verifyChecksums({ olderThan: new Date(0) })).checked).toBe(0);
  });

  it('reports progress in bytes over all files', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', bytes(10));
    await bucket.objects.put('b', bytes(6, 1));
    const seen: Progress[] = [];

    await coffer.verifyChecksums({ onProgress: (p) => seen.push(p) });

    expect(seen.at(-1)).toEqual({ loaded: 16, total: 16 });
    expect(seen.every((p, i) => i === 0 || p.loaded >= seen[i - 1]!.loaded)).toBe(true);
  });

  it('stops when its signal is aborted', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', bytes(10));
    const controller = new AbortController();
    controller.abort();

    expect(await caught(() => coffer.verifyChecksums({ signal: controller.signal }))).toBeInstanceOf(
      AbortError,
    );
  });

  it('rejects an invalid olderThan or limit', async ({ coffer }) => {
    expect(await caught(() => coffer.verifyChecksums({ olderThan: 5 as never }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await caught(() => coffer.verifyChecksums({ limit: -1 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
