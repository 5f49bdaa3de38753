import { describe, expect } from 'vitest';
import { blob, it } from '../helpers/coffer.js';

describe('smoke', () => {
  it('stores and reads back a file with its md5', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('hello.txt', blob('Hello world!'));
    expect(v.checksum).toBe('md5:86fb269d190d2c85f6e0468ceca42a20');
    const head = await bucket.objects.get('hello.txt');
    expect(await (await head!.blob()).text()).toBe('Hello world!');
    expect(coffer.chunkStorage).toBe('blob');
  });
});
