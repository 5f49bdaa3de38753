import { DuplicateTagError, guessMimetype, InvalidArgumentError, InvalidTagError } from '@coffer/core';
import { describe, expect } from 'vitest';
import { blob, bytes, bytesOf, caught, it } from '../helpers/coffer.js';

describe('list arguments', () => {
  it.for([
    ['prefix', 5],
    ['prefix', {}],
    ['prefix', null],
    ['after', null],
    ['after', 5],
    ['after', { key: 'a' }],
  ] as [string, unknown][])(
    'refuses %s: %j with InvalidArgumentError naming it',
    async ([argument, value], { coffer }) => {
      const bucket = await coffer.buckets.create();
      await bucket.objects.put('a', blob('a'));

      const error = await caught(() => bucket.objects.list({ [argument]: value }));

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument });
    },
  );

  it('still pages after a key or a version', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a = await bucket.objects.put('a', blob('a'));
    await bucket.objects.put('b', blob('b'));

    const byKey = await bucket.objects.list({ after: 'a' });
    const byVersion = await bucket.objects.list({ after: a, versions: true });

    expect(byKey.map((v) => v.key)).toEqual(['b']);
    expect(byVersion.map((v) => v.key)).toEqual(['b']);
  });
});

describe('record data', () => {
  it.for([
    ['null', null],
    ['a string', 'title'],
    ['a number', 5],
    ['an array', [{ title: 'x' }]],
    ['a Date, whose JSON is a string', new Date(0)],
  ] as [string, unknown][])(
    'refuses to commit data that is %s, keeping the stored revision and the bucket link',
    async ([, data], { coffer }) => {
      const record = await coffer.records.create({ title: 'kept' });
      await record.files!.set('a.txt', blob('a'));
      const revision = record.revisionId;
      record.data = data as never;

      const error = await caught(() => record.commit());
      const stored = await coffer.records.get(record.id);

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'data' });
      expect(stored.revisionId).toBe(revision);
      expect(stored.data).toMatchObject({ title: 'kept', _bucket: record.bucketId });
      expect(await stored.files!.keys()).toEqual(['a.txt']);
    },
  );

  it('leaves data it refuses as it was: a Date gains no _bucket', async ({ coffer }) => {
    const record = await coffer.records.create({});
    const date = new Date(0);
    record.data = date as never;

    await caught(() => record.commit());

    expect(Object.keys(date)).toEqual([]);
  });

  it.for([
    ['null', null],
    ['a number', 5],
    ['an array', []],
    ['a Date', new Date(0)],
  ] as [string, unknown][])(
    'refuses to create a record from %s, creating nothing',
    async ([, data], { coffer }) => {
      const error = await caught(() => coffer.records.create(data as never));

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(await coffer.context.db.records.count()).toBe(0);
      expect(await coffer.context.db.buckets.count()).toBe(0);
    },
  );
});

describe('bucket links', () => {
  it("refuses a commit that makes a record without a bucket name another record's bucket", async ({
    coffer,
  }) => {
    const owner = await coffer.records.create({ title: 'owner' });
    await owner.files!.set('a.txt', blob('a'));
    const intruder = await coffer.records.create({ title: 'intruder' }, { withBucket: false });
    intruder.data._bucket = owner.bucketId;

    const error = await caught(() => intruder.commit());
    const stored = await coffer.records.get(intruder.id);

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'data', recordId: intruder.id });
    expect(stored.revisionId).toBe(0);
    expect(stored.bucketId).toBeUndefined();
    expect(stored.files).toBeUndefined();
  });

  it("refuses to create a record without a bucket whose data names another record's bucket", async ({
    coffer,
  }) => {
    const owner = await coffer.records.create({ title: 'owner' });

    const error = await caught(() =>
      coffer.records.create({ _bucket: owner.bucketId }, { withBucket: false, id: 'intruder' }),
    );

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'data', bucketId: owner.bucketId });
    expect(await coffer.context.db.records.count()).toBe(1);
  });
});

describe('record list arguments', () => {
  it.for([
    ['after', null],
    ['after', 5],
    ['limit', -1],
  ] as [string, unknown][])(
    'refuses %s: %j with InvalidArgumentError naming it',
    async ([argument, value], { coffer }) => {
      await coffer.records.create({});

      const error = await caught(() => coffer.records.list({ [argument]: value }));

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument });
    },
  );
});

describe('names that are also properties of every object', () => {
  it.for(['constructor', 'toString', 'hasOwnProperty', '__proto__'])(
    'has no bucket or version tag %s until one is set',
    async (name, { coffer }) => {
      const bucket = await coffer.buckets.create();
      const version = await bucket.objects.put('a', blob('a'));

      expect(await bucket.getTag(name)).toBeUndefined();
      expect(await version.getTag(name)).toBeUndefined();
      expect(Object.hasOwn(await bucket.tags(), name)).toBe(false);
      expect((await version.tags())[name]).toBeUndefined();
    },
  );

  it('keeps a tag named __proto__ as a tag', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('a', blob('a'), { tags: JSON.parse('{"__proto__":"p"}') });

    await bucket.setTag('__proto__', 'b');

    expect(await bucket.getTag('__proto__')).toBe('b');
    expect(await version.getTag('__proto__')).toBe('p');
    expect(Object.entries(await version.tags())).toEqual([['__proto__', 'p']]);
  });

  it.for(['constructor', 'toString', 'valueOf'])(
    'reads file metadata %s as absent, not as a property of every object',
    async (name, { coffer }) => {
      const record = await coffer.records.create({});
      const file = await record.files!.set('a.txt', blob('a'));

      expect(file.get(name)).toBeUndefined();
    },
  );

  it('keeps file metadata named __proto__, and pollutes nothing', async ({ coffer }) => {
    const record = await coffer.records.create({});
    await record.files!.set('a.txt', blob('a'), { metadata: JSON.parse('{"__proto__":{"polluted":1}}') });

    await record.files!.setMetadata('a.txt', JSON.parse('{"__proto__":{"polluted":2},"note":"n"}'));
    const file = await (await coffer.records.get(record.id)).files!.get('a.txt');

    expect(file!.get('__proto__')).toEqual({ polluted: 2 });
    expect(Object.hasOwn(file!.metadata, '__proto__')).toBe(true);
    expect(file!.get('note')).toBe('n');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(file!.metadata)).toBe(Object.prototype);
  });

  it.for(['a.constructor', 'b.__proto__', 'c.Constructor'])(
    'guesses application/octet-stream for %s',
    async (key, { coffer }) => {
      const bucket = await coffer.buckets.create();
      const version = await bucket.objects.put(key, blob('x'));

      expect(guessMimetype(key)).toBe('application/octet-stream');
      expect(version.mimetype).toBe('application/octet-stream');
    },
  );
});

describe('byte sources', () => {
  it('copies a Uint8Array: changing it while the write runs does not change what is stored', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    const source = bytes(16);

    const version = await bucket.objects.put('a', source, { onProgress: () => source.fill(0) });

    expect(await bytesOf(await version.blob())).toEqual(bytes(16));
    expect(source.byteLength).toBe(16);
  });

  it('copies an ArrayBuffer the same way', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const source = bytes(16);

    const version = await bucket.objects.put('a', source.buffer, { onProgress: () => source.fill(0) });

    expect(await bytesOf(await version.blob())).toEqual(bytes(16));
  });

  it('refuses a transfer option that is not a boolean', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const error = await caught(() => bucket.objects.put('a', bytes(4), { transfer: 'yes' as never }));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'transfer' });
  });
});

describe('version tags: create only', () => {
  it('creates a tag, then refuses to create it again, keeping the first value', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('a', blob('a'));
    await version.createTag('camera', 'A7');

    const error = await caught(() => version.createTag('camera', 'X100'));

    expect(error).toBeInstanceOf(DuplicateTagError);
    expect(error).toMatchObject({
      code: 'DUPLICATE_TAG',
      tag: 'camera',
      bucketId: bucket.id,
      versionId: version.versionId,
    });
    expect(await version.tags()).toEqual({ camera: 'A7' });
  });

  it('refuses an invalid tag before anything is stored', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const version = await bucket.objects.put('a', blob('a'));

    const error = await caught(() => version.createTag('', 'v'));

    expect(error).toBeInstanceOf(InvalidTagError);
    expect(await coffer.context.db.objectTags.count()).toBe(0);
  });
});
