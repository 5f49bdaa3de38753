/**
 * A backup a person can read without Coffer (issue 15): unpacked by hand, `md5sum -c` passes
 * in the bag's folder and every current file of every record is under that record's folder, at
 * a path derived from its key; the import reads that layout and the one before it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Coffer } from '@coffer/core';
import { unzipSync } from 'fflate';
import { describe, expect, test } from 'vitest';
import {
  BagPathSet,
  bagSegment,
  keySegments,
  MAX_SEGMENT_BYTES,
} from '../../packages/core/src/model/bagit.js';
import { blob, bytes, caught } from '../helpers/coffer.js';
import { checkBag } from './bagit-checker.js';
import {
  baseOf,
  counts,
  dump,
  editJson,
  fillCoffer,
  headOf,
  it,
  reseal,
  snapshotOf,
  textOf,
  unzip,
} from './transfer-fixtures.js';

/** Keys that file systems, `unzip` or `md5sum` trip over, with the path each must get under `files/`. */
const HARD_KEYS: [key: string, path: string][] = [
  ['report: draft?.txt', 'report_ draft_.txt'],
  ['a<b>c|d"e*f.txt', 'a_b_c_d_e_f.txt'],
  ['back\\slash.txt', 'back_slash.txt'],
  ['tab\there\r.txt', 'tab_here_.txt'],
  ['100% sure.txt', '100_ sure.txt'],
  ['CON', '_CON'],
  ['nul.tar.gz', '_nul.tar.gz'],
  ['com1', '_com1'],
  ['console.txt', 'console.txt'],
  ['trailing dot.', 'trailing dot_'],
  ['trailing space ', 'trailing space_'],
  ['.hidden', '.hidden'],
  ['.../x', '___/x'],
  ['/leading/slash', '_/leading/slash'],
  ['deep/../../../etc/passwd', 'deep/__/__/__/etc/passwd'],
  // Two keys that map to one name: the later is numbered before its extension.
  ['q?.txt', 'q_.txt'],
  ['q*.txt', 'q_~2.txt'],
  // The same file instance under two keys of one record (dedupe).
  ['dup-a.bin', 'dup-a.bin'],
  ['dup-b.bin', 'dup-b.bin'],
];

/** A key of 255 characters whose UTF-8 is 506 bytes: more than any file system takes. */
const LONG_KEY = `${'é'.repeat(251)}.txt`;

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

/** What a coffer to back up holds, by record. */
interface Filled {
  survey: string;
  odd: string;
  loose: string;
  snapshot: string;
  hard: string;
}

/**
 * {@link fillCoffer} (versions, a delete marker, odd keys, a file shared by two records, a
 * bucket no record owns), a snapshot record of the survey, and a record of hard names.
 */
async function fillForBackup(coffer: Coffer): Promise<Filled> {
  const ids = await fillCoffer(coffer);
  const snapshot = await snapshotOf(coffer, ids.survey);
  const hard = await coffer.records.create({ title: 'Hard names' });
  for (const [i, [key]] of HARD_KEYS.entries()) {
    await hard.files!.set(key, key.startsWith('dup-') ? bytes(40, 7) : bytes(3 + i, 100 + i));
  }
  await hard.files!.set(LONG_KEY, blob('long'));
  await hard.files!.set('console.txt', blob('console, second version'));
  return { ...ids, snapshot, hard: hard.id };
}

/** Every head of every record (its key and bytes), read through the API. */
async function headsByRecord(coffer: Coffer): Promise<Map<string, { key: string; bytes: Uint8Array }[]>> {
  const out = new Map<string, { key: string; bytes: Uint8Array }[]>();
  for (const { id } of await coffer.records.list()) {
    const record = await coffer.records.get(id);
    const heads = [];
    for (const version of await record.bucket!.objects.list()) {
      heads.push({ key: version.key, bytes: new Uint8Array(await (await version.blob()).arrayBuffer()) });
    }
    out.set(id, heads);
  }
  return out;
}

/** Unpack a ZIP's entries into a fresh directory, as `unzip` would; returns the directory. */
function unpackWithFflate(zip: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-bag-'));
  for (const [name, data] of Object.entries(unzipSync(zip))) {
    expect(name.split('/')).not.toContain('..');
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  }
  return dir;
}

/** `md5sum -c` (or another coreutils checker) on a manifest, run in the bag's folder: its OK lines. */
function checkWith(tool: 'md5sum' | 'sha256sum', manifest: string, bagDir: string): string[] {
  const out = execFileSync(tool, ['-c', '--strict', manifest], { cwd: bagDir, encoding: 'utf8' });
  const lines = out.split('\n').filter(Boolean);
  expect(lines.filter((line) => !line.endsWith(': OK'))).toEqual([]);
  return lines;
}

/** The bag's one top folder in an unpacked directory. */
const bagFolder = (dir: string, zip: Uint8Array): string => join(dir, baseOf(unzipSync(zip)));

/**
 * The check a person can make by hand: the manifests pass, and every head of every record is
 * under `data/records/<id>/files/` with its bytes, at the path its bucket document names.
 * Returns those paths by record and key.
 */
function checkByHand(
  bagDir: string,
  heads: Map<string, { key: string; bytes: Uint8Array }[]>,
): Map<string, Map<string, string>> {
  const payload = readFileSync(join(bagDir, 'manifest-md5.txt'), 'utf8').split('\n').filter(Boolean);
  expect(checkWith('md5sum', 'manifest-md5.txt', bagDir)).toHaveLength(payload.length);
  if (existsSync(join(bagDir, 'manifest-sha256.txt')))
    expect(checkWith('sha256sum', 'manifest-sha256.txt', bagDir)).toHaveLength(payload.length);
  const found = new Map<string, Map<string, string>>();
  for (const [recordId, recordHeads] of heads) {
    const folder = `data/records/${recordId}/`;
    const bucket = JSON.parse(readFileSync(join(bagDir, folder, 'bucket.json'), 'utf8'));
    const paths = new Map<string, string>();
    for (const { key, bytes: expected } of recordHeads) {
      const version = bucket.versions.find(
        (v: { key: string; isHead: boolean }) => v.isHead && v.key === key,
      );
      expect(version?.path, key).toMatch(new RegExp(`^${folder}files/`));
      const onDisk = readFileSync(join(bagDir, version.path));
      expect(md5(onDisk), `${recordId} ${key}`).toBe(md5(expected));
      paths.set(key, version.path.slice(`${folder}files/`.length));
    }
    found.set(recordId, paths);
  }
  return found;
}

// Filling, exporting and importing a coffer of 4-byte chunks takes seconds on a loaded machine.
describe('a backup read by hand', { timeout: 60_000 }, () => {
  it('passes md5sum -c and holds every head of every record under its record, with fflate and unzip', async ({
    coffer,
  }) => {
    const ids = await fillForBackup(coffer);
    const heads = await headsByRecord(coffer);
    const zip = new Uint8Array(
      await (await coffer.export({ includeVersions: true, sha256: true })).arrayBuffer(),
    );

    const dirs = [unpackWithFflate(zip)];
    try {
      if (existsSync('/usr/bin/unzip')) {
        const dir = mkdtempSync(join(tmpdir(), 'coffer-unzip-'));
        writeFileSync(join(dir, 'backup.zip'), zip);
        execFileSync('unzip', ['-q', 'backup.zip'], { cwd: dir });
        rmSync(join(dir, 'backup.zip'));
        dirs.push(dir);
      }
      for (const dir of dirs) {
        const found = checkByHand(bagFolder(dir, zip), heads);

        expect([...found.keys()].sort()).toEqual([ids.survey, ids.odd, ids.snapshot, ids.hard].sort());
        // The snapshot's heads share the survey's file instances, and are in its own folder.
        expect(Object.fromEntries(found.get(ids.snapshot)!)).toEqual({
          'site.jpg': 'site.jpg',
          'notes.txt': 'notes.txt',
          'empty.bin': 'empty.bin',
        });
        expect(found.get(ids.odd)!.get('copy-of-site.jpg')).toBe('copy-of-site.jpg');
        expect(Object.fromEntries(found.get(ids.odd)!)).toMatchObject({
          '../escape.txt': '__/escape.txt',
          'dir//x': 'dir/_/x',
          './dot': '_/dot',
          '%41 100%': '_41 100_',
          'line\nbreak.txt': 'line_break.txt',
          a: 'a',
          'a/b': 'a~2/b',
          A: 'A~3',
        });
        const hard = found.get(ids.hard)!;
        for (const [key, path] of HARD_KEYS) expect(hard.get(key), key).toBe(path);
        const long = hard.get(LONG_KEY)!;
        expect(Buffer.byteLength(long)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
        expect(long).toMatch(/^é+…\.txt$/);
      }
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shares one file instance among heads but writes it once per head, and older versions once', async ({
    coffer,
  }) => {
    const ids = await fillForBackup(coffer);
    const { db } = coffer.context;
    const hardBucket = (await coffer.records.get(ids.hard)).bucketId!;
    const dups = await db.objects
      .where('bucketId')
      .equals(hardBucket)
      .filter((v) => v.key.startsWith('dup-'))
      .toArray();
    expect(new Set(dups.map((v) => v.fileId)).size).toBe(1);

    const { files, problems } = checkBag(
      new Uint8Array(await (await coffer.export({ includeVersions: true })).arrayBuffer()),
    );

    expect(problems).toEqual([]);
    const holding = (content: Uint8Array) =>
      [...files].filter(([p, b]) => p.startsWith('data/') && md5(b) === md5(content)).map(([p]) => p);
    expect(holding(bytes(40, 7)).sort()).toEqual(
      [`data/records/${ids.hard}/files/dup-a.bin`, `data/records/${ids.hard}/files/dup-b.bin`].sort(),
    );
    expect(holding(bytes(11, 1)).sort()).toEqual(
      [
        `data/records/${ids.survey}/files/site.jpg`,
        `data/records/${ids.odd}/files/copy-of-site.jpg`,
        `data/records/${ids.snapshot}/files/site.jpg`,
      ].sort(),
    );
    // The first draft of notes.txt is an older version only: stored once, under the survey.
    expect(holding(new TextEncoder().encode('first draft'))).toEqual([
      expect.stringMatching(new RegExp(`^data/records/${ids.survey}/versions/[^/]+/notes\\.txt$`)),
    ]);
    const readme = textOf(files.get('README.txt'));
    expect(readme).toContain('md5sum -c manifest-md5.txt');
    expect(readme).toContain('data/records/<record id>/files/<name>');
  });

  it('imports the new layout back exactly, each shared file once, with progress up to the total', async ({
    coffer,
    target,
  }) => {
    await fillForBackup(coffer);
    const before = await dump(coffer);
    const zip = await coffer.export({ includeVersions: true, sha256: true });
    const progress: number[] = [];

    const report = await target.import(zip, {
      onProgress: ({ loaded, total }) => progress.push(loaded / total!),
    });

    const after = await dump(target);
    for (const table of [
      'records',
      'revisions',
      'links',
      'buckets',
      'bucketTags',
      'versions',
      'order',
      'heads',
      'objectTags',
    ] as const)
      expect(after[table], table).toEqual(before[table]);
    expect(after.files.map(({ sha256, lastCheck, lastCheckAt, ...f }) => f)).toEqual(
      before.files.map(({ sha256, lastCheck, lastCheckAt, ...f }) => f),
    );
    expect(after.contents).toEqual(before.contents);
    expect(report.files).toMatchObject({ imported: before.files.length, reused: 0 });
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('still imports a bag of the previous layout (format 1), and exports it readable again', async ({
    target,
  }) => {
    const fixture = readFileSync(new URL('./export-fixtures/bag-v1.zip', import.meta.url));
    const expected = JSON.parse(
      readFileSync(new URL('./export-fixtures/bag-v1.json', import.meta.url), 'utf8'),
    );
    const v1 = unzipSync(fixture);
    const index = JSON.parse(textOf(v1[`${baseOf(v1)}data/coffer.json`]));
    expect(index.formatVersion).toBe(1);

    const report = await target.import(new Blob([fixture]));

    expect(report.records.imported).toBe(3);
    for (const [recordId, keys] of Object.entries(expected.heads as Record<string, Record<string, string>>)) {
      const record = await target.records.get(recordId);
      const listed = Object.fromEntries(
        (await record.bucket!.objects.list()).map((v) => [v.key, v.checksum]),
      );
      expect(listed, recordId).toEqual(keys);
      for (const key of Object.keys(keys)) {
        const { bytes: content, checksum } = await headOf(target, recordId, key);
        expect(`md5:${md5(content)}`).toBe(checksum);
      }
    }
    const heads = await headsByRecord(target);
    const zip = new Uint8Array(await (await target.export({ includeVersions: true })).arrayBuffer());
    const dir = unpackWithFflate(zip);
    try {
      const found = checkByHand(bagFolder(dir, zip), heads);
      expect(found.get(expected.ids.snapshot)!.get('site.jpg')).toBe('site.jpg');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a format 1 bag whose versions name paths', async ({ target }) => {
    const v1 = unzipSync(readFileSync(new URL('./export-fixtures/bag-v1.zip', import.meta.url)));
    const base = baseOf(v1);
    const bucket = Object.keys(v1).find(
      (n) => n.startsWith(`${base}data/records/`) && n.endsWith('/bucket.json'),
    )!;
    const before = await counts(target);

    const error = await caught(() =>
      target.import(
        reseal({
          ...v1,
          [bucket]: editJson(v1[bucket], (json) => {
            const [first] = json.versions as { path?: string }[];
            first!.path = (json.files as { path: string }[])[0]!.path;
          }),
        }),
      ),
    );

    expect(error).toMatchObject({
      code: 'INVALID_BAG',
      reason: 'invalid-document',
      path: bucket.slice(base.length),
    });
    expect(await counts(target)).toEqual(before);
  });
});

describe('import of a hostile format 2 bag', { timeout: 60_000 }, () => {
  /** A good bag of a record and its snapshot: the snapshot's heads are copies. */
  async function snapshotBag(coffer: Coffer) {
    const record = await coffer.records.create({ title: 'Survey' });
    await record.files!.set('site.jpg', bytes(11, 1));
    await record.files!.set('notes.txt', blob('a few notes'));
    const snapshot = await snapshotOf(coffer, record.id);
    const entries = await unzip(await coffer.export({ includeVersions: true }));
    const base = baseOf(entries);
    return {
      entries,
      base,
      copy: `${base}data/records/${snapshot}/files/site.jpg`,
      bucket: `${base}data/records/${snapshot}/bucket.json`,
      own: `${base}data/records/${record.id}/files/site.jpg`,
    };
  }

  const cases: {
    name: string;
    reason: string;
    make: (bag: Awaited<ReturnType<typeof snapshotBag>>) => Blob;
  }[] = [
    {
      name: "a head's copy changed and every manifest forged to match",
      reason: 'checksum-mismatch',
      make: ({ entries, copy }) => {
        const changed = new Uint8Array(entries[copy]!);
        changed[3]! ^= 1;
        return reseal({ ...entries, [copy]: changed });
      },
    },
    {
      name: "a head's copy of another size, forged",
      reason: 'size-mismatch',
      make: ({ entries, copy }) => reseal({ ...entries, [copy]: bytes(12, 1) }),
    },
    {
      name: "a head's copy missing",
      reason: 'missing-file',
      make: ({ entries, copy }) => {
        const { [copy]: _, ...rest } = entries;
        return reseal(rest);
      },
    },
    {
      name: 'a head whose path is in another record’s folder',
      reason: 'invalid-document',
      make: ({ entries, bucket, own, base }) =>
        reseal({
          ...entries,
          [bucket]: editJson(entries[bucket], (json) => {
            const site = (json.versions as { key: string; path: string }[]).find(
              (v) => v.key === 'site.jpg',
            )!;
            site.path = own.slice(base.length);
          }),
        }),
    },
    {
      name: 'a head without a path',
      reason: 'invalid-document',
      make: ({ entries, bucket }) =>
        reseal({
          ...entries,
          [bucket]: editJson(entries[bucket], (json) => {
            delete (json.versions as { path?: string }[])[0]!.path;
          }),
        }),
    },
    {
      name: 'two heads at one path',
      reason: 'invalid-document',
      make: ({ entries, bucket }) =>
        reseal({
          ...entries,
          [bucket]: editJson(entries[bucket], (json) => {
            const [a, b] = json.versions as { path: string }[];
            b!.path = a!.path;
          }),
        }),
    },
    {
      name: 'a head whose path climbs out of the bag',
      reason: 'invalid-document',
      make: ({ entries, bucket, copy, base }) =>
        reseal({
          ...entries,
          [bucket]: editJson(entries[bucket], (json) => {
            const site = (json.versions as { key: string; path: string }[]).find(
              (v) => v.key === 'site.jpg',
            )!;
            site.path = `${copy.slice(base.length, -'site.jpg'.length)}../../../evil.txt`;
          }),
        }),
    },
  ];

  it.for(cases)('refuses $name and changes nothing', async ({ reason, make }, { coffer, target }) => {
    const bag = await snapshotBag(coffer);
    const before = await counts(target);

    const error = await caught(() => target.import(make(bag)));

    expect(error).toMatchObject({ name: 'InvalidBagError', code: 'INVALID_BAG', reason });
    expect(await counts(target)).toEqual(before);
  });

  it('accepts the good bag', async ({ coffer, target }) => {
    const bag = await snapshotBag(coffer);

    const report = await target.import(reseal(bag.entries));

    expect(report).toMatchObject({ records: { imported: 2 }, files: { imported: 2 } });
  });
});

describe('names in a bag', () => {
  test.each([
    ['plain name.txt', 'plain name.txt'],
    ['', '_'],
    ['.', '_'],
    ['..', '__'],
    ['a:b', 'a_b'],
    ['50%', '50_'],
    ['\u0085next line', '_next line'],
    ['LPT9.log', '_LPT9.log'],
    ['Aux', '_Aux'],
    ['auxiliary', 'auxiliary'],
    ['ñandú 北京 😀', 'ñandú 北京 😀'],
  ])('maps %j to %j', (segment, name) => {
    expect(bagSegment(segment)).toBe(name);
  });

  test('cuts a long name at a character, keeping its extension', () => {
    const name = bagSegment(`${'😀'.repeat(100)}.jpeg`);

    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(name).toMatch(/^(😀)+…\.jpeg$/u);
    expect(bagSegment('x'.repeat(300))).toBe(`${'x'.repeat(MAX_SEGMENT_BYTES - 3)}…`);
  });

  test('numbers names that collide by case, normalization, or file against folder', () => {
    const paths = new BagPathSet();
    const claim = (key: string) => paths.claimFile('data/records/r/files/', keySegments(key));

    expect(claim('photo.JPG')).toBe('data/records/r/files/photo.JPG');
    expect(claim('Photo.jpg')).toBe('data/records/r/files/Photo~2.jpg');
    expect(claim('caf\u00e9')).toBe('data/records/r/files/caf\u00e9');
    expect(claim('cafe\u0301')).toBe('data/records/r/files/cafe\u0301~2');
    expect(claim('x/y')).toBe('data/records/r/files/x/y');
    expect(claim('x')).toBe('data/records/r/files/x~2');
    expect(claim('x/z')).toBe('data/records/r/files/x/z');
    expect(claim('y')).toBe('data/records/r/files/y');
    expect(claim('y/z')).toBe('data/records/r/files/y~2/z');
    expect(claim('y/w')).toBe('data/records/r/files/y~2/w');
    expect(claim('Photo~2.jpg')).toBe('data/records/r/files/Photo~2~2.jpg');
  });
});
