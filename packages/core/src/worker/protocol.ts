import type { FileId } from '../ids.js';
import type { BagBucket, BagIndex, BagRecord } from '../model/bag-documents.js';
import type { SizeLimit } from '../model/limits.js';
import type { ChunkStorage } from '../storage/chunks.js';
import type { Extent } from '../storage/schema.js';
import type { WireThrown } from './transfer.js';

/** What a source of bytes may be. */
export type ByteSource = Blob | ArrayBuffer | Uint8Array | ReadableStream<Uint8Array>;

/** Progress of a long operation, in bytes. `total` is `undefined` when unknown (a stream). */
export interface Progress {
  loaded: number;
  total: number | undefined;
}

/** Cancellation and progress for a long operation. */
export interface OperationHooks {
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: Progress) => void) | undefined;
}

/** How the bytes are laid out and checked while they are written. */
export interface WriteSettings {
  chunkSize: number;
  /**
   * With Blob chunks, a Blob or File source is stored as slices of this many bytes instead of
   * `chunkSize` (absent: `chunkSize`): such a source is already in the browser's blob store, so
   * larger stored Blobs cost no memory and write faster. Streams and bytes in memory keep
   * `chunkSize`.
   */
  blobChunkSize?: number | undefined;
  chunkStorage: ChunkStorage;
  /** Chunks smaller than this are stored inline as ArrayBuffers even in Blob mode. */
  inlineBelow: number;
  /** Also compute a sha256 digest. */
  sha256: boolean;
}

/** Write `source` as the chunks of `dataId`, hashing it in the same pass. */
export interface WriteDataRequest extends WriteSettings {
  dataId: string;
  source: ByteSource;
  /** The file instance whose `updated` heartbeat the write touches. */
  heartbeat?: FileId | undefined;
  /** Fail with a size error as soon as more bytes than this arrive. */
  sizeLimit?: SizeLimit | null | undefined;
  /** Fail unless exactly this many bytes arrive. */
  expectedSize?: number | undefined;
  /** For error context. */
  bucketId?: string | undefined;
  key?: string | undefined;
}

/** Create a writable file instance and write `source` as its bytes. */
export interface IngestFileRequest extends Omit<WriteDataRequest, 'dataId' | 'heartbeat'> {
  fileId: FileId;
  location: string;
}

/** What a write produced. */
export interface WriteResult {
  size: number;
  /** `"md5:<hex>"`. */
  checksum: string;
  /** `"sha256:<hex>"`, when asked for. */
  sha256: string | null;
}

/**
 * Digest Blob sources without storing them: the API stores a Blob source itself, as one stored
 * Blob, while the worker hashes it.
 */
export interface HashRequest {
  sources: Blob[];
  /** Also compute a sha256 digest. */
  sha256: boolean;
  /** Send back the bytes of the sources smaller than this (they are stored inline). */
  bytesBelow: number;
}

/** What hashing one source of a {@link HashRequest} produced: its digests, or why it failed. */
export type HashOutcome =
  | { ok: true; result: WriteResult; bytes: ArrayBuffer | undefined }
  | { ok: false; error: WireThrown };

/** Compute the CRC-32 of Blobs (for a ZIP), without storing them. */
export interface Crc32Request {
  sources: Blob[];
}

/** Recompute the digests of stored bytes. */
export interface DigestRequest {
  extents: Extent[];
  sha256: boolean;
}

/** What an import does with a record or bucket whose id exists already. */
export type OnConflict = 'skip' | 'replace' | 'new-ids';

/** Stream a selection of the coffer into a BagIt ZIP. */
export interface ExportBagRequest {
  /** These records; by default every live record and every bucket no record owns. */
  records?: string[] | undefined;
  includeVersions: boolean;
  includeRevisions: boolean;
  /** Also write `manifest-sha256.txt` and `tagmanifest-sha256.txt`. */
  sha256: boolean;
  /** The bag's base directory inside the ZIP. */
  bagName: string;
  cofferName: string;
  cofferVersion: string;
  /** Write ZIP64 fields even where not needed (tests). @internal */
  forceZip64?: boolean;
}

/** Verify a bag and write its file bytes as unreadable file instances, ready to commit. */
export interface ImportBagRequest extends WriteSettings {
  source: Blob;
  location: string;
  /** The most bytes the archive may expand to. */
  maxSize: number;
  /** The highest compression ratio of an entry over 1 MiB. */
  maxRatio: number;
  /** The most entries. */
  maxEntries: number;
}

/** A file instance of a staged import. */
export interface StagedFile {
  /** Its id in the bag. */
  bagId: string;
  /** Its id here: the bag's, unless another file instance here has that id. */
  fileId: FileId;
  /** `false` when an identical readable file instance with the bag's id is here already. */
  written: boolean;
  size: number;
  checksum: string;
  sha256: string | null;
  lastCheck: boolean | null;
  lastCheckAt: number | null;
  created: number;
}

/** A verified bag whose bytes are written but not yet visible. */
export interface StagedImport {
  index: BagIndex;
  records: BagRecord[];
  buckets: BagBucket[];
  files: StagedFile[];
}

/** What an import did. */
export interface ImportReport {
  records: { imported: number; replaced: number; skipped: number };
  buckets: { imported: number; replaced: number; skipped: number };
  versions: { imported: number; skipped: number };
  /** Written anew, reused (identical and already here) or skipped with their record. */
  files: { imported: number; reused: number; skipped: number };
  /** File bytes written. */
  bytes: number;
  /** Ids in the bag → ids here (they differ with `new-ids`). */
  ids: { records: Record<string, string>; buckets: Record<string, string> };
}

/**
 * Everything that touches file bytes in bulk. The worker implements it over comlink; where
 * no Worker exists the same code runs in process behind this interface.
 */
export interface BytePipeline {
  /** Create file instance `fileId` (writable, unreadable) and write `source` into it. */
  ingestFile(request: IngestFileRequest, hooks?: OperationHooks): Promise<WriteResult>;
  /** Write `source` as the chunks of `dataId` (a multipart part). */
  writeData(request: WriteDataRequest, hooks?: OperationHooks): Promise<WriteResult>;
  /**
   * Digest each source in turn (md5, and sha256 when asked), with one progress over all of
   * them; a source that cannot be read fails alone. Rejects only when aborted.
   */
  hashSources(request: HashRequest, hooks?: OperationHooks): Promise<HashOutcome[]>;
  /**
   * The CRC-32 of each source, in order, as an unsigned 32-bit integer, with one progress over
   * all of them.
   */
  crc32(request: Crc32Request, hooks?: OperationHooks): Promise<number[]>;
  /** Read stored bytes back and digest them. */
  digest(request: DigestRequest, hooks?: OperationHooks): Promise<WriteResult>;
  /** Stream a selection of the coffer into a BagIt ZIP, as a Blob. */
  exportBag(request: ExportBagRequest, hooks?: OperationHooks): Promise<Blob>;
  /** Verify a bag completely and write its file bytes, unreadable until committed. */
  importBag(request: ImportBagRequest, hooks?: OperationHooks): Promise<StagedImport>;
  /** Stop the pipeline; pending work fails. */
  close(): void;
}
