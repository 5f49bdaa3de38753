import {
  type Coffer,
  InvalidArgumentError,
  InvalidKeyError,
  MAX_COFFER_NAME_LENGTH,
  MAX_ID_LENGTH,
  MAX_MIMETYPE_LENGTH,
  ObjectVersion,
  openCoffer,
} from '@coffer/core';
import { contentDisposition, handleFileRequest, parseFileUrl } from '@coffer/core/sw';
import { describe, expect } from 'vitest';
import { blob, caught, dispose, it, rowCounts } from '../helpers/coffer.js';

const loneHigh = 'a\ud83db.txt';
const loneLow = '\ude00.txt';

/** Expect `call` to fail with `type` and change no row. */
async function expectRefused(
  coffer: Coffer,
  type: new (...args: never[]) => Error,
  call: () => Promise<unknown>,
): Promise<Error & Record<string, unknown>> {
  const before = { rows: await rowCounts(coffer), records: await coffer.context.db.records.count() };
  const error = await caught(call);
  expect(error).toBeInstanceOf(type);
  expect({ rows: await rowCounts(coffer), records: await coffer.context.db.records.count() }).toEqual(before);
  return error;
}

describe('keys that cannot be exported', () => {
  it.for([loneHigh, loneLow, 'a\ud800'])(
    'refuses a key with a lone surrogate (%j) on every write, changing nothing',
    async (key, { coffer }) => {
      const bucket = await coffer.buckets.create();
      const record = await coffer.records.create({});
      const existing = await record.files!.set('a.txt', blob('a'));

      const put = await expectRefused(coffer, InvalidKeyError, () => bucket.objects.put(key, blob('x')));
      await expectRefused(coffer, InvalidKeyError, () => record.files!.set(key, blob('x')));
      await expectRefused(coffer, InvalidKeyError, () => record.files!.rename('a.txt', key));
      await expectRefused(coffer, InvalidKeyError, () => existing.version.copy(bucket, key));
      await expectRefused(coffer, InvalidKeyError, () =>
        bucket.multipart.create(key, { size: 10 * 1024 ** 2, chunkSize: 5 * 1024 ** 2 }),
      );

      expect(put).toMatchObject({ code: 'INVALID_KEY', key });
    },
  );

  it('accepts a key of paired surrogates (an emoji)', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const version = await bucket.objects.put('\ud83d\ude00.txt', blob('x'));

    expect(version.key).toBe('😀.txt');
  });
});

describe('file URLs', () => {
  it('builds a URL for a key stored with a lone surrogate, one that serves no other file', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    await bucket.objects.put('a\ufffdb.txt', blob('not this one'));
    const stored = await bucket.objects.put('legacy.txt', blob('legacy'));
    // A key stored before Coffer refused lone surrogates: forge the row as it was written then.
    await coffer.context.db.objects.update(stored.versionId, { key: loneHigh });
    const legacy = new ObjectVersion(
      coffer.context,
      (await coffer.context.db.objects.get(stored.versionId))!,
    );

    const url = legacy.url;
    const response = await handleFileRequest(new Request(`http://app.test${url}`), coffer);

    expect(url).toContain('a%ED%A0%BDb.txt');
    expect(contentDisposition('attachment', loneHigh)).toBe(
      "attachment; filename=ab.txt; filename*=UTF-8''a%EF%BF%BDb.txt",
    );
    expect(parseFileUrl(`http://app.test${url}`)).toBeUndefined();
    expect(response).toBeUndefined();
  });
});

describe('record ids', () => {
  it('accepts an id of 255 characters and an id with slashes (a DOI), with working file URLs', async ({
    coffer,
  }) => {
    const longest = await coffer.records.create({}, { id: 'r'.repeat(MAX_ID_LENGTH) });
    const doi = await coffer.records.create({}, { id: '10.5281/zenodo.123' });
    const file = await doi.files!.set('a.txt', blob('doi'));

    const response = await handleFileRequest(new Request(`http://app.test${file.url}`), coffer);

    expect(longest.id).toHaveLength(MAX_ID_LENGTH);
    expect(file.url).toBe('/coffer/records/10.5281%2Fzenodo.123/files/a.txt');
    expect(await response?.text()).toBe('doi');
  });

  it.for([
    ['256 characters', 'r'.repeat(MAX_ID_LENGTH + 1)],
    ['a lone surrogate', 'r\ud800'],
    ['"."', '.'],
    ['".."', '..'],
    ['NUL', 'a\u0000b'],
    ['empty', ''],
    ['a number', 7],
  ] as [string, unknown][])(
    'refuses a record id that is %s, creating nothing',
    async ([, id], { coffer }) => {
      const error = await expectRefused(coffer, InvalidArgumentError, () =>
        coffer.records.create({}, { id: id as never }),
      );

      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'id' });
      expect(await coffer.context.db.buckets.count()).toBe(0);
    },
  );

  it('says the limit and the length of a record id that is too long', async ({ coffer }) => {
    const error = await caught(() => coffer.records.create({}, { id: '😀'.repeat(MAX_ID_LENGTH + 1) }));

    expect(error).toMatchObject({ limit: MAX_ID_LENGTH, actual: MAX_ID_LENGTH + 1 });
  });
});

describe('mimetypes', () => {
  it('accepts a mimetype of 255 characters', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const mimetype = `application/${'x'.repeat(MAX_MIMETYPE_LENGTH - 12)}`;

    const version = await bucket.objects.put('a', blob('a'), { mimetype });

    expect(version.mimetype).toBe(mimetype);
  });

  it.for([
    ['256 characters', `application/${'x'.repeat(MAX_MIMETYPE_LENGTH - 11)}`],
    ['a lone surrogate', 'text/\ud800'],
    ['empty', ''],
    ['a number', 5],
  ] as [string, unknown][])(
    'refuses a mimetype that is %s on put, set and multipart uploads',
    async ([, mimetype], { coffer }) => {
      const bucket = await coffer.buckets.create();
      const record = await coffer.records.create({});
      const options = { mimetype: mimetype as never };

      const error = await expectRefused(coffer, InvalidArgumentError, () =>
        bucket.objects.put('a', blob('a'), options),
      );
      await expectRefused(coffer, InvalidArgumentError, () => record.files!.set('a', blob('a'), options));
      await expectRefused(coffer, InvalidArgumentError, () =>
        bucket.multipart.create('a', { size: 10 * 1024 ** 2, chunkSize: 5 * 1024 ** 2, ...options }),
      );

      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'mimetype' });
    },
  );
});

describe('coffer names', () => {
  it.for([
    ['256 characters', 'n'.repeat(MAX_COFFER_NAME_LENGTH + 1)],
    ['2,000 characters', 'n'.repeat(2000)],
    ['a lone surrogate', 'notes-\udfff'],
    ['empty', ''],
    ['not a string', 12],
  ] as [string, unknown][])('refuses a name that is %s, opening nothing', async ([, name]) => {
    const error = await caught(() => openCoffer({ name: name as never }));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'name' });
    expect((await indexedDB.databases()).map((d) => d.name)).not.toContain(name);
  });

  it('opens a coffer whose name has 255 characters', async () => {
    const coffer = await openCoffer({
      name: `${crypto.randomUUID()}${'n'.repeat(MAX_COFFER_NAME_LENGTH - 36)}`,
    });

    expect(coffer.name).toHaveLength(MAX_COFFER_NAME_LENGTH);
    await dispose(coffer);
  });
});
