import { BodyUnavailableError, IntegrityError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { BucketId, FileId, VersionId } from '../ids.js';
import { bucketObjectUrl } from '../model/file-url.js';
import { validateKey } from '../model/key.js';
import { guessMimetype } from '../model/mimetype.js';
import { type Tags, tagValue, validateTag } from '../model/tags.js';
import { readBlob, readStream } from '../storage/chunks.js';
import { type FileRow, isLazyFile, type ObjectVersionRow } from '../storage/schema.js';
import type { OperationHooks } from '../worker/protocol.js';
import type { CofferContext } from './context.js';
import { type FixityResult, verifyFile } from './maintenance.js';

/** A file instance: the stored bytes one or more versions share. */
export interface FileInstance {
  id: FileId;
  size: number;
  /** `"md5:<hex>"`. */
  checksum: string | null;
  /** `"sha256:<hex>"` when the coffer computes sha256. */
  sha256: string | null;
  readable: boolean;
  writable: boolean;
  /**
   * The bytes are on the sync remote only (pulled with `bodies: 'lazy'`): the first read of a
   * version fetches them through the sync; until then `readable` is false.
   */
  lazy: boolean;
  /** The result of the last fixity check; `null` before any. */
  lastCheck: boolean | null;
  lastCheckAt: Date | null;
  created: Date;
  updated: Date;
}

/** A stored file row as the public {@link FileInstance}. */
export const toFileInstance = (row: FileRow): FileInstance => ({
  id: row.id,
  size: row.size,
  checksum: row.checksum,
  sha256: row.sha256,
  readable: row.readable === 1,
  writable: row.writable === 1,
  lazy: isLazyFile(row),
  lastCheck: row.lastCheck,
  lastCheckAt: row.lastCheckAt === null ? null : new Date(row.lastCheckAt),
  created: new Date(row.created),
  updated: new Date(row.updated),
});

export { encodeKeyPath } from '../model/file-url.js';

/**
 * One version of an object: a file (`fileId` set) or a delete marker. A snapshot of the row
 * when it was read: `isHead` does not change when a newer version arrives.
 *
 * @example
 * ```ts
 * const [latest, previous] = await bucket.objects.versions('site.jpg');
 * previous.checksum;                       // "md5:…"
 * const bytes = await previous.slice(0, 1024); // only the chunks it covers are read
 * await previous.restore();                 // a new head sharing previous's file
 * img.src = latest.url;                     // served by the service worker
 * ```
 */
export class ObjectVersion {
  /** The bucket holding this version. */
  readonly bucketId: BucketId;
  /** The object's key. */
  readonly key: string;
  /** This version's id. */
  readonly versionId: VersionId;
  /** The file instance; `null` for a delete marker. */
  readonly fileId: FileId | null;
  /** Bytes of the file; 0 for a delete marker. */
  readonly size: number;
  /** `"md5:<hex>"`; `null` for a delete marker. */
  readonly checksum: string | null;
  /** Whether this version was the key's head when read. */
  readonly isHead: boolean;
  /** When this version was created. */
  readonly created: Date;
  /** When this version last changed (e.g. stopped being head). */
  readonly updated: Date;
  /** The stored media type, if one was given; see {@link ObjectVersion.mimetype}. */
  readonly storedMimetype: string | null;
  /** @internal Orders versions; the cursor of a version listing. */
  readonly sequence: number;

  /** @internal */
  constructor(
    private readonly context: CofferContext,
    row: ObjectVersionRow,
  ) {
    this.bucketId = row.bucketId;
    this.key = row.key;
    this.versionId = row.versionId;
    this.fileId = row.fileId;
    this.size = row.size;
    this.checksum = row.checksum;
    this.isHead = row.isHead === 1;
    this.created = new Date(row.created);
    this.updated = new Date(row.updated);
    this.storedMimetype = row.mimetype;
    this.sequence = row.seq;
  }

  /** Whether this version is a delete marker. */
  get isDeleteMarker(): boolean {
    return this.fileId === null;
  }

  /** The stored media type, or the one guessed from the key. */
  get mimetype(): string {
    return this.storedMimetype ?? guessMimetype(this.key);
  }

  /**
   * The URL the service worker serves this version at (see `@coffer/core/sw`): the key's URL
   * for a live head, with `?versionId=` for older versions and delete markers (as Invenio's
   * `links.self`).
   */
  get url(): string {
    const { urlPrefix } = this.context.settings;
    const versionId = this.isHead && !this.isDeleteMarker ? undefined : this.versionId;
    return bucketObjectUrl(urlPrefix, this.bucketId, this.key, versionId);
  }

  /**
   * The file instance holding the bytes (its `lazy` flag says whether they are still on the
   * sync remote only; this does not fetch them). @throws {NotFoundError} for a delete marker.
   */
  async file(): Promise<FileInstance> {
    return toFileInstance(await this.fileRow({ intact: false, fetch: false }));
  }

  /**
   * Fixity check: read the stored bytes back in the byte pipeline (the worker), compare them
   * with the checksum recorded at write time, and record the outcome in the file instance's
   * `lastCheck` and `lastCheckAt`. Once a check has failed, reading the bytes throws
   * {@link IntegrityError} until a later check passes.
   *
   * @throws {NotFoundError} for a delete marker; {@link StorageError} when the bytes cannot be
   *   read (the last check is then left as it was); {@link BodyUnavailableError}
   *   (`not-fetched`) when the bytes are on the sync remote only: fixity checks bytes stored here.
   */
  async verifyChecksum(hooks: OperationHooks = {}): Promise<FixityResult> {
    const file = await this.fileRow({ intact: false, fetch: false });
    if (isLazyFile(file)) {
      throw new BodyUnavailableError(
        `${this.key} (${this.versionId}) is on the sync remote only: there are no bytes here to check.`,
        { key: this.key, versionId: this.versionId, fileId: file.id, reason: 'not-fetched' },
      );
    }
    return verifyFile(this.context, file.id, hooks);
  }

  /**
   * The whole file as a Blob; with Blob chunks, made of handles, not bytes in memory. This and
   * every read below first fetch bytes pulled lazily (see {@link FileInstance.lazy}).
   *
   * @throws {BodyUnavailableError} when the bytes are on the sync remote only and cannot be
   *   fetched now (no sync, offline, gone from the server); {@link IntegrityError} when fetched
   *   bytes do not match their md5 (nothing is kept; a later read tries again).
   */
  async blob(): Promise<Blob> {
    return this.slice(0, this.size);
  }

  /**
   * Bytes `[start, end)` as a Blob, reading only the chunks the range covers. Negative or
   * out-of-range positions are clamped like `Blob.slice`.
   */
  async slice(start = 0, end = this.size): Promise<Blob> {
    const file = await this.fileRow();
    const [from, to] = clampRange(start, end, file.size);
    return readBlob(this.context.db, file.extents, from, to, this.mimetype);
  }

  /** The bytes as a stream that reads one chunk at a time. */
  async stream(start = 0, end = this.size): Promise<ReadableStream<Uint8Array>> {
    const file = await this.fileRow();
    const [from, to] = clampRange(start, end, file.size);
    return readStream(this.context.db, file.extents, from, to);
  }

  /** This version's tags, in a map without a prototype (a tag may be named `constructor`). */
  async tags(): Promise<Tags> {
    return this.context.store.versionTags(this.versionId);
  }

  /** One tag's value, or `undefined` when this version has no tag of that name. */
  async getTag(key: string): Promise<string | undefined> {
    return tagValue(await this.tags(), key);
  }

  /**
   * Create a tag (Invenio's `ObjectVersionTag.create`): refused when this version already has
   * one by that name; {@link ObjectVersion.setTag} replaces instead.
   *
   * @throws {DuplicateTagError} (`tag`, `bucketId`, `key`, `versionId`) when the tag exists;
   *   {@link InvalidTagError} for a bad key or value; {@link BucketLockedError}.
   * @example
   * ```ts
   * await version.createTag('camera', 'A7');
   * await version.createTag('camera', 'X100'); // throws DuplicateTagError; 'A7' stays
   * ```
   */
  async createTag(key: string, value: string): Promise<void> {
    validateTag(key, value);
    await this.context.store.setVersionTag(this.versionId, key, value, 'create');
  }

  /** Set (create or replace) a tag. @throws {InvalidTagError} for a bad key or value. */
  async setTag(key: string, value: string): Promise<void> {
    validateTag(key, value);
    await this.context.store.setVersionTag(this.versionId, key, value, 'upsert');
  }

  /** Delete a tag; deleting a missing tag does nothing. */
  async deleteTag(key: string): Promise<void> {
    await this.context.store.deleteVersionTag(this.versionId, key);
  }

  /**
   * Remove this version for good. If it is the head, the newest remaining version becomes head.
   *
   * @throws {BucketLockedError} when the bucket is locked.
   */
  async remove(): Promise<void> {
    await this.context.store.removeVersion(this.versionId);
  }

  /**
   * Make this old version current again: a new head sharing its file and tags. History is
   * append-only: this version stays as it is.
   *
   * @throws {InvalidOperationError} for the head or a delete marker.
   */
  async restore(): Promise<ObjectVersion> {
    const { version } = await this.context.store.copyVersion(
      this.versionId,
      { bucketId: this.bucketId, key: this.key },
      'restore',
    );
    return new ObjectVersion(this.context, version);
  }

  /**
   * Copy this version to `key` of `bucket` (by default the same bucket and key) as a new head
   * sharing the file instance; tags are copied.
   *
   * @throws {InvalidOperationError} for a delete marker.
   */
  async copy(
    bucket: { id: BucketId } | BucketId = this.bucketId,
    key: string = this.key,
  ): Promise<ObjectVersion> {
    validateKey(key);
    const bucketId = typeof bucket === 'string' ? bucket : bucket.id;
    const { version } = await this.context.store.copyVersion(this.versionId, { bucketId, key }, 'copy');
    return new ObjectVersion(this.context, version);
  }

  /**
   * The readable file row, its bytes fetched first when they are on the sync remote only;
   * unless asked otherwise, refused when its last fixity check failed. Without `fetch`, a lazy
   * row is returned as it is.
   */
  private async fileRow({ intact = true, fetch = true } = {}): Promise<FileRow> {
    const { store, bodies } = this.context;
    let row = this.fileId === null ? undefined : await store.getFile(this.fileId);
    if (row && isLazyFile(row)) {
      if (!fetch) return row;
      await bodies.fetch({ fileId: row.id, key: this.key, versionId: this.versionId });
      row = await store.getFile(row.id);
    }
    if (!row?.readable) {
      throw new NotFoundError(`${this.key} (${this.versionId}) has no readable file.`, {
        bucketId: this.bucketId,
        key: this.key,
        versionId: this.versionId,
        resource: 'file',
      });
    }
    if (intact && row.lastCheck === false) {
      throw new IntegrityError(
        `${this.key} (${this.versionId}) failed its last fixity check; its bytes are corrupt.`,
        {
          bucketId: this.bucketId,
          key: this.key,
          versionId: this.versionId,
          fileId: row.id,
          expected: row.checksum,
        },
      );
    }
    return row;
  }
}

function clampRange(start: number, end: number, size: number): [number, number] {
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new InvalidArgumentError('A range needs finite numbers.', { argument: 'range' });
  }
  const clamp = (n: number) => Math.min(Math.max(n < 0 ? size + n : n, 0), size);
  const from = clamp(Math.trunc(start));
  return [from, Math.max(clamp(Math.trunc(end)), from)];
}
