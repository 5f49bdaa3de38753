import type { Coffer, FileId } from '@coffer/core';
import { describe, expect } from 'vitest';
import {
  blob,
  bytes,
  bytesOf,
  caught,
  dispose,
  freshCoffer,
  it,
  readAll,
  rowCounts,
  streamOf,
} from '../helpers/coffer.js';

const HELLO_MD5 = 'md5:86fb269d190d2c85f6e0468ceca42a20';
const EMPTY_MD5 = 'md5:d41d8cd98f00b204e9800998ecf8427e';
const ALPHABET = 'abcdefghijklm';

/** The stored chunks of a file, in order, as `[offset, size]`. */
async function chunkLayout(coffer: Coffer, fileId: FileId | null): Promise<[number, number][]> {
  const rows = await coffer.context.db.chunks.filter((c) => c.dataId === fileId).toArray();
  return rows.sort((a, b) => a.offset - b.offset).map((c) => [c.offset, c.size]);
}

/** Open a fresh coffer for one test and dispose of it after `body`. */
async function withCoffer(
  options: Parameters<typeof freshCoffer>[0],
  body: (coffer: Coffer) => Promise<void>,
): Promise<void> {
  const coffer = await freshCoffer(options);
  try {
    await body(coffer);
  } finally {
    await dispose(coffer);
  }
}

describe('checksums', () => {
  it('computes the md5 of "Hello world!"', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('hello.txt', blob('Hello world!'));

    expect(v.checksum).toBe(HELLO_MD5);
  });

  it('computes the md5 of an empty file', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('empty', blob(''));

    expect(v.checksum).toBe(EMPTY_MD5);
  });

  it('computes the same md5 whatever the source type and chunking', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const text = new TextEncoder().encode('Hello world!');

    const sums = [
      (await bucket.objects.put('1', blob('Hello world!'))).checksum,
      (await bucket.objects.put('2', text.buffer)).checksum,
      (await bucket.objects.put('3', text)).checksum,
      (await bucket.objects.put('4', streamOf(['Hel', 'lo wo', 'rld!']))).checksum,
      (await bucket.objects.put('5', new File(['Hello', ' world!'], 'x.txt'))).checksum,
    ];

    expect(new Set(sums)).toEqual(new Set([HELLO_MD5]));
  });

  it('computes no sha256 by default', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('a', blob('Hello world!'));

    expect((await v.file()).sha256).toBeNull();
  });

  it('computes sha256 too when the coffer is opened with sha256', async () => {
    await withCoffer({ chunkSize: 4, sha256: true }, async (coffer) => {
      const bucket = await coffer.buckets.create();

      const v = await bucket.objects.put('a', streamOf(['Hello', ' world!']));

      expect(await v.file()).toMatchObject({
        checksum: HELLO_MD5,
        sha256: 'sha256:c0535e4be2b79ffd93291305436bf889314e4a3faec05ecffcbb7df31ad9e51a',
      });
    });
  });
});

describe('chunk boundaries (4-byte chunks)', () => {
  it.for([
    [0, []],
    [1, [[0, 1]]],
    [4, [[0, 4]]],
    [
      5,
      [
        [0, 4],
        [4, 1],
      ],
    ],
    [
      13,
      [
        [0, 4],
        [4, 4],
        [8, 4],
        [12, 1],
      ],
    ],
  ] as const)('stores %i bytes as the chunks %j and reads them back', async ([size, layout], { coffer }) => {
    const bucket = await coffer.buckets.create();
    const content = bytes(size, 7);

    const v = await bucket.objects.put('a', content);

    expect(await chunkLayout(coffer, v.fileId)).toEqual(layout);
    expect(await bytesOf(await v.blob())).toEqual(content);
    expect(await readAll(await v.stream())).toEqual(content);
  });

  it.for([
    ['a Blob', (b: Uint8Array<ArrayBuffer>) => new Blob([b])],
    ['a File', (b: Uint8Array<ArrayBuffer>) => new File([b], 'f.bin')],
    ['an ArrayBuffer', (b: Uint8Array<ArrayBuffer>) => b.slice().buffer],
    ['a Uint8Array', (b: Uint8Array<ArrayBuffer>) => b],
    [
      'a stream of uneven pieces',
      (b: Uint8Array<ArrayBuffer>) => streamOf([b.subarray(0, 3), b.subarray(3, 10), b.subarray(10)]),
    ],
    ['a stream of one big piece', (b: Uint8Array<ArrayBuffer>) => streamOf([b])],
  ] as const)('stores %s in the same 4-byte chunks', async ([, source], { coffer }) => {
    const bucket = await coffer.buckets.create();
    const content = bytes(13, 40);

    const v = await bucket.objects.put('a', source(content));

    expect(await chunkLayout(coffer, v.fileId)).toEqual([
      [0, 4],
      [4, 4],
      [8, 4],
      [12, 1],
    ]);
    expect(await bytesOf(await v.blob())).toEqual(content);
  });

  it('stores only the viewed bytes of a Uint8Array over a larger buffer', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const whole = bytes(20);
    const view = whole.subarray(5, 11);

    const v = await bucket.objects.put('a', view);

    expect(v.size).toBe(6);
    expect(await bytesOf(await v.blob())).toEqual(bytes(6, 5));
  });

  it('stores each chunk as an ArrayBuffer of exactly its bytes in buffer mode', async () => {
    await withCoffer({ chunkSize: 4, chunkStorage: 'buffer' }, async (coffer) => {
      const bucket = await coffer.buckets.create();
      const source = bytes(64).subarray(10, 19);

      const v = await bucket.objects.put('a', source);

      const chunks = await coffer.context.db.chunks.filter((c) => c.dataId === v.fileId).toArray();
      expect(chunks.map((c) => [c.data instanceof ArrayBuffer, (c.data as ArrayBuffer).byteLength])).toEqual([
        [true, 4],
        [true, 4],
        [true, 1],
      ]);
      expect(await bytesOf(await v.blob())).toEqual(bytes(9, 10));
    });
  });

  it('stores chunks as Blobs in blob mode, and chunks under inlineBelow inline', async () => {
    await withCoffer({ chunkSize: 4, chunkStorage: 'blob', inlineBelow: 4 }, async (coffer) => {
      const bucket = await coffer.buckets.create();

      const v = await bucket.objects.put('a', blob(ALPHABET));

      const chunks = await coffer.context.db.chunks.filter((c) => c.dataId === v.fileId).toArray();
      expect(chunks.sort((a, b) => a.offset - b.offset).map((c) => c.data instanceof Blob)).toEqual([
        true,
        true,
        true,
        false,
      ]);
      expect(await (await v.blob()).text()).toBe(ALPHABET);
    });
  });

  it('reads back an empty file as an empty Blob and an empty stream', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('a', new Uint8Array());

    expect((await v.blob()).size).toBe(0);
    expect(await readAll(await v.stream())).toEqual(new Uint8Array());
  });

  it('uses the default chunk (32 MiB as Blobs, 8 MiB as ArrayBuffers) when no chunk size is given', async () => {
    await withCoffer({}, async (coffer) => {
      const bucket = await coffer.buckets.create();

      const v = await bucket.objects.put('a', bytes(100));

      expect(await chunkLayout(coffer, v.fileId)).toEqual([[0, 100]]);
      expect((await coffer.context.db.files.get(v.fileId!))!.extents[0]!.chunkSize).toBe(
        (coffer.chunkStorage === 'blob' ? 32 : 8) * 1024 * 1024,
      );
    });
  });
});

describe('blobChunkSize: the stored chunks of a Blob or File source', () => {
  it('stores a Blob source in slices of blobChunkSize, and a stream of the same bytes in chunkSize chunks', async () => {
    await withCoffer({ chunkSize: 4, blobChunkSize: 10, inlineBelow: 0, dedupe: false }, async (coffer) => {
      const bucket = await coffer.buckets.create();

      const fromBlob = await bucket.objects.put('blob', blob(ALPHABET));
      const fromStream = await bucket.objects.put('stream', streamOf([ALPHABET]));

      expect(await chunkLayout(coffer, fromBlob.fileId)).toEqual([
        [0, 10],
        [10, 3],
      ]);
      expect(await chunkLayout(coffer, fromStream.fileId)).toEqual([
        [0, 4],
        [4, 4],
        [8, 4],
        [12, 1],
      ]);
      expect(await (await fromBlob.slice(8, 12)).text()).toBe('ijkl');
      expect(fromBlob.checksum).toBe(fromStream.checksum);
    });
  });

  it('cuts Blob sources by an explicit chunkSize when blobChunkSize is not given', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('a', blob('abcdefghij'));

    expect(await chunkLayout(coffer, v.fileId)).toEqual([
      [0, 4],
      [4, 4],
      [8, 2],
    ]);
  });

  it('stores a Blob source of any size up to 1 GiB as one chunk by default', async () => {
    await withCoffer({ chunkStorage: 'blob' }, async (coffer) => {
      const bucket = await coffer.buckets.create();

      const v = await bucket.objects.put('a', new Blob([new Uint8Array(33 * 1024 * 1024)]));

      expect(await chunkLayout(coffer, v.fileId)).toEqual([[0, 33 * 1024 * 1024]]);
      expect(coffer.context.settings.blobChunkSize).toBe(1024 * 1024 * 1024);
    });
  });

  it.for([0, -1, 1.5, Number.NaN, '8'])('rejects a blobChunkSize of %s at open', async (blobChunkSize) => {
    const error = await caught(() => freshCoffer({ blobChunkSize: blobChunkSize as number }));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'blobChunkSize' });
  });
});

describe('sources', () => {
  it('rejects a source that is not bytes, before writing anything', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const error = await caught(() => bucket.objects.put('a', 'text' as unknown as Blob));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'source' });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('rejects a stream that delivers strings and keeps nothing', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const strings = new ReadableStream({
      start(controller) {
        controller.enqueue('not bytes');
        controller.close();
      },
    }) as unknown as ReadableStream<Uint8Array>;

    const error = await caught(() => bucket.objects.put('a', strings));

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'source' });
    expect(await rowCounts(coffer)).toEqual({ files: 0, chunks: 0, objects: 0, heads: 0 });
  });

  it('stores an empty stream as an empty file', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();

    const v = await bucket.objects.put('a', streamOf([]));

    expect(v).toMatchObject({ size: 0, checksum: EMPTY_MD5 });
  });

  it('reports progress chunk by chunk, with the total of a known-size source', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const progress: unknown[] = [];

    await bucket.objects.put('a', bytes(10), { onProgress: (p) => progress.push(p) });

    expect(progress).toEqual([
      { loaded: 4, total: 10 },
      { loaded: 8, total: 10 },
      { loaded: 10, total: 10 },
    ]);
  });

  it('reports progress of a stream without a total until it ends', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const progress: unknown[] = [];

    await bucket.objects.put('a', streamOf(['abcdef']), { onProgress: (p) => progress.push(p) });

    expect(progress).toEqual([
      { loaded: 4, total: undefined },
      { loaded: 6, total: undefined },
      { loaded: 6, total: 6 },
    ]);
  });

  it('reports one final progress for an empty file', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const progress: unknown[] = [];

    await bucket.objects.put('a', blob(''), { onProgress: (p) => progress.push(p) });

    expect(progress).toEqual([{ loaded: 0, total: 0 }]);
  });
});

describe('slice', () => {
  it.for([
    [0, 13, ALPHABET],
    [2, 7, 'cdefg'],
    [4, 8, 'efgh'],
    [5, 6, 'f'],
    [3, 5, 'de'],
    [0, 1, 'a'],
    [12, 13, 'm'],
    [1, 12, 'bcdefghijkl'],
  ] as const)(
    'returns bytes [%i, %i) across chunk boundaries: %s',
    async ([start, end, expected], { coffer }) => {
      const bucket = await coffer.buckets.create();
      const v = await bucket.objects.put('a', blob(ALPHABET));

      const part = await v.slice(start, end);

      expect(await part.text()).toBe(expected);
    },
  );

  it('clamps like Blob.slice: negative positions count from the end, out-of-range ones stop at the ends', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob(ALPHABET));

    const results = await Promise.all(
      [
        [-3, undefined],
        [-100, 2],
        [10, 100],
        [8, 3],
        [13, 20],
        [undefined, undefined],
      ].map(async ([s, e]) => (await v.slice(s, e)).text()),
    );

    expect(results).toEqual(['klm', 'ab', 'klm', '', '', ALPHABET]);
  });

  it('truncates fractional positions', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob(ALPHABET));

    expect(await (await v.slice(1.9, 4.2)).text()).toBe('bcd');
  });

  it('rejects a non-finite position', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob(ALPHABET));

    expect(await caught(() => v.slice(0, Number.NaN))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'range',
    });
  });

  it('carries the version mimetype as the Blob type', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a.csv', blob(ALPHABET));

    expect((await v.slice(1, 3)).type).toBe('text/csv');
  });

  it('reads only the chunks the range covers', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob(ALPHABET));
    await coffer.context.db.chunks.delete([v.fileId!, 8]);

    const inside = await v.slice(2, 8);
    const error = await caught(() => v.slice(2, 9));

    expect(await inside.text()).toBe('cdefgh');
    expect(error).toMatchObject({ code: 'INTEGRITY', expected: { dataId: v.fileId, offset: 8 } });
  });

  it('streams a range across chunks', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob(ALPHABET));

    const part = await readAll(await v.stream(3, 10));

    expect(new TextDecoder().decode(part)).toBe('defghij');
  });

  it('streams a range in buffer mode too', async () => {
    await withCoffer({ chunkSize: 4, chunkStorage: 'buffer' }, async (coffer) => {
      const bucket = await coffer.buckets.create();
      const v = await bucket.objects.put('a', blob(ALPHABET));

      const part = await readAll(await v.stream(3, 10));

      expect(new TextDecoder().decode(part)).toBe('defghij');
      expect(await (await v.slice(-2)).text()).toBe('lm');
    });
  });

  it('stops reading when a stream is cancelled', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const v = await bucket.objects.put('a', blob(ALPHABET));
    const reader = (await v.stream()).getReader();

    const first = await reader.read();
    await reader.cancel();

    expect(first.value!.length).toBeGreaterThan(0);
    expect((await reader.closed.then(() => 'closed')) as string).toBe('closed');
  });
});

describe('dedupe', () => {
  it('links identical content to the existing file instance and keeps one set of chunks', async ({
    coffer,
  }) => {
    const bucket = await coffer.buckets.create();
    const a = await bucket.objects.put('a', blob(ALPHABET));

    const b = await bucket.objects.put('b', blob(ALPHABET));

    expect(b.fileId).toBe(a.fileId);
    expect(await rowCounts(coffer)).toMatchObject({ files: 1, chunks: 4 });
  });

  it('links identical content across buckets', async ({ coffer }) => {
    const one = await coffer.buckets.create();
    const two = await coffer.buckets.create();
    const a = await one.objects.put('a', blob(ALPHABET));

    const b = await two.objects.put('b', streamOf([ALPHABET]));

    expect(b.fileId).toBe(a.fileId);
  });

  it('keeps different content of the same size apart', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a = await bucket.objects.put('a', blob('abcd'));

    const b = await bucket.objects.put('b', blob('abce'));

    expect(b.fileId).not.toBe(a.fileId);
    expect((await rowCounts(coffer)).files).toBe(2);
  });

  it('stores identical content twice when dedupe is off', async () => {
    await withCoffer({ chunkSize: 4, dedupe: false }, async (coffer) => {
      const bucket = await coffer.buckets.create();
      const a = await bucket.objects.put('a', blob(ALPHABET));

      const b = await bucket.objects.put('b', blob(ALPHABET));

      expect(b.fileId).not.toBe(a.fileId);
      expect(await rowCounts(coffer)).toMatchObject({ files: 2, chunks: 8 });
    });
  });

  it('does not link to a file whose last fixity check failed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a = await bucket.objects.put('a', blob(ALPHABET));
    await coffer.context.db.files.update(a.fileId!, { lastCheck: false });

    const b = await bucket.objects.put('b', blob(ALPHABET));

    expect(b.fileId).not.toBe(a.fileId);
    expect(await (await b.blob()).text()).toBe(ALPHABET);
  });

  it('keeps the deduplicated version readable after the first version is removed', async ({ coffer }) => {
    const bucket = await coffer.buckets.create();
    const a = await bucket.objects.put('a', blob(ALPHABET));
    const b = await bucket.objects.put('b', blob(ALPHABET));

    await a.remove();

    expect(await (await b.blob()).text()).toBe(ALPHABET);
  });
});
