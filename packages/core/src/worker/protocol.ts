import type { FileId } from '../ids.js';
import type { SizeLimit } from '../model/limits.js';
import type { ChunkStorage } from '../storage/chunks.js';
import type { Extent } from '../storage/schema.js';

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

/** Recompute the digests of stored bytes. */
export interface DigestRequest {
  extents: Extent[];
  sha256: boolean;
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
  /** Read stored bytes back and digest them. */
  digest(request: DigestRequest, hooks?: OperationHooks): Promise<WriteResult>;
  /** Stop the pipeline; pending work fails. */
  close(): void;
}
