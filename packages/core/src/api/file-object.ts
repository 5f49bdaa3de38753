import type { BucketId, FileId, VersionId } from '../ids.js';
import { recordFileUrl } from '../model/file-url.js';
import { dumpEntry, type FileEntry } from '../model/record.js';
import type { ObjectVersionRow } from '../storage/schema.js';
import type { CofferContext } from './context.js';
import { ObjectVersion } from './object-version.js';
import type { CofferRecord } from './records.js';

/**
 * A file of a record (Invenio's `FileObject`): the live head of a key in the record's bucket,
 * with the extra metadata the record keeps for it in `_files`. A snapshot of both when read.
 *
 * @example
 * ```ts
 * const file = await record.files!.get('site.jpg');
 * if (file) {
 *   file.checksum;              // "md5:…"
 *   file.get('description');    // extra metadata from _files
 *   await file.setMetadata({ description: 'North wall' });
 *   img.src = file.url;         // /coffer/records/<id>/files/site.jpg
 *   const older = await file.versions();
 * }
 * ```
 */
export class FileObject {
  /** The head version this file object wraps. */
  readonly version: ObjectVersion;
  private readonly extra: Readonly<Record<string, unknown>>;

  /** @internal */
  constructor(
    private readonly context: CofferContext,
    /** The record the file belongs to. */
    readonly record: CofferRecord,
    head: ObjectVersionRow,
    extra: Record<string, unknown>,
  ) {
    this.version = new ObjectVersion(context, head);
    this.extra = Object.freeze({ ...extra });
  }

  get key(): string {
    return this.version.key;
  }
  get versionId(): VersionId {
    return this.version.versionId;
  }
  get fileId(): FileId {
    return this.version.fileId as FileId;
  }
  get bucketId(): BucketId {
    return this.version.bucketId;
  }
  /** Bytes of the file. */
  get size(): number {
    return this.version.size;
  }
  /** `"md5:<hex>"`. */
  get checksum(): string {
    return this.version.checksum ?? '';
  }
  /** The stored media type, or the one guessed from the key. */
  get mimetype(): string {
    return this.version.mimetype;
  }
  get isHead(): boolean {
    return this.version.isHead;
  }
  get created(): Date {
    return this.version.created;
  }
  get updated(): Date {
    return this.version.updated;
  }

  /** The extra metadata (everything in the entry but Invenio's fields), as a copy. */
  get metadata(): Record<string, unknown> {
    return structuredClone(this.extra) as Record<string, unknown>;
  }

  /** The URL the service worker serves this file at: `<prefix>records/<recordId>/files/<key>`. */
  get url(): string {
    return recordFileUrl(this.context.settings.urlPrefix, this.record.id, this.key);
  }

  /**
   * A field of the entry (Invenio's `fo.get(name)`): `bucket`, `checksum`, `file_id`, `key`,
   * `size`, `version_id`, or extra metadata; `undefined` when absent.
   */
  get(name: string): unknown {
    const entry: Record<string, unknown> = this.dumps();
    return Object.hasOwn(entry, name) ? structuredClone(entry[name]) : undefined;
  }

  /** The `_files` entry of this file: Invenio's fields over the extra metadata. */
  dumps(): FileEntry {
    return dumpEntry(
      {
        bucketId: this.bucketId,
        key: this.key,
        versionId: this.versionId,
        fileId: this.fileId,
        size: this.size,
        checksum: this.version.checksum,
      },
      structuredClone(this.extra) as Record<string, unknown>,
    );
  }

  /**
   * Change this file's extra metadata through `record.files.setMetadata` (`null` deletes a
   * field) and return the refreshed file object.
   *
   * @throws {ReservedMetadataError} for a reserved name (`key`, `bucket`, `version_id`, ...).
   */
  async setMetadata(patch: Record<string, unknown>): Promise<FileObject> {
    return (await this.record.files!.setMetadata(this.key, patch)) as FileObject;
  }

  /**
   * A version of this file's key: the live head without `versionId`, else that exact version
   * (an older one or a delete marker); `undefined` when there is none.
   */
  async getVersion(versionId?: string): Promise<ObjectVersion | undefined> {
    const { store } = this.context;
    if (versionId === undefined) {
      const head = await store.getHead(this.bucketId, this.key);
      return head && head.fileId !== null ? new ObjectVersion(this.context, head) : undefined;
    }
    const row = await store.getVersion(versionId);
    return row && row.bucketId === this.bucketId && row.key === this.key
      ? new ObjectVersion(this.context, row)
      : undefined;
  }

  /** Every version of this file's key, delete markers included, newest first. */
  async versions(): Promise<ObjectVersion[]> {
    const rows = await this.context.store.versions(this.bucketId, this.key);
    return rows.map((row) => new ObjectVersion(this.context, row));
  }

  /** The whole file as a Blob. */
  async blob(): Promise<Blob> {
    return this.version.blob();
  }

  /** The bytes `[start, end)` as a stream that reads one chunk at a time. */
  async stream(start?: number, end?: number): Promise<ReadableStream<Uint8Array>> {
    return this.version.stream(start, end);
  }
}
