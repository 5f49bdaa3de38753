import { describe, expect } from 'vitest';
import { blob, caught, it } from '../helpers/coffer.js';

describe('bucket tags', () => {
  it('creates tags and reads them back as a map and one by one', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.createTag('owner', 'ana');
    await bucket.createTag('project', 'survey');

    expect(await bucket.tags()).toEqual({ owner: 'ana', project: 'survey' });
    expect(await bucket.getTag('owner')).toBe('ana');
    expect(await bucket.getTag('missing')).toBeUndefined();
  });

  it('refuses to create a tag that exists and keeps its value', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.createTag('owner', 'ana');

    const error = await caught(() => bucket.createTag('owner', 'bo'));

    expect(error).toMatchObject({ code: 'DUPLICATE_TAG', tag: 'owner', bucketId: bucket.id });
    expect(await bucket.getTag('owner')).toBe('ana');
  });

  it('replaces a value with setTag and creates a missing tag with it', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.createTag('owner', 'ana');

    await bucket.setTag('owner', 'bo');
    await bucket.setTag('new', 'x');

    expect(await bucket.tags()).toEqual({ owner: 'bo', new: 'x' });
  });

  it('deletes a tag, and deleting a missing tag does nothing', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.createTag('owner', 'ana');

    await bucket.deleteTag('owner');
    await bucket.deleteTag('never');

    expect(await bucket.tags()).toEqual({});
  });

  it('keeps the tags of two buckets apart', async ({ coffer }) => {
    const one = await coffer.buckets.create();
    const two = await coffer.buckets.create();

    await one.setTag('k', '1');
    await two.setTag('k', '2');

    expect(await one.tags()).toEqual({ k: '1' });
    expect(await two.tags()).toEqual({ k: '2' });
  });

  it.for([
    ['', 'v'],
    ['k', ''],
    ['k'.repeat(256), 'v'],
    ['k', 'v'.repeat(256)],
  ])('rejects the tag %j = %j', async ([key, value], { coffer }) => {
    const bucket = await coffer.buckets.create();

    const error = await caught(() => bucket.setTag(key!, value!));

    expect(error).toMatchObject({ code: 'INVALID_TAG', tag: key });
    expect(await bucket.tags()).toEqual({});
  });

  it('accepts a key and a value of exactly 255 characters', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    await bucket.createTag('k'.repeat(255), 'v'.repeat(255));

    expect(await bucket.getTag('k'.repeat(255))).toBe('v'.repeat(255));
  });

  it('refuses tag changes on a locked bucket', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.setTag('k', 'v');
    await bucket.lock();

    const errors = [
      await caught(() => bucket.createTag('n', 'v')),
      await caught(() => bucket.setTag('k', 'w')),
      await caught(() => bucket.deleteTag('k')),
    ];

    expect(errors.map((e) => [e.code, e.bucketId])).toEqual(Array(3).fill(['BUCKET_LOCKED', bucket.id]));
    expect(await bucket.tags()).toEqual({ k: 'v' });
  });

  it('refuses tag changes on a deleted bucket', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.delete();

    expect(await caught(() => bucket.setTag('k', 'v'))).toMatchObject({
      code: 'BUCKET_DELETED',
      bucketId: bucket.id,
    });
    expect(await caught(() => bucket.deleteTag('k'))).toMatchObject({ code: 'BUCKET_DELETED' });
  });

  it('fails with NOT_FOUND on a removed bucket', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.remove();

    expect(await caught(() => bucket.setTag('k', 'v'))).toMatchObject({
      code: 'NOT_FOUND',
      resource: 'bucket',
    });
  });
});

describe('version tags', () => {
  it('sets, replaces and reads tags of one version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('x'));

    await v.setTag('status', 'draft');
    await v.setTag('status', 'final');
    await v.setTag('reviewer', 'ana');

    expect(await v.tags()).toEqual({ status: 'final', reviewer: 'ana' });
  });

  it('keeps the tags of each version of a key apart', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v1 = await bucket.objects.put('a', blob('1'));
    const v2 = await bucket.objects.put('a', blob('2'));

    await v1.setTag('k', 'old');

    expect(await v2.tags()).toEqual({});
    expect(await (await bucket.objects.get('a', { versionId: v1.versionId }))!.tags()).toEqual({ k: 'old' });
  });

  it('does not carry tags forward to a new version written over it', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('1'), { tags: { k: 'v' } });

    const v2 = await bucket.objects.put('a', blob('2'));

    expect(await v2.tags()).toEqual({});
  });

  it('deletes a tag, and deleting a missing tag does nothing', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('x'), { tags: { k: 'v', keep: 'me' } });

    await v.deleteTag('k');
    await v.deleteTag('never');

    expect(await v.tags()).toEqual({ keep: 'me' });
  });

  it('tags a delete marker', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a', blob('x'));
    const marker = await bucket.objects.delete('a');

    await marker.setTag('reason', 'duplicate');

    expect(await marker.tags()).toEqual({ reason: 'duplicate' });
  });

  it('rejects an invalid tag', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('x'));

    expect(await caught(() => v.setTag('k', 'v'.repeat(256)))).toMatchObject({
      code: 'INVALID_TAG',
      tag: 'k',
    });
    expect(await v.tags()).toEqual({});
  });

  it('refuses tag changes when the bucket is locked', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('x'), { tags: { k: 'v' } });
    await bucket.lock();

    const set = await caught(() => v.setTag('k', 'w'));
    const deleted = await caught(() => v.deleteTag('k'));

    expect(set).toMatchObject({ code: 'BUCKET_LOCKED', bucketId: bucket.id, key: 'a' });
    expect(deleted).toMatchObject({ code: 'BUCKET_LOCKED' });
    expect(await v.tags()).toEqual({ k: 'v' });
  });

  it('refuses tag changes when the bucket is deleted', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('x'));
    await bucket.delete();

    expect(await caught(() => v.setTag('k', 'v'))).toMatchObject({
      code: 'BUCKET_DELETED',
      bucketId: bucket.id,
    });
  });

  it('fails with NOT_FOUND for a removed version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob('x'));
    await v.remove();

    expect(await caught(() => v.setTag('k', 'v'))).toMatchObject({
      code: 'NOT_FOUND',
      versionId: v.versionId,
    });
  });
});
