import type { Coffer } from '../api/coffer.js';
import type { ObjectVersion } from '../api/object-version.js';

/** What the record routes read of a record: its id, its files and its bucket. */
export interface ServedRecord {
  readonly id: string;
}

interface RecordWithFiles extends ServedRecord {
  readonly files?: { get(key: string): Promise<{ readonly version: ObjectVersion } | undefined> };
  readonly bucket?: {
    readonly objects: {
      get(key: string, options: { versionId?: string }): Promise<ObjectVersion | undefined>;
    };
  };
}

interface RecordsLike {
  get(id: string): Promise<RecordWithFiles | undefined>;
}

/**
 * The version a record route names: the head of `key` in the record's files, or with
 * `versionId` that version in the record's bucket. `undefined` when the coffer has no records
 * layer, the record has no bucket (or a deleted one), or nothing matches.
 *
 * @throws {NotFoundError} from `coffer.records.get` for an unknown or soft-deleted record.
 */
export async function resolveRecordFile(
  coffer: Coffer,
  recordId: string,
  key: string,
  versionId: string | undefined,
): Promise<{ record: ServedRecord; version: ObjectVersion } | undefined> {
  const records = (coffer as unknown as { records?: RecordsLike }).records;
  const record = await records?.get(recordId);
  if (!record?.bucket) return undefined;
  const version =
    versionId === undefined
      ? (await record.files?.get(key))?.version
      : await record.bucket.objects.get(key, { versionId });
  return version && { record, version };
}
