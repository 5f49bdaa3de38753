import type { Coffer } from '../api/coffer.js';
import type { ObjectVersion } from '../api/object-version.js';
import type { CofferRecord } from '../api/records.js';

/**
 * The version a record route names: the live head of `key` in the record's files, or with
 * `versionId` that version (an older one or a delete marker) in the record's bucket.
 * `undefined` when the record has no bucket (or a deleted one) or nothing matches.
 *
 * @throws {NotFoundError} from `coffer.records.get` for an unknown or soft-deleted record.
 */
export async function resolveRecordFile(
  coffer: Coffer,
  recordId: string,
  key: string,
  versionId: string | undefined,
): Promise<{ record: CofferRecord; version: ObjectVersion } | undefined> {
  const record = await coffer.records.get(recordId);
  if (!record.bucket) return undefined;
  const version =
    versionId === undefined
      ? (await record.files?.get(key))?.version
      : await record.bucket.objects.get(key, { versionId });
  return version && { record, version };
}
