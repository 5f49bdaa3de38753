import { deflateSync } from 'fflate';
import { createCRC32, createMD5, createSHA256, type IHasher } from 'hash-wasm';
import { BodyUnavailableError, IntegrityError, throwIfAborted } from '../errors.js';
import type { FileId } from '../ids.js';
import {
  BAG_FORMAT,
  BAG_FORMAT_VERSION,
  BAG_INDEX_PATH,
  BAG_README_PATH,
  type BagBucket,
  type BagIndex,
  type BagRecord,
  BUCKETS_FOLDER,
  bagReadme,
  RECORDS_FOLDER,
  toIso,
} from '../model/bag-documents.js';
import {
  BAG_DECLARATION,
  BagPathSet,
  bagSegment,
  formatBagInfo,
  formatManifest,
  keySegments,
  payloadOxum,
} from '../model/bagit.js';
import { readPieces } from '../storage/chunks.js';
import { type CofferDb, type FileRow, isLazyFile } from '../storage/schema.js';
import { type ExportPlan, readExportPlan } from '../storage/transfer.js';
import type { ExportBagRequest, OperationHooks } from './protocol.js';
import { chunksOf } from './zip-reader.js';
import { BlobParts, type ZipPart, ZipWriter } from './zip-writer.js';

const encoder = new TextEncoder();

/** The algorithms of the manifests Coffer writes. */
type Written = 'md5' | 'sha256';

/** The digests every entry gets: CRC-32 for the ZIP, md5 (and sha256) for the manifests. */
class EntryHashers {
  private constructor(
    private readonly crc: IHasher,
    readonly md5: IHasher,
    readonly sha256: IHasher | null,
  ) {}

  static async create(sha256: boolean): Promise<EntryHashers> {
    return new EntryHashers(await createCRC32(), await createMD5(), sha256 ? await createSHA256() : null);
  }

  init(): void {
    this.crc.init();
    this.md5.init();
    this.sha256?.init();
  }

  update(bytes: Uint8Array): void {
    this.crc.update(bytes);
    this.md5.update(bytes);
    this.sha256?.update(bytes);
  }

  digest(): { crc: number; md5: string; sha256: string | null } {
    return {
      crc: Number.parseInt(this.crc.digest('hex'), 16),
      md5: this.md5.digest('hex'),
      sha256: this.sha256 ? this.sha256.digest('hex') : null,
    };
  }
}

/** The payload of the bag: where each file instance's and version's bytes go, and the documents. */
interface Layout {
  /** Each file instance's paths: the one its document names (and the import reads), then heads' copies. */
  files: Map<FileId, string[]>;
  /** The path of each version with a file. */
  versions: Map<string, string>;
  records: Map<string, string>;
  buckets: Map<string, string>;
}

/**
 * Decide every payload path (see `model/bag-documents.ts`). A record's folder is named after
 * its id, a bucket's (no record owns it) after its; both by `bagSegment`, numbered if taken.
 * Then every head of every bucket gets its own path under its key in `files/`, even when
 * another head (of this or another record) has the same file instance: unpacked by hand, every
 * record's folder holds every current file. Then each file instance no head has is stored once,
 * under `versions/<versionId>/<key>` of the first bucket that uses it.
 */
function layOut(plan: ExportPlan): Layout {
  const paths = new BagPathSet();
  const layout: Layout = { files: new Map(), versions: new Map(), records: new Map(), buckets: new Map() };
  paths.claim(BAG_INDEX_PATH);
  const folders = new Map<string, string>();
  for (const { row } of plan.records) {
    const folder = paths.claimDirectory(RECORDS_FOLDER, bagSegment(row.id));
    folders.set(row.id, folder);
    const path = `${folder}record.json`;
    paths.claim(path);
    layout.records.set(row.id, path);
  }
  const roots = plan.buckets.map(
    (bucket) =>
      (bucket.owner && folders.get(bucket.owner)) ||
      paths.claimDirectory(BUCKETS_FOLDER, bagSegment(bucket.row.id)),
  );
  plan.buckets.forEach((bucket, i) => {
    const path = `${roots[i]}bucket.json`;
    paths.claim(path);
    layout.buckets.set(bucket.row.id, path);
  });
  plan.buckets.forEach((bucket, i) => {
    for (const { row } of bucket.versions) {
      if (!row.isHead || !row.fileId) continue;
      const path = paths.claimFile(`${roots[i]}files/`, keySegments(row.key));
      layout.versions.set(row.versionId, path);
      const copies = layout.files.get(row.fileId);
      if (copies) copies.push(path);
      else layout.files.set(row.fileId, [path]);
    }
  });
  plan.buckets.forEach((bucket, i) => {
    for (const { row } of bucket.versions) {
      if (row.isHead || !row.fileId) continue;
      let stored = layout.files.get(row.fileId);
      if (!stored) {
        const segments = [bagSegment(row.versionId), ...keySegments(row.key)];
        stored = [paths.claimFile(`${roots[i]}versions/`, segments)];
        layout.files.set(row.fileId, stored);
      }
      layout.versions.set(row.versionId, stored[0] as string);
    }
  });
  return layout;
}

const recordDocument = ({ row, bucketIds, revisions }: ExportPlan['records'][number]): BagRecord => ({
  id: row.id,
  revisionId: row.revisionId,
  created: toIso(row.created),
  updated: toIso(row.updated),
  deleted: row.deleted === 1,
  data: row.data,
  buckets: bucketIds,
  revisions: revisions.map((r) => ({ revisionId: r.revisionId, created: toIso(r.created), data: r.data })),
});

const bucketDocument = (
  { row, tags, versions }: ExportPlan['buckets'][number],
  files: Map<FileId, FileRow>,
  layout: Layout,
): BagBucket => {
  const used = [...new Set(versions.flatMap((v) => (v.row.fileId ? [v.row.fileId] : [])))];
  return {
    id: row.id,
    location: row.location,
    storageClass: row.storageClass,
    quotaSize: row.quotaSize,
    maxFileSize: row.maxFileSize,
    locked: row.locked === 1,
    deleted: row.deleted === 1,
    created: toIso(row.created),
    updated: toIso(row.updated),
    tags,
    versions: versions.map((v) => {
      const path = layout.versions.get(v.row.versionId);
      return {
        versionId: v.row.versionId,
        key: v.row.key,
        fileId: v.row.fileId,
        mimetype: v.row.mimetype,
        isHead: v.row.isHead === 1,
        created: toIso(v.row.created),
        updated: toIso(v.row.updated),
        tags: v.tags,
        ...(path === undefined ? {} : { path }),
      };
    }),
    files: used.map((id) => {
      const file = files.get(id) as FileRow;
      return {
        id,
        size: file.size,
        checksum: file.checksum as string,
        sha256: file.sha256,
        lastCheck: file.lastCheck,
        lastCheckAt: file.lastCheckAt === null ? null : toIso(file.lastCheckAt),
        created: toIso(file.created),
        path: (layout.files.get(id) as string[])[0] as string,
      };
    }),
  };
};

/**
 * The bag as it is written: entries go into the ZIP, and each payload entry's digests into
 * the manifests, each tag file's into the tag manifests.
 */
class BagWriter {
  private readonly zip: ZipWriter;
  private readonly manifests: Record<Written, [string, string][]> = { md5: [], sha256: [] };
  private readonly tagDigests: Record<Written, [string, string][]> = { md5: [], sha256: [] };
  private payloadBytes = 0;
  /** The time the export is made: the documents' and tag files' modification time. */
  readonly modified = new Date();

  private constructor(
    private readonly request: ExportBagRequest,
    readonly hashers: EntryHashers,
  ) {
    this.zip = new ZipWriter(request.forceZip64);
  }

  static async create(request: ExportBagRequest): Promise<BagWriter> {
    return new BagWriter(request, await EntryHashers.create(request.sha256));
  }

  /**
   * A file instance whose bytes went through {@link BagWriter.hashers} as `content` was built,
   * at each of `paths`: the same Blob parts in one entry per path (the ZIP grows by the size
   * once per path; memory does not, and the bytes are read and hashed once).
   */
  addFile(paths: readonly string[], file: FileRow, content: BlobParts): void {
    const digest = this.hashers.digest();
    if (`md5:${digest.md5}` !== file.checksum || content.size !== file.size) {
      throw new IntegrityError(`The stored bytes of file ${file.id} no longer match its checksum.`, {
        fileId: file.id,
        expected: file.checksum,
        actual: `md5:${digest.md5}`,
      });
    }
    for (const path of paths) {
      this.zip.add(
        {
          name: this.name(path),
          method: 0,
          crc: digest.crc,
          size: file.size,
          compressedSize: file.size,
          modified: new Date(file.created),
        },
        content.toBlobs(),
      );
      this.listInManifests(path, digest, file.size);
    }
  }

  /** A JSON document of the payload, deflated. */
  addDocument(path: string, document: unknown): void {
    const { digest, size } = this.addText(path, `${JSON.stringify(document, null, 2)}\n`, true);
    this.listInManifests(path, digest, size);
  }

  /**
   * The tag files, after every payload entry: `bagit.txt`, `bag-info.txt`, `README.txt` (how
   * to read the bag by hand), the manifests, then the tag manifests.
   */
  finish(): Blob {
    const { request, modified } = this;
    const algorithms: Written[] = request.sha256 ? ['md5', 'sha256'] : ['md5'];
    this.addTagFile('bagit.txt', BAG_DECLARATION);
    this.addTagFile(
      'bag-info.txt',
      formatBagInfo([
        ['Bagging-Date', modified.toISOString().slice(0, 10)],
        ['Payload-Oxum', payloadOxum(this.payloadBytes, this.manifests.md5.length)],
        ['Bag-Software-Agent', `Coffer ${request.cofferVersion}`],
        ['Coffer-Version', request.cofferVersion],
        ['External-Description', `An export of the coffer "${request.cofferName}".`],
      ]),
    );
    this.addTagFile(BAG_README_PATH, bagReadme({ sha256: request.sha256 }));
    for (const algorithm of algorithms)
      this.addTagFile(`manifest-${algorithm}.txt`, formatManifest(this.manifests[algorithm]));
    for (const algorithm of algorithms)
      this.addText(`tagmanifest-${algorithm}.txt`, formatManifest(this.tagDigests[algorithm]), false);
    return this.zip.finish();
  }

  private name(path: string): string {
    return `${this.request.bagName}/${path}`;
  }

  private listInManifests(path: string, digest: ReturnType<EntryHashers['digest']>, size: number): void {
    this.manifests.md5.push([path, digest.md5]);
    if (digest.sha256) this.manifests.sha256.push([path, digest.sha256]);
    this.payloadBytes += size;
  }

  private addTagFile(path: string, text: string): void {
    const { digest } = this.addText(path, text, false);
    this.tagDigests.md5.push([path, digest.md5]);
    if (digest.sha256) this.tagDigests.sha256.push([path, digest.sha256]);
  }

  private addText(path: string, text: string, deflate: boolean) {
    const bytes = encoder.encode(text);
    this.hashers.init();
    this.hashers.update(bytes);
    const digest = this.hashers.digest();
    const data: ZipPart = deflate ? deflateSync(bytes, { level: 6 }) : bytes;
    this.zip.add(
      {
        name: this.name(path),
        method: deflate ? 8 : 0,
        crc: digest.crc,
        size: bytes.length,
        compressedSize: data.length,
        modified: this.modified,
      },
      [data],
    );
    return { digest, size: bytes.length };
  }
}

/**
 * Stream a selection of the coffer into a ZIP laid out as a BagIt bag (see
 * `model/bag-documents.ts` for the payload layout) that can be read without Coffer: `unzip`,
 * then `md5sum -c manifest-md5.txt` in the bag's folder, and every record's current files are
 * under `data/records/<recordId>/files/`. Stored chunk Blobs are referenced by the result, not
 * copied, so memory stays bounded whatever the export's size.
 *
 * Cost: a file instance that several heads share (dedupe: a snapshot record, the same file in
 * two records or under two keys) is read and hashed once but written once per head, so the
 * ZIP is larger than the space the coffer uses by those extra copies. Older versions are not
 * repeated.
 * 1. Read the selection in one transaction and decide every payload path.
 * 2. File bytes first, stored, each hashed while it streams and checked against its checksum,
 *    then written at each of its paths.
 * 3. Then the JSON documents, deflated: records, buckets, the index.
 * 4. Then the tag files.
 *
 * @throws {NotFoundError} when a selected record does not exist.
 * @throws {IntegrityError} when stored bytes no longer match their checksum.
 * @throws {BodyUnavailableError} (`not-fetched`, every such file in `fileIds`) when files of the
 *   selection have their bytes on the sync remote only: a bag never lacks bytes.
 * @throws {AbortError} when `signal` fires.
 */
export async function exportBag(
  db: CofferDb,
  request: ExportBagRequest,
  { signal, onProgress }: OperationHooks = {},
): Promise<Blob> {
  throwIfAborted(signal);
  const plan = await readExportPlan(db, request);
  const layout = layOut(plan);
  const bag = await BagWriter.create(request);
  await writeFiles(db, bag, plan, layout, { signal, onProgress });
  writeDocuments(bag, plan, layout, request, signal);
  return bag.finish();
}

/** Every file instance's bytes, in the order of the layout. */
async function writeFiles(
  db: CofferDb,
  bag: BagWriter,
  plan: ExportPlan,
  layout: Layout,
  { signal, onProgress }: OperationHooks,
): Promise<void> {
  const lazy = [...layout.files.keys()].filter((fileId) => {
    const file = plan.files.get(fileId);
    return file !== undefined && isLazyFile(file);
  });
  if (lazy.length > 0) {
    throw new BodyUnavailableError(`${lazy.length} file(s) of the export are on the sync remote only.`, {
      reason: 'not-fetched',
      fileId: lazy[0],
      fileIds: lazy,
    });
  }
  const files = [...layout.files].map(([fileId, paths]) => {
    const file = plan.files.get(fileId);
    if (!file?.readable || file.checksum === null) {
      throw new IntegrityError(`File ${fileId} is not readable.`, { fileId });
    }
    return { file, paths };
  });
  const total = files.reduce((sum, { file }) => sum + file.size, 0);
  let loaded = 0;
  for (const { file, paths } of files) {
    bag.hashers.init();
    const content = new BlobParts();
    for await (const piece of readPieces(db, file.extents, 0, file.size)) {
      throwIfAborted(signal);
      if (piece instanceof Blob) {
        for await (const bytes of chunksOf(piece.stream())) bag.hashers.update(bytes);
      } else {
        bag.hashers.update(piece);
      }
      content.push(piece);
      loaded += piece instanceof Blob ? piece.size : piece.byteLength;
      onProgress?.({ loaded, total });
    }
    bag.addFile(paths, file, content);
  }
  onProgress?.({ loaded: total, total });
}

/** The record and bucket documents, then the index that lists them. */
function writeDocuments(
  bag: BagWriter,
  plan: ExportPlan,
  layout: Layout,
  request: ExportBagRequest,
  signal: AbortSignal | undefined,
): void {
  for (const planned of plan.records) {
    throwIfAborted(signal);
    bag.addDocument(layout.records.get(planned.row.id) as string, recordDocument(planned));
  }
  for (const planned of plan.buckets) {
    throwIfAborted(signal);
    bag.addDocument(
      layout.buckets.get(planned.row.id) as string,
      bucketDocument(planned, plan.files, layout),
    );
  }
  const index: BagIndex = {
    format: BAG_FORMAT,
    formatVersion: BAG_FORMAT_VERSION,
    coffer: { name: request.cofferName, version: request.cofferVersion },
    exported: bag.modified.toISOString(),
    includeVersions: request.includeVersions,
    includeRevisions: request.includeRevisions,
    records: [...layout.records.values()],
    buckets: [...layout.buckets.values()],
  };
  bag.addDocument(BAG_INDEX_PATH, index);
}
