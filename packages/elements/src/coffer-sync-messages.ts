import { type RemoteCheck, S3_CORS_RULE, type SyncRemoteConfig } from '@coffer/core/sync';

/**
 * The CORS rule a bucket needs for sync from the page at `origin` (S3's JSON shape).
 *
 * @example
 * ```ts
 * snippet.textContent = corsRuleFor(location.origin);
 * // {"CORSRules": [{ "AllowedOrigins": ["https://app.example.org"], "AllowedMethods": [...], ... }]}
 * ```
 */
export function corsRuleFor(origin: string): string {
  return JSON.stringify(
    {
      CORSRules: [{ ...S3_CORS_RULE, AllowedOrigins: [origin] }],
    },
    null,
    2,
  );
}

/** One problem of a connection test, in plain words, with the steps to fix it. */
export interface SyncProblemText {
  code: string;
  title: string;
  fix: string;
  /** Text to copy (the CORS rule, a command), when there is one. */
  snippet?: string | undefined;
}

/**
 * A connection test's problem for a person: what is wrong and what to do, by its stable code
 * (`UNREACHABLE`, `AUTH`, `NO_BUCKET`, `NO_VERSIONING`, `CORS`, `NO_WRITE`, `SERVER`).
 *
 * @example
 * ```ts
 * const { problems } = await sync.check(config);
 * for (const p of problems) show(describeSyncProblem(p, config, location.origin).title);
 * ```
 */
export function describeSyncProblem(
  problem: RemoteCheck['problems'][number],
  config: Pick<SyncRemoteConfig, 'endpoint' | 'bucket'>,
  origin: string,
): SyncProblemText {
  const { endpoint, bucket } = config;
  switch (problem.code) {
    case 'UNREACHABLE':
      return {
        code: problem.code,
        title: `No answer from ${endpoint}: the endpoint is wrong, or the server is down.`,
        fix: 'Check the address (with http:// or https:// and the port), that the server runs, and that this device is online.',
      };
    case 'AUTH':
      return {
        code: problem.code,
        title: 'The server refused the keys.',
        fix: 'Check the access key, the secret key and the region: a key pasted with a space, or a secret of another key, looks the same to the server.',
      };
    case 'NO_BUCKET':
      return {
        code: problem.code,
        title: `There is no bucket “${bucket}” on this server.`,
        fix: 'Check the bucket name (names are lower case), or create the bucket, with versioning on.',
      };
    case 'NO_VERSIONING':
      return {
        code: problem.code,
        title: `The bucket “${bucket}” does not keep versions.`,
        fix: 'Sync keeps every version of every file, so the bucket must have versioning on. Turn it on in your storage console, or with:',
        snippet: `aws s3api put-bucket-versioning --endpoint-url ${endpoint} --bucket ${bucket} --versioning-configuration Status=Enabled`,
      };
    case 'CORS':
      return {
        code: problem.code,
        title:
          'The server answers, but the browser blocks this page from reading it: the bucket has no CORS rule for this site, or the server refused the keys.',
        fix: `Some servers (Ceph's gateway among them) refuse bad keys without CORS headers, so a page cannot tell the two apart. Check the access key, the secret key and the region; if they are right, add this CORS rule to the bucket (it lets ${origin} read and write it), then test again:`,
        snippet: corsRuleFor(origin),
      };
    case 'NO_WRITE':
      return {
        code: problem.code,
        title: `These keys can read “${bucket}” but not write to it.`,
        fix: 'Give the keys permission to write and delete objects in the bucket (s3:PutObject, s3:DeleteObject, multipart uploads).',
      };
    default:
      return {
        code: problem.code,
        title: 'The server answered with an error.',
        fix: problem.message,
      };
  }
}

/**
 * What went wrong in the last sync, by the error's `code`, for a person.
 *
 * @example
 * ```ts
 * describeSyncError('REMOTE_AUTH', 'Forbidden'); // 'The server refused the keys. Check them below, then save.'
 * describeSyncError(undefined, undefined);      // '': no error
 * describeSyncError('SOMETHING_ELSE', 'Boom');  // 'Boom': an unknown code shows the message
 * ```
 */
export function describeSyncError(code: string | undefined, message: string | undefined): string {
  switch (code) {
    case undefined:
      return '';
    case 'REMOTE_UNREACHABLE':
      return 'The server could not be reached: this device may be offline. Sync tries again by itself.';
    case 'REMOTE_AUTH':
      return 'The server refused the keys. Check them below, then save.';
    case 'REMOTE_NO_BUCKET':
      return 'The bucket is gone from the server. Check its name below.';
    case 'REMOTE_THROTTLED':
      return 'The server asked to slow down. Sync tries again in a moment.';
    case 'REMOTE_BAD_DIGEST':
    case 'INTEGRITY':
      return 'A file was damaged on its way and was not kept. Sync tries again.';
    case 'SYNC_INVALID_JOURNAL':
      return 'Another device left changes this one cannot read; the rest was synced.';
    case 'ABORTED':
      return 'The last sync was stopped before it finished.';
    case 'SYNC_NOT_CONFIGURED':
      return 'Set up a bucket first.';
    case 'SYNC_REMOTE_CHANGE':
      return 'This coffer already syncs with another bucket: a coffer syncs with one bucket.';
    default:
      return message ?? 'Sync failed. It tries again by itself.';
  }
}
