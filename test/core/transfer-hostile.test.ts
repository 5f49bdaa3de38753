import type { Coffer } from '@coffer/core';
import { type Unzipped, zipSync } from 'fflate';
import { describe, expect } from 'vitest';
import { blob, bytes, caught, dispose, freshCoffer } from '../helpers/coffer.js';
import {
  baseOf,
  centralHeaders,
  counts,
  it,
  reseal,
  retag,
  rezip,
  unzip,
  zipWithDuplicates,
} from './transfer-fixtures.js';

/** What a hostile case starts from: a good bag, its bytes and entries, and where a file is. */
interface Bag {
  zip: Blob;
  raw: Uint8Array;
  entries: Unzipped;
  base: string;
  /** The entry name of the 11-byte file `site.jpg`. */
  site: string;
  /** The entry name of the record's `record.json`. */
  record: string;
}

async function goodBag(coffer: Coffer): Promise<Bag> {
  const record = await coffer.records.create({ title: 'Survey', $schema: 'urn:survey' });
  await record.files!.set('site.jpg', bytes(11, 1));
  await record.files!.set('notes.txt', blob('a few notes'));
  const zip = await coffer.export({ includeVersions: true });
  const entries = await unzip(zip);
  const base = baseOf(entries);
  return {
    zip,
    raw: new Uint8Array(await zip.arrayBuffer()),
    entries,
    base,
    site: `${base}data/records/${record.id}/files/site.jpg`,
    record: `${base}data/records/${record.id}/record.json`,
  };
}

const text = (data: Uint8Array | undefined) => new TextDecoder().decode(data);
const encode = (value: string) => new TextEncoder().encode(value);
const without = (entries: Unzipped, name: string): Unzipped => {
  const { [name]: _, ...rest } = entries;
  return rest;
};
const flipped = (data: Uint8Array, at = 0): Uint8Array<ArrayBuffer> => {
  const copy = new Uint8Array(data);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
};
const editJson = (data: Uint8Array | undefined, edit: (json: Record<string, unknown>) => void) => {
  const json = JSON.parse(text(data));
  edit(json);
  return encode(JSON.stringify(json));
};
const indexOf = (haystack: Uint8Array, needle: Uint8Array): number => {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
};

/** The bag with the bucket document beside its record document edited by `edit`, resealed. */
const editBucketDocument = (
  { entries, record }: Bag,
  edit: (json: Record<string, unknown>) => void,
): Blob => {
  const bucket = record.replace(/record\.json$/, 'bucket.json');
  return reseal({ ...entries, [bucket]: editJson(entries[bucket], edit) });
};

interface HostileCase {
  name: string;
  reason: string;
  make: (bag: Bag) => Blob;
  options?: { maxSize?: number; maxRatio?: number };
}

const cases: HostileCase[] = [
  { name: 'a file that is not a ZIP', reason: 'not-zip', make: () => blob('just some text, not an archive') },
  { name: 'an empty file', reason: 'not-zip', make: () => new Blob([]) },
  { name: 'a ZIP cut short at the end', reason: 'truncated', make: ({ zip }) => zip.slice(0, zip.size - 30) },
  {
    name: 'a ZIP cut in half',
    reason: 'truncated',
    make: ({ zip }) => zip.slice(0, Math.floor(zip.size / 2)),
  },
  {
    name: 'a byte flipped inside a stored file',
    reason: 'checksum-mismatch',
    make: ({ raw }) => new Blob([flipped(raw, indexOf(raw, bytes(11, 1)) + 5) as Uint8Array<ArrayBuffer>]),
  },
  {
    name: 'a file changed and re-zipped with fresh CRCs',
    reason: 'checksum-mismatch',
    make: ({ entries, site }) => rezip({ ...entries, [site]: flipped(entries[site] as Uint8Array, 10) }),
  },
  {
    name: 'a file changed and every manifest forged to match',
    reason: 'checksum-mismatch',
    make: ({ entries, site }) => reseal({ ...entries, [site]: flipped(entries[site] as Uint8Array, 10) }),
  },
  {
    name: 'a missing payload file',
    reason: 'missing-file',
    make: ({ entries, site }) => rezip(without(entries, site)),
  },
  {
    name: 'an extra payload file',
    reason: 'extra-file',
    make: ({ entries, base }) => rezip({ ...entries, [`${base}data/extra.txt`]: encode('smuggled') }),
  },
  {
    name: 'an extra payload file listed in forged manifests',
    reason: 'extra-file',
    make: ({ entries, base }) => reseal({ ...entries, [`${base}data/extra.txt`]: encode('smuggled') }),
  },
  {
    name: 'a path that climbs out with ..',
    reason: 'unsafe-path',
    make: ({ entries, base }) => rezip({ ...entries, [`${base}data/../../evil.txt`]: encode('x') }),
  },
  {
    name: 'an absolute path',
    reason: 'unsafe-path',
    make: ({ entries }) => rezip({ ...entries, '/etc/evil.txt': encode('x') }),
  },
  {
    name: 'a path with a drive letter and backslashes',
    reason: 'unsafe-path',
    make: ({ entries }) => rezip({ ...entries, 'C:\\Windows\\evil.txt': encode('x') }),
  },
  {
    name: 'an entry that appears twice',
    reason: 'duplicate-entry',
    make: ({ entries, site }) =>
      zipWithDuplicates([...Object.entries(entries), [site, encode('other bytes')]]),
  },
  {
    name: 'an entry whose central directory size differs from its local header',
    reason: 'size-mismatch',
    make: ({ raw, base }) => {
      const copy = raw.slice();
      const at = centralHeaders(copy).get(`${base}bagit.txt`) as number;
      const view = new DataView(copy.buffer);
      view.setUint32(at + 20, view.getUint32(at + 20, true) - 1, true);
      view.setUint32(at + 24, view.getUint32(at + 24, true) - 1, true);
      return new Blob([copy]);
    },
  },
  {
    name: 'a deflated entry that inflates to another size than both headers say',
    reason: 'size-mismatch',
    make: ({ entries, base }) => {
      const zip = zipSync(entries, { level: 6 });
      const at = centralHeaders(zip).get(`${base}bag-info.txt`) as number;
      const view = new DataView(zip.buffer);
      const local = view.getUint32(at + 42, true);
      view.setUint32(at + 24, view.getUint32(at + 24, true) + 1, true);
      view.setUint32(local + 22, view.getUint32(local + 22, true) + 1, true);
      return new Blob([zip as Uint8Array<ArrayBuffer>]);
    },
  },
  {
    name: 'an end record that declares fewer entries than the central directory holds',
    reason: 'unsupported-zip',
    make: ({ entries, base }) => {
      const zip = zipSync({ ...entries, [`${base}data/smuggled.txt`]: encode('hidden') }, { level: 0 });
      const view = new DataView(zip.buffer);
      const end = zip.length - 22;
      view.setUint16(end + 8, view.getUint16(end + 8, true) - 1, true);
      view.setUint16(end + 10, view.getUint16(end + 10, true) - 1, true);
      return new Blob([zip as Uint8Array<ArrayBuffer>]);
    },
  },
  {
    name: 'a compression bomb',
    reason: 'compression-ratio',
    make: ({ entries, base }) =>
      new Blob([
        zipSync({
          ...entries,
          [`${base}data/zeros.bin`]: [new Uint8Array(8 * 1024 * 1024), { level: 9 }],
        }) as Uint8Array<ArrayBuffer>,
      ]),
  },
  {
    name: 'an archive larger than the size limit',
    reason: 'too-large',
    make: ({ zip }) => zip,
    options: { maxSize: 1000 },
  },
  {
    name: 'a bag without bagit.txt',
    reason: 'not-a-bag',
    make: ({ entries, base }) => rezip(without(entries, `${base}bagit.txt`)),
  },
  {
    name: 'a bag of another BagIt version',
    reason: 'not-a-bag',
    make: ({ entries, base }) =>
      retag({
        ...entries,
        [`${base}bagit.txt`]: encode('BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n'),
      }),
  },
  {
    name: 'a tag file changed without its tag manifest',
    reason: 'checksum-mismatch',
    make: ({ entries, base }) =>
      rezip({
        ...entries,
        [`${base}bag-info.txt`]: encode(`${text(entries[`${base}bag-info.txt`])}Contact-Name: Mallory\n`),
      }),
  },
  {
    name: 'a bag without a tag manifest',
    reason: 'missing-file',
    make: ({ entries, base }) => rezip(without(entries, `${base}tagmanifest-md5.txt`)),
  },
  {
    name: 'a wrong Payload-Oxum',
    reason: 'payload-oxum',
    make: ({ entries, base }) =>
      retag({
        ...entries,
        [`${base}bag-info.txt`]: encode(
          text(entries[`${base}bag-info.txt`]).replace(/Payload-Oxum: \d+/, 'Payload-Oxum: 1'),
        ),
      }),
  },
  {
    name: 'a manifest line that is not "checksum path"',
    reason: 'invalid-tag-file',
    make: ({ entries, base }) =>
      retag({
        ...entries,
        [`${base}manifest-md5.txt`]: encode(`${text(entries[`${base}manifest-md5.txt`])}garbage\n`),
      }),
  },
  {
    name: 'a record document that is not JSON',
    reason: 'invalid-document',
    make: ({ entries, record }) => reseal({ ...entries, [record]: encode('{ "id": ') }),
  },
  {
    name: 'a record document with a negative revision',
    reason: 'invalid-document',
    make: ({ entries, record }) =>
      reseal({ ...entries, [record]: editJson(entries[record], (json) => (json.revisionId = -1)) }),
  },
  {
    name: 'a bucket document with a key holding NUL',
    reason: 'invalid-document',
    make: (bag) =>
      editBucketDocument(bag, (json) => {
        (json.versions as { key: string }[])[0]!.key = 'a\u0000b';
      }),
  },
  {
    name: 'a bucket document with two heads for one key',
    reason: 'invalid-document',
    make: (bag) =>
      editBucketDocument(bag, (json) => {
        for (const version of json.versions as { key: string }[]) version.key = 'same.txt';
      }),
  },
];

describe('import of a hostile archive', { timeout: 30_000 }, () => {
  it.for(cases)(
    'refuses $name with a typed error and changes nothing',
    async ({ reason, make, options }, { coffer, target }) => {
      const bag = await goodBag(coffer);
      const before = await counts(target);

      const error = await caught(() => target.import(make(bag), options));

      expect(error).toMatchObject({ name: 'InvalidBagError', code: 'INVALID_BAG', reason });
      expect(await counts(target)).toEqual(before);
    },
  );

  it('names the entry and both checksums when a file fails its manifest', async ({ coffer, target }) => {
    const bag = await goodBag(coffer);

    const error = await caught(() =>
      target.import(reseal({ ...bag.entries, [bag.site]: flipped(bag.entries[bag.site] as Uint8Array) })),
    );

    expect(error).toMatchObject({
      reason: 'checksum-mismatch',
      path: bag.site.slice(bag.base.length),
      expected: expect.stringMatching(/^md5:/),
    });
  });

  it('refuses a record that fails its JSON Schema, changing nothing', async ({ coffer }) => {
    const bag = await goodBag(coffer);
    const strict = await freshCoffer({
      schemas: { 'urn:survey': { type: 'object', properties: { title: { type: 'number' } } } },
    });
    try {
      const before = await counts(strict);

      const error = await caught(() => strict.import(bag.zip));

      expect(error).toMatchObject({ code: 'VALIDATION_FAILED', recordId: expect.any(String) });
      expect(await counts(strict)).toEqual(before);
    } finally {
      await dispose(strict);
    }
  });

  it('accepts the same bag once its forged parts are gone', async ({ coffer, target }) => {
    const bag = await goodBag(coffer);

    const report = await target.import(rezip(bag.entries));

    expect(report.records.imported).toBe(1);
  });
});
