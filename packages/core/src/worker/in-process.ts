import type { CofferDb } from '../storage/schema.js';
import { crc32Sources } from './crc32.js';
import { exportBag } from './export-bag.js';
import { importBag } from './import-bag.js';
import type { BytePipeline } from './protocol.js';
import { digestData, hashSources, ingestFile, writeData } from './write-data.js';

/** The byte pipeline running on the calling thread: for Node, and where no Worker exists. */
export function createInProcessPipeline(db: CofferDb): BytePipeline {
  return {
    ingestFile: (request, hooks) => ingestFile(db, request, hooks),
    writeData: (request, hooks) => writeData(db, request, hooks),
    digest: (request, hooks) => digestData(db, request, hooks),
    hashSources: (request, hooks) => hashSources(request, hooks),
    crc32: (request, hooks) => crc32Sources(request, hooks),
    exportBag: (request, hooks) => exportBag(db, request, hooks),
    importBag: (request, hooks) => importBag(db, request, hooks),
    close: () => undefined,
  };
}
