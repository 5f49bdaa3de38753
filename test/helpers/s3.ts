/**
 * S3 for tests: a fresh bucket on the real Ceph S3 gateway of the run, and an S3Remote on it.
 *
 * HOW A TEST GETS A GATEWAY, A BUCKET AND A REMOTE
 * - Put the test file under `test/sync/` (node project: `*.test.ts`; browser project:
 *   `*.browser.test.ts`). Vitest's globalSetup (s3-global-setup.ts) then starts one gateway for
 *   the run (~12 s, free ports on 127.0.0.1), or uses `COFFER_S3_ENDPOINT` & co. when set
 *   (`.ci/run`, or `eval "$(scripts/s3-gateway.sh env DIR)"` after `npm run s3:dev`).
 * - In a test (or beforeEach):
 *     const options = await freshS3Bucket();            // versioned + CORS rule, own bucket
 *     const remote = new S3Remote(options);             // or: await freshS3Remote()
 *     const other = new S3Remote({ ...options, prefix: 'b/' }); // same bucket, another prefix
 *   The bucket is purged and deleted when the test ends (`keep: true` to keep it).
 * - `freshS3Bucket({ versioning: false })` / `({ cors: false })` for the refusal cases;
 *   `s3Versions(bucket, prefix)` lists every version and delete marker (ListObjectVersions).
 * Works the same in Node and in Chromium (there the bucket is made in Node by a browser command).
 */
import { inject, onTestFinished } from 'vitest';
import { S3Remote, type S3RemoteOptions } from '../../packages/core/src/sync/s3-remote.js';
import type { ListedVersion, TestBucketOptions } from './s3-admin.js';
import type { S3GatewayInfo } from './s3-global-setup.js';

export type { ListedVersion, S3GatewayInfo, TestBucketOptions };

/** What {@link freshS3Bucket} returns: the options of an S3Remote on the new bucket. */
export type TestS3Options = S3RemoteOptions & {
  bucket: string;
  credentials: NonNullable<S3RemoteOptions['credentials']>;
};

const inBrowser = typeof document !== 'undefined';

/** The gateway of this run. Throws (never skips) when there is none. */
export function s3Gateway(): S3GatewayInfo {
  const info = inject('cofferS3');
  if (!info) {
    throw new Error(
      'No S3 gateway in this run: tests that need one must live under test/sync/ (the globalSetup starts ' +
        'a gateway only for them), or set COFFER_S3_ENDPOINT, COFFER_S3_ACCESS_KEY and COFFER_S3_SECRET_KEY.',
    );
  }
  return info;
}

/** A fresh bucket name: lower case, unique per call. */
function testBucketName(label = 't'): string {
  const clean =
    label
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+/, '')
      .slice(0, 24) || 't';
  return `${clean}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

async function admin() {
  if (inBrowser) {
    const { commands } = await import('vitest/browser');
    return {
      create: commands.s3CreateBucket,
      remove: commands.s3DeleteBucket,
      versions: commands.s3ListVersions,
    };
  }
  const { createTestBucket, deleteTestBucket, listTestVersions } = await import('./s3-admin.js');
  return { create: createTestBucket, remove: deleteTestBucket, versions: listTestVersions };
}

/**
 * Creates a new bucket (versioned, with the sync CORS rule, unless switched off) and returns
 * the options for an {@link S3Remote} on it. Called inside a test or `beforeEach`, the bucket
 * is purged and deleted when the test finishes, unless `keep`.
 */
export async function freshS3Bucket(
  options: TestBucketOptions & { label?: string; prefix?: string; keep?: boolean } = {},
): Promise<TestS3Options> {
  const info = s3Gateway();
  const bucket = testBucketName(options.label);
  const { create, remove } = await admin();
  await create(info, bucket, {
    versioning: options.versioning ?? true,
    cors: options.cors ?? true,
    ...(options.corsExposeHeaders ? { corsExposeHeaders: options.corsExposeHeaders } : {}),
  });
  if (!options.keep) {
    try {
      onTestFinished(() => remove(info, bucket).catch(() => {}));
    } catch {
      // Outside a test (beforeAll): the bucket stays until the gateway stops.
    }
  }
  return {
    endpoint: info.endpoint,
    region: info.region,
    bucket,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
  };
}

/** {@link freshS3Bucket}, then an {@link S3Remote} on it. */
export async function freshS3Remote(
  options: Parameters<typeof freshS3Bucket>[0] = {},
): Promise<{ remote: S3Remote; options: TestS3Options }> {
  const created = await freshS3Bucket(options);
  return { remote: new S3Remote(created), options: created };
}

/** Every version and delete marker in `bucket` under `prefix` (full keys, server order). */
export async function s3Versions(bucket: string, prefix = ''): Promise<ListedVersion[]> {
  return (await admin()).versions(s3Gateway(), bucket, prefix);
}

/** Purges and deletes a bucket now (for one made with `keep: true`). */
export async function removeS3Bucket(bucket: string): Promise<void> {
  await (await admin()).remove(s3Gateway(), bucket);
}
