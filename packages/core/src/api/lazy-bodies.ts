import {
  AbortError,
  BodyUnavailableError,
  CofferError,
  IntegrityError,
  SyncNotConfiguredError,
} from '../errors.js';
import type { FileId } from '../ids.js';

/**
 * What fetches the bytes of a file instance whose bytes are on the sync remote only (pulled
 * with `bodies: 'lazy'`): the sync registers one on the coffer (`openSync` in process, the
 * leader's worker through `openBrowserSync` in a browser). `fetch` resolves once the file is
 * readable here, its md5 verified; the core never imports sync, it only calls this.
 */
export interface BodySource {
  /**
   * Download the bytes of file instance `fileId` into chunked storage, verify them and make the
   * file readable; resolve at once when it is readable already.
   *
   * @throws {BodyUnavailableError} (`offline`, `gone`, `no-sync`); {@link IntegrityError} when
   *   the bytes do not match their md5 (nothing is stored, the file stays lazy).
   */
  fetch(fileId: FileId, options?: { signal?: AbortSignal | undefined }): Promise<void>;
}

/** The file a fetch is for, to name it in an error. */
export interface LazyBodyRef {
  fileId: FileId;
  key?: string | undefined;
  versionId?: string | undefined;
}

/**
 * The coffer's slot for a {@link BodySource}: reads of a lazy file go through {@link fetch},
 * which shares one download among concurrent reads of the same file.
 */
export class LazyBodies {
  private source: BodySource | undefined;
  private readonly pending = new Map<FileId, Promise<void>>();

  /** Use `source` from now on; the function returned removes it (if it is still the one used). */
  register(source: BodySource): () => void {
    this.source = source;
    return () => {
      if (this.source === source) this.source = undefined;
    };
  }

  /**
   * Fetch a lazy file's bytes through the registered source (one download for concurrent
   * calls).
   *
   * @throws {BodyUnavailableError} with `key`, `versionId` and `fileId` (reason `no-sync` when no
   *   source is registered, or its sync is not configured or closed); {@link IntegrityError};
   *   {@link AbortError} when `signal` fires; the source's other errors as they are (a
   *   `StorageError` when the disk is full).
   */
  fetch(ref: LazyBodyRef, signal?: AbortSignal): Promise<void> {
    const running = this.pending.get(ref.fileId);
    if (running) return running;
    const started = this.run(ref, signal).finally(() => this.pending.delete(ref.fileId));
    this.pending.set(ref.fileId, started);
    return started;
  }

  private async run(ref: LazyBodyRef, signal: AbortSignal | undefined): Promise<void> {
    const context = { fileId: ref.fileId, key: ref.key, versionId: ref.versionId };
    const name = ref.key === undefined ? `File ${ref.fileId}` : `${ref.key} (${ref.versionId})`;
    const { source } = this;
    if (!source) {
      throw new BodyUnavailableError(`${name} is not on this device, and no sync is open to fetch it.`, {
        ...context,
        reason: 'no-sync',
      });
    }
    try {
      await source.fetch(ref.fileId, { signal });
    } catch (error) {
      if (error instanceof BodyUnavailableError || error instanceof IntegrityError) {
        // The source knows the file only by its id: name it as the reader knows it.
        for (const [field, value] of Object.entries(context)) {
          if (value !== undefined) (error as unknown as Record<string, unknown>)[field] = value;
        }
        throw error;
      }
      if (error instanceof AbortError && signal?.aborted) throw error;
      // A sync that is not configured or was closed meanwhile: as if there were none.
      const noSync = error instanceof SyncNotConfiguredError || error instanceof AbortError;
      if (error instanceof CofferError && !noSync) throw error;
      throw new BodyUnavailableError(
        `${name} is not on this device, and the sync could not fetch it${
          error instanceof CofferError ? ` (${error.code})` : ''
        }.`,
        { ...context, reason: 'no-sync', cause: error },
      );
    }
  }
}
