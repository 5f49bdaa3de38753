import type { MultipartLimits } from '../model/multipart.js';
import type { BucketStore } from '../storage/bucket-store.js';
import type { CofferDb } from '../storage/schema.js';
import type { BytePipeline, WriteSettings } from '../worker/protocol.js';
import type { LazyBodies } from './lazy-bodies.js';

/** Settings every part of the API reads. */
export interface CofferSettings extends WriteSettings {
  name: string;
  location: string;
  storageClass: string;
  dedupe: boolean;
  /** Where the service worker serves files, e.g. `/coffer/`. */
  urlPrefix: string;
  /** Limits of multipart uploads. */
  multipart: MultipartLimits;
}

/**
 * What the API classes share: the database, its stores, the byte pipeline, the settings, and
 * the slot where a sync registers what fetches bytes pulled without them.
 */
export interface CofferContext {
  readonly db: CofferDb;
  readonly store: BucketStore;
  readonly pipeline: BytePipeline;
  readonly settings: CofferSettings;
  readonly bodies: LazyBodies;
}
