import { InvalidOperationError, NotFoundError } from '../errors.js';
import { type BucketId, type FileId, newId, type RecordId, type VersionId } from '../ids.js';
import type { BagBucket, BagRecord } from '../model/bag-documents.js';
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
            throw Object.assign(
              new NotFoundError(`Record ${ids[i]} does not exist.`, { recordId: ids[i] as string }),
              {
                resource: 'record',
              },
            );
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

/** One record with the buckets it brings, or one bucket no record owns: imported or skipped whole. */
interface Unit {
  record: BagRecord | undefined;
  buckets: BagBucket[];
}

const time = (iso: string): number => Date.parse(iso);

/** Rewrite the ids Coffer keeps in a record's JSON (`_bucket`, and `_files` entries). */
function rewriteData(
  data: Record<string, unknown>,
  ids: { buckets: Map<string, string>; versions: Map<string, string>; files: Map<string, string> },
): Record<string, unknown> {
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
 * Commit a verified, staged bag in ONE transaction: all of it or nothing. File instances the
 * worker wrote become readable; records, revisions, buckets, tags, versions (in their order,
 * with fresh sequence numbers) and heads are inserted. Existing records and buckets are kept
 * (`skip`), replaced (`replace`) or left alone while the bag's get fresh ids (`new-ids`).
 * Written bytes that end up unused (skipped) are deleted in the same transaction.
 *
 * @throws {InvalidOperationError} when `replace` meets a version id used by another bucket.
 */
export async function commitImport(
  db: CofferDb,
  staged: StagedImport,
  options: CommitOptions,
): Promise<ImportReport> {
  const report: ImportReport = {
    records: { imported: 0, replaced: 0, skipped: 0 },
    buckets: { imported: 0, replaced: 0, skipped: 0 },
    versions: { imported: 0, skipped: 0 },
    files: { imported: 0, reused: 0, skipped: 0 },
    bytes: 0,
    ids: { records: {}, buckets: {} },
  };
  const bucketsById = new Map(staged.buckets.map((b) => [b.id, b]));
  const units: Unit[] = [];
  const claimed = new Set<string>();
  for (const record of staged.records) {
    const buckets = record.buckets
      .filter((id) => !claimed.has(id))
      .map((id) => bucketsById.get(id) as BagBucket);
    for (const bucket of buckets) claimed.add(bucket.id);
    units.push({ record, buckets });
  }
  for (const bucket of staged.buckets)
    if (!claimed.has(bucket.id)) units.push({ record: undefined, buckets: [bucket] });
  const stagedFiles = new Map(staged.files.map((f) => [f.bagId, f]));

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
      const used = new Set<StagedFile>();
      const importedBuckets = new Set<string>();
      const ids = {
        buckets: new Map<string, string>(),
        versions: new Map<string, string>(),
        files: new Map<string, string>(),
      };
      for (const file of staged.files) if (file.fileId !== file.bagId) ids.files.set(file.bagId, file.fileId);
      let seq = ((await db.meta.get('seq'))?.value as number | undefined) ?? 0;
      const locations = new Set((await db.locations.toArray()).map((l) => l.name));
      const now = Date.now();

      for (const unit of units) {
        const conflict = await hasConflict(db, unit);
        if (conflict && options.onConflict === 'skip') {
          if (unit.record) report.records.skipped++;
          report.buckets.skipped += unit.buckets.length;
          report.versions.skipped += unit.buckets.reduce((n, b) => n + b.versions.length, 0);
          continue;
        }
        const fresh = options.onConflict === 'new-ids';
        if (conflict && options.onConflict === 'replace') {
          if (unit.record && (await db.records.get(unit.record.id as RecordId))) {
            for (const link of await startingWith(
              db.recordsBuckets,
              '[recordId+bucketId]',
              unit.record.id,
            ).toArray()) {
              await deleteBucketRows(db, link.bucketId as BucketId);
              report.buckets.replaced++;
            }
            await deleteRecordRows(db, unit.record.id as RecordId);
            report.records.replaced++;
          }
          for (const bucket of unit.buckets) {
            if (await db.buckets.get(bucket.id as BucketId)) {
              await deleteBucketRows(db, bucket.id as BucketId);
              report.buckets.replaced++;
            }
          }
          for (const bucket of unit.buckets) {
            const taken = await db.objects.bulkGet(bucket.versions.map((v) => v.versionId as VersionId));
            const clash = taken.find((row) => row !== undefined);
            if (clash) {
              throw new InvalidOperationError(`Version ${clash.versionId} belongs to another bucket here.`, {
                versionId: clash.versionId,
                bucketId: clash.bucketId,
              });
            }
          }
        }

        for (const bucket of unit.buckets) {
          const bucketId = (fresh ? newId<BucketId>() : bucket.id) as BucketId;
          ids.buckets.set(bucket.id, bucketId);
          report.ids.buckets[bucket.id] = bucketId;
          importedBuckets.add(bucket.id);
          const versions: ObjectVersionRow[] = [];
          for (const version of bucket.versions) {
            const file =
              version.fileId === null ? undefined : (stagedFiles.get(version.fileId) as StagedFile);
            if (file) used.add(file);
            const versionId = (fresh ? newId<VersionId>() : version.versionId) as VersionId;
            ids.versions.set(version.versionId, versionId);
            seq++;
            versions.push({
              versionId,
              bucketId,
              key: version.key,
              fileId: file ? file.fileId : null,
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

        if (unit.record) {
          const record = unit.record;
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
            record.buckets
              .filter((id) => importedBuckets.has(id))
              .map((id) => ({ recordId, bucketId: ids.buckets.get(id) as BucketId })),
          );
          report.records.imported++;
        }
      }

      for (const file of staged.files) {
        if (!used.has(file)) {
          if (file.written) {
            const row = await db.files.get(file.fileId);
            if (row && !row.readable) {
              await deleteData(db, row.dataIds);
              await db.files.delete(file.fileId);
            }
          }
          report.files.skipped++;
          continue;
        }
        if (!file.written) {
          report.files.reused++;
          continue;
        }
        const row = await db.files.get(file.fileId);
        if (!row?.writable) {
          throw new InvalidOperationError(`File ${file.fileId} is no longer being written.`, {
            fileId: file.fileId,
          });
        }
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
      await db.meta.put({ key: 'seq', value: seq });
      return report;
    }),
  );
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

/** Drop the file instances a failed import wrote, with their chunks. Readable files are never touched. */
export async function discardStaged(db: CofferDb, fileIds: readonly FileId[]): Promise<void> {
  for (const fileId of fileIds) await discardWrittenFile(db, fileId);
}
