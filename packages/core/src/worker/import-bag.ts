import { createMD5, createSHA1, createSHA256, createSHA512, type IHasher } from 'hash-wasm';
import { type BagProblem, InvalidArgumentError, InvalidBagError, throwIfAborted } from '../errors.js';
import { type FileId, newId } from '../ids.js';
import {
  BAG_INDEX_PATH,
  type BagBucket,
  type BagFile,
  type BagRecord,
  readBagBucket,
  readBagIndex,
  readBagRecord,
} from '../model/bag-documents.js';
import {
  type BagAlgorithm,
  checkDeclaration,
  manifestAlgorithm,
  parseManifest,
  parseTagFields,
} from '../model/bagit.js';
import type { CofferDb } from '../storage/schema.js';
import { discardStaged } from '../storage/transfer.js';
import type { ByteSource, ImportBagRequest, OperationHooks, StagedFile, StagedImport } from './protocol.js';
import { ingestFile } from './write-data.js';
import {
  chunksOf,
  entryDataStart,
  entryStream,
  readEntry,
  readZipDirectory,
  type ZipEntry,
} from './zip-reader.js';

/** The largest tag file or JSON document read into memory. */
const SMALL_ENTRY_LIMIT = 256 * 1024 * 1024;

const HASHERS: Record<BagAlgorithm, () => Promise<IHasher>> = {
  md5: createMD5,
  sha1: createSHA1,
  sha256: createSHA256,
  sha512: createSHA512,
};

const fail = (
  reason: BagProblem,
  message: string,
  path?: string,
  context: { expected?: unknown; actual?: unknown } = {},
): never => {
  throw new InvalidBagError(reason, message, { ...context, ...(path === undefined ? {} : { path }) });
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Digests = Partial<Record<BagAlgorithm, string>>;

async function digestBytes(bytes: Uint8Array, algorithms: Iterable<BagAlgorithm>): Promise<Digests> {
  const out: Digests = {};
  for (const algorithm of algorithms) {
    const hasher = await HASHERS[algorithm]();
    hasher.update(bytes);
    out[algorithm] = hasher.digest('hex');
  }
  return out;
}

/** `stream` passed through unchanged, feeding `hashers` on the way. */
function hashing(
  stream: ReadableStream<Uint8Array>,
  hashers: Map<BagAlgorithm, IHasher>,
): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        for (const hasher of hashers.values()) hasher.update(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
}

/** The archive's entries by their path inside the bag, found in the root or in one top directory. */
function locateBag(entries: ZipEntry[]): Map<string, ZipEntry> {
  const files = entries.filter((e) => !e.directory);
  let base = '';
  if (!files.some((e) => e.name === 'bagit.txt')) {
    const tops = new Set(entries.map((e) => e.name.split('/')[0] as string));
    const [top] = tops;
    if (tops.size !== 1 || !files.some((e) => e.name === `${top}/bagit.txt`)) {
      fail('not-a-bag', 'The archive holds no bag: bagit.txt is missing.', 'bagit.txt');
    }
    base = `${top}/`;
  }
  return new Map(files.map((e) => [e.name.slice(base.length), e]));
}

/**
 * Verify a bag completely and write its file bytes as unreadable file instances:
 * - the ZIP's structure, paths, sizes and compression ratios (`readZipDirectory`);
 * - `bagit.txt`; every tag manifest against the tag files;
 * - every payload manifest: each payload file listed, each listed file present;
 * - Payload-Oxum; every JSON document against every manifest, then its shape;
 * - every file's bytes against every manifest and its CRC, while they are written.
 * On any failure the bytes written so far are deleted. Nothing becomes visible here: the
 * caller commits the staged import in one transaction.
 *
 * @throws {InvalidBagError} with the `reason` of the first check that failed.
 * @throws {AbortError} when `signal` fires.
 */
export async function importBag(
  db: CofferDb,
  request: ImportBagRequest,
  { signal, onProgress }: OperationHooks = {},
): Promise<StagedImport> {
  const blob = request.source;
  if (!(blob instanceof Blob)) {
    throw Object.assign(new InvalidArgumentError('An import needs a Blob or File.'), { argument: 'source' });
  }
  throwIfAborted(signal);
  const entries = await readZipDirectory(blob, request);
  const bag = locateBag(entries);
  const cache = new Map<string, Uint8Array>();
  const bytesOf = async (path: string): Promise<Uint8Array> => {
    const entry = bag.get(path);
    if (!entry) return fail('missing-file', `The bag lacks ${path}.`, path);
    const cached = cache.get(path);
    if (cached) return cached;
    const bytes = await readEntry(blob, entry, SMALL_ENTRY_LIMIT);
    if (!path.startsWith('data/')) cache.set(path, bytes);
    return bytes;
  };
  const textOf = async (path: string, reason: BagProblem): Promise<string> => {
    try {
      return utf8.decode(await bytesOf(path));
    } catch (error) {
      if (error instanceof InvalidBagError) throw error;
      return fail(reason, `${path} is not UTF-8.`, path);
    }
  };

  checkDeclaration(await textOf('bagit.txt', 'not-a-bag'));

  const topLevel = [...bag.keys()].filter((path) => !path.includes('/'));
  const tagManifests = topLevel.filter((path) => path.startsWith('tagmanifest-'));
  if (!tagManifests.includes('tagmanifest-md5.txt'))
    fail('missing-file', 'The bag lacks tagmanifest-md5.txt.', 'tagmanifest-md5.txt');
  for (const name of tagManifests) {
    const algorithm =
      manifestAlgorithm(name) ?? fail('invalid-tag-file', `${name} names an unsupported algorithm.`, name);
    for (const [path, expected] of parseManifest(await textOf(name, 'invalid-tag-file'), algorithm, name)) {
      if (path.startsWith('data/') || path.startsWith('tagmanifest-'))
        fail('invalid-tag-file', `${name} lists ${path}.`, name);
      const actual = (await digestBytes(await bytesOf(path), [algorithm]))[algorithm];
      if (actual !== expected)
        fail('checksum-mismatch', `${path} fails ${name}.`, path, { expected, actual });
    }
  }

  const manifests = new Map<BagAlgorithm, Map<string, string>>();
  for (const name of topLevel.filter((path) => path.startsWith('manifest-'))) {
    const algorithm =
      manifestAlgorithm(name) ?? fail('invalid-tag-file', `${name} names an unsupported algorithm.`, name);
    manifests.set(algorithm, parseManifest(await textOf(name, 'invalid-tag-file'), algorithm, name));
  }
  if (!manifests.has('md5')) fail('missing-file', 'The bag lacks manifest-md5.txt.', 'manifest-md5.txt');
  const payload = [...bag.keys()].filter((path) => path.startsWith('data/'));
  for (const [algorithm, listing] of manifests) {
    for (const path of listing.keys()) {
      if (!path.startsWith('data/'))
        fail('invalid-tag-file', `manifest-${algorithm}.txt lists a file outside data/.`, path);
      if (!bag.has(path)) fail('missing-file', `The payload lacks ${path}.`, path);
    }
    for (const path of payload) {
      if (!listing.has(path)) fail('extra-file', `${path} is not in manifest-${algorithm}.txt.`, path);
    }
  }

  const info = parseTagFields(await textOf('bag-info.txt', 'invalid-tag-file'), 'bag-info.txt');
  const oxums = info.filter(([label]) => label === 'Payload-Oxum').map(([, value]) => value);
  const declared = oxums.length === 1 ? /^(\d+)\.(\d+)$/.exec(oxums[0] as string) : null;
  if (!declared) fail('payload-oxum', 'bag-info.txt needs one Payload-Oxum.', 'bag-info.txt');
  const octets = payload.reduce((sum, path) => sum + (bag.get(path) as ZipEntry).size, 0);
  if (Number(declared?.[1]) !== octets || Number(declared?.[2]) !== payload.length) {
    fail('payload-oxum', 'The payload does not match its Payload-Oxum.', 'bag-info.txt', {
      expected: oxums[0],
      actual: `${octets}.${payload.length}`,
    });
  }

  const verify = (path: string, digests: Digests) => {
    for (const [algorithm, listing] of manifests) {
      const expected = listing.get(path);
      if (digests[algorithm] !== expected) {
        fail('checksum-mismatch', `${path} fails manifest-${algorithm}.txt.`, path, {
          expected,
          actual: digests[algorithm],
        });
      }
    }
  };
  const readDocument = async (path: string): Promise<unknown> => {
    throwIfAborted(signal);
    const bytes = await bytesOf(path);
    verify(path, await digestBytes(bytes, manifests.keys()));
    try {
      return JSON.parse(utf8.decode(bytes));
    } catch (cause) {
      throw new InvalidBagError('invalid-document', `${path} is not JSON.`, { path, cause });
    }
  };

  const index = readBagIndex(await readDocument(BAG_INDEX_PATH));
  const records: BagRecord[] = [];
  for (const path of index.records) records.push(readBagRecord(await readDocument(path), path));
  const buckets: BagBucket[] = [];
  for (const path of index.buckets) buckets.push(readBagBucket(await readDocument(path), path));
  const files = crossCheck(index.records, index.buckets, records, buckets, new Set(payload));

  const staged: StagedFile[] = [];
  const written: FileId[] = [];
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let done = 0;
  try {
    for (const file of files) {
      throwIfAborted(signal);
      const entry = bag.get(file.path) as ZipEntry;
      if (entry.size !== file.size) {
        fail('size-mismatch', `${file.path} does not have the size its bucket says.`, file.path, {
          expected: file.size,
          actual: entry.size,
        });
      }
      if (`md5:${manifests.get('md5')?.get(file.path)}` !== file.checksum) {
        fail('checksum-mismatch', `${file.path} does not have the checksum its bucket says.`, file.path, {
          expected: file.checksum,
        });
      }
      const start = await entryDataStart(blob, entry);
      const wantSha256 = request.sha256 || manifests.has('sha256') || file.sha256 !== null;
      const others = new Map<BagAlgorithm, IHasher>();
      for (const algorithm of manifests.keys()) {
        if (algorithm !== 'md5' && algorithm !== 'sha256') others.set(algorithm, await HASHERS[algorithm]());
      }
      const source: ByteSource =
        entry.method === 0 && others.size === 0
          ? blob.slice(start, start + entry.size)
          : hashing(entryStream(blob, entry, start), others);

      const existing = await db.files.get(file.id as FileId);
      const identical =
        existing?.readable === 1 &&
        existing.size === file.size &&
        existing.checksum === file.checksum &&
        (existing.sha256 === null || file.sha256 === null || existing.sha256 === file.sha256);
      const fileId = existing && !identical ? newId<FileId>() : (file.id as FileId);
      const hooks = {
        signal,
        onProgress: (p: { loaded: number }) => onProgress?.({ loaded: done + p.loaded, total }),
      };
      let digests: Digests;
      if (identical) {
        const own = new Map<BagAlgorithm, IHasher>([['md5', await createMD5()]]);
        if (wantSha256) own.set('sha256', await createSHA256());
        for await (const chunk of chunksOf(
          source instanceof Blob ? source.stream() : (source as ReadableStream<Uint8Array>),
        )) {
          throwIfAborted(signal);
          for (const hasher of own.values()) hasher.update(chunk);
        }
        digests = Object.fromEntries(
          [...own].map(([algorithm, hasher]) => [algorithm, hasher.digest('hex')]),
        );
      } else {
        written.push(fileId);
        const result = await ingestFile(
          db,
          {
            fileId,
            location: request.location,
            source,
            chunkSize: request.chunkSize,
            chunkStorage: request.chunkStorage,
            inlineBelow: request.inlineBelow,
            sha256: wantSha256,
            expectedSize: file.size,
          },
          hooks,
        );
        digests = {
          md5: result.checksum.slice(4),
          ...(result.sha256 ? { sha256: result.sha256.slice(7) } : {}),
        };
      }
      for (const [algorithm, hasher] of others) digests[algorithm] = hasher.digest('hex');
      verify(file.path, digests);
      const sha256 = digests.sha256 === undefined ? null : `sha256:${digests.sha256}`;
      if (file.sha256 !== null && sha256 !== file.sha256) {
        fail('checksum-mismatch', `${file.path} does not have the sha256 its bucket says.`, file.path, {
          expected: file.sha256,
          actual: sha256,
        });
      }
      staged.push({
        bagId: file.id,
        fileId,
        written: !identical,
        size: file.size,
        checksum: file.checksum,
        sha256,
        lastCheck: file.lastCheck,
        lastCheckAt: file.lastCheckAt === null ? null : Date.parse(file.lastCheckAt),
        created: Date.parse(file.created),
      });
      done += file.size;
      onProgress?.({ loaded: done, total });
    }
  } catch (error) {
    await discardStaged(db, written);
    throw error;
  }
  return { index, records, buckets, files: staged };
}

/**
 * The checks across documents: ids distinct, buckets named by records present, a file instance
 * the same wherever it appears, and every payload path used by exactly one document or file.
 * Returns the distinct file instances.
 */
function crossCheck(
  recordPaths: string[],
  bucketPaths: string[],
  records: BagRecord[],
  buckets: BagBucket[],
  payload: Set<string>,
): BagFile[] {
  const invalid = (message: string, path?: string): never => fail('invalid-document', message, path);
  const bucketIds = new Set(buckets.map((b) => b.id));
  if (bucketIds.size !== buckets.length) invalid('Two buckets have the same id.');
  if (new Set(records.map((r) => r.id)).size !== records.length) invalid('Two records have the same id.');
  records.forEach((record, i) => {
    for (const id of record.buckets)
      if (!bucketIds.has(id)) invalid(`Record ${record.id} names a bucket the bag lacks.`, recordPaths[i]);
  });
  const versionIds = new Set<string>();
  const files = new Map<string, BagFile>();
  buckets.forEach((bucket, i) => {
    for (const version of bucket.versions) {
      if (versionIds.has(version.versionId))
        invalid(`Version ${version.versionId} appears twice.`, bucketPaths[i]);
      versionIds.add(version.versionId);
    }
    for (const file of bucket.files) {
      const seen = files.get(file.id);
      if (!seen) files.set(file.id, file);
      else if (
        seen.size !== file.size ||
        seen.checksum !== file.checksum ||
        seen.sha256 !== file.sha256 ||
        seen.path !== file.path
      ) {
        invalid(`File ${file.id} is described two ways.`, bucketPaths[i]);
      }
    }
  });
  const used = new Set<string>();
  for (const path of [
    BAG_INDEX_PATH,
    ...recordPaths,
    ...bucketPaths,
    ...[...files.values()].map((f) => f.path),
  ]) {
    if (used.has(path)) invalid(`${path} is used twice.`, path);
    if (!payload.has(path)) fail('missing-file', `The payload lacks ${path}.`, path);
    used.add(path);
  }
  for (const path of payload)
    if (!used.has(path)) fail('extra-file', `${path} belongs to no record or bucket.`, path);
  return [...files.values()];
}
