import { createMD5, createSHA1, createSHA256, createSHA512, type IHasher } from 'hash-wasm';
import {
  type BagProblem,
  type ErrorContext,
  IntegrityError,
  InvalidArgumentError,
  InvalidBagError,
  throwIfAborted,
} from '../errors.js';
import { type FileId, newId } from '../ids.js';
import {
  BAG_INDEX_PATH,
  type BagBucket,
  type BagCopy,
  type BagDocuments,
  type BagFile,
  type BagRecord,
  checkBagReferences,
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
import type { CofferDb, FileRow } from '../storage/schema.js';
import { discardStaged, sameFile } from '../storage/transfer.js';
import type { ByteSource, ImportBagRequest, OperationHooks, StagedFile, StagedImport } from './protocol.js';
import { digestData, ingestFile } from './write-data.js';
import {
  chunksOf,
  entryDataStart,
  entryStream,
  readEntry,
  readZipDirectory,
  type ZipEntry,
} from './zip-reader.js';

/**
 * The most bytes the tag files and JSON documents of a bag may expand to, all together. They
 * are read one at a time (tag files Coffer does not parse are streamed), but the documents'
 * contents stay in memory until the commit. Enough for the metadata of some 200,000 files.
 */
export const METADATA_LIMIT = 128 * 1024 * 1024;

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
  context: Pick<ErrorContext, 'expected' | 'actual' | 'limit'> = {},
): never => {
  throw new InvalidBagError(reason, message, { ...context, ...(path === undefined ? {} : { path }) });
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Digests = Partial<Record<BagAlgorithm, string>>;
type Manifests = Map<BagAlgorithm, Map<string, string>>;

async function hashersFor(algorithms: Iterable<BagAlgorithm>): Promise<Map<BagAlgorithm, IHasher>> {
  const hashers = new Map<BagAlgorithm, IHasher>();
  for (const algorithm of algorithms) hashers.set(algorithm, await HASHERS[algorithm]());
  return hashers;
}

const digestsOf = (hashers: Map<BagAlgorithm, IHasher>): Digests =>
  Object.fromEntries([...hashers].map(([algorithm, hasher]) => [algorithm, hasher.digest('hex')]));

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
 * The entries of a bag, read with the metadata bound: every tag file counts against
 * {@link METADATA_LIMIT} from the start, and every JSON document as it is read.
 */
class BagEntries {
  private metadata = 0;

  private constructor(
    private readonly blob: Blob,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  static async open(blob: Blob, request: ImportBagRequest): Promise<BagEntries> {
    const bag = new BagEntries(blob, locateBag(await readZipDirectory(blob, request)));
    for (const [path, entry] of bag.entries) if (!path.startsWith('data/')) bag.charge(entry);
    return bag;
  }

  paths(): string[] {
    return [...this.entries.keys()];
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  entry(path: string): ZipEntry {
    return this.entries.get(path) ?? fail('missing-file', `The bag lacks ${path}.`, path);
  }

  /** A tag file as text. */
  async text(path: string, reason: BagProblem): Promise<string> {
    try {
      return utf8.decode(await readEntry(this.blob, this.entry(path), METADATA_LIMIT));
    } catch (error) {
      if (error instanceof InvalidBagError) throw error;
      return fail(reason, `${path} is not UTF-8.`, path);
    }
  }

  /** A JSON document's bytes, counted against the metadata bound. */
  async document(path: string): Promise<Uint8Array> {
    const entry = this.entry(path);
    this.charge(entry);
    return readEntry(this.blob, entry, METADATA_LIMIT);
  }

  /** An entry's digests, streamed: its bytes are never held whole. */
  async digest(path: string, algorithms: Iterable<BagAlgorithm>): Promise<Digests> {
    const hashers = await hashersFor(algorithms);
    for await (const _ of chunksOf(hashing(await this.stream(path), hashers)));
    return digestsOf(hashers);
  }

  async stream(path: string): Promise<ReadableStream<Uint8Array>> {
    const entry = this.entry(path);
    return entryStream(this.blob, entry, await entryDataStart(this.blob, entry));
  }

  /** A stored entry's bytes as a Blob slice (no copy). */
  async slice(path: string): Promise<Blob> {
    const entry = this.entry(path);
    const start = await entryDataStart(this.blob, entry);
    return this.blob.slice(start, start + entry.size);
  }

  private charge(entry: ZipEntry): void {
    this.metadata += entry.size;
    if (this.metadata > METADATA_LIMIT) {
      fail(
        'too-large',
        `The bag's tag files and documents expand to more than ${METADATA_LIMIT} bytes.`,
        entry.name,
        { limit: METADATA_LIMIT, actual: this.metadata },
      );
    }
  }
}

/**
 * Verify a bag completely and write its file bytes as unreadable file instances:
 * 1. the ZIP's structure, paths, sizes and compression ratios (`readZipDirectory`), and the
 *    bound on its metadata ({@link METADATA_LIMIT});
 * 2. `bagit.txt`; every tag manifest against the tag files;
 * 3. every payload manifest: each payload file listed, each listed file present;
 * 4. Payload-Oxum;
 * 5. every JSON document against every manifest, then its shape, then the references across
 *    documents;
 * 6. every head's own copy of a file instance (format 2) against every manifest, its CRC and
 *    its file instance's size and checksums, read but not written;
 * 7. every file's bytes against every manifest and its CRC, while they are written.
 * Format 1 bags (each file instance stored once, no copies) are read the same way. On any failure the bytes written so far are deleted. Nothing becomes visible here: the
 * caller commits the staged import in one transaction.
 *
 * @throws {InvalidBagError} with the `reason` of the first check that failed.
 * @throws {AbortError} when `signal` fires.
 */
export async function importBag(
  db: CofferDb,
  request: ImportBagRequest,
  hooks: OperationHooks = {},
): Promise<StagedImport> {
  const blob = request.source;
  if (!(blob instanceof Blob)) {
    throw new InvalidArgumentError('An import needs a Blob or File.', { argument: 'source' });
  }
  throwIfAborted(hooks.signal);
  const bag = await BagEntries.open(blob, request);
  await checkTagFiles(bag);
  const manifests = await readManifests(bag);
  await checkPayloadOxum(bag);
  const documents = await readDocuments(bag, manifests, hooks.signal);
  const payload = new Set(bag.paths().filter((path) => path.startsWith('data/')));
  const { files, copies } = checkBagReferences(documents, payload);
  const progress = new Progress(
    [...files, ...copies.map((c) => c.file)].reduce((sum, f) => sum + f.size, 0),
    hooks.onProgress,
  );
  await verifyCopies(bag, manifests, copies, progress, hooks.signal);
  return { ...documents, files: await stageFiles(db, bag, manifests, files, request, hooks, progress) };
}

/** The bag declaration, and every tag file against every tag manifest (`tagmanifest-md5.txt` required). */
async function checkTagFiles(bag: BagEntries): Promise<void> {
  checkDeclaration(await bag.text('bagit.txt', 'not-a-bag'));
  const tagManifests = bag.paths().filter((path) => !path.includes('/') && path.startsWith('tagmanifest-'));
  if (!tagManifests.includes('tagmanifest-md5.txt'))
    fail('missing-file', 'The bag lacks tagmanifest-md5.txt.', 'tagmanifest-md5.txt');
  for (const name of tagManifests) {
    const algorithm =
      manifestAlgorithm(name) ?? fail('invalid-tag-file', `${name} names an unsupported algorithm.`, name);
    for (const [path, expected] of parseManifest(await bag.text(name, 'invalid-tag-file'), algorithm, name)) {
      if (path.startsWith('data/') || path.startsWith('tagmanifest-'))
        fail('invalid-tag-file', `${name} lists ${path}.`, name);
      const actual = (await bag.digest(path, [algorithm]))[algorithm];
      if (actual !== expected)
        fail('checksum-mismatch', `${path} fails ${name}.`, path, { expected, actual });
    }
  }
}

/** The payload manifests (`manifest-md5.txt` required), each listing exactly the payload. */
async function readManifests(bag: BagEntries): Promise<Manifests> {
  const manifests: Manifests = new Map();
  for (const name of bag.paths().filter((path) => !path.includes('/') && path.startsWith('manifest-'))) {
    const algorithm =
      manifestAlgorithm(name) ?? fail('invalid-tag-file', `${name} names an unsupported algorithm.`, name);
    manifests.set(algorithm, parseManifest(await bag.text(name, 'invalid-tag-file'), algorithm, name));
  }
  if (!manifests.has('md5')) fail('missing-file', 'The bag lacks manifest-md5.txt.', 'manifest-md5.txt');
  const payload = bag.paths().filter((path) => path.startsWith('data/'));
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
  return manifests;
}

/** `bag-info.txt` holds one Payload-Oxum, and the payload matches it. */
async function checkPayloadOxum(bag: BagEntries): Promise<void> {
  const info = parseTagFields(await bag.text('bag-info.txt', 'invalid-tag-file'), 'bag-info.txt');
  const oxums = info.filter(([label]) => label === 'Payload-Oxum').map(([, value]) => value);
  const declared = oxums.length === 1 ? /^(\d+)\.(\d+)$/.exec(oxums[0] as string) : null;
  if (!declared) fail('payload-oxum', 'bag-info.txt needs one Payload-Oxum.', 'bag-info.txt');
  const payload = bag.paths().filter((path) => path.startsWith('data/'));
  const octets = payload.reduce((sum, path) => sum + bag.entry(path).size, 0);
  if (Number(declared?.[1]) !== octets || Number(declared?.[2]) !== payload.length) {
    fail('payload-oxum', 'The payload does not match its Payload-Oxum.', 'bag-info.txt', {
      expected: oxums[0],
      actual: `${octets}.${payload.length}`,
    });
  }
}

/** `path`'s digests checked against every manifest. */
function verify(manifests: Manifests, path: string, digests: Digests): void {
  for (const [algorithm, listing] of manifests) {
    const expected = listing.get(path);
    if (digests[algorithm] !== expected) {
      fail('checksum-mismatch', `${path} fails manifest-${algorithm}.txt.`, path, {
        expected,
        actual: digests[algorithm],
      });
    }
  }
}

/** The index, then every record and bucket document it lists: verified, parsed and checked. */
async function readDocuments(
  bag: BagEntries,
  manifests: Manifests,
  signal: AbortSignal | undefined,
): Promise<BagDocuments> {
  const now = Date.now();
  const read = async (path: string): Promise<unknown> => {
    throwIfAborted(signal);
    const bytes = await bag.document(path);
    const hashers = await hashersFor(manifests.keys());
    for (const hasher of hashers.values()) hasher.update(bytes);
    verify(manifests, path, digestsOf(hashers));
    try {
      return JSON.parse(utf8.decode(bytes));
    } catch (cause) {
      throw new InvalidBagError('invalid-document', `${path} is not JSON.`, { path, cause });
    }
  };
  const index = readBagIndex(await read(BAG_INDEX_PATH), now);
  const records: BagRecord[] = [];
  for (const path of index.records) records.push(readBagRecord(await read(path), path, now));
  const buckets: BagBucket[] = [];
  for (const path of index.buckets)
    buckets.push(readBagBucket(await read(path), path, now, index.formatVersion));
  return { index, records, buckets };
}

/** The bytes an import has read or written so far, out of every file's and copy's. */
class Progress {
  done = 0;

  constructor(
    readonly total: number,
    private readonly report: OperationHooks['onProgress'],
  ) {}

  /** Report `loaded` more bytes beyond {@link Progress.done}, without counting them yet. */
  within(loaded: number): void {
    this.report?.({ loaded: this.done + loaded, total: this.total });
  }

  /** Count `bytes` as done, and report. */
  add(bytes: number): void {
    this.done += bytes;
    this.within(0);
  }
}

/**
 * Every head's own copy of a file instance (format 2), verified before anything is written:
 * its size and md5 in the manifest are its file instance's, and its bytes, streamed, match
 * every manifest, its CRC and the file instance's sha256. Nothing is written: the head reads
 * the file instance's bytes once imported.
 */
async function verifyCopies(
  bag: BagEntries,
  manifests: Manifests,
  copies: readonly BagCopy[],
  progress: Progress,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (const { path, file } of copies) {
    throwIfAborted(signal);
    const entry = bag.entry(path);
    if (entry.size !== file.size) {
      fail('size-mismatch', `${path} does not have the size of file ${file.id}.`, path, {
        expected: file.size,
        actual: entry.size,
      });
    }
    if (`md5:${manifests.get('md5')?.get(path)}` !== file.checksum) {
      fail('checksum-mismatch', `${path} does not have the checksum of file ${file.id}.`, path, {
        expected: file.checksum,
      });
    }
    const algorithms = new Set<BagAlgorithm>(manifests.keys());
    if (file.sha256 !== null) algorithms.add('sha256');
    const hashers = await hashersFor(algorithms);
    let loaded = 0;
    for await (const chunk of chunksOf(hashing(await bag.stream(path), hashers))) {
      throwIfAborted(signal);
      loaded += chunk.length;
      progress.within(loaded);
    }
    const digests = digestsOf(hashers);
    verify(manifests, path, digests);
    if (file.sha256 !== null && `sha256:${digests.sha256}` !== file.sha256) {
      fail('checksum-mismatch', `${path} does not have the sha256 of file ${file.id}.`, path, {
        expected: file.sha256,
        actual: `sha256:${digests.sha256}`,
      });
    }
    progress.add(file.size);
  }
}

/** Whether a file instance's stored bytes still match its size and checksums. */
async function intact(db: CofferDb, row: FileRow, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    const stored = await digestData(db, { extents: row.extents, sha256: row.sha256 !== null }, { signal });
    return (
      stored.size === row.size &&
      stored.checksum === row.checksum &&
      (row.sha256 === null || stored.sha256 === row.sha256)
    );
  } catch (error) {
    if (error instanceof IntegrityError) return false;
    throw error;
  }
}

/**
 * Every file's bytes, verified against the manifests and the bucket documents. A file instance
 * here with the bag's id, size and checksums is reused when its stored bytes still match
 * them; when they do not, the bag's bytes are written under a new id, and the commit moves
 * them into it (a restore repairs). Any other file instance here with the bag's id keeps it,
 * and the bag's is written under a new id.
 */
async function stageFiles(
  db: CofferDb,
  bag: BagEntries,
  manifests: Manifests,
  files: BagFile[],
  request: ImportBagRequest,
  { signal }: OperationHooks,
  progress: Progress,
): Promise<StagedFile[]> {
  const staged: StagedFile[] = [];
  const written: FileId[] = [];
  try {
    for (const file of files) {
      throwIfAborted(signal);
      const entry = bag.entry(file.path);
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
      const others = await hashersFor([...manifests.keys()].filter((a) => a !== 'md5' && a !== 'sha256'));
      const source: ByteSource =
        entry.method === 0 && others.size === 0
          ? await bag.slice(file.path)
          : hashing(await bag.stream(file.path), others);
      const wantSha256 = request.sha256 || manifests.has('sha256') || file.sha256 !== null;

      const existing = await db.files.get(file.id as FileId);
      const reuse =
        existing !== undefined && sameFile(existing, file) && (await intact(db, existing, signal));
      const fileId = existing && !reuse ? newId<FileId>() : (file.id as FileId);
      let digests: Digests;
      if (reuse) {
        const own = await hashersFor(wantSha256 ? ['md5', 'sha256'] : ['md5']);
        for await (const chunk of chunksOf(
          source instanceof Blob ? source.stream() : (source as ReadableStream<Uint8Array>),
        )) {
          throwIfAborted(signal);
          for (const hasher of own.values()) hasher.update(chunk);
        }
        digests = digestsOf(own);
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
          { signal, onProgress: (p) => progress.within(p.loaded) },
        );
        digests = {
          md5: result.checksum.slice(4),
          ...(result.sha256 ? { sha256: result.sha256.slice(7) } : {}),
        };
      }
      Object.assign(digests, digestsOf(others));
      verify(manifests, file.path, digests);
      const sha256 = digests.sha256 === undefined ? null : `sha256:${digests.sha256}`;
      if (file.sha256 !== null && sha256 !== file.sha256) {
        fail('checksum-mismatch', `${file.path} does not have the sha256 its bucket says.`, file.path, {
          expected: file.sha256,
          actual: sha256,
        });
      }
      // The bytes were verified just now: a failed check the bag records is out of date.
      const failedBefore = file.lastCheck === false;
      staged.push({
        bagId: file.id,
        fileId,
        written: !reuse,
        size: file.size,
        checksum: file.checksum,
        sha256,
        lastCheck: failedBefore ? null : file.lastCheck,
        lastCheckAt: failedBefore || file.lastCheckAt === null ? null : Date.parse(file.lastCheckAt),
        created: Date.parse(file.created),
      });
      progress.add(file.size);
    }
  } catch (error) {
    await discardStaged(db, written);
    throw error;
  }
  return staged;
}
