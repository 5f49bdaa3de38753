import type { Coffer } from '../api/coffer.js';
import type { ObjectVersion } from '../api/object-version.js';
import type { CofferRecord } from '../api/records.js';
import type { BucketId } from '../ids.js';

/** A version a file route names, with the record whose rules apply to it (if any). */
export interface ResolvedFile {
  /** The record named by a record route, or the owner of the bucket on a bucket route. */
  record: CofferRecord | undefined;
  version: ObjectVersion;
}

/**
 * The version a record route names: the live head of `key` in the record's files, or with
 * `versionId` that version (an older one or a delete marker) in the record's bucket.
 * `undefined` when the record has no bucket (or a deleted one) or nothing matches.
 *
 * @throws {NotFoundError} from `coffer.records.get` for an unknown record, or one in the trash
 *   unless `includeDeleted`.
 */
export async function resolveRecordFile(
  coffer: Coffer,
  recordId: string,
  key: string,
  versionId: string | undefined,
  includeDeleted = false,
): Promise<ResolvedFile | undefined> {
  const record = await coffer.records.get(recordId, { includeDeleted });
  if (!record.bucket) return undefined;
  const version =
    versionId === undefined
      ? (await record.files?.get(key))?.version
      : await record.bucket.objects.get(key, { versionId });
  return version && { record, version };
}

/**
 * The version a bucket route names (the live head of `key`, or with `versionId` that version),
 * with the record that owns the bucket: a bucket URL is subject to the same rules as the
 * record's own URL. `undefined` when the bucket is missing or deleted, or nothing matches.
 *
 * @throws {NotFoundError} from `coffer.records.get` when the owning record is in the trash,
 *   unless `includeDeleted`.
 */
export async function resolveBucketFile(
  coffer: Coffer,
  bucketId: string,
  key: string,
  versionId: string | undefined,
  includeDeleted = false,
): Promise<ResolvedFile | undefined> {
  const bucket = await coffer.buckets.get(bucketId);
  if (!bucket) return undefined;
  const ownerId = await coffer.context.store.ownerOf(bucket.id as BucketId);
  const record = ownerId === undefined ? undefined : await coffer.records.get(ownerId, { includeDeleted });
  const version = await bucket.objects.get(key, { versionId });
  return version && { record, version };
}
