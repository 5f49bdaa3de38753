/**
 * The errors of a sync remote. Every failed request of a `Remote` (remote.ts) throws a
 * {@link RemoteError}: a stable `code`, whether retrying may help (`retryable`, with
 * `retryAfter` when the server said how long to wait), the HTTP status and S3 error code when
 * there was an answer, and the original error (a network `TypeError`, an `AbortError`, a parse
 * error) as `cause`.
 *
 * @module
 */
import { CofferError, type ErrorContext } from '../errors.js';

/**
 * Stable codes of {@link RemoteError}:
 * - `REMOTE_UNREACHABLE`: no answer (network down, DNS, refused connection, or a browser's
 *   CORS refusal, which looks the same to a page). Retryable.
 * - `REMOTE_AUTH`: the server refused the keys or the signature (`InvalidAccessKeyId`,
 *   `SignatureDoesNotMatch`, `AccessDenied`, `ExpiredToken`, `RequestTimeTooSkewed`, ...).
 * - `REMOTE_NO_BUCKET`: the bucket does not exist (`NoSuchBucket`).
 * - `REMOTE_NOT_FOUND`: no such key, version or upload (`NoSuchKey`, `NoSuchVersion`,
 *   `NoSuchUpload`), or the version asked for is a delete marker.
 * - `REMOTE_THROTTLED`: 429, or 503 `SlowDown` / `ServiceUnavailable`. Retryable, with
 *   `retryAfter` when the server sent `Retry-After`.
 * - `REMOTE_BAD_DIGEST`: the server refused the bytes, their md5 does not match `Content-MD5`
 *   (`BadDigest`, `InvalidDigest`).
 * - `REMOTE_INVALID_PART`: CompleteMultipartUpload refused the part list (`InvalidPart`,
 *   `InvalidPartOrder`, `EntityTooSmall`).
 * - `REMOTE_ABORTED`: the caller's `AbortSignal` fired.
 * - `REMOTE_BAD_RESPONSE`: an answer that is not what S3 sends (unparsable XML, missing fields).
 * - `REMOTE_HTTP`: any other refusal; retryable when the status is 5xx.
 */
export type RemoteErrorCode =
  | 'REMOTE_UNREACHABLE'
  | 'REMOTE_AUTH'
  | 'REMOTE_NO_BUCKET'
  | 'REMOTE_NOT_FOUND'
  | 'REMOTE_THROTTLED'
  | 'REMOTE_BAD_DIGEST'
  | 'REMOTE_INVALID_PART'
  | 'REMOTE_ABORTED'
  | 'REMOTE_BAD_RESPONSE'
  | 'REMOTE_HTTP';

/** What a {@link RemoteError} carries besides the usual {@link ErrorContext}. */
export interface RemoteErrorContext extends ErrorContext {
  /** HTTP method and URL path of the request (never its query's signature). */
  method?: string;
  path?: string;
  /** HTTP status, when the server answered. */
  status?: number;
  /** S3's error code (`<Code>`), when the answer had one. */
  s3Code?: string;
  /** S3's request id (`x-amz-request-id` or `<RequestId>`), for the server's logs. */
  requestId?: string;
  /** Milliseconds the server asked to wait (`Retry-After`), when it said. */
  retryAfter?: number;
  /** Overrides the default of the code. */
  retryable?: boolean;
  cause?: unknown;
}

const RETRYABLE: ReadonlySet<RemoteErrorCode> = new Set(['REMOTE_UNREACHABLE', 'REMOTE_THROTTLED']);

/**
 * A request to the sync remote failed.
 *
 * @example
 * ```ts
 * try { await remote.putObject(key, blob, { md5 }); }
 * catch (e) {
 *   if (e instanceof RemoteError && e.retryable) await sleep(e.retryAfter ?? backoff());
 *   else if (e instanceof RemoteError && e.code === 'REMOTE_AUTH') showKeysForm();
 *   else throw e;
 * }
 * ```
 */
export class RemoteError extends CofferError {
  /** A stable code, see {@link RemoteErrorCode}. */
  override readonly code: RemoteErrorCode;
  /** Whether the same request may succeed later (network, throttling, 5xx). */
  readonly retryable: boolean;
  method?: string;
  path?: string;
  status?: number;
  s3Code?: string;
  requestId?: string;
  retryAfter?: number;

  constructor(code: RemoteErrorCode, message: string, context: RemoteErrorContext = {}) {
    const { retryable, ...rest } = context;
    super(message, rest);
    this.code = code;
    this.retryable =
      retryable ?? (RETRYABLE.has(code) || (code === 'REMOTE_HTTP' && (context.status ?? 0) >= 500));
  }
}
