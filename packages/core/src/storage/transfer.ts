import { ImportConflictError, InvalidOperationError, NotFoundError } from '../errors.js';
import { type BucketId, type FileId, newId, type RecordId, type VersionId } from '../ids.js';
import type { BagBucket, BagRecord, BagVersion } from '../model/bag-documents.js';
import type { Tags } from '../model/tags.js';
import type { ImportReport, OnConflict, StagedFile, StagedImport } from '../worker/protocol.js';
import { deleteData } from './chunks.js';
import { mapErrors } from './map-storage-error.js';
import {
  deleteBucketRows,
  deleteRecordRows,
  discardWrittenFile,
  startingWith,
  versionTables,
} from './rows.js';
import type {
  BucketRow,
  CofferDb,
  FileRow,
  ObjectVersionRow,
  RecordRevisionRow,
  RecordRow,
} from './schema.js';

/** What to export. */
export interface ExportSelection {
  /** These records (and their buckets); by default every live record and every bucket no record owns. */
  records?: readonly string[] | undefined;
  /** Every version and delete marker, not only the live heads. */
  includeVersions: boolean;
  /** Every previous revision of each record. */
  includeRevisions: boolean;
}

/** A record to export. */
export interface PlannedRecord {
  row: RecordRow;
  bucketIds: BucketId[];
  revisions: RecordRevisionRow[];
}

/** A bucket to export, with its versions oldest first. */
export interface PlannedBucket {
  row: BucketRow;
  tags: Tags;
  versions: { row: ObjectVersionRow; tags: Tags }[];
  /** The record whose folder the bucket goes in. */
  owner: RecordId | undefined;
}

/** Every row an export writes, read in one transaction so that it is consistent. */
export interface ExportPlan {
  records: PlannedRecord[];
  buckets: PlannedBucket[];
  files: Map<FileId, FileRow>;
}

const tagsOf = (rows: { key: string; value: string }[]): Tags =>
  Object.fromEntries(rows.map((r) => [r.key, r.value]));

/**
 * Read what an export holds: the selected records (or every live one), their revisions, their
 * buckets with tags and versions (or only live heads), and the file instances those use.
 *
 * @throws {NotFoundError} when a selected record does not exist.
 */
export async function readExportPlan(db: CofferDb, selection: ExportSelection): Promise<ExportPlan> {
  const tables = [
    db.records,
    db.recordRevisions,
    db.recordsBuckets,
    db.buckets,
    db.bucketTags,
    db.objects,
    db.objectTags,
    db.files,
  ];
  return mapErrors(() =>
    db.transaction('r', tables, async () => {
      let recordRows: RecordRow[];
      if (selection.records) {
        const ids = [...new Set(selection.records)] as RecordId[];
        const found = await db.records.bulkGet(ids);
        recordRows = found.map((row, i) => {
          if (!row) {
            throw new NotFoundError(`Record ${ids[i]} does not exist.`, {
              recordId: ids[i] as string,
              resource: 'record',
            });
          }
          return row;
        });
      } else {
        recordRows = (await db.records.toArray()).filter((row) => row.deleted === 0);
        recordRows.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
      }

      const records: PlannedRecord[] = [];
      const owners = new Map<BucketId, RecordId>();
      for (const row of recordRows) {
        const links = await startingWith(db.recordsBuckets, '[recordId+bucketId]', row.id).toArray();
        const bucketIds = links.map((link) => link.bucketId as BucketId);
        const primary = typeof row.data._bucket === 'string' ? row.data._bucket : bucketIds[0];
        for (const bucketId of bucketIds)
          if (bucketId === primary && !owners.has(bucketId)) owners.set(bucketId, row.id);
        const revisions = (
          await startingWith(db.recordRevisions, '[recordId+revisionId]', row.id).toArray()
        ).filter((revision) => selection.includeRevisions || revision.revisionId === row.revisionId);
        records.push({ row, bucketIds, revisions });
      }

      const bucketIds = [...new Set(records.flatMap((r) => r.bucketIds))];
      if (!selection.records) {
        const linked = new Set((await db.recordsBuckets.toArray()).map((link) => link.bucketId));
        const standalone = await db.buckets
          .where('deleted')
          .equals(0)
          .filter((b) => !linked.has(b.id))
          .toArray();
        standalone.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
        bucketIds.push(...standalone.map((b) => b.id));
      }

      const buckets: PlannedBucket[] = [];
      const fileIds = new Set<FileId>();
      for (const bucketId of bucketIds) {
        const row = await db.buckets.get(bucketId);
        if (!row) continue;
        const versionRows = (await db.objects.where('bucketId').equals(bucketId).toArray())
          .filter((v) => selection.includeVersions || (v.isHead === 1 && v.fileId !== null))
          .sort((a, b) => a.seq - b.seq);
        const versions = [];
        for (const version of versionRows) {
          if (version.fileId) fileIds.add(version.fileId);
          versions.push({
            row: version,
            tags: tagsOf(await startingWith(db.objectTags, '[versionId+key]', version.versionId).toArray()),
          });
        }
        const tags = tagsOf(await startingWith(db.bucketTags, '[bucketId+key]', bucketId).toArray());
        buckets.push({ row, tags, versions, owner: owners.get(bucketId) });
      }

      const files = new Map<FileId, FileRow>();
      for (const file of await db.files.bulkGet([...fileIds])) if (file) files.set(file.id, file);
      return { records, buckets, files };
    }),
  );
}

// --- Import ---

/** Options of {@link commitImport}. */
export interface CommitOptions {
  onConflict: OnConflict;
  /** Where buckets whose location does not exist here go. */
  defaultLocation: string;
}

/**
 * Whether a readable file instance here holds the same file as a bag's: the same size and md5,
 * and the same sha256 where both have one.
 */
export const sameFile = (
  row: FileRow,
  file: { size: number; checksum: string; sha256: string | null },
): boolean =>
  row.readable === 1 &&
  row.size === file.size &&
  row.checksum === file.checksum &&
  (row.sha256 === null || file.sha256 === null || row.sha256 === file.sha256);

/** One record with the buckets it owns, or one bucket no record owns: imported or skipped whole. */
interface Unit {
  record: BagRecord | undefined;
  buckets: BagBucket[];
}

/** What the commit does with a unit, decided before anything is written. */
interface Decision {
  unit: Unit;
  action: 'import' | 'skip' | 'replace';
  /** Import under fresh ids (`new-ids`). */
  fresh: boolean;
  /** With `replace`: the record here that the bag's replaces, and the buckets here it removes. */
  removes: { record: RecordId | undefined; buckets: BucketId[] };
}

/** Ids in the bag → ids here, where they differ. */
interface IdMap {
  buckets: Map<string, string>;
  versions: Map<string, string>;
  files: Map<string, string>;
}

const time = (iso: string): number => Date.parse(iso);

/** The bag's records with their buckets, then the buckets no record owns. */
function unitsOf(staged: StagedImport): Unit[] {
  const bucketsById = new Map(staged.buckets.map((b) => [b.id, b]));
  const owned = new Set(staged.records.flatMap((r) => r.buckets));
  return [
    ...staged.records.map((record) => ({
      record,
      buckets: record.buckets.map((id) => bucketsById.get(id) as BagBucket),
    })),
    ...staged.buckets
      .filter((b) => !owned.has(b.id))
      .map((bucket) => ({ record: undefined, buckets: [bucket] })),
  ];
}

/** Rewrite the ids Coffer keeps in a record's JSON (`_bucket`, and `_files` entries). */
function rewriteData(data: Record<string, unknown>, ids: IdMap): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  if (typeof out._bucket === 'string') out._bucket = ids.buckets.get(out._bucket) ?? out._bucket;
  if (Array.isArray(out._files)) {
    out._files = out._files.map((entry: unknown) => {
      if (typeof entry !== 'object' || entry === null) return entry;
      const e = { ...(entry as Record<string, unknown>) };
      const swap = (field: string, map: Map<string, string>) => {
        if (typeof e[field] === 'string') e[field] = map.get(e[field] as string) ?? e[field];
      };
      swap('bucket', ids.buckets);
      swap('version_id', ids.versions);
      swap('file_id', ids.files);
      return e;
    });
  }
  return out;
}

/**
 * Commit a verified, staged bag in ONE transaction: all of it or nothing.
 * 1. Decide each unit (a record with its buckets, or a bucket no record owns): a unit whose
 *    record, bucket or version ids exist here is kept (`skip`), replaced (`replace`) or
 *    imported alongside under fresh ids (`new-ids`). Before anything is written, `replace` is
 *    checked to remove nothing the bag does not own.
 * 2. Remove what `replace` replaces.
 * 3. Insert buckets, tags, versions (in their order, with fresh sequence numbers), heads,
 *    records and revisions.
 * 4. Settle the file instances: written ones become readable (or are deleted when their unit
 *    was skipped); a file instance here whose bytes were damaged takes the bag's bytes; a
 *    reused one whose last check failed records the import's passing check.
 *
 * @throws {ImportConflictError} when `replace` would remove a bucket of a record the bag does
 *   not hold, or meets a version id used by a bucket it leaves alone.
 */
export async function commitImport(
  db: CofferDb,
  staged: StagedImport,
  options: CommitOptions,
): Promise<ImportReport> {
  const units = unitsOf(staged);
  const tables = [
    ...versionTables(db),
    db.records,
    db.recordRevisions,
    db.recordsBuckets,
    db.bucketTags,
    db.locations,
    db.multipartUploads,
    db.parts,
  ];
  return mapErrors(() =>
    db.transaction('rw', tables, async () => {
      const report: ImportReport = {
        records: { imported: 0, replaced: 0, skipped: 0 },
        buckets: { imported: 0, replaced: 0, skipped: 0 },
        versions: { imported: 0, skipped: 0 },
        files: { imported: 0, reused: 0, skipped: 0 },
        bytes: 0,
        ids: { records: {}, buckets: {} },
      };
      const repairs = await damagedHere(db, staged.files);
      const decisions = await decide(db, units, options.onConflict, staged.records);
      await removeReplaced(db, decisions, report);
      const used = await insertUnits(db, decisions, staged.files, repairs, options, report);
      await settleFiles(db, staged.files, used, repairs, report);
      return report;
    }),
  );
}

/** The staged files written to repair a file instance here with the bag's id (see `importBag`). */
async function damagedHere(db: CofferDb, files: readonly StagedFile[]): Promise<Set<StagedFile>> {
  const repairs = new Set<StagedFile>();
  for (const file of files) {
    if (!file.written || file.fileId === file.bagId) continue;
    const here = await db.files.get(file.bagId as FileId);
    if (here && sameFile(here, file)) repairs.add(file);
  }
  return repairs;
}

async function hasConflict(db: CofferDb, unit: Unit): Promise<boolean> {
  if (unit.record && (await db.records.get(unit.record.id as RecordId))) return true;
  for (const bucket of unit.buckets) {
    if (await db.buckets.get(bucket.id as BucketId)) return true;
    const taken = await db.objects.bulkGet(bucket.versions.map((v) => v.versionId as VersionId));
    if (taken.some((row) => row !== undefined)) return true;
  }
  return false;
}

/**
 * What to do with each unit. With `replace`, every bucket removed here belongs to no record or
 * to a record of the bag, and every version id the bag brings is free once they are removed.
 */
async function decide(
  db: CofferDb,
  units: readonly Unit[],
  onConflict: OnConflict,
  bagRecords: readonly BagRecord[],
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (const unit of units) {
    const removes = { record: undefined as RecordId | undefined, buckets: [] as BucketId[] };
    const conflict = onConflict !== 'new-ids' && (await hasConflict(db, unit));
    if (conflict && onConflict === 'skip') {
      decisions.push({ unit, action: 'skip', fresh: false, removes });
      continue;
    }
    if (conflict) removes.record = await replacedHere(db, unit, removes.buckets);
    decisions.push({
      unit,
      action: conflict ? 'replace' : 'import',
      fresh: onConflict === 'new-ids',
      removes,
    });
  }
  const inBag = new Set(bagRecords.map((r) => r.id));
  const removed = new Set(decisions.flatMap((d) => d.removes.buckets));
  for (const bucketId of removed) {
    for (const link of await db.recordsBuckets.where('bucketId').equals(bucketId).toArray()) {
      if (!inBag.has(link.recordId)) {
        throw new ImportConflictError(
          `Bucket ${bucketId} belongs to record ${link.recordId}, which the bag does not hold.`,
          { bucketId, recordId: link.recordId },
        );
      }
    }
  }
  for (const decision of decisions) {
    if (decision.action !== 'replace') continue;
    const versions: BagVersion[] = decision.unit.buckets.flatMap((b) => b.versions);
    const taken = await db.objects.bulkGet(versions.map((v) => v.versionId as VersionId));
    const clash = taken.find((row) => row !== undefined && !removed.has(row.bucketId));
    if (clash) {
      throw new ImportConflictError(`Version ${clash.versionId} belongs to another bucket here.`, {
        versionId: clash.versionId,
        bucketId: clash.bucketId,
      });
    }
  }
  return decisions;
}

/** The record here that `unit` replaces, if any; the buckets here it removes go into `buckets`. */
async function replacedHere(db: CofferDb, unit: Unit, buckets: BucketId[]): Promise<RecordId | undefined> {
  const recordId =
    unit.record && (await db.records.get(unit.record.id as RecordId))
      ? (unit.record.id as RecordId)
      : undefined;
  if (recordId) {
    for (const link of await startingWith(db.recordsBuckets, '[recordId+bucketId]', recordId).toArray())
      buckets.push(link.bucketId);
  }
  for (const bucket of unit.buckets) {
    if (!buckets.includes(bucket.id as BucketId) && (await db.buckets.get(bucket.id as BucketId)))
      buckets.push(bucket.id as BucketId);
  }
  return recordId;
}

async function removeReplaced(
  db: CofferDb,
  decisions: readonly Decision[],
  report: ImportReport,
): Promise<void> {
  for (const { unit, action, removes } of decisions) {
    if (action === 'skip') {
      if (unit.record) report.records.skipped++;
      report.buckets.skipped += unit.buckets.length;
      report.versions.skipped += unit.buckets.reduce((n, b) => n + b.versions.length, 0);
      continue;
    }
    for (const bucketId of removes.buckets) {
      if (!(await db.buckets.get(bucketId))) continue;
      await deleteBucketRows(db, bucketId);
      report.buckets.replaced++;
    }
    if (removes.record) {
      await deleteRecordRows(db, removes.record);
      report.records.replaced++;
    }
  }
}

/** Insert every unit that is not skipped; returns the staged files their versions use. */
async function insertUnits(
  db: CofferDb,
  decisions: readonly Decision[],
  files: readonly StagedFile[],
  repairs: ReadonlySet<StagedFile>,
  options: CommitOptions,
  report: ImportReport,
): Promise<Set<StagedFile>> {
  const used = new Set<StagedFile>();
  const idHere = (file: StagedFile) => (repairs.has(file) ? file.bagId : file.fileId) as FileId;
  const ids: IdMap = { buckets: new Map(), versions: new Map(), files: new Map() };
  for (const file of files) if (idHere(file) !== file.bagId) ids.files.set(file.bagId, idHere(file));
  const stagedFiles = new Map(files.map((f) => [f.bagId, f]));
  const locations = new Set((await db.locations.toArray()).map((l) => l.name));
  let seq = ((await db.meta.get('seq'))?.value as number | undefined) ?? 0;

  for (const { unit, action, fresh } of decisions) {
    if (action === 'skip') continue;
    for (const bucket of unit.buckets) {
      const bucketId = (fresh ? newId<BucketId>() : bucket.id) as BucketId;
      ids.buckets.set(bucket.id, bucketId);
      report.ids.buckets[bucket.id] = bucketId;
      const versions: ObjectVersionRow[] = [];
      for (const version of bucket.versions) {
        const file = version.fileId === null ? undefined : (stagedFiles.get(version.fileId) as StagedFile);
        if (file) used.add(file);
        const versionId = (fresh ? newId<VersionId>() : version.versionId) as VersionId;
        ids.versions.set(version.versionId, versionId);
        seq++;
        versions.push({
          versionId,
          bucketId,
          key: version.key,
          fileId: file ? idHere(file) : null,
          size: file?.size ?? 0,
          checksum: file?.checksum ?? null,
          mimetype: version.mimetype,
          isHead: version.isHead ? 1 : 0,
          seq,
          rank: -seq,
          created: time(version.created),
          updated: time(version.updated),
        });
        for (const [key, value] of Object.entries(version.tags))
          await db.objectTags.put({ versionId, key, value });
      }
      await db.objects.bulkAdd(versions);
      await db.heads.bulkPut(
        versions.filter((v) => v.isHead).map((v) => ({ bucketId, key: v.key, versionId: v.versionId })),
      );
      await db.buckets.add({
        id: bucketId,
        location: locations.has(bucket.location) ? bucket.location : options.defaultLocation,
        storageClass: bucket.storageClass,
        size: versions.reduce((sum, v) => sum + v.size, 0),
        quotaSize: bucket.quotaSize,
        maxFileSize: bucket.maxFileSize,
        locked: bucket.locked ? 1 : 0,
        deleted: bucket.deleted ? 1 : 0,
        created: time(bucket.created),
        updated: time(bucket.updated),
      });
      for (const [key, value] of Object.entries(bucket.tags))
        await db.bucketTags.put({ bucketId, key, value });
      report.buckets.imported++;
      report.versions.imported += versions.length;
    }
    if (unit.record) await insertRecord(db, unit.record, fresh, ids, report);
  }
  await db.meta.put({ key: 'seq', value: seq });
  return used;
}

async function insertRecord(
  db: CofferDb,
  record: BagRecord,
  fresh: boolean,
  ids: IdMap,
  report: ImportReport,
): Promise<void> {
  const recordId = (fresh ? newId<RecordId>() : record.id) as RecordId;
  report.ids.records[record.id] = recordId;
  await db.records.add({
    id: recordId,
    revisionId: record.revisionId,
    data: rewriteData(record.data, ids),
    deleted: record.deleted ? 1 : 0,
    created: time(record.created),
    updated: time(record.updated),
  });
  const revisions = record.revisions.map((revision) => ({
    recordId,
    revisionId: revision.revisionId,
    data: rewriteData(revision.data, ids),
    created: time(revision.created),
  }));
  if (!revisions.some((revision) => revision.revisionId === record.revisionId)) {
    revisions.push({
      recordId,
      revisionId: record.revisionId,
      data: rewriteData(record.data, ids),
      created: time(record.updated),
    });
  }
  await db.recordRevisions.bulkAdd(revisions);
  await db.recordsBuckets.bulkAdd(
    record.buckets.map((id) => ({ recordId, bucketId: ids.buckets.get(id) as BucketId })),
  );
  report.records.imported++;
}

/**
 * Written files become readable, or are deleted when no imported version uses them; repairs
 * move their bytes into the damaged file instance here; reused files are checked to be still
 * here, and a failed last check is replaced by the import's passing one.
 */
async function settleFiles(
  db: CofferDb,
  files: readonly StagedFile[],
  used: ReadonlySet<StagedFile>,
  repairs: ReadonlySet<StagedFile>,
  report: ImportReport,
): Promise<void> {
  const now = Date.now();
  for (const file of files) {
    if (repairs.has(file)) {
      await repairFile(db, file, now);
      report.files.imported++;
      report.bytes += file.size;
    } else if (!file.written) {
      const row = await db.files.get(file.fileId);
      if (used.has(file) && !(row && sameFile(row, file))) {
        throw new ImportConflictError(`File ${file.fileId} changed during the import.`, {
          fileId: file.fileId,
        });
      }
      if (row?.lastCheck === false) await db.files.update(row.id, { lastCheck: true, lastCheckAt: now });
      if (used.has(file)) report.files.reused++;
      else report.files.skipped++;
    } else if (!used.has(file)) {
      const row = await db.files.get(file.fileId);
      if (row && !row.readable) {
        await deleteData(db, row.dataIds);
        await db.files.delete(file.fileId);
      }
      report.files.skipped++;
    } else {
      const row = await writtenRow(db, file);
      await db.files.put({
        ...row,
        size: file.size,
        checksum: file.checksum,
        sha256: file.sha256,
        readable: 1,
        writable: 0,
        lastCheck: file.lastCheck,
        lastCheckAt: file.lastCheckAt,
        extents: row.extents.map((e) => ({ ...e, size: file.size })),
        created: file.created,
        updated: now,
      });
      report.files.imported++;
      report.bytes += file.size;
    }
  }
}

async function writtenRow(db: CofferDb, file: StagedFile): Promise<FileRow> {
  const row = await db.files.get(file.fileId);
  if (!row?.writable) {
    throw new InvalidOperationError(`File ${file.fileId} is no longer being written.`, {
      fileId: file.fileId,
    });
  }
  return row;
}

/**
 * Give the file instance here with the bag's id the bytes the import wrote for it: it keeps
 * its id, so every version that shares it reads them. Its damaged data goes unless another
 * file or a part shares it.
 */
async function repairFile(db: CofferDb, file: StagedFile, now: number): Promise<void> {
  const staging = await writtenRow(db, file);
  const damaged = (await db.files.get(file.bagId as FileId)) as FileRow;
  await db.files.put({
    ...damaged,
    location: staging.location,
    extents: staging.extents.map((e) => ({ ...e, size: file.size })),
    dataIds: staging.dataIds,
    lastCheck: file.lastCheck,
    lastCheckAt: file.lastCheckAt,
    updated: now,
  });
  await db.files.delete(staging.id);
  for (const dataId of damaged.dataIds) {
    const sharedByFile = await db.files.where('dataIds').equals(dataId).count();
    const sharedByPart = await db.parts.where('dataId').equals(dataId).count();
    if (sharedByFile === 0 && sharedByPart === 0) await deleteData(db, [dataId]);
  }
}

/** Drop the file instances a failed import wrote, with their chunks. Readable files are never touched. */
export async function discardStaged(db: CofferDb, fileIds: readonly FileId[]): Promise<void> {
  for (const fileId of fileIds) await discardWrittenFile(db, fileId);
}
