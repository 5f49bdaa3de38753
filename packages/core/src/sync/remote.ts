/**
 * The server side of sync, as the engine sees it: a versioned object store. `S3Remote`
 * implements it over S3's REST API; another adapter (an InvenioRDM deposit) may later.
 * Every method throws a `RemoteError` (sync/errors.ts) with a stable `code` on failure.
 */

/** One stored version of one object. */
export interface RemoteVersion {
  key: string;
  versionId: string;
}

/** Cancellation for one request. */
export interface RemoteRequestOptions {
  signal?: AbortSignal | undefined;
}

/** What a `PUT` carries besides the bytes. */
export interface PutObjectOptions extends RemoteRequestOptions {
  /** The md5 of the body, hex; sent as `Content-MD5` so the server refuses damaged bytes. */
  md5: string;
  contentType?: string | undefined;
  /** User metadata (`x-amz-meta-*`), ASCII names and values. */
  metadata?: Record<string, string> | undefined;
}

/** A listing request (S3 ListObjectsV2). */
export interface ListOptions extends RemoteRequestOptions {
  prefix: string;
  /** Only keys after this one, in UTF-8 binary order. */
  startAfter?: string | undefined;
  /** Group keys by this delimiter into `prefixes`. */
  delimiter?: string | undefined;
  /** At most this many keys in one page (the server may return fewer; default 1,000). */
  maxKeys?: number | undefined;
  continuationToken?: string | undefined;
}

/** One page of a listing. */
export interface ListPage {
  keys: string[];
  prefixes: string[];
  /** Present when more pages follow. */
  continuationToken?: string | undefined;
}

/** A body being read from the server: read it once, as `stream` or with `blob()`. */
export interface RemoteBody {
  /** The bytes, streamed. */
  stream: ReadableStream<Uint8Array>;
  /**
   * The bytes as one Blob, where the platform can gather them outside the JS heap (a browser's
   * `Response.blob()`): a Blob source is stored by a fast copy where a stream is copied piece by
   * piece. Absent when the adapter cannot, or when a wrapper replaced `stream` (an object
   * spread drops it, since it is a method of the body's prototype).
   */
  blob?(): Promise<Blob>;
  /** `Content-Length`, when the server sent one. */
  size: number | undefined;
  /** `x-amz-meta-md5`, when set. */
  md5: string | undefined;
  versionId: string | undefined;
}

/** One uploaded part of a multipart upload. */
export interface RemotePart {
  /** 1-based, as S3's. */
  partNumber: number;
  etag: string;
  size: number;
}

/** What {@link Remote.check} found: each problem named, so a person can fix it. */
export interface RemoteCheck {
  ok: boolean;
  /** Stable codes: `UNREACHABLE`, `AUTH`, `NO_BUCKET`, `NO_VERSIONING`, `CORS`, … */
  problems: { code: string; message: string }[];
}

/** A versioned object store. */
export interface Remote {
  /** Reach the server, check the keys, the bucket, versioning and (in a browser) CORS. */
  check(options?: RemoteRequestOptions): Promise<RemoteCheck>;
  /** Store `body` as a new version of `key`. */
  putObject(key: string, body: Blob, options: PutObjectOptions): Promise<RemoteVersion>;
  /** Store a new version of `key` with the bytes of `source`, on the server (no bytes sent). */
  copyObject(key: string, source: RemoteVersion, options?: RemoteRequestOptions): Promise<RemoteVersion>;
  /** Add a delete marker to `key`; returns the marker's version. */
  deleteObject(key: string, options?: RemoteRequestOptions): Promise<RemoteVersion>;
  /** Read one version (the current one when `versionId` is absent), whole or a byte range. */
  getObject(
    key: string,
    options?: RemoteRequestOptions & {
      versionId?: string | undefined;
      /** Bytes `start` up to `end` exclusive, as `Blob.slice`. */
      range?: { start: number; end: number };
    },
  ): Promise<RemoteBody>;
  /** One page of keys (current versions only). */
  list(options: ListOptions): Promise<ListPage>;
  /** Start a multipart upload of `key`; `options.md5` (of the whole file) is kept as `x-amz-meta-md5`. */
  createMultipartUpload(key: string, options: PutObjectOptions): Promise<string>;
  /** Upload part `partNumber` (1-based) with `Content-MD5`. */
  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Blob,
    options: { md5: string } & RemoteRequestOptions,
  ): Promise<RemotePart>;
  /** The parts the server holds for an upload (to resume after a reload). */
  listParts(key: string, uploadId: string, options?: RemoteRequestOptions): Promise<RemotePart[]>;
  /** Merge the parts into a new version of `key`. */
  completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: RemotePart[],
    options?: RemoteRequestOptions,
  ): Promise<RemoteVersion>;
  /** Drop an upload and its parts. */
  abortMultipartUpload(key: string, uploadId: string, options?: RemoteRequestOptions): Promise<void>;
}
