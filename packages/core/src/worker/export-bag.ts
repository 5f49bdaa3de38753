import { deflateSync } from 'fflate';
import { createCRC32, createMD5, createSHA256, type IHasher } from 'hash-wasm';
import { IntegrityError, throwIfAborted } from '../errors.js';
import type { FileId } from '../ids.js';
import {
  BAG_FORMAT,
  BAG_FORMAT_VERSION,
  BAG_INDEX_PATH,
  type BagBucket,
  type BagIndex,
  type BagRecord,
  bagRoots,
  toIso,
} from '../model/bag-documents.js';
import {
  BAG_DECLARATION,
  BagPathSet,
  encodeKeySegment,
  formatBagInfo,
  formatManifest,
  keyToBagPath,
  payloadOxum,
} from '../model/bagit.js';
import { readPieces } from '../storage/chunks.js';
import type { CofferDb, FileRow } from '../storage/schema.js';
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

/** The payload of the bag: where each file instance's bytes go, and the documents' paths. */
interface Layout {
  files: Map<FileId, string>;
  records: Map<string, string>;
  buckets: Map<string, string>;
}

/**
 * Decide every payload path. A head's bytes go under the key in `files/`; older versions, and
 * heads whose path would collide, under `versions/<versionId>/`. Each file instance is stored once.
 */
function layOut(plan: ExportPlan): Layout {
  const paths = new BagPathSet();
  const layout: Layout = { files: new Map(), records: new Map(), buckets: new Map() };
  paths.claim(BAG_INDEX_PATH);
  for (const { row } of plan.records) {
    const path = `${bagRoots.record(row.id)}record.json`;
    paths.claim(path);
    layout.records.set(row.id, path);
  }
  const roots = plan.buckets.map((bucket) =>
    bucket.owner ? bagRoots.record(bucket.owner) : bagRoots.bucket(bucket.row.id),
  );
  plan.buckets.forEach((bucket, i) => {
    const path = `${roots[i]}bucket.json`;
    paths.claim(path);
    layout.buckets.set(bucket.row.id, path);
  });
  plan.buckets.forEach((bucket, i) => {
    for (const { row } of bucket.versions) {
      if (row.isHead && row.fileId && !layout.files.has(row.fileId)) {
        const path = `${roots[i]}files/${keyToBagPath(row.key)}`;
        if (paths.claim(path)) layout.files.set(row.fileId, path);
      }
    }
  });
  plan.buckets.forEach((bucket, i) => {
    for (const { row } of bucket.versions) {
      if (row.fileId && !layout.files.has(row.fileId)) {
        const path = `${roots[i]}versions/${encodeKeySegment(row.versionId)}/${keyToBagPath(row.key)}`;
        paths.claim(path);
        layout.files.set(row.fileId, path);
      }
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
    versions: versions.map((v) => ({
      versionId: v.row.versionId,
      key: v.row.key,
      fileId: v.row.fileId,
      mimetype: v.row.mimetype,
      isHead: v.row.isHead === 1,
      created: toIso(v.row.created),
      updated: toIso(v.row.updated),
      tags: v.tags,
    })),
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
        path: layout.files.get(id) as string,
      };
    }),
  };
};

/**
 * Stream a selection of the coffer into a ZIP laid out as a BagIt bag (see
 * `model/bag-documents.ts` for the payload layout): file bytes first, stored, each hashed while
 * it streams; then the JSON documents, deflated; then the tag files. Stored chunk Blobs are
 * referenced by the result, not copied, so memory stays bounded whatever the export's size.
 *
 * @throws {NotFoundError} when a selected record does not exist.
 * @throws {IntegrityError} when stored bytes no longer match their checksum.
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
  for (const [fileId] of layout.files) {
    const file = plan.files.get(fileId);
    if (!file?.readable || file.checksum === null) {
      throw new IntegrityError(`File ${fileId} is not readable.`, { fileId });
    }
  }
  const base = `${request.bagName}/`;
  const zip = new ZipWriter(request.forceZip64);
  const hashers = await EntryHashers.create(request.sha256);
  const manifests: Record<Written, [string, string][]> = { md5: [], sha256: [] };
  const modified = new Date();
  let payloadBytes = 0;
  const total = [...layout.files.keys()].reduce((sum, id) => sum + (plan.files.get(id) as FileRow).size, 0);
  let loaded = 0;

  const record = (path: string, digest: ReturnType<EntryHashers['digest']>, size: number) => {
    manifests.md5.push([path, digest.md5]);
    if (digest.sha256) manifests.sha256.push([path, digest.sha256]);
    payloadBytes += size;
  };

  for (const [fileId, path] of layout.files) {
    const file = plan.files.get(fileId) as FileRow;
    hashers.init();
    const content = new BlobParts();
    for await (const piece of readPieces(db, file.extents, 0, file.size)) {
      throwIfAborted(signal);
      if (piece instanceof Blob) {
        for await (const bytes of chunksOf(piece.stream())) hashers.update(bytes);
      } else {
        hashers.update(piece);
      }
      content.push(piece);
      loaded += piece instanceof Blob ? piece.size : piece.byteLength;
      onProgress?.({ loaded, total });
    }
    const digest = hashers.digest();
    if (`md5:${digest.md5}` !== file.checksum || content.size !== file.size) {
      throw new IntegrityError(`The stored bytes of file ${fileId} no longer match its checksum.`, {
        fileId,
        expected: file.checksum,
        actual: `md5:${digest.md5}`,
      });
    }
    zip.add(
      {
        name: base + path,
        method: 0,
        crc: digest.crc,
        size: file.size,
        compressedSize: file.size,
        modified: new Date(file.created),
      },
      content.toBlobs(),
    );
    record(path, digest, file.size);
  }

  const addFile = (path: string, text: string, deflate: boolean) => {
    const bytes = encoder.encode(text);
    hashers.init();
    hashers.update(bytes);
    const digest = hashers.digest();
    const data: ZipPart = deflate ? deflateSync(bytes, { level: 6 }) : bytes;
    zip.add(
      {
        name: base + path,
        method: deflate ? 8 : 0,
        crc: digest.crc,
        size: bytes.length,
        compressedSize: data.length,
        modified,
      },
      [data],
    );
    return { digest, size: bytes.length };
  };
  const addDocument = (path: string, document: unknown) => {
    throwIfAborted(signal);
    const { digest, size } = addFile(path, `${JSON.stringify(document, null, 2)}\n`, true);
    record(path, digest, size);
  };

  for (const planned of plan.records)
    addDocument(layout.records.get(planned.row.id) as string, recordDocument(planned));
  for (const planned of plan.buckets) {
    addDocument(layout.buckets.get(planned.row.id) as string, bucketDocument(planned, plan.files, layout));
  }
  const index: BagIndex = {
    format: BAG_FORMAT,
    formatVersion: BAG_FORMAT_VERSION,
    coffer: { name: request.cofferName, version: request.cofferVersion },
    exported: modified.toISOString(),
    includeVersions: request.includeVersions,
    includeRevisions: request.includeRevisions,
    records: [...layout.records.values()],
    buckets: [...layout.buckets.values()],
  };
  addDocument(BAG_INDEX_PATH, index);

  const algorithms: Written[] = request.sha256 ? ['md5', 'sha256'] : ['md5'];
  const tagDigests: Record<Written, [string, string][]> = { md5: [], sha256: [] };
  const addTagFile = (path: string, text: string) => {
    const { digest } = addFile(path, text, false);
    tagDigests.md5.push([path, digest.md5]);
    if (digest.sha256) tagDigests.sha256.push([path, digest.sha256]);
  };
  addTagFile('bagit.txt', BAG_DECLARATION);
  addTagFile(
    'bag-info.txt',
    formatBagInfo([
      ['Bagging-Date', modified.toISOString().slice(0, 10)],
      ['Payload-Oxum', payloadOxum(payloadBytes, manifests.md5.length)],
      ['Bag-Software-Agent', `Coffer ${request.cofferVersion}`],
      ['Coffer-Version', request.cofferVersion],
      ['External-Description', `An export of the coffer "${request.cofferName}".`],
    ]),
  );
  for (const algorithm of algorithms)
    addTagFile(`manifest-${algorithm}.txt`, formatManifest(manifests[algorithm]));
  for (const algorithm of algorithms)
    addFile(`tagmanifest-${algorithm}.txt`, formatManifest(tagDigests[algorithm]), false);
  onProgress?.({ loaded: total, total });
  return zip.finish();
}
