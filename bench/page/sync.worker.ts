/**
 * The sync cases in a dedicated worker, with the coffer's byte pipeline in process: how the
 * app's sync worker runs the engine. One message, one case, one answer.
 */
import { type SyncBenchTarget, syncCases, useInProcess } from './sync.js';

/** What the page asks: push the source to `prefix` (part size `arg`), or pull `prefix` (`arg` bytes). */
export interface SyncWorkerJob {
  op: 'push' | 'pull';
  prefix: string;
  arg?: number;
  /** Push: parts in flight; pull: strip the bodies' `blob()` (1), or have the engine take the body with `blob()` (2). */
  arg2?: number;
  target: SyncBenchTarget;
  source: Blob | undefined;
}

self.onmessage = async (event: MessageEvent<SyncWorkerJob>) => {
  const { op, prefix, arg, arg2, target, source } = event.data;
  useInProcess(target, source);
  try {
    const result =
      op === 'push'
        ? await syncCases.syncPushCoffer(prefix, arg, undefined, arg2)
        : await syncCases.syncPullCoffer(prefix, arg!, arg2 === 1);
    self.postMessage({ result, window: syncCases.lastWindowHere() });
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
  }
};
