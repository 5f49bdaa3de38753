import { InvalidArgumentError, UnsupportedEnvironmentError } from '../errors.js';
import type { BucketId } from '../ids.js';
import { type MAX_COFFER_NAME_LENGTH, validateCofferName, validateSize } from '../model/limits.js';
import { type MultipartLimits, resolveMultipartLimits } from '../model/multipart.js';
import { BucketStore } from '../storage/bucket-store.js';
import { type ChunkStorage, probeBlobStorage } from '../storage/chunks.js';
import { mapErrors } from '../storage/map-storage-error.js';
import { CofferDb } from '../storage/schema.js';
import { createWorkerPipeline } from '../worker/client.js';
import { createInProcessPipeline } from '../worker/in-process.js';
import type { BytePipeline, ImportReport, OperationHooks } from '../worker/protocol.js';
import { Bucket, type BucketOptions } from './bucket.js';
import type { CofferContext, CofferSettings } from './context.js';
import type { SchemaMap } from './json-schema.js';
import { LazyBodies } from './lazy-bodies.js';
import {
  collectGarbage,
  type GcOptions,
  type GcResult,
  type VerifyChecksumsOptions,
  type VerifyChecksumsResult,
  verifyFiles,
} from './maintenance.js';
import { type RecordHooks, Records, type RecordsOptions } from './records.js';
import { type ExportOptions, exportCoffer, type ImportOptions, importCoffer } from './transfer.js';

/**
 * Options of {@link openCoffer}.
 *
 * @example
 * ```ts
 * const coffer = await openCoffer({
 *   name: 'field-notes',
 *   sha256: true,                      // also "sha256:…" checksums
 *   urlPrefix: '/app/coffer/',         // where the service worker serves files
 *   multipart: { expiresAfter: 86_400_000 },
 * });
 * ```
 */
export interface CofferOptions {
  /**
   * The database name: one coffer per name and origin; 1 to {@link MAX_COFFER_NAME_LENGTH}
   * characters of well-formed Unicode.
   */
  name: string;
  /**
   * Bytes per stored chunk: an integer from 1 byte to 256 MiB. `openCoffer` rejects anything
   * else (0 included) with `InvalidArgumentError`. Default 32 MiB with Blob chunks (every
   * chunk is a file of the browser's: fewer, larger ones write faster; see BENCHMARKS.md) and
   * 8 MiB with ArrayBuffer chunks (a chunk is memory while it is read or written).
   */
  chunkSize?: number;
  /**
   * With Blob chunks, the bytes per stored chunk of a Blob or File source (a source already in
   * the browser's blob store): an integer from 1 byte up. Default 1 GiB, or a sixteenth of the
   * origin's storage quota when that is less (but not below the chunk size): a typical file is
   * stored as one stored Blob, the source itself, while the worker hashes it. When `chunkSize`
   * is given, the default is `chunkSize`, so that an explicit chunk size cuts every source alike.
   * Streams, ArrayBuffers, multipart parts and imports always use `chunkSize`. Files stored
   * with other chunk sizes stay readable: each file keeps the layout it was written with.
   */
  blobChunkSize?: number;
  /**
   * How chunk bytes are stored: `"blob"`, `"buffer"` (ArrayBuffer), or `"auto"` (default):
   * Blobs when a write-and-read-back probe at open succeeds.
   */
  chunkStorage?: ChunkStorage | 'auto';
  /** Chunks smaller than this are stored inline as ArrayBuffers even in Blob mode (default 64 KiB). */
  inlineBelow?: number;
  /** Also compute a sha256 digest of every file (default false; md5 is always computed). */
  sha256?: boolean;
  /** Link identical content to one file instance instead of storing it twice (default true). */
  dedupe?: boolean;
  /** Where the service worker serves stored files (default `"/coffer/"`). */
  urlPrefix?: string;
  /**
   * Where file bytes are read, hashed and written: in a Web Worker (`true`, the default where
   * `Worker` exists) or on the calling thread (`false`, the default elsewhere, e.g. Node).
   */
  worker?: boolean;
  /**
   * Limits of multipart uploads (defaults as invenio's: parts of 5 MiB to 5 GiB, at most
   * 10,000 parts, expiry 4 days after the last part).
   */
  multipart?: Partial<MultipartLimits>;
  /**
   * JSON Schemas by URI: a record whose `$schema` names one is validated on create and on
   * every write (with Ajv, loaded only when this is given).
   */
  schemas?: SchemaMap;
  /** Invenio's override points of record creation: `createBucket`, `dumpBucket`, `loadBucket`. */
  records?: RecordHooks;
  /** The byte pipeline; by default the worker where `Worker` exists, else in process. @internal */
  pipeline?: (db: CofferDb) => BytePipeline;
}

const MiB = 1024 * 1024;

/** The largest `chunkSize` {@link openCoffer} accepts: 256 MiB. */
const MAX_CHUNK_SIZE = 256 * MiB;

/**
 * The largest default `blobChunkSize`: 1 GiB. Measured in Chromium (BENCHMARKS.md, issue 14): a
 * 256 MiB File stored as one stored Blob ingests at 0.93× of md5 alone over it, against 0.77× as
 * 32 MiB slices, and reads back as one row.
 */
const BLOB_CHUNK_SIZE = 1024 * MiB;

/**
 * The default `blobChunkSize`: {@link BLOB_CHUNK_SIZE}, or a sixteenth of the origin's quota
 * when that is less, never below `chunkSize`. Chromium refuses one stored Blob larger than about
 * an eighth of the quota (`QuotaExceededError`, whatever the usage: with a 10.7 GB quota,
 * 1280 MiB was stored and 1300 MiB refused), so a large one must stay well below that.
 */
async function defaultBlobChunkSize(chunkSize: number): Promise<number> {
  const estimate = await globalThis.navigator?.storage?.estimate?.().catch(() => undefined);
  if (estimate?.quota === undefined) return BLOB_CHUNK_SIZE;
  const share = Math.floor(estimate.quota / 16 / MiB) * MiB;
  return Math.max(chunkSize, Math.min(BLOB_CHUNK_SIZE, share));
}

/** Refuse a chunk size that is not an integer from 1 to `MAX_CHUNK_SIZE`. */
function validateChunkSize(chunkSize: number): void {
  validateSize('chunkSize', chunkSize);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new InvalidArgumentError(
      `chunkSize must be from 1 byte to ${MAX_CHUNK_SIZE} bytes (256 MiB), not ${chunkSize}.`,
      { actual: chunkSize, limit: MAX_CHUNK_SIZE, argument: 'chunkSize' },
    );
  }
}

/** Refuse a `blobChunkSize` that is not a positive integer. */
function validateBlobChunkSize(blobChunkSize: number): void {
  validateSize('blobChunkSize', blobChunkSize);
  if (blobChunkSize < 1) {
    throw new InvalidArgumentError('blobChunkSize must be at least 1 byte, not 0.', {
      actual: blobChunkSize,
      argument: 'blobChunkSize',
    });
  }
}

/**
 * An open coffer: buckets of versioned files (and records that own them) in one IndexedDB
 * database. Get one from {@link openCoffer}.
 *
 * @example
 * ```ts
 * const coffer = await openCoffer({ name: 'field-notes' });
 * const record = await coffer.records.create({ title: 'Survey 12' });
 * const bucket = await coffer.buckets.create({ quotaSize: 100 * 1024 ** 2 });
 * await coffer.gc();
 * coffer.close();
 * ```
 */
export class Coffer {
  /** The buckets of this coffer. */
  readonly buckets: Buckets;
  /** The records of this coffer, each owning at most one bucket. */
  readonly records: Records;

  /** @internal */
  constructor(
    /** @internal */
    readonly context: CofferContext,
    recordsOptions: RecordsOptions = {},
  ) {
    this.buckets = new Buckets(context);
    this.records = new Records(this, recordsOptions);
  }

  /** The database name. */
  get name(): string {
    return this.context.settings.name;
  }

  /** How chunk bytes are stored here, as decided at open. */
  get chunkStorage(): ChunkStorage {
    return this.context.settings.chunkStorage;
  }

  /**
   * Fixity: read back stored files in the byte pipeline (the worker) and compare them with
   * their checksums, least recently checked first; each file's `lastCheck` and `lastCheckAt`
   * are recorded. A file that fails is reported, and reading it throws {@link IntegrityError}.
   *
   * @example
   * ```ts
   * const weekAgo = new Date(Date.now() - 7 * 864e5);
   * const { failed } = await coffer.verifyChecksums({ olderThan: weekAgo, limit: 100 });
   * ```
   */
  async verifyChecksums(options: VerifyChecksumsOptions = {}): Promise<VerifyChecksumsResult> {
    return verifyFiles(this.context, options);
  }

  /**
   * Garbage collection: remove expired multipart uploads (freeing their reservations), file
   * instances and chunks that no version, part or upload references, and writes abandoned by
   * a closed tab or a crash. Data in use is never touched, also while other tabs write: an
   * unfinished write is left alone while its heartbeat is younger than `graceMs` (default one
   * hour) or, where Web Locks exist, while any write of this coffer is in progress.
   */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    return collectGarbage(this.context, options);
  }

  /**
   * Export records (by default every live record, and every bucket no record owns) as a ZIP
   * laid out as a BagIt bag: each record's JSON, its bucket's settings and tags, its files
   * under their keys and, with `includeVersions`, every version and delete marker, with
   * md5 (and sha256) manifests. Built in the worker; file bytes are referenced, not copied,
   * so memory stays bounded.
   *
   * @throws {NotFoundError} when a selected record does not exist.
   * @throws {IntegrityError} when stored bytes no longer match their checksum.
   * @throws {AbortError} when `signal` fires.
   * @example
   * ```ts
   * const zip = await coffer.export({ records: [record.id], includeVersions: true });
   * ```
   */
  async export(options: ExportOptions = {}): Promise<Blob> {
    return exportCoffer(this.context, options);
  }

  /**
   * Import a bag made by {@link Coffer.export}. The bag is verified completely first (ZIP
   * structure and bounds, every manifest checksum, Payload-Oxum, the tag manifest, the
   * documents and the records' schemas); then everything commits in one transaction, or
   * nothing does.
   *
   * @throws {InvalidBagError} when the archive is not a valid, intact Coffer bag (`reason` says why).
   * @throws {ValidationError} when a record fails its JSON Schema.
   * @throws {AbortError} when `signal` fires.
   * @example
   * ```ts
   * const report = await coffer.import(file, { onConflict: 'new-ids', onProgress });
   * ```
   */
  async import(source: Blob, options: ImportOptions = {}): Promise<ImportReport> {
    return importCoffer(this.context, source, options, this.records.validator);
  }

  /**
   * The CRC-32 of each Blob (ZIP's checksum, polynomial 0xedb88320), in order, as unsigned 32-bit
   * integers. The Blobs are read as streams in the byte pipeline (the worker, unless the coffer
   * was opened with `worker: false`): the page reads no byte and nothing is stored. `onProgress`
   * counts the bytes read over all of them.
   *
   * @throws {InvalidArgumentError} (`argument` `"sources"`) when `sources` is not an array of Blobs.
   * @throws {UnexpectedFileSizeError} when a Blob delivers another number of bytes than its size
   *   (a File changed on disk); {@link StorageError} when one cannot be read.
   * @throws {AbortError} when `signal` fires.
   * @example
   * ```ts
   * const [crc] = await coffer.crc32([file], { onProgress: ({ loaded, total }) => show(loaded / total!) });
   * crc.toString(16); // "3610a686" for the 5 bytes "hello"
   * ```
   */
  async crc32(sources: readonly Blob[], options: OperationHooks = {}): Promise<number[]> {
    if (!Array.isArray(sources) || !sources.every((source) => source instanceof Blob)) {
      throw new InvalidArgumentError('sources must be an array of Blobs or Files.', { argument: 'sources' });
    }
    return this.context.pipeline.crc32({ sources: [...sources] }, options);
  }

  /** Close the database and stop the worker. */
  close(): void {
    this.context.pipeline.close();
    this.context.db.close();
  }
}

/**
 * The buckets of a coffer: `coffer.buckets`.
 *
 * @example
 * ```ts
 * const bucket = await coffer.buckets.create({ quotaSize: 1024 ** 3, maxFileSize: null });
 * const same = await coffer.buckets.get(bucket.id);
 * const all = await coffer.buckets.list();
 * ```
 */
export class Buckets {
  /** @internal */
  constructor(private readonly context: CofferContext) {}

  /** Create a bucket in the default location. */
  async create(options: BucketOptions = {}): Promise<Bucket> {
    const quotaSize = options.quotaSize ?? null;
    const maxFileSize = options.maxFileSize ?? null;
    validateSize('quotaSize', quotaSize, true);
    validateSize('maxFileSize', maxFileSize, true);
    const { settings } = this.context;
    const row = await this.context.store.createBucket({
      location: settings.location,
      storageClass: settings.storageClass,
      quotaSize,
      maxFileSize,
      locked: options.locked ?? false,
    });
    return new Bucket(this.context, row);
  }

  /** The bucket, or `undefined` when it does not exist or is deleted. */
  async get(id: BucketId | string): Promise<Bucket | undefined> {
    const row = await this.context.store.findBucket(id);
    return row && new Bucket(this.context, row);
  }

  /** Every bucket that is not deleted. */
  async list(): Promise<Bucket[]> {
    return (await this.context.store.listBuckets()).map((row) => new Bucket(this.context, row));
  }
}

/**
 * Open (or create) the coffer named `options.name`.
 *
 * @throws {UnsupportedEnvironmentError} when IndexedDB is missing; {@link InvalidArgumentError}
 *   (`argument`) for a bad option, such as a `chunkSize` of 0 or over 256 MiB, a
 *   `blobChunkSize` of 0, or a `name` that is empty or over {@link MAX_COFFER_NAME_LENGTH}
 *   characters.
 * @example
 * ```ts
 * const coffer = await openCoffer({ name: 'field-notes' });
 * const bucket = await coffer.buckets.create({ quotaSize: 100 * 1024 ** 2 });
 * await bucket.objects.put('site.jpg', file);
 * ```
 */
export async function openCoffer(options: CofferOptions): Promise<Coffer> {
  if (typeof indexedDB === 'undefined') {
    throw new UnsupportedEnvironmentError('This environment has no IndexedDB.');
  }
  validateCofferName(options.name);
  const inlineBelow = options.inlineBelow ?? 64 * 1024;
  if (options.chunkSize !== undefined) validateChunkSize(options.chunkSize);
  if (options.blobChunkSize !== undefined) validateBlobChunkSize(options.blobChunkSize);
  validateSize('inlineBelow', inlineBelow);
  const multipart = resolveMultipartLimits(options.multipart);
  const db = new CofferDb(options.name);
  await mapErrors(() => db.open());
  await mapErrors(async () => {
    if (!(await db.locations.get('idb'))) {
      await db.locations.put({ name: 'idb', isDefault: 1, created: Date.now() });
    }
  });
  const chunkStorage =
    options.chunkStorage === undefined || options.chunkStorage === 'auto'
      ? (await probeBlobStorage(db))
        ? 'blob'
        : 'buffer'
      : options.chunkStorage;
  const chunkSize = options.chunkSize ?? (chunkStorage === 'blob' ? 32 * MiB : 8 * MiB);
  const settings: CofferSettings = {
    name: options.name,
    location: 'idb',
    storageClass: 'S',
    chunkSize,
    blobChunkSize:
      options.blobChunkSize ??
      options.chunkSize ??
      (chunkStorage === 'blob' ? await defaultBlobChunkSize(chunkSize) : chunkSize),
    chunkStorage,
    inlineBelow,
    sha256: options.sha256 ?? false,
    dedupe: options.dedupe ?? true,
    urlPrefix: options.urlPrefix ?? '/coffer/',
    multipart,
  };
  const useWorker = options.worker ?? typeof Worker !== 'undefined';
  if (useWorker && typeof Worker === 'undefined') {
    db.close();
    throw new UnsupportedEnvironmentError(
      'This environment has no Worker: open the coffer with `worker: false`.',
    );
  }
  const pipeline = options.pipeline
    ? options.pipeline(db)
    : useWorker
      ? createWorkerPipeline(options.name)
      : createInProcessPipeline(db);
  return new Coffer(
    { db, store: new BucketStore(db), pipeline, settings, bodies: new LazyBodies() },
    { ...options.records, ...(options.schemas ? { schemas: options.schemas } : {}) },
  );
}
