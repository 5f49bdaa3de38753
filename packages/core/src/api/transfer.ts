import { BodyUnavailableError, InvalidArgumentError, throwIfAborted, ValidationError } from '../errors.js';
import type { FileId } from '../ids.js';
import { inPool } from '../in-pool.js';
import type { RecordData } from '../model/record.js';
import { commitImport, discardStaged } from '../storage/transfer.js';
import type { ImportReport, OnConflict, OperationHooks, StagedImport } from '../worker/protocol.js';
import type { CofferContext } from './context.js';
import { withWriteLock } from './maintenance.js';

/** The version of Coffer written into the bags it exports. */
export const COFFER_VERSION = '0.1.0';

const GiB = 1024 ** 3;

/**
 * Options of `coffer.export()`.
 *
 * @example
 * ```ts
 * const zip = await coffer.export({ records: [record.id], includeVersions: true, name: 'survey-12' });
 * ```
 */
export interface ExportOptions extends OperationHooks {
  /** The records to export (ids or records); by default every live record and every bucket no record owns. */
  records?: readonly (string | { readonly id: string })[] | undefined;
  /** Every version and delete marker of each bucket, not only the live heads (default false). */
  includeVersions?: boolean | undefined;
  /** Every previous revision of each record (default: as `includeVersions`). */
  includeRevisions?: boolean | undefined;
  /** Also write sha256 manifests (default: whether the coffer computes sha256). */
  sha256?: boolean | undefined;
  /** The bag's name: its base directory in the ZIP (default `<coffer name>-<date>`). */
  name?: string | undefined;
}

/**
 * Options of `coffer.import()`.
 *
 * @example
 * ```ts
 * const report = await coffer.import(zip, { onConflict: 'new-ids', maxSize: 2 * 1024 ** 3 });
 * ```
 */
export interface ImportOptions extends OperationHooks {
  /**
   * What to do with a record or bucket whose id exists here (default `"skip"`): keep what is
   * here (`"skip"`), replace it with the bag's (`"replace"`), or import everything under fresh
   * ids (`"new-ids"`, rewriting `_bucket` and `_files`). `"replace"` never removes a bucket
   * that belongs to a record the bag does not hold: it refuses the import instead
   * (`ImportConflictError`). Whatever the choice, a file here whose bytes no longer match
   * their checksum is repaired from the bag's verified copy.
   */
  onConflict?: OnConflict | undefined;
  /** The most bytes the archive may expand to (default: the free storage the browser reports, else 64 GiB). */
  maxSize?: number | undefined;
  /** The highest compression ratio of an entry over 1 MiB (default 200). */
  maxRatio?: number | undefined;
  /** The most entries in the archive (default 1,000,000). */
  maxEntries?: number | undefined;
}

/** Checks record data before it is stored: the records' JSON Schema validator. */
export interface DataCheck {
  prepare(): Promise<void>;
  check(data: RecordData): void;
}

const safeName = (text: string): string =>
  text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'coffer';

/**
 * Export a selection of the coffer as a BagIt ZIP, streamed in the worker. Files whose bytes
 * are on the sync remote only (pulled lazily) are fetched first through the sync, so that the
 * bag never lacks bytes; when some cannot be fetched the export is refused with a
 * {@link BodyUnavailableError} naming them in `fileIds`.
 */
export async function exportCoffer(context: CofferContext, options: ExportOptions = {}): Promise<Blob> {
  const { settings } = context;
  const includeVersions = options.includeVersions ?? false;
  const records = options.records?.map((r) => (typeof r === 'string' ? r : r.id));
  const name = options.name ?? `${settings.name}-${new Date().toISOString().slice(0, 10)}`;
  throwIfAborted(options.signal);
  const exportBag = () =>
    context.pipeline.exportBag(
      {
        ...(records ? { records } : {}),
        includeVersions,
        includeRevisions: options.includeRevisions ?? includeVersions,
        sha256: options.sha256 ?? settings.sha256,
        bagName: safeName(name),
        cofferName: settings.name,
        cofferVersion: COFFER_VERSION,
      },
      { signal: options.signal, onProgress: options.onProgress },
    );
  try {
    return await exportBag();
  } catch (error) {
    if (!(error instanceof BodyUnavailableError && error.fileIds)) throw error;
    await fetchBodies(context, error.fileIds as FileId[], options.signal);
    return exportBag();
  }
}

/** Lazy bodies fetched at once by an export. */
const EXPORT_FETCHES = 4;

/** Fetch lazy files' bytes through the sync; a failure names every file still without them. */
async function fetchBodies(context: CofferContext, fileIds: FileId[], signal: AbortSignal | undefined) {
  const failed: { fileId: FileId; error: unknown }[] = [];
  // Each task keeps its failure, so that every file is tried; only an abort stops the pool.
  await inPool(fileIds, EXPORT_FETCHES, async (fileId) => {
    throwIfAborted(signal);
    await context.bodies.fetch({ fileId }, signal).catch((error: unknown) => failed.push({ fileId, error }));
  });
  const [first] = failed;
  if (!first) return;
  if (first.error instanceof BodyUnavailableError) first.error.fileIds = failed.map((f) => f.fileId);
  throw first.error;
}

async function defaultMaxSize(): Promise<number> {
  const estimate = await globalThis.navigator?.storage?.estimate?.().catch(() => undefined);
  return estimate?.quota !== undefined ? Math.max(estimate.quota - (estimate.usage ?? 0), 0) : 64 * GiB;
}

/**
 * Import a bag made by {@link exportCoffer}: the worker verifies it completely and writes its
 * bytes unreadable (and the bag's copy of any file here whose stored bytes are damaged);
 * record data is checked against the registered schemas; then everything commits in one
 * transaction, or nothing does.
 *
 * @throws {InvalidBagError} when the archive is not a valid, intact Coffer bag, refers to what
 *   it does not own (`foreign-bucket`) or expands past its bounds (`too-large`).
 * @throws {ImportConflictError} when `replace` would remove what the bag does not own.
 * @throws {ValidationError} when a record fails its JSON Schema.
 */
export async function importCoffer(
  context: CofferContext,
  source: Blob,
  options: ImportOptions = {},
  validator?: DataCheck,
): Promise<ImportReport> {
  // The staged bytes are unreadable until the commit: the write lock keeps gc from reclaiming them.
  return withWriteLock(context, () => importLocked(context, source, options, validator));
}

async function importLocked(
  context: CofferContext,
  source: Blob,
  options: ImportOptions,
  validator: DataCheck | undefined,
): Promise<ImportReport> {
  const onConflict = options.onConflict ?? 'skip';
  if (!['skip', 'replace', 'new-ids'].includes(onConflict)) {
    throw new InvalidArgumentError('onConflict must be "skip", "replace" or "new-ids".', {
      argument: 'onConflict',
    });
  }
  if (!(source instanceof Blob)) {
    throw new InvalidArgumentError('An import needs a Blob or File.', { argument: 'source' });
  }
  throwIfAborted(options.signal);
  const { settings } = context;
  const staged = await context.pipeline.importBag(
    {
      source,
      location: settings.location,
      chunkSize: settings.chunkSize,
      chunkStorage: settings.chunkStorage,
      inlineBelow: settings.inlineBelow,
      sha256: settings.sha256,
      maxSize: options.maxSize ?? (await defaultMaxSize()),
      maxRatio: options.maxRatio ?? 200,
      maxEntries: options.maxEntries ?? 1_000_000,
    },
    { signal: options.signal, onProgress: options.onProgress },
  );
  try {
    await checkRecords(staged, validator);
    throwIfAborted(options.signal);
    return await commitImport(context.db, staged, { onConflict, defaultLocation: settings.location });
  } catch (error) {
    await discardStaged(
      context.db,
      staged.files.filter((f) => f.written).map((f) => f.fileId as FileId),
    );
    throw error;
  }
}

async function checkRecords(staged: StagedImport, validator: DataCheck | undefined): Promise<void> {
  if (!validator) return;
  await validator.prepare();
  for (const record of staged.records) {
    try {
      validator.check(record.data as RecordData);
    } catch (error) {
      if (error instanceof ValidationError) error.recordId = record.id;
      throw error;
    }
  }
}
