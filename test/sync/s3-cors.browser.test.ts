// S3Remote from a page in Chromium: the page runs on Vitest's origin, the gateway on another
// (its own 127.0.0.1 port), so every request goes through a real CORS preflight.
import { md5 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../packages/core/src/sync/errors.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket, freshS3Remote, s3Versions } from '../helpers/s3.js';

const MiB = 1024 * 1024;

describe('S3Remote in a browser, across origins', () => {
  it('runs on another origin than the gateway', async () => {
    const options = await freshS3Bucket({ label: 'origin' });
    expect(new URL(options.endpoint).origin).not.toBe(location.origin);
  });

  it('reads x-amz-version-id and ETag through the CORS rule; check() passes', async () => {
    const { remote, options } = await freshS3Remote({ label: 'cors' });
    expect(await remote.check()).toEqual({ ok: true, problems: [] });

    const first = await remote.putObject('k', new Blob(['one']), { md5: await md5('one') });
    const second = await remote.putObject('k', new Blob(['two']), { md5: await md5('two') });
    const versions = await s3Versions(options.bucket, 'k');
    expect(versions.map((v) => v.versionId).sort()).toEqual([first.versionId, second.versionId].sort());

    const body = await remote.getObject('k', { versionId: first.versionId });
    expect(body.versionId).toBe(first.versionId);
    expect(await new Response(body.stream).text()).toBe('one');

    const marker = await remote.deleteObject('k');
    expect((await s3Versions(options.bucket, 'k')).find((v) => v.deleteMarker)?.versionId).toBe(
      marker.versionId,
    );

    const copy = await remote.copyObject('copy', second);
    expect(
      await new Response((await remote.getObject('copy', { versionId: copy.versionId })).stream).text(),
    ).toBe('two');
  });

  it('uploads a multipart file from a Blob with the ETags the server exposes', async () => {
    const { remote, options } = await freshS3Remote({ label: 'mpu' });
    const bytes = new Uint8Array(5 * MiB + 10).map((_, i) => i % 251);
    const blob = new Blob([bytes]);
    const uploadId = await remote.createMultipartUpload('big', { md5: await md5(bytes) });
    const first = blob.slice(0, 5 * MiB);
    const part1 = await remote.uploadPart('big', uploadId, 1, first, {
      md5: await md5(new Uint8Array(await first.arrayBuffer())),
    });
    const part2 = await remote.uploadPart('big', uploadId, 2, blob.slice(5 * MiB), {
      md5: await md5(bytes.subarray(5 * MiB)),
    });
    expect(await remote.listParts('big', uploadId)).toEqual([part1, part2]);
    const version = await remote.completeMultipartUpload('big', uploadId, [part1, part2]);
    const listed = await s3Versions(options.bucket, 'big');
    expect(listed.map((v) => [v.versionId, v.size])).toEqual([[version.versionId, bytes.length]]);
  });

  it('hands the Blob to fetch unread: signing never touches the bytes (UNSIGNED-PAYLOAD)', async () => {
    const { remote } = await freshS3Remote({ label: 'unread' });
    const blob = new Blob(['bytes that JavaScript never reads']);
    const digest = await md5('bytes that JavaScript never reads');
    for (const method of ['arrayBuffer', 'text', 'stream', 'slice', 'bytes'] as const) {
      Object.defineProperty(blob, method, {
        value: () => {
          throw new Error(`Blob.${method}() was called`);
        },
      });
    }
    const version = await remote.putObject('unread', blob, { md5: digest });
    const body = await remote.getObject('unread', { versionId: version.versionId });
    expect(body.md5).toBe(digest);
    expect(await new Response(body.stream).text()).toBe('bytes that JavaScript never reads');
  });

  it('a bucket without the CORS rule: check() names CORS; requests fail as unreachable', async () => {
    const { remote } = await freshS3Remote({ label: 'nocors', cors: false });
    const check = await remote.check();
    expect(check.ok).toBe(false);
    expect(check.problems.map((p) => p.code)).toEqual(['CORS']);
    expect(check.problems[0]!.message).toMatch(/ExposeHeaders ETag x-amz-version-id/);
    const error = await remote
      .putObject('k', new Blob(['v']), { md5: await md5('v') })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).code).toBe('REMOTE_UNREACHABLE');
  });

  it('a CORS rule that does not expose the version header: check() names CORS and the header', async () => {
    const { remote } = await freshS3Remote({ label: 'noexpose', corsExposeHeaders: ['ETag'] });
    const check = await remote.check();
    expect(check.problems.map((p) => p.code)).toEqual(['CORS']);
    expect(check.problems[0]!.message).toMatch(/hides the response headers x-amz-version-id/);
  });

  it('check() from a page still tells a closed port: UNREACHABLE', async () => {
    const options = await freshS3Bucket({ label: 'closed' });
    // Port 9 (discard) is closed on 127.0.0.1 here; nothing answers it.
    const remote = new S3Remote({ ...options, endpoint: 'http://127.0.0.1:9' });
    expect((await remote.check()).problems.map((p) => p.code)).toEqual(['UNREACHABLE']);
  });
});
