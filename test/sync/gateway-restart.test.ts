/**
 * The gateway stopped mid-sync, then restarted: for real. This file starts its own Ceph S3
 * gateway (scripts/s3-gateway.sh on free ports of 127.0.0.1; the shared one of the run is not
 * touched), kills its radosgw while a push or a pull is under way, checks that nothing is lost
 * and nothing is half-visible, restarts radosgw alone (`restart-rgw`: same config, same port,
 * the memstore OSD keeps the data) and checks that the next sync finishes where it stopped.
 * The wrappers around the real S3Remote only observe (and hold a call while the kill lands).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RemoteError } from '../../packages/core/src/sync/errors.js';
import type { Remote } from '../../packages/core/src/sync/remote.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { createTestBucket, listTestVersions } from '../helpers/s3-admin.js';
import type { S3GatewayInfo } from '../helpers/s3-global-setup.js';
import { type Device, expectResumedUpload, openDevice, stateOf, WrappedRemote } from './harness.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 240_000 });

const MiB = 1024 * 1024;
const script = fileURLToPath(new URL('../../scripts/s3-gateway.sh', import.meta.url));

let gateway: { info: S3GatewayInfo; dir: string } | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

function gatewayScript(args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [script, ...args],
      { env: { ...process.env, ...env }, timeout: 180_000 },
      (error, out, err) =>
        error ? reject(new Error(`s3-gateway.sh ${args.join(' ')}: ${error.message}\n${err}`)) : resolve(out),
    );
  });
}

beforeAll(async () => {
  const [port, monPort] = [await freePort(), await freePort()];
  const out = await gatewayScript(['start'], {
    COFFER_S3_PORT: String(port),
    COFFER_S3_MON_PORT: String(monPort),
    COFFER_S3_GATEWAY_DIR: '',
  });
  const env = Object.fromEntries(
    [...out.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  gateway = {
    dir: env.COFFER_S3_GATEWAY_DIR as string,
    info: {
      endpoint: env.COFFER_S3_ENDPOINT as string,
      region: env.COFFER_S3_REGION ?? 'us-east-1',
      accessKeyId: env.COFFER_S3_ACCESS_KEY as string,
      secretAccessKey: env.COFFER_S3_SECRET_KEY as string,
    },
  };
});

afterAll(async () => {
  // Only this file's gateway, by its folder (the script stops each daemon by its PID file).
  if (gateway) await gatewayScript(['stop', gateway.dir]);
});

/** The PID of this file's radosgw. */
const rgwPid = () => Number(readFileSync(`${gateway!.dir}/run/client.rgw.a.pid`, 'utf8').trim());

/** Kill radosgw (SIGKILL: a crash, nothing flushed) and wait until it is gone. */
async function killRgw(): Promise<void> {
  const pid = rgwPid();
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`radosgw ${pid} did not exit`);
}

const restartRgw = () => gatewayScript(['restart-rgw', gateway!.dir]);

/** A fresh versioned bucket on this file's gateway and an S3Remote's options for it. */
async function bucket(label: string) {
  const { info } = gateway!;
  const name = `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  await createTestBucket(info, name);
  return {
    name,
    options: {
      endpoint: info.endpoint,
      region: info.region,
      bucket: name,
      credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    },
  };
}

/** `size` bytes that differ from chunk to chunk. */
function bigBlob(size: number, salt: number): Blob {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1024) bytes[i] = ((i / 1024) * 7 + salt) % 251;
  return new Blob([bytes]);
}

/** md5 checksums of every file of every record, as the device reads them back. */
async function checksums(device: Device): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const record of await device.coffer.records.list()) {
    if (!record.files) continue;
    for await (const file of record.files) {
      const blob = await file.blob();
      out[`${record.id}/${file.key}`] = `${file.checksum}=${createHash('md5')
        .update(new Uint8Array(await blob.arrayBuffer()))
        .digest('hex')}`;
    }
  }
  return out;
}

/** A wrapper that runs `after` once a call of `method` has returned (the call's answer waits). */
class ObservingRemote extends WrappedRemote {
  after: ((method: keyof Remote, n: number) => Promise<void>) | undefined;
  constructor(inner: Remote) {
    super(inner);
    const wrap = <K extends 'uploadPart' | 'putObject'>(method: K) => {
      const call = this[method] as (...args: unknown[]) => Promise<unknown>;
      (this as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        const result = await call(...args);
        await this.after?.(method, this.counts[method] ?? 0);
        return result;
      };
    };
    wrap('uploadPart');
    wrap('putObject');
  }
}

// One part at a time, so that the kill falls after part 1 exactly (several in flight are in
// multipart.test.ts).
const sizes = { multipartThreshold: 6 * MiB, partSize: 5 * MiB, partsInFlight: 1 };
const big = { chunkSize: 1 * MiB };

describe('sync: the gateway stopped mid-sync, then restarted (real radosgw)', () => {
  it('a push killed after the first multipart part loses nothing, shows nothing, and resumes at part 2', async () => {
    const { name, options } = await bucket('restart-push');
    const wa = new ObservingRemote(new S3Remote(options));
    const a = await openDevice(wa, undefined, sizes, big);
    const record = await a.coffer.records.create({ title: 'scans' });
    await record.files!.set('a.txt', new Blob(['first small file']));
    await record.files!.set('b.json', new Blob(['{"second":"small file"}']));
    await record.files!.set('scan.tif', bigBlob(12 * MiB + 17, 1));
    await record.files!.set('c.txt', new Blob(['after the big one']));
    const before = await checksums(a);
    const stateBefore = await stateOf(a.coffer);

    let killed = false;
    wa.after = async (method, n) => {
      if (method === 'uploadPart' && n === 1 && !killed) {
        killed = true;
        await killRgw();
      }
    };
    const started = Date.now();
    const error = await a.sync.now().catch((e: unknown) => e);
    expect(killed).toBe(true);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).code).toBe('REMOTE_UNREACHABLE');
    expect((await a.sync.status()).phase).toBe('offline');
    expect(await a.sync.recordStatus(record.id)).toBe('pending');
    // Nothing lost locally: same records, versions and bytes.
    expect(await stateOf(a.coffer)).toEqual(stateBefore);
    expect(await checksums(a)).toEqual(before);
    const upload = await a.coffer.context.db.syncUploads.toArray();
    expect(upload).toHaveLength(1);
    expect(upload[0]!.parts.map((p) => p.partNumber)).toEqual([1]);
    // The small files go beside the big one (several requests in flight): those the server
    // took before the kill have their S3 version id stored, and are not sent again.
    const uploaded = await a.coffer.context.db.syncVersions.count();
    expect(uploaded).toBeLessThanOrEqual(3);
    console.log(
      `push: radosgw killed after part 1; the sync failed ${Date.now() - started} ms after it began`,
    );

    const restartedAt = Date.now();
    await restartRgw();
    console.log(`radosgw restarted in ${Date.now() - restartedAt} ms`);

    // Nothing half-visible: no journal entry, no version of the big file; another device sees nothing.
    const listed = await listTestVersions(gateway!.info, name);
    expect(listed.filter((v) => v.key.startsWith('journal/'))).toEqual([]);
    expect(listed.filter((v) => v.key.endsWith('/scan.tif'))).toEqual([]);
    const b = await openDevice(new S3Remote(options), undefined, {}, big);
    await b.sync.now();
    expect(await b.coffer.records.list({ includeDeleted: true })).toEqual([]);

    wa.after = undefined;
    wa.reset();
    const report = await a.sync.now();
    expect(report.versionsPushed).toBe(4 - uploaded);
    // Resumed: no new upload, one ListParts, parts 2 and 3, one complete; the small files
    // uploaded before the kill are not sent again.
    await expectResumedUpload(wa, a, 2);
    expect(wa.counts.putObject).toBe(3 - uploaded + 1); // the small files left and the journal entry
    expect(await a.sync.recordStatus(record.id)).toBe('synced');
    expect((await a.sync.status()).phase).toBe('idle');

    await b.sync.now();
    expect(await checksums(b)).toEqual(before);
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
  });

  it('a pull killed mid-body loses nothing, shows nothing, and the next sync finishes with the right md5s', async () => {
    const { options } = await bucket('restart-pull');
    const a = await openDevice(new S3Remote(options), undefined, sizes, big);
    const record = await a.coffer.records.create({ title: 'to pull' });
    await record.files!.set('small.txt', new Blob(['small']));
    await record.files!.set('big.bin', bigBlob(24 * MiB + 5, 2));
    await record.files!.set('z.txt', new Blob(['last']));
    await a.sync.now();
    const expected = await checksums(a);

    const wb = new ObservingRemote(new S3Remote(options));
    const b = await openDevice(wb, undefined, {}, big);
    let killed = false;
    let received = 0;
    wb.mapBody = (key, stream) => {
      if (!key.endsWith('/big.bin')) return stream;
      return stream.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          async transform(chunk, controller) {
            received += chunk.length;
            controller.enqueue(chunk);
            if (!killed) {
              killed = true;
              await killRgw();
            }
          },
        }),
      );
    };
    const error = await b.sync.now().catch((e: unknown) => e);
    expect(killed).toBe(true);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).code).toBe('REMOTE_UNREACHABLE');
    expect((await b.sync.status()).phase).toBe('offline');
    expect(received).toBeLessThan(24 * MiB);
    console.log(`pull: radosgw killed after ${received} bytes of 24 MiB`);
    // Nothing half-visible: no record, no version, no readable file instance.
    const { db } = b.coffer.context;
    expect(await b.coffer.records.list({ includeDeleted: true })).toEqual([]);
    expect(await db.objects.count()).toBe(0);
    expect(await db.files.filter((f) => f.readable === 1).count()).toBe(0);
    // Nothing lost on A.
    expect(await checksums(a)).toEqual(expected);

    await restartRgw();
    wb.mapBody = undefined;
    wb.reset();
    const report = await b.sync.now();
    expect(report.versionsPulled).toBe(3);
    expect(wb.counts.getObject).toBe(4); // the entry and 3 files
    expect(await checksums(b)).toEqual(expected);
    expect(await stateOf(b.coffer)).toEqual(await stateOf(a.coffer));
    // The bytes written before the kill were dropped: one readable instance per version.
    expect(await db.files.filter((f) => f.readable === 1).count()).toBe(3);
  });
});
