/**
 * Simulated devices for sync tests: coffers with different names syncing through one real
 * bucket of the test gateway, remotes that count requests or fail at a chosen call, and a
 * snapshot of a coffer's state to compare devices.
 */
import { type Coffer, type CofferOptions, openCoffer } from '@coffer/core';
import { type CofferSync, openSync, type SyncOptions } from '@coffer/core/sync';
import { afterEach, expect } from 'vitest';
import { RemoteError } from '../../packages/core/src/sync/errors.js';
import type { Remote } from '../../packages/core/src/sync/remote.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket, type TestS3Options } from '../helpers/s3.js';

/** One simulated device: a coffer and its sync. */
export interface Device {
  name: string;
  coffer: Coffer;
  sync: CofferSync;
  remote: Remote;
}

const opened: { coffer: Coffer; sync: CofferSync }[] = [];

afterEach(async () => {
  for (const { coffer, sync } of opened.splice(0)) {
    await sync.close();
    coffer.close();
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(coffer.name);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }
});

/** Short backoff so that retry tests stay fast. */
export const fastRetry = { attempts: 4, initialDelay: 20, maxDelay: 100 };

/** Open a coffer named `name` (a fresh one by default) with a sync on `remote`. */
export async function openDevice(
  remote: Remote,
  name = `sync-${crypto.randomUUID()}`,
  options: Partial<SyncOptions> = {},
  cofferOptions: Partial<CofferOptions> = {},
): Promise<Device> {
  const coffer = await openCoffer({ name, chunkSize: 4096, inlineBelow: 0, ...cofferOptions });
  const sync = openSync(coffer, { remote, retry: fastRetry, ...options });
  opened.push({ coffer, sync });
  return { name, coffer, sync, remote };
}

/** Close a device's sync and coffer, keeping its database (to reopen it as a new session). */
export async function closeDevice(device: Device): Promise<void> {
  const index = opened.findIndex((o) => o.coffer === device.coffer);
  if (index >= 0) opened.splice(index, 1);
  await device.sync.close();
  device.coffer.close();
}

/**
 * `n` devices on one fresh bucket. With `counted`, each device's remote is a
 * {@link WrappedRemote}, to count its requests.
 */
export async function devices(
  n: number,
  { counted = false }: { counted?: boolean } = {},
): Promise<{ bucket: TestS3Options; devices: Device[] }> {
  const bucket = await freshS3Bucket({ label: 'sync' });
  const list: Device[] = [];
  for (let i = 0; i < n; i++) {
    const remote = new S3Remote(bucket);
    list.push(await openDevice(counted ? new WrappedRemote(remote) : remote));
  }
  return { bucket, devices: list };
}

/** Sync every device in turn, `rounds` times (two rounds spread every change everywhere). */
export async function syncAll(list: Device[], rounds = 2): Promise<void> {
  for (let round = 0; round < rounds; round++) for (const device of list) await device.sync.now();
}

/**
 * Sync rounds until every device holds the same state (at most `maxRounds`); the rounds it
 * took. Devices that merge in different orders make different merges of merges, which agree on
 * the data (model/sync-merge.ts).
 *
 * @throws {Error} naming every device's state after each round, when they never agree.
 */
export async function converge(list: Device[], maxRounds = 8): Promise<number> {
  const trace: string[] = [];
  for (let round = 1; round <= maxRounds; round++) {
    await syncAll(list, 1);
    const states = await Promise.all(list.map((device) => stateOf(device.coffer)));
    if (states.every((state) => canonical(state) === canonical(states[0]))) return round;
    trace.push(`round ${round}`, ...states.map((state, i) => `  ${list[i]!.name}: ${canonical(state)}`));
  }
  throw new Error(`The devices differ after ${maxRounds} rounds:\n${trace.join('\n')}`);
}

/** JSON with object keys sorted: devices that merged in different orders may order keys differently. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );

type Method = keyof Remote;

/**
 * A Remote around a real one that counts calls per method and can change what a call does:
 * `hook(method, n)` runs before the `n`-th call (1-based, per method) and may throw.
 */
export class WrappedRemote implements Remote {
  readonly counts: Partial<Record<Method, number>> = {};
  total = 0;
  /** Runs before each call; throw to fail it. `n` counts calls of that method. */
  before: ((method: Method, n: number, total: number) => void) | undefined;
  /** Rewrites the body stream of `getObject`. */
  mapBody: ((key: string, stream: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>) | undefined;

  constructor(readonly inner: Remote) {}

  private count(method: Method): void {
    const n = (this.counts[method] ?? 0) + 1;
    this.counts[method] = n;
    this.total++;
    this.before?.(method, n, this.total);
  }

  reset(): void {
    for (const key of Object.keys(this.counts)) delete this.counts[key as Method];
    this.total = 0;
  }

  /** Count a call (which may fail it), then run it. */
  private async via<T>(method: Method, call: () => Promise<T>): Promise<T> {
    this.count(method);
    return call();
  }

  check: Remote['check'] = (o) => this.via('check', () => this.inner.check(o));
  putObject: Remote['putObject'] = (k, b, o) => this.via('putObject', () => this.inner.putObject(k, b, o));
  copyObject: Remote['copyObject'] = (k, s, o) =>
    this.via('copyObject', () => this.inner.copyObject(k, s, o));
  deleteObject: Remote['deleteObject'] = (k, o) =>
    this.via('deleteObject', () => this.inner.deleteObject(k, o));
  getObject: Remote['getObject'] = (k, o) =>
    this.via('getObject', async () => {
      const body = await this.inner.getObject(k, o);
      return this.mapBody ? { ...body, stream: this.mapBody(k, body.stream) } : body;
    });
  list: Remote['list'] = (o) => this.via('list', () => this.inner.list(o));
  createMultipartUpload: Remote['createMultipartUpload'] = (k, o) =>
    this.via('createMultipartUpload', () => this.inner.createMultipartUpload(k, o));
  uploadPart: Remote['uploadPart'] = (k, u, n, b, o) =>
    this.via('uploadPart', () => this.inner.uploadPart(k, u, n, b, o));
  listParts: Remote['listParts'] = (k, u, o) => this.via('listParts', () => this.inner.listParts(k, u, o));
  completeMultipartUpload: Remote['completeMultipartUpload'] = (k, u, p, o) =>
    this.via('completeMultipartUpload', () => this.inner.completeMultipartUpload(k, u, p, o));
  abortMultipartUpload: Remote['abortMultipartUpload'] = (k, u, o) =>
    this.via('abortMultipartUpload', () => this.inner.abortMultipartUpload(k, u, o));
}

/** A network failure as S3Remote reports it. */
/**
 * `device` resumed a multipart upload where it stopped, through `remote`: no new upload, one
 * ListParts, the `parts` missing parts sent, one complete, and no upload left to resume.
 */
export async function expectResumedUpload(
  remote: WrappedRemote,
  device: Device,
  parts: number,
): Promise<void> {
  expect(remote.counts.createMultipartUpload).toBeUndefined();
  expect(remote.counts.listParts).toBe(1);
  expect(remote.counts.uploadPart).toBe(parts);
  expect(remote.counts.completeMultipartUpload).toBe(1);
  expect(await device.coffer.context.db.syncUploads.count()).toBe(0);
}

export const unreachable = () => new RemoteError('REMOTE_UNREACHABLE', 'The gateway is down (simulated).');

/** A throttled answer as S3Remote reports it. */
export const throttled = (status: 429 | 503) =>
  new RemoteError('REMOTE_THROTTLED', `Slow down (simulated ${status}).`, { status, retryAfter: 10 });

/** What a device holds, in a form two devices can be compared by. */
export interface DeviceState {
  records: Record<string, { deleted: boolean; data: unknown }>;
  /** `recordId/key` → versions oldest id first: `versionId:checksum` (`marker` for a marker), head marked with `*`. */
  versions: Record<string, string[]>;
}

/** The records (with their `_files`) and every version of every record's bucket. */
export async function stateOf(coffer: Coffer): Promise<DeviceState> {
  const { db } = coffer.context;
  const records: DeviceState['records'] = {};
  const versions: DeviceState['versions'] = {};
  for (const row of await db.records.toArray()) {
    // File instances are local: their ids differ from device to device.
    const files = Array.isArray(row.data._files)
      ? row.data._files.map(({ file_id: _, ...entry }) => entry)
      : row.data._files;
    records[row.id] = { deleted: row.deleted === 1, data: { ...row.data, _files: files } };
    const bucketId = row.data._bucket as string | undefined;
    if (!bucketId) continue;
    const rows = await db.objects.where('bucketId').equals(bucketId).toArray();
    for (const version of rows.sort((a, b) => (a.versionId < b.versionId ? -1 : 1))) {
      const name = `${row.id}/${version.key}`;
      versions[name] = versions[name] ?? [];
      versions[name].push(`${version.versionId}:${version.checksum ?? 'marker'}${version.isHead ? '*' : ''}`);
    }
  }
  return { records, versions };
}

/** The text of a record's file, or `undefined`. */
export async function fileText(coffer: Coffer, recordId: string, key: string): Promise<string | undefined> {
  const record = await coffer.records.get(recordId, { includeDeleted: true });
  const file = await record.files?.get(key);
  return file ? (await file.blob()).text() : undefined;
}
