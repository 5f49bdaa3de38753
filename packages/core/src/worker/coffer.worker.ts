/**
 * The Coffer worker: reads sources, hashes them and writes their chunks to IndexedDB, off the
 * main thread. Start it with `new Worker(new URL('./coffer.worker.js', import.meta.url), { type:
 * 'module' })` (what `createWorkerPipeline` in `client.ts` does); it opens its own connection to the
 * coffer's database.
 *
 * @module @coffer/core/worker
 */
import { expose, releaseProxy, transfer } from 'comlink';
import { InvalidOperationError } from '../errors.js';
import { CofferDb } from '../storage/schema.js';
import { crc32Sources } from './crc32.js';
import { exportBag } from './export-bag.js';
import { importBag } from './import-bag.js';
import type {
  Crc32Request,
  DigestRequest,
  ExportBagRequest,
  HashOutcome,
  HashRequest,
  ImportBagRequest,
  IngestFileRequest,
  OperationHooks,
  Progress,
  StagedImport,
  WriteDataRequest,
  WriteResult,
} from './protocol.js';
import { installErrorTransfer } from './transfer.js';
import { digestData, hashSources, ingestFile, writeData } from './write-data.js';

/** A progress callback living on the other thread: every call is a message, answered by a promise. */
export type RemoteProgress = (progress: Progress) => unknown;

/**
 * What the worker exposes over comlink. Every operation carries a job number chosen by the
 * caller, so that {@link CofferWorkerApi.abort} can name it.
 */
export interface CofferWorkerApi {
  /** Open the coffer's database; call once, before anything else. */
  open(name: string): void;
  ingestFile(job: number, request: IngestFileRequest, onProgress?: RemoteProgress): Promise<WriteResult>;
  writeData(job: number, request: WriteDataRequest, onProgress?: RemoteProgress): Promise<WriteResult>;
  digest(job: number, request: DigestRequest, onProgress?: RemoteProgress): Promise<WriteResult>;
  hashSources(job: number, request: HashRequest, onProgress?: RemoteProgress): Promise<HashOutcome[]>;
  crc32(job: number, request: Crc32Request, onProgress?: RemoteProgress): Promise<number[]>;
  exportBag(job: number, request: ExportBagRequest, onProgress?: RemoteProgress): Promise<Blob>;
  importBag(job: number, request: ImportBagRequest, onProgress?: RemoteProgress): Promise<StagedImport>;
  /** Abort job `job`; an unknown or finished job is ignored. */
  abort(job: number): void;
}

/**
 * Relay progress to the other thread with at most one message in flight: every report is
 * sent while the receiver keeps up, and only the latest waits while it does not.
 */
function progressRelay(remote: RemoteProgress | undefined) {
  let inFlight: Promise<void> | undefined;
  let waiting: Progress | undefined;
  const send = (progress: Progress): void => {
    inFlight = Promise.resolve(remote?.(progress))
      .catch(() => undefined)
      .then(() => {
        inFlight = undefined;
        const next = waiting;
        waiting = undefined;
        if (next) send(next);
      });
  };
  return {
    report: remote
      ? (progress: Progress) => {
          if (inFlight) waiting = progress;
          else send(progress);
        }
      : undefined,
    /** Wait until the last report has been delivered. */
    async flush(): Promise<void> {
      while (inFlight) await inFlight;
    },
    release(): void {
      (remote as { [releaseProxy]?: () => void } | undefined)?.[releaseProxy]?.();
    },
  };
}

let db: CofferDb | undefined;
const jobs = new Map<number, AbortController>();

const database = (): CofferDb => {
  if (!db) throw new InvalidOperationError('The Coffer worker has no database open.');
  return db;
};

async function run<T>(
  job: number,
  remote: RemoteProgress | undefined,
  work: (db: CofferDb, hooks: OperationHooks) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  jobs.set(job, controller);
  const progress = progressRelay(remote);
  try {
    const result = await work(database(), { signal: controller.signal, onProgress: progress.report });
    await progress.flush();
    return result;
  } finally {
    jobs.delete(job);
    progress.release();
  }
}

const api: CofferWorkerApi = {
  open(name) {
    db?.close();
    db = new CofferDb(name);
  },
  ingestFile: (job, request, onProgress) =>
    run(job, onProgress, (db, hooks) => ingestFile(db, request, hooks)),
  writeData: (job, request, onProgress) => run(job, onProgress, (db, hooks) => writeData(db, request, hooks)),
  digest: (job, request, onProgress) => run(job, onProgress, (db, hooks) => digestData(db, request, hooks)),
  hashSources: (job, request, onProgress) =>
    run(job, onProgress, async (_db, hooks) => {
      const outcomes = await hashSources(request, hooks);
      // The bytes of small sources go back moved, not copied.
      return transfer(
        outcomes,
        outcomes.flatMap((o) => (o.ok && o.bytes ? [o.bytes] : [])),
      );
    }),
  crc32: (job, request, onProgress) => run(job, onProgress, (_db, hooks) => crc32Sources(request, hooks)),
  exportBag: (job, request, onProgress) => run(job, onProgress, (db, hooks) => exportBag(db, request, hooks)),
  importBag: (job, request, onProgress) => run(job, onProgress, (db, hooks) => importBag(db, request, hooks)),
  abort(job) {
    jobs.get(job)?.abort();
  },
};

installErrorTransfer();
expose(api);
