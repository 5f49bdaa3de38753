import { describe, expect, it } from 'vitest';
import { basename, characterCount, MAX_KEY_LENGTH, validateKey } from '../../packages/core/src/model/key.js';
import {
  assertFits,
  assertWritable,
  type BucketLimits,
  sizeLimit,
  validateSize,
} from '../../packages/core/src/model/limits.js';
import { guessMimetype, isTextType, sanitizeMimetype } from '../../packages/core/src/model/mimetype.js';
import { validateTag, validateTags } from '../../packages/core/src/model/tags.js';

const limits = (patch: Partial<BucketLimits> = {}): BucketLimits => ({
  id: 'b1',
  size: 0,
  quotaSize: null,
  maxFileSize: null,
  locked: false,
  deleted: false,
  ...patch,
});

const thrown = (operation: () => void): Error & Record<string, unknown> => {
  try {
    operation();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('Expected the operation to throw.');
};

describe('validateKey', () => {
  it('accepts keys of 1 and of 255 characters', () => {
    expect(() => validateKey('a')).not.toThrow();
    expect(() => validateKey('k'.repeat(MAX_KEY_LENGTH))).not.toThrow();
  });

  it('rejects the empty key', () => {
    expect(thrown(() => validateKey(''))).toMatchObject({ code: 'INVALID_KEY', key: '' });
  });

  it('rejects a key of 256 characters with the limit and the length', () => {
    const error = thrown(() => validateKey('k'.repeat(256)));

    expect(error).toMatchObject({ code: 'INVALID_KEY', limit: 255, actual: 256 });
  });

  it('rejects a key containing NUL', () => {
    expect(thrown(() => validateKey('a\0b'))).toMatchObject({ code: 'INVALID_KEY', key: 'a\0b' });
  });

  it('rejects a key that is not a string', () => {
    expect(thrown(() => validateKey(42))).toMatchObject({ code: 'INVALID_KEY', key: '42' });
  });

  it('counts characters, not UTF-16 code units, so 255 emoji fit', () => {
    const emoji = '😀'.repeat(255);

    expect(emoji.length).toBe(510);
    expect(() => validateKey(emoji)).not.toThrow();
    expect(thrown(() => validateKey(`${emoji}😀`))).toMatchObject({ code: 'INVALID_KEY', actual: 256 });
  });

  it('accepts slashes, spaces and unicode', () => {
    expect(() => validateKey('a/b c/ü€.txt')).not.toThrow();
  });
});

describe('characterCount and basename', () => {
  it('counts a surrogate pair once', () => {
    expect(characterCount('a😀b')).toBe(3);
  });

  it('takes the last path segment of a key', () => {
    expect(basename('a/b/c.txt')).toBe('c.txt');
    expect(basename('c.txt')).toBe('c.txt');
    expect(basename('dir/')).toBe('');
  });
});

describe('sizeLimit', () => {
  it('is null when neither a quota nor a maximum file size is set', () => {
    expect(sizeLimit(limits())).toBeNull();
  });

  it('is the quota left when only a quota is set', () => {
    expect(sizeLimit(limits({ quotaSize: 100, size: 30 }))).toEqual({ limit: 70, reason: 'quota' });
  });

  it('never goes below 0 when the bucket holds more than its quota', () => {
    expect(sizeLimit(limits({ quotaSize: 10, size: 30 }))).toEqual({ limit: 0, reason: 'quota' });
  });

  it('treats a quota of 0 as a real limit, not as unlimited', () => {
    expect(sizeLimit(limits({ quotaSize: 0 }))).toEqual({ limit: 0, reason: 'quota' });
  });

  it('is the smaller of the quota left and the maximum file size', () => {
    expect(sizeLimit(limits({ quotaSize: 100, size: 90, maxFileSize: 50 }))).toEqual({
      limit: 10,
      reason: 'quota',
    });
    expect(sizeLimit(limits({ quotaSize: 100, size: 10, maxFileSize: 50 }))).toEqual({
      limit: 50,
      reason: 'max-file-size',
    });
  });
});

describe('assertFits', () => {
  it('lets a file exactly at the quota left fit', () => {
    expect(() => assertFits(limits({ quotaSize: 100, size: 40 }), 60)).not.toThrow();
  });

  it('refuses one byte over the quota left with the limit and the size', () => {
    const error = thrown(() => assertFits(limits({ quotaSize: 100, size: 40 }), 61, 'a.txt'));

    expect(error).toMatchObject({
      code: 'BUCKET_QUOTA_EXCEEDED',
      bucketId: 'b1',
      key: 'a.txt',
      limit: 60,
      actual: 61,
    });
  });

  it('refuses a file over the maximum file size', () => {
    const error = thrown(() => assertFits(limits({ maxFileSize: 5 }), 6));

    expect(error).toMatchObject({ code: 'MAX_FILE_SIZE_EXCEEDED', bucketId: 'b1', limit: 5, actual: 6 });
    expect(error).not.toHaveProperty('key');
  });

  it('lets an empty file into a bucket whose limits are 0', () => {
    expect(() => assertFits(limits({ quotaSize: 0, maxFileSize: 0 }), 0)).not.toThrow();
  });

  it('refuses a single byte when the maximum file size is 0', () => {
    expect(thrown(() => assertFits(limits({ maxFileSize: 0 }), 1))).toMatchObject({
      code: 'MAX_FILE_SIZE_EXCEEDED',
    });
  });
});

describe('assertWritable', () => {
  it('accepts an unlocked, live bucket', () => {
    expect(() => assertWritable(limits())).not.toThrow();
  });

  it('refuses a locked bucket', () => {
    expect(thrown(() => assertWritable(limits({ locked: true }), 'k'))).toMatchObject({
      code: 'BUCKET_LOCKED',
      bucketId: 'b1',
      key: 'k',
    });
  });

  it('refuses a deleted bucket, even when it is also locked', () => {
    expect(thrown(() => assertWritable(limits({ locked: true, deleted: true })))).toMatchObject({
      code: 'BUCKET_DELETED',
      bucketId: 'b1',
    });
  });
});

describe('validateSize', () => {
  it('accepts 0 and positive integers', () => {
    expect(() => validateSize('quotaSize', 0)).not.toThrow();
    expect(() => validateSize('quotaSize', 2 ** 40)).not.toThrow();
  });

  it('accepts null only where null is allowed', () => {
    expect(() => validateSize('quotaSize', null, true)).not.toThrow();
    expect(thrown(() => validateSize('quotaSize', null))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10'])(
    'rejects %s with the argument name',
    (value) => {
      expect(thrown(() => validateSize('maxFileSize', value, true))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        argument: 'maxFileSize',
      });
    },
  );
});

describe('validateTag', () => {
  it('accepts keys and values of 1 and of 255 characters', () => {
    expect(() => validateTag('k', 'v')).not.toThrow();
    expect(() => validateTag('k'.repeat(255), 'v'.repeat(255))).not.toThrow();
  });

  it('rejects an empty key or value', () => {
    expect(thrown(() => validateTag('', 'v'))).toMatchObject({ code: 'INVALID_TAG', tag: '', actual: 0 });
    expect(thrown(() => validateTag('k', ''))).toMatchObject({ code: 'INVALID_TAG', tag: 'k', actual: 0 });
  });

  it('rejects a key or value of 256 characters', () => {
    expect(thrown(() => validateTag('k'.repeat(256), 'v'))).toMatchObject({
      code: 'INVALID_TAG',
      limit: 255,
    });
    expect(thrown(() => validateTag('k', 'v'.repeat(256)))).toMatchObject({
      code: 'INVALID_TAG',
      actual: 256,
    });
  });

  it('rejects a value that is not a string', () => {
    expect(thrown(() => validateTag('k', 1))).toMatchObject({ code: 'INVALID_TAG', tag: 'k' });
  });

  it('rejects a tag map that is not a plain object, or holds a bad entry', () => {
    expect(thrown(() => validateTags(['a']))).toMatchObject({ code: 'INVALID_TAG' });
    expect(thrown(() => validateTags(null))).toMatchObject({ code: 'INVALID_TAG' });
    expect(thrown(() => validateTags({ a: 'x', b: '' }))).toMatchObject({ code: 'INVALID_TAG', tag: 'b' });
  });
});

describe('guessMimetype', () => {
  it.each([
    ['site.jpg', 'image/jpeg'],
    ['SITE.JPG', 'image/jpeg'],
    ['data.csv', 'text/csv'],
    ['data.csv.gz', 'application/gzip'],
    ['archive.tar.bz2', 'application/x-bzip2'],
    ['notes/readme.md', 'text/markdown'],
    ['README', 'application/octet-stream'],
    ['.hidden', 'application/octet-stream'],
    ['file.unknownext', 'application/octet-stream'],
    ['dir.d/file', 'application/octet-stream'],
  ])('guesses %s as %s', (key, type) => {
    expect(guessMimetype(key)).toBe(type);
  });
});

describe('sanitizeMimetype', () => {
  it('passes allow-listed types through without parameters', () => {
    expect(sanitizeMimetype('image/png', 'a.png')).toBe('image/png');
    expect(sanitizeMimetype('Text/Plain; charset=latin1', 'a.txt')).toBe('text/plain');
  });

  it('serves markup and script as text/plain', () => {
    expect(sanitizeMimetype('text/html', 'a.html')).toBe('text/plain');
    expect(sanitizeMimetype('image/svg+xml', 'a.svg')).toBe('text/plain');
    expect(sanitizeMimetype('application/javascript', 'a.js')).toBe('text/plain');
  });

  it('serves everything else as application/octet-stream', () => {
    expect(sanitizeMimetype('application/pdf', 'a.pdf')).toBe('application/octet-stream');
  });

  it('serves a key named README as text/plain whatever its type', () => {
    expect(sanitizeMimetype('application/octet-stream', 'docs/README')).toBe('text/plain');
  });

  it('tells text types from others', () => {
    expect(isTextType('text/csv')).toBe(true);
    expect(isTextType('application/json')).toBe(false);
  });
});
