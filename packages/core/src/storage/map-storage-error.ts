import { AbortError, CofferError, StorageError, StorageQuotaExceededError } from '../errors.js';

const isQuotaError = (error: unknown): boolean => {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const { name, message, inner, cause } = e as {
      name?: string;
      message?: string;
      inner?: unknown;
      cause?: unknown;
    };
    if (name === 'QuotaExceededError') return true;
    // Chromium reports a full disk as a transaction abort whose message names the quota.
    if (typeof message === 'string' && /quota/i.test(message)) return true;
    e = inner ?? cause;
  }
  return false;
};

/**
 * The one place that knows Dexie's and the DOM's error names: turn whatever IndexedDB threw
 * into a Coffer error, keeping the original as `cause`. Coffer errors pass through unchanged.
 */
export function mapStorageError(error: unknown): CofferError {
  if (error instanceof CofferError) return error;
  // Dexie re-wraps an error thrown inside a transaction when its name is one of IndexedDB's
  // (`NotFoundError`, `AbortError`, `InvalidArgumentError`, ...): ours comes back as `inner`.
  const inner = (error as { inner?: unknown } | null)?.inner;
  if (inner instanceof CofferError) return inner;
  if (isQuotaError(error)) {
    return new StorageQuotaExceededError('The browser has no more storage space for this site.', {
      cause: error,
    });
  }
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  if (name === 'AbortError' && !(error as { inner?: unknown }).inner) {
    return new AbortError('The operation was aborted.', { cause: error });
  }
  return new StorageError(`Storage failed: ${name ?? 'Error'}: ${message ?? String(error)}`, {
    cause: error,
  });
}

/** Run `operation`, rethrowing its failure as a Coffer error. */
export async function mapErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw mapStorageError(error);
  }
}
