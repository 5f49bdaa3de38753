import { formatBytes } from './format.js';

/**
 * What people are told for each error code; `{key}`, `{limit}` and `{actual}` are filled in.
 * For a bucket quota, `limit` is the space left (the quota less what is stored).
 */
const MESSAGES: Record<string, string> = {
  BUCKET_LOCKED: "This record's files are locked. Unlock them to make changes.",
  BUCKET_DELETED: "This record's files were deleted.",
  BUCKET_QUOTA_EXCEEDED:
    "{key} ({actual}) doesn't fit: only {limit} is left of the space set for this record's files (see Settings).",
  MAX_FILE_SIZE_EXCEEDED: '{key} is too large: files here can be at most {limit}.',
  STORAGE_QUOTA_EXCEEDED: 'Your device is out of space for this site. Nothing was lost.',
  ABORTED: 'Cancelled. Nothing was changed.',
  INVALID_KEY: 'That file name is not allowed: use 1 to 255 characters.',
  KEY_EXISTS: 'A file with that name already exists.',
  RESERVED_METADATA: 'That field name is reserved.',
  REVISION_CONFLICT:
    'This record was changed in another tab or window. Load the latest version, then make your edit again.',
  VALIDATION_FAILED: 'Some fields are not valid.',
  NOT_FOUND: "That item doesn't exist any more. It may have been deleted in another tab.",
  INTEGRITY: 'The stored file is damaged: its checksum does not match.',
  BODY_UNAVAILABLE:
    '{key} is not on this device yet and could not be downloaded now (offline, or sync is not running). Nothing was changed.',
  UNSUPPORTED_ENVIRONMENT: "This browser can't store data for this site (private mode may block it).",
  STORAGE: "The browser couldn't save the data. Please try again.",
};

/**
 * A sentence a person understands for any thrown value: Coffer errors are mapped by their
 * `code`, never shown as a stack trace.
 *
 * @example
 * ```ts
 * await bucket.objects.put('a.txt', blob).catch((error) => {
 *   status.textContent = describeError(error); // e.g. "This record's files are locked. Unlock them to make changes."
 * });
 * ```
 */
export function describeError(error: unknown): string {
  const e = error as {
    code?: unknown;
    key?: unknown;
    limit?: unknown;
    actual?: unknown;
    name?: unknown;
    message?: unknown;
  } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const template = code === undefined ? undefined : MESSAGES[code];
  if (template) {
    const key = typeof e?.key === 'string' ? `“${e.key}”` : 'This file';
    const limit = typeof e?.limit === 'number' ? formatBytes(e.limit) : 'the limit';
    const actual = typeof e?.actual === 'number' ? formatBytes(e.actual) : 'its size';
    return template.replace('{key}', key).replace('{limit}', limit).replace('{actual}', actual);
  }
  if (e?.name === 'QuotaExceededError') return MESSAGES.STORAGE_QUOTA_EXCEEDED!;
  if (e?.name === 'AbortError') return MESSAGES.ABORTED!;
  if (e instanceof SyntaxError) return `That is not valid JSON: ${e.message}`;
  return 'Something went wrong. Please try again.';
}
