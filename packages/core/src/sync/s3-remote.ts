/**
 * {@link S3Remote}: the {@link Remote} of sync over S3's REST API, signed with SigV4 by
 * `aws4fetch` (or by a presigning callback), for any S3 server with versioning: AWS, Ceph's
 * S3 gateway (radosgw, what the tests run against), and others.
 *
 * - Bodies are `Blob`s handed to `fetch` as they are: the payload is signed as
 *   `UNSIGNED-PAYLOAD`, so no byte is read into JavaScript to hash it, and every `PUT` and
 *   part carries `Content-MD5`, so the server refuses damaged bytes (`REMOTE_BAD_DIGEST`).
 * - No retries inside: a failure is a {@link RemoteError} with `retryable` (and `retryAfter`),
 *   and the sync engine decides.
 * - Keys are relative to `prefix`; listings return them relative too.
 *
 * @module
 */
import { AwsV4Signer } from 'aws4fetch';
import { InvalidArgumentError } from '../errors.js';
import { type PieceReader, pieceReader } from '../worker/pieces.js';
import { RemoteError, type RemoteErrorCode, type RemoteErrorContext } from './errors.js';
import type {
  ListOptions,
  ListPage,
  PutObjectOptions,
  Remote,
  RemoteBody,
  RemoteCheck,
  RemotePart,
  RemoteRequestOptions,
  RemoteVersion,
} from './remote.js';
import { escapeXml, parseXml, type XmlElement, xmlChildren, xmlText } from './xml.js';

/**
 * A GET's body. `stream` takes the response's body only when first read, so that `blob()`
 * can take it instead; both turn a broken connection or an abort into a {@link RemoteError}.
 */
class S3Body implements RemoteBody {
  readonly stream: ReadableStream<Uint8Array>;
  readonly size: number | undefined;
  readonly md5: string | undefined;
  readonly versionId: string | undefined;
  readonly #response: Response;
  readonly #context: RemoteErrorContext;
  readonly #signal: AbortSignal | undefined;

  constructor(
    response: Response,
    context: RemoteErrorContext,
    signal: AbortSignal | undefined,
    head: Pick<RemoteBody, 'size' | 'md5' | 'versionId'>,
  ) {
    this.#response = response;
    this.#context = context;
    this.#signal = signal;
    this.size = head.size;
    this.md5 = head.md5;
    this.versionId = head.versionId;
    const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    let reader: PieceReader | undefined;
    const failed = (cause: unknown) => this.#failure(cause);
    const size = head.size;
    // Pieces of 1 MiB rather than the network's: one read, one hop here and one message to a
    // worker per MiB.
    this.stream = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            reader ??= pieceReader(body, size);
            const piece = await reader.read();
            if (piece === undefined) controller.close();
            else controller.enqueue(piece);
          } catch (cause) {
            controller.error(failed(cause));
          }
        },
        cancel(reason) {
          return reader ? reader.cancel(reason) : body.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** @inheritDoc */
  async blob(): Promise<Blob> {
    try {
      return await this.#response.blob();
    } catch (cause) {
      throw this.#failure(cause);
    }
  }

  #failure(cause: unknown): RemoteError {
    return isAbort(cause, this.#signal)
      ? new RemoteError('REMOTE_ABORTED', 'Reading the body was aborted.', { ...this.#context, cause })
      : new RemoteError('REMOTE_UNREACHABLE', 'The connection broke while reading the body.', {
          ...this.#context,
          cause,
        });
  }
}

/** Long-lived or temporary (STS) keys. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** For temporary credentials: sent as `X-Amz-Security-Token`. */
  sessionToken?: string | undefined;
}

/** A request to sign, as {@link S3RemoteOptions.presign} receives it. */
export interface S3SignRequest {
  method: string;
  /** The whole URL, query included. */
  url: string;
  /** Headers that must be signed (`content-md5`, `content-type`, `x-amz-*`), lower-case names. */
  headers: Record<string, string>;
}

/** What a presigning callback returns: the URL to send to, and headers to add or replace. */
export interface S3SignedRequest {
  url: string;
  headers?: Record<string, string> | undefined;
}

/**
 * Signs one request elsewhere (a server that holds the keys), e.g. by returning a presigned
 * URL (`X-Amz-Signature` in its query) or an `Authorization` header.
 */
export type S3Presign = (request: S3SignRequest) => Promise<S3SignedRequest> | S3SignedRequest;

/** How to reach a bucket. Give `credentials` or `presign`. */
export interface S3RemoteOptions {
  /** The server, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:7480`. */
  endpoint: string;
  bucket: string;
  /** SigV4 region; default `us-east-1` (what radosgw accepts unless configured otherwise). */
  region?: string | undefined;
  credentials?: S3Credentials | undefined;
  presign?: S3Presign | undefined;
  /** Prepended to every key, e.g. `coffer/alice/` (default empty). */
  prefix?: string | undefined;
  /**
   * Path-style URLs (`endpoint/bucket/key`, the default: what radosgw and most self-hosted
   * servers need) or virtual-hosted ones (`bucket.endpoint/key`) when `false`.
   */
  pathStyle?: boolean | undefined;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch | undefined;
}

/** Stable codes of {@link RemoteCheck} problems found by {@link S3Remote.check}. */
export type S3CheckProblemCode =
  | 'UNREACHABLE'
  | 'AUTH'
  | 'NO_BUCKET'
  | 'NO_VERSIONING'
  | 'CORS'
  | 'NO_WRITE'
  | 'SERVER';

/**
 * The CORS rule a bucket needs for sync from a browser (the S3 `CORSRule`, as JSON).
 *
 * @example
 * ```ts
 * // Node, with the AWS CLI's JSON shape: narrow AllowedOrigins to your app's origin.
 * const cors = { CORSRules: [{ ...S3_CORS_RULE, AllowedOrigins: ['https://app.example.org'] }] };
 * writeFileSync('cors.json', JSON.stringify(cors)); // aws s3api put-bucket-cors --cors-configuration file://cors.json
 * ```
 */
export const S3_CORS_RULE = {
  AllowedOrigins: ['*'],
  AllowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'],
  AllowedHeaders: ['*'],
  ExposeHeaders: ['ETag', 'x-amz-version-id', 'x-amz-delete-marker', 'x-amz-meta-md5'],
} as const;

const CORS_HINT =
  'add a CORS rule to the bucket: AllowedOrigins (this origin, or *), AllowedMethods GET PUT POST DELETE HEAD, ' +
  'AllowedHeaders *, ExposeHeaders ETag x-amz-version-id x-amz-delete-marker x-amz-meta-md5';

const CHECK_KEY = '.coffer-check';

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'RequestTimeTooSkewed',
  'AuthorizationHeaderMalformed',
  'InvalidSecurity',
  'MissingSecurityHeader',
  'AllAccessDisabled',
]);
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NoSuchVersion', 'NoSuchUpload']);
const DIGEST_CODES = new Set(['BadDigest', 'InvalidDigest']);
const PART_CODES = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall']);

/** Query parameters in order; `''` values are sent as bare names (`?versioning`). */
type Query = [string, string | number | undefined][];

interface RequestInit {
  query?: Query;
  headers?: Record<string, string>;
  body?: Blob | string;
  signal?: AbortSignal | undefined;
  /** The key of the request, for errors (relative to the prefix). */
  key?: string;
  uploadId?: string;
  versionId?: string;
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function hexToBase64(hex: string): string {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw new InvalidArgumentError(`An md5 must be 32 hex digits, got "${hex}".`, { actual: hex });
  }
  let binary = '';
  for (let i = 0; i < 32; i += 2) binary += String.fromCharCode(Number.parseInt(hex.slice(i, i + 2), 16));
  return btoa(binary);
}

/** `Retry-After` (seconds or an HTTP date) in milliseconds. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

function metadataHeaders(metadata: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name) || !/^[\x20-\x7e]*$/.test(value)) {
      throw new InvalidArgumentError(
        `Metadata "${name}" must have a name of letters, digits, - and _ and a printable ASCII value.`,
        { actual: name },
      );
    }
    headers[`x-amz-meta-${name.toLowerCase()}`] = value;
  }
  return headers;
}

/**
 * The {@link Remote} of sync over S3 (AWS, Ceph radosgw, ...), with SigV4 signing.
 *
 * @example
 * ```ts
 * import { S3Remote } from '@coffer/core/sync';
 * const remote = new S3Remote({
 *   endpoint: 'http://127.0.0.1:7480',
 *   bucket: 'coffer',
 *   credentials: { accessKeyId: 'AKIA…', secretAccessKey: '…' },
 * });
 * const { ok, problems } = await remote.check(); // e.g. [{ code: 'NO_VERSIONING', message: … }]
 * ```
 */
export class S3Remote implements Remote {
  /** The options given, with defaults filled in. */
  readonly options: Readonly<S3RemoteOptions & { region: string; prefix: string; pathStyle: boolean }>;
  readonly #fetch: typeof fetch;
  readonly #base: URL;
  readonly #cache = new Map<string, ArrayBuffer>();

  constructor(options: S3RemoteOptions) {
    const { endpoint, bucket } = options;
    if (!options.credentials === !options.presign) {
      throw new InvalidArgumentError('S3Remote needs either credentials or presign (one of them).');
    }
    let base: URL;
    try {
      base = new URL(endpoint);
    } catch (cause) {
      throw new InvalidArgumentError(`S3Remote endpoint "${endpoint}" is not a URL.`, { cause });
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new InvalidArgumentError(`S3Remote endpoint "${endpoint}" must be http(s).`);
    }
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) && !/^[A-Za-z0-9._-]{1,255}$/.test(bucket)) {
      throw new InvalidArgumentError(`"${bucket}" is not a bucket name.`);
    }
    const pathStyle = options.pathStyle ?? true;
    if (!pathStyle) base.hostname = `${bucket}.${base.hostname}`;
    base.pathname = base.pathname.replace(/\/+$/, '') + (pathStyle ? `/${rfc3986(bucket)}` : '');
    this.#base = base;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.options = {
      ...options,
      region: options.region ?? 'us-east-1',
      prefix: options.prefix ?? '',
      pathStyle,
    };
  }

  /** The URL of `key` (relative to the prefix), or of the bucket when `key` is undefined. */
  #url(key: string | undefined, query: Query = []): string {
    let path = this.#base.pathname;
    if (key !== undefined) {
      const full = this.options.prefix + key;
      if (!full) throw new InvalidArgumentError('An object key must not be empty.');
      const segments = full.split('/');
      if (segments.some((segment) => segment === '.' || segment === '..')) {
        throw new InvalidArgumentError(
          `Key "${full}" has a "." or ".." path segment, which URLs cannot carry; encode it.`,
          { key },
        );
      }
      path += `/${segments.map(rfc3986).join('/')}`;
    }
    const search = query
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => (value === '' ? rfc3986(name) : `${rfc3986(name)}=${rfc3986(String(value))}`))
      .join('&');
    return `${this.#base.origin}${path}${search ? `?${search}` : ''}`;
  }

  async #sign(
    method: string,
    url: string,
    headers: Record<string, string>,
  ): Promise<{ url: string; headers: Headers }> {
    const { credentials, presign, region } = this.options;
    if (presign) {
      const signed = await presign({ method, url, headers: { ...headers } });
      return { url: signed.url, headers: new Headers({ ...headers, ...signed.headers }) };
    }
    const signer = new AwsV4Signer({
      method,
      url,
      headers,
      accessKeyId: credentials!.accessKeyId,
      secretAccessKey: credentials!.secretAccessKey,
      sessionToken: credentials!.sessionToken,
      service: 's3',
      region,
      cache: this.#cache,
    });
    const signed = await signer.sign();
    return { url: signed.url.toString(), headers: signed.headers };
  }

  /** One signed request; any answer outside 2xx becomes a {@link RemoteError}. */
  async #request(method: string, init: RequestInit = {}): Promise<Response> {
    const url = this.#url(init.key, init.query);
    const context: RemoteErrorContext = {
      method,
      path: new URL(url).pathname,
      key: init.key,
      uploadId: init.uploadId,
      versionId: init.versionId,
    };
    let response: Response;
    try {
      const signed = await this.#sign(method, url, init.headers ?? {});
      response = await this.#fetch(signed.url, {
        method,
        headers: signed.headers,
        body: init.body ?? null,
        signal: init.signal ?? null,
        // Never follow a redirect with a signed request; S3 redirects are errors here.
        redirect: 'manual',
        cache: 'no-store',
      });
    } catch (cause) {
      if (cause instanceof RemoteError || cause instanceof InvalidArgumentError) throw cause;
      if (isAbort(cause, init.signal)) {
        throw new RemoteError('REMOTE_ABORTED', `${method} ${context.path} was aborted.`, {
          ...context,
          cause,
        });
      }
      throw new RemoteError(
        'REMOTE_UNREACHABLE',
        `${method} ${context.path}: no answer from ${this.#base.origin} (${cause instanceof Error ? cause.message : String(cause)}).`,
        { ...context, cause },
      );
    }
    if (response.ok) return response;
    throw await this.#httpError(response, context, init.signal);
  }

  async #httpError(
    response: Response,
    context: RemoteErrorContext,
    signal: AbortSignal | undefined,
  ): Promise<RemoteError> {
    let s3Code: string | undefined;
    let message: string | undefined;
    let requestId = response.headers.get('x-amz-request-id') ?? undefined;
    if (context.method !== 'HEAD') {
      try {
        const text = await response.text();
        if (text.trim()) {
          const error = parseXml(text);
          if (error.name === 'Error') {
            s3Code = xmlText(error, 'Code') || undefined;
            message = xmlText(error, 'Message') || undefined;
            requestId ??= xmlText(error, 'RequestId');
          }
        }
      } catch (cause) {
        if (isAbort(cause, signal)) {
          return new RemoteError('REMOTE_ABORTED', `${context.method} ${context.path} was aborted.`, {
            ...context,
            cause,
          });
        }
        // Not XML (a proxy's HTML page): the status says enough.
      }
    }
    return this.#errorFor(response.status, s3Code, message, response.headers, { ...context, requestId });
  }

  #errorFor(
    status: number,
    s3Code: string | undefined,
    message: string | undefined,
    headers: Headers,
    context: RemoteErrorContext,
  ): RemoteError {
    let code: RemoteErrorCode;
    if (status === 429 || status === 503 || s3Code === 'SlowDown') code = 'REMOTE_THROTTLED';
    else if (s3Code === 'NoSuchBucket') code = 'REMOTE_NO_BUCKET';
    else if ((s3Code && AUTH_CODES.has(s3Code)) || ((status === 401 || status === 403) && !s3Code)) {
      code = 'REMOTE_AUTH';
    } else if (s3Code && DIGEST_CODES.has(s3Code)) code = 'REMOTE_BAD_DIGEST';
    else if (s3Code && PART_CODES.has(s3Code)) code = 'REMOTE_INVALID_PART';
    else if (
      (s3Code && NOT_FOUND_CODES.has(s3Code)) ||
      (status === 404 && !s3Code) ||
      (status === 405 && headers.get('x-amz-delete-marker') === 'true')
    ) {
      code = 'REMOTE_NOT_FOUND';
    } else code = 'REMOTE_HTTP';
    const what = [`HTTP ${status}`, s3Code, message].filter(Boolean).join(' ');
    return new RemoteError(code, `${context.method} ${context.path}: ${what}.`, {
      ...context,
      status,
      s3Code,
      retryAfter: retryAfterMs(headers.get('retry-after')),
    });
  }

  /** Reads a 2xx XML answer; an `<Error>` inside a 200 (CopyObject, Complete) becomes a RemoteError. */
  async #xml(response: Response, context: RemoteErrorContext, signal?: AbortSignal): Promise<XmlElement> {
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      if (isAbort(cause, signal))
        throw new RemoteError('REMOTE_ABORTED', 'The request was aborted.', { ...context, cause });
      throw new RemoteError('REMOTE_UNREACHABLE', 'The connection broke while reading an answer.', {
        ...context,
        cause,
      });
    }
    let root: XmlElement;
    try {
      root = parseXml(text);
    } catch (cause) {
      throw new RemoteError('REMOTE_BAD_RESPONSE', `The server's answer is not XML: ${text.slice(0, 200)}`, {
        ...context,
        status: response.status,
        cause,
      });
    }
    if (root.name === 'Error') {
      throw this.#errorFor(
        xmlText(root, 'Code') === 'SlowDown' ? 503 : response.status,
        xmlText(root, 'Code'),
        xmlText(root, 'Message'),
        response.headers,
        { ...context, requestId: xmlText(root, 'RequestId') },
      );
    }
    return root;
  }

  /** The `x-amz-version-id` of a write; its absence means no versioning, or CORS hiding it. */
  #versionOf(response: Response, context: RemoteErrorContext): string {
    const versionId = response.headers.get('x-amz-version-id');
    if (versionId) return versionId;
    throw new RemoteError(
      'REMOTE_BAD_RESPONSE',
      `${context.method} of "${context.key}" gave no x-amz-version-id: versioning is off for bucket "${this.options.bucket}", or (in a browser) its CORS rule does not expose the header (run check()).`,
      context,
    );
  }

  #required(element: XmlElement, name: string, context: RemoteErrorContext): string {
    const text = xmlText(element, name);
    if (text === undefined) {
      throw new RemoteError(
        'REMOTE_BAD_RESPONSE',
        `The server's <${element.name}> has no <${name}>.`,
        context,
      );
    }
    return text;
  }

  /**
   * Checks, in order: the server answers, the keys are accepted, the bucket exists, versioning
   * is `Enabled`, and the keys can write (a probe object `.coffer-check` under the prefix is
   * written, then that version is removed). In a browser the probe also checks CORS: the
   * preflight passes and `ETag` and `x-amz-version-id` are readable. Never throws for a
   * problem it names (only `REMOTE_ABORTED` when the signal fires).
   */
  async check(options: RemoteRequestOptions = {}): Promise<RemoteCheck> {
    const problems: { code: S3CheckProblemCode; message: string }[] = [];
    const done = () => ({ ok: problems.length === 0, problems });
    const { signal } = options;
    let versioning: string | undefined;
    try {
      const response = await this.#request('GET', { query: [['versioning', '']], signal });
      versioning = xmlText(await this.#xml(response, { method: 'GET' }, signal), 'Status');
    } catch (error) {
      if (!(error instanceof RemoteError) || error.code === 'REMOTE_ABORTED') throw error;
      problems.push(await this.#problemOf(error));
      return done();
    }
    if (versioning !== 'Enabled') {
      problems.push({
        code: 'NO_VERSIONING',
        message: `Versioning of bucket "${this.options.bucket}" is ${versioning ? `"${versioning}"` : 'not enabled'}: sync keeps every file version as an S3 version, so enable it (PutBucketVersioning Status=Enabled).`,
      });
    }
    // Write probe: permission to write, and (in a browser) the headers CORS must expose.
    const body = new Blob(['coffer check\n']);
    let written: Response;
    try {
      written = await this.#request('PUT', {
        key: CHECK_KEY,
        headers: { 'content-md5': 'lCrT75kGskVRUitSANWM3g==', 'content-type': 'text/plain' },
        body,
        signal,
      });
    } catch (error) {
      if (!(error instanceof RemoteError) || error.code === 'REMOTE_ABORTED') throw error;
      const problem = await this.#problemOf(error);
      problems.push(
        problem.code === 'AUTH'
          ? {
              code: 'NO_WRITE',
              message: `These keys cannot write to bucket "${this.options.bucket}": ${error.message}`,
            }
          : problem,
      );
      return done();
    }
    const etag = written.headers.get('etag');
    const versionId = written.headers.get('x-amz-version-id');
    const unreadable = [
      ...(etag ? [] : ['ETag']),
      ...(versionId || versioning !== 'Enabled' ? [] : ['x-amz-version-id']),
    ];
    if (unreadable.length) {
      problems.push({
        code: 'CORS',
        message: `The browser hides the response headers ${unreadable.join(' and ')}: ${CORS_HINT}.`,
      });
    }
    if (versionId) {
      await this.#request('DELETE', {
        key: CHECK_KEY,
        query: [['versionId', versionId]],
        signal,
      }).catch((error) => {
        if (error instanceof RemoteError && error.code === 'REMOTE_ABORTED') throw error;
      });
    }
    return done();
  }

  async #problemOf(error: RemoteError): Promise<{ code: S3CheckProblemCode; message: string }> {
    const { bucket } = this.options;
    const origin = this.#base.origin;
    switch (error.code) {
      case 'REMOTE_UNREACHABLE':
        if (await this.#answersWithoutCors()) {
          return {
            code: 'CORS',
            message: `${origin} answers, but the browser refused to let this page read the answer: ${CORS_HINT}. (A missing bucket looks the same from a page.)`,
          };
        }
        return {
          code: 'UNREACHABLE',
          message: `No answer from ${origin}: check the endpoint and the network.`,
        };
      case 'REMOTE_AUTH':
        return {
          code: 'AUTH',
          message: `The server refused the keys (${error.s3Code ?? `HTTP ${error.status}`}): check the access key, the secret key and the region.`,
        };
      case 'REMOTE_NO_BUCKET':
        return { code: 'NO_BUCKET', message: `There is no bucket "${bucket}" at ${origin}.` };
      default:
        return { code: 'SERVER', message: error.message };
    }
  }

  /** In a browser: does the endpoint answer a no-cors request (so a failed request was CORS)? */
  async #answersWithoutCors(): Promise<boolean> {
    const location = (globalThis as { location?: { origin?: string } }).location;
    if (!location?.origin || location.origin === this.#base.origin) return false;
    try {
      await this.#fetch(`${this.#base.origin}/`, { mode: 'no-cors', cache: 'no-store' });
      return true;
    } catch {
      return false;
    }
  }

  /** @inheritDoc */
  async putObject(key: string, body: Blob, options: PutObjectOptions): Promise<RemoteVersion> {
    const headers: Record<string, string> = {
      'content-md5': hexToBase64(options.md5),
      ...(options.contentType ? { 'content-type': options.contentType } : {}),
      ...metadataHeaders({ md5: options.md5.toLowerCase(), ...options.metadata }),
    };
    const response = await this.#request('PUT', { key, headers, body, signal: options.signal });
    return { key, versionId: this.#versionOf(response, { method: 'PUT', key }) };
  }

  /**
   * Copies a version on the server (no bytes sent); metadata (`x-amz-meta-md5`) is copied too.
   * radosgw 16 answers a copy in a versioned bucket without `x-amz-version-id`; then the new
   * version is read from ListObjectVersions: the newest version of `key` with the copy's ETag
   * (one more request).
   */
  async copyObject(
    key: string,
    source: RemoteVersion,
    options: RemoteRequestOptions = {},
  ): Promise<RemoteVersion> {
    const from = new URL(this.#url(source.key, [['versionId', source.versionId]]));
    const context: RemoteErrorContext = { method: 'PUT', key, versionId: source.versionId };
    const response = await this.#request('PUT', {
      key,
      headers: { 'x-amz-copy-source': `${from.pathname}${from.search}` },
      signal: options.signal,
    });
    const result = await this.#xml(response, context, options.signal);
    const versionId = response.headers.get('x-amz-version-id');
    if (versionId) return { key, versionId };
    const etag = this.#required(result, 'ETag', context);
    return { key, versionId: await this.#newestVersionWithEtag(key, etag, options.signal) };
  }

  async #newestVersionWithEtag(key: string, etag: string, signal: AbortSignal | undefined): Promise<string> {
    const full = this.options.prefix + key;
    const context: RemoteErrorContext = { method: 'GET', key };
    const unquote = (tag: string) => tag.replace(/^"|"$/g, '');
    let markers: Query = [];
    for (;;) {
      const response = await this.#request('GET', {
        query: [['encoding-type', 'url'], ...markers, ['prefix', full], ['versions', '']],
        signal,
      });
      const root = await this.#xml(response, context, signal);
      const encoded = xmlText(root, 'EncodingType') === 'url';
      for (const version of xmlChildren(root, 'Version')) {
        const listedKey = this.#required(version, 'Key', context);
        if ((encoded ? decodeURIComponent(listedKey.replace(/\+/g, '%20')) : listedKey) !== full) continue;
        if (unquote(xmlText(version, 'ETag') ?? '') === unquote(etag))
          return this.#required(version, 'VersionId', context);
      }
      if (xmlText(root, 'IsTruncated') !== 'true') break;
      markers = [
        ['key-marker', xmlText(root, 'NextKeyMarker')],
        ['version-id-marker', xmlText(root, 'NextVersionIdMarker')],
      ];
    }
    throw new RemoteError('REMOTE_BAD_RESPONSE', `The copy to "${key}" is not among its versions.`, context);
  }

  /** @inheritDoc */
  async deleteObject(key: string, options: RemoteRequestOptions = {}): Promise<RemoteVersion> {
    const response = await this.#request('DELETE', { key, signal: options.signal });
    return { key, versionId: this.#versionOf(response, { method: 'DELETE', key }) };
  }

  /**
   * Reads one version, or bytes `[range.start, range.end)` of it (end exclusive, as
   * `Blob.slice`). A delete marker, a missing key or version is `REMOTE_NOT_FOUND`. In a
   * browser, `md5` is read only where the CORS rule exposes `x-amz-meta-md5` (see
   * {@link S3_CORS_RULE}); else it is `undefined`.
   */
  async getObject(
    key: string,
    options: RemoteRequestOptions & {
      versionId?: string | undefined;
      range?: { start: number; end: number } | undefined;
    } = {},
  ): Promise<RemoteBody> {
    const { versionId, range, signal } = options;
    const headers: Record<string, string> = {};
    if (range) {
      if (
        !(
          Number.isSafeInteger(range.start) &&
          Number.isSafeInteger(range.end) &&
          0 <= range.start &&
          range.start < range.end
        )
      ) {
        throw new InvalidArgumentError(
          `Range [${range.start}, ${range.end}) is not a non-empty byte range.`,
          { key },
        );
      }
      headers.range = `bytes=${range.start}-${range.end - 1}`;
    }
    const response = await this.#request('GET', {
      key,
      query: [['versionId', versionId]],
      headers,
      signal,
      versionId,
    });
    const context: RemoteErrorContext = { method: 'GET', key, versionId };
    if (range && response.status !== 206) {
      await response.body?.cancel();
      throw new RemoteError(
        'REMOTE_BAD_RESPONSE',
        `The server ignored the Range header (HTTP ${response.status}).`,
        {
          ...context,
          status: response.status,
        },
      );
    }
    const length = response.headers.get('content-length');
    return new S3Body(response, context, signal, {
      size: length === null ? undefined : Number(length),
      md5: response.headers.get('x-amz-meta-md5') ?? undefined,
      versionId: response.headers.get('x-amz-version-id') ?? versionId,
    });
  }

  /** @inheritDoc */
  async list(options: ListOptions): Promise<ListPage> {
    const { prefix: base } = this.options;
    const { signal } = options;
    const response = await this.#request('GET', {
      query: [
        ['list-type', 2],
        ['continuation-token', options.continuationToken],
        ['delimiter', options.delimiter],
        ['encoding-type', 'url'],
        ['max-keys', options.maxKeys],
        ['prefix', base + options.prefix],
        ['start-after', options.startAfter === undefined ? undefined : base + options.startAfter],
      ],
      signal,
    });
    const context: RemoteErrorContext = { method: 'GET', path: this.#url(undefined) };
    const root = await this.#xml(response, context, signal);
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text.replace(/\+/g, '%20'));
      } catch (cause) {
        throw new RemoteError('REMOTE_BAD_RESPONSE', `A listed key is not URL-encoded: "${text}".`, {
          ...context,
          cause,
        });
      }
    };
    const relative = (full: string) => {
      if (!full.startsWith(base)) {
        throw new RemoteError(
          'REMOTE_BAD_RESPONSE',
          `The server listed "${full}", outside the prefix "${base}".`,
          context,
        );
      }
      return full.slice(base.length);
    };
    const urlEncoded = xmlText(root, 'EncodingType') === 'url';
    const read = (text: string) => relative(urlEncoded ? decode(text) : text);
    const keys = xmlChildren(root, 'Contents').map((entry) => read(this.#required(entry, 'Key', context)));
    const prefixes = xmlChildren(root, 'CommonPrefixes').map((entry) =>
      read(this.#required(entry, 'Prefix', context)),
    );
    const truncated = xmlText(root, 'IsTruncated') === 'true';
    const token = xmlText(root, 'NextContinuationToken');
    if (truncated && !token) {
      throw new RemoteError(
        'REMOTE_BAD_RESPONSE',
        'A truncated listing without NextContinuationToken.',
        context,
      );
    }
    return { keys, prefixes, ...(truncated ? { continuationToken: token } : {}) };
  }

  /** @inheritDoc */
  async createMultipartUpload(key: string, options: PutObjectOptions): Promise<string> {
    hexToBase64(options.md5);
    const headers = {
      ...(options.contentType ? { 'content-type': options.contentType } : {}),
      ...metadataHeaders({ md5: options.md5.toLowerCase(), ...options.metadata }),
    };
    const response = await this.#request('POST', {
      key,
      query: [['uploads', '']],
      headers,
      signal: options.signal,
    });
    const context = { method: 'POST', key };
    return this.#required(await this.#xml(response, context, options.signal), 'UploadId', context);
  }

  /**
   * Uploads one part with `Content-MD5`. The part's ETag is the answer's `ETag` header; where a
   * browser hides it (no CORS ExposeHeaders), the md5 stands in, which is what S3 and radosgw
   * use as the ETag of a part stored without server-side encryption.
   */
  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Blob,
    options: { md5: string } & RemoteRequestOptions,
  ): Promise<RemotePart> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new InvalidArgumentError(`Part number ${partNumber} is not in 1..10000.`, { key, uploadId });
    }
    const response = await this.#request('PUT', {
      key,
      uploadId,
      query: [
        ['partNumber', partNumber],
        ['uploadId', uploadId],
      ],
      headers: { 'content-md5': hexToBase64(options.md5) },
      body,
      signal: options.signal,
    });
    return {
      partNumber,
      etag: response.headers.get('etag') || `"${options.md5.toLowerCase()}"`,
      size: body.size,
    };
  }

  /** @inheritDoc */
  async listParts(key: string, uploadId: string, options: RemoteRequestOptions = {}): Promise<RemotePart[]> {
    const parts: RemotePart[] = [];
    const context: RemoteErrorContext = { method: 'GET', key, uploadId };
    let marker: string | undefined;
    for (;;) {
      const response = await this.#request('GET', {
        key,
        uploadId,
        query: [
          ['part-number-marker', marker],
          ['uploadId', uploadId],
        ],
        signal: options.signal,
      });
      const root = await this.#xml(response, context, options.signal);
      for (const part of xmlChildren(root, 'Part')) {
        parts.push({
          partNumber: Number(this.#required(part, 'PartNumber', context)),
          etag: this.#required(part, 'ETag', context),
          size: Number(this.#required(part, 'Size', context)),
        });
      }
      if (xmlText(root, 'IsTruncated') !== 'true') break;
      const next = xmlText(root, 'NextPartNumberMarker');
      if (!next || next === marker) {
        throw new RemoteError(
          'REMOTE_BAD_RESPONSE',
          'A truncated part listing without a new NextPartNumberMarker.',
          context,
        );
      }
      marker = next;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Merges the parts. Returns the new version from `x-amz-version-id` (radosgw 16 answers with
   * an empty `ETag` here, so none is read).
   */
  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: RemotePart[],
    options: RemoteRequestOptions = {},
  ): Promise<RemoteVersion> {
    const xml = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${[...parts]
      .sort((a, b) => a.partNumber - b.partNumber)
      .map(
        (part) =>
          `<Part><PartNumber>${part.partNumber}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`,
      )
      .join('')}</CompleteMultipartUpload>`;
    const response = await this.#request('POST', {
      key,
      uploadId,
      query: [['uploadId', uploadId]],
      headers: { 'content-type': 'application/xml' },
      body: xml,
      signal: options.signal,
    });
    // A 200 may still carry an <Error> (S3 answers early and fails late): read the body.
    await this.#xml(response, { method: 'POST', key, uploadId }, options.signal);
    return { key, versionId: this.#versionOf(response, { method: 'POST', key, uploadId }) };
  }

  /** Drops an upload and its parts; an upload already gone (`NoSuchUpload`) is not an error. */
  async abortMultipartUpload(
    key: string,
    uploadId: string,
    options: RemoteRequestOptions = {},
  ): Promise<void> {
    try {
      await this.#request('DELETE', {
        key,
        uploadId,
        query: [['uploadId', uploadId]],
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof RemoteError && error.s3Code === 'NoSuchUpload') return;
      throw error;
    }
  }
}
