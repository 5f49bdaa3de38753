// Contract tests of S3Remote against the real Ceph S3 gateway (radosgw 16.2) of the run.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../packages/core/src/sync/errors.js';
import type { RemotePart } from '../../packages/core/src/sync/remote.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { freshS3Bucket, freshS3Remote, s3Gateway, s3Versions } from '../helpers/s3.js';

const MiB = 1024 * 1024;

function md5(bytes: Uint8Array | string): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** Deterministic, non-repeating-looking bytes. */
function bytes(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function text(remote: S3Remote, key: string, versionId?: string): Promise<string> {
  const body = await remote.getObject(key, { versionId });
  return new Response(body.stream).text();
}

async function put(remote: S3Remote, key: string, content: string) {
  return remote.putObject(key, new Blob([content]), { md5: md5(content), contentType: 'text/plain' });
}

async function rejection(promise: Promise<unknown>): Promise<RemoteError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteError);
  return error as RemoteError;
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// The first multipart request on a fresh gateway waits ~2 s for radosgw to create a pool.
describe('S3Remote against radosgw', { timeout: 30_000 }, () => {
  it('puts a file and reads it back by versionId, with its md5 and size', async () => {
    const { remote } = await freshS3Remote({ label: 'put' });
    const version = await put(remote, 'records/r1/files/a.txt', 'hello');
    expect(version.key).toBe('records/r1/files/a.txt');
    expect(version.versionId).toMatch(/\S/);
    expect(version.versionId).not.toBe('null');

    const body = await remote.getObject('records/r1/files/a.txt', { versionId: version.versionId });
    expect(body.size).toBe(5);
    expect(body.md5).toBe(md5('hello'));
    expect(body.versionId).toBe(version.versionId);
    expect(await new Response(body.stream).text()).toBe('hello');
  });

  it('keeps two versions of one key, each readable by its versionId', async () => {
    const { remote, options } = await freshS3Remote({ label: 'two' });
    const first = await put(remote, 'k', 'one');
    const second = await put(remote, 'k', 'two, longer');
    expect(second.versionId).not.toBe(first.versionId);
    expect(await text(remote, 'k', first.versionId)).toBe('one');
    expect(await text(remote, 'k', second.versionId)).toBe('two, longer');
    expect(await text(remote, 'k')).toBe('two, longer');
    const versions = await s3Versions(options.bucket, 'k');
    expect(versions.map((v) => v.versionId).sort()).toEqual([first.versionId, second.versionId].sort());
  });

  it('reads a body whole as one Blob with blob(), the same bytes as its stream', async () => {
    const { remote } = await freshS3Remote({ label: 'blob' });
    const data = bytes(3 * MiB + 5);
    const { versionId } = await remote.putObject('b.bin', new Blob([data]), { md5: md5(data) });

    const body = await remote.getObject('b.bin', { versionId });
    const blob = await body.blob!();

    expect(blob.size).toBe(data.length);
    expect(md5(new Uint8Array(await blob.arrayBuffer()))).toBe(md5(data));
  });

  it('reads a byte range [start, end)', async () => {
    const { remote } = await freshS3Remote({ label: 'range' });
    const { versionId } = await put(remote, 'r', '0123456789');
    const body = await remote.getObject('r', { versionId, range: { start: 2, end: 5 } });
    expect(body.size).toBe(3);
    expect(await new Response(body.stream).text()).toBe('234');
  });

  it('adds a delete marker and returns its version; older versions stay readable', async () => {
    const { remote, options } = await freshS3Remote({ label: 'del' });
    const kept = await put(remote, 'gone.txt', 'bytes');
    const marker = await remote.deleteObject('gone.txt');
    expect(marker.versionId).toMatch(/\S/);
    expect(marker.versionId).not.toBe(kept.versionId);

    const versions = await s3Versions(options.bucket, 'gone.txt');
    expect(versions.find((v) => v.deleteMarker)).toMatchObject({
      versionId: marker.versionId,
      isLatest: true,
    });
    expect((await rejection(remote.getObject('gone.txt'))).code).toBe('REMOTE_NOT_FOUND');
    const onMarker = await rejection(remote.getObject('gone.txt', { versionId: marker.versionId }));
    expect(onMarker.code).toBe('REMOTE_NOT_FOUND');
    expect(await text(remote, 'gone.txt', kept.versionId)).toBe('bytes');
    expect((await remote.list({ prefix: '' })).keys).toEqual([]);
  });

  it('copies a version to a new key on the server, keeping its md5 metadata', async () => {
    const { remote } = await freshS3Remote({ label: 'copy' });
    const source = await put(remote, 'a/src', 'copied bytes');
    await put(remote, 'a/src', 'a later version');
    const copy = await remote.copyObject('b/dst', source);
    expect(copy.key).toBe('b/dst');
    const body = await remote.getObject('b/dst', { versionId: copy.versionId });
    expect(body.md5).toBe(md5('copied bytes'));
    expect(await new Response(body.stream).text()).toBe('copied bytes');
  });

  it('a missing key or version is REMOTE_NOT_FOUND, not retryable', async () => {
    const { remote } = await freshS3Remote({ label: 'nf' });
    const error = await rejection(remote.getObject('nothing'));
    expect(error).toMatchObject({
      code: 'REMOTE_NOT_FOUND',
      status: 404,
      s3Code: 'NoSuchKey',
      retryable: false,
    });
    expect(error.key).toBe('nothing');
  });

  it('lists with prefix, startAfter, delimiter and pages, keys relative to the remote prefix', async () => {
    const { options } = await freshS3Remote({ label: 'list' });
    const remote = new S3Remote({ ...options, prefix: 'coffer/' });
    const outside = new S3Remote(options);
    await put(outside, 'other/x', 'not under the prefix');
    const journal = ['000000000001', '000000000002', '000000000003', '000000000004', '000000000005'];
    for (const seq of journal) await put(remote, `journal/dev-a/${seq}.json`, seq);
    await put(remote, 'journal/dev-b/000000000001.json', 'b');
    const odd = ['files/a b+c', 'files/ünï%code', "files/(x)!*'"];
    for (const key of odd) await put(remote, key, key);

    const devices = await remote.list({ prefix: 'journal/', delimiter: '/' });
    expect(devices).toEqual({ keys: [], prefixes: ['journal/dev-a/', 'journal/dev-b/'] });

    const after = await remote.list({
      prefix: 'journal/dev-a/',
      startAfter: 'journal/dev-a/000000000003.json',
    });
    expect(after.keys).toEqual(['journal/dev-a/000000000004.json', 'journal/dev-a/000000000005.json']);
    expect(after.continuationToken).toBeUndefined();

    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await remote.list({ prefix: 'journal/dev-a/', maxKeys: 2, continuationToken: token });
      pages.push(page.keys);
      token = page.continuationToken;
    } while (token);
    expect(pages).toEqual([
      ['journal/dev-a/000000000001.json', 'journal/dev-a/000000000002.json'],
      ['journal/dev-a/000000000003.json', 'journal/dev-a/000000000004.json'],
      ['journal/dev-a/000000000005.json'],
    ]);

    expect((await remote.list({ prefix: 'files/' })).keys.sort()).toEqual([...odd].sort());
    for (const key of odd) expect(await text(remote, key)).toBe(key);
    expect((await outside.list({ prefix: '', delimiter: '/' })).prefixes).toEqual(['coffer/', 'other/']);
  });

  it('uploads in parts (>= 5 MiB), lists them, completes into one version', async () => {
    const { remote, options } = await freshS3Remote({ label: 'mpu' });
    const data = bytes(5 * MiB + 1234, 7);
    const whole = md5(data);
    const key = 'records/r/files/big.bin';
    const uploadId = await remote.createMultipartUpload(key, {
      md5: whole,
      contentType: 'application/octet-stream',
    });
    expect(uploadId).toMatch(/\S/);

    const blob = new Blob([data]);
    const slices = [blob.slice(0, 5 * MiB), blob.slice(5 * MiB)];
    const parts: RemotePart[] = [];
    for (const [i, slice] of slices.entries()) {
      const sliceBytes = new Uint8Array(await slice.arrayBuffer());
      parts.push(await remote.uploadPart(key, uploadId, i + 1, slice, { md5: md5(sliceBytes) }));
    }
    expect(parts.map((p) => p.size)).toEqual([5 * MiB, 1234]);

    const listed = await remote.listParts(key, uploadId);
    expect(listed).toEqual(parts);

    const version = await remote.completeMultipartUpload(key, uploadId, listed);
    expect(version.versionId).toMatch(/\S/);
    expect(version.versionId).not.toBe('null');
    const body = await remote.getObject(key, { versionId: version.versionId });
    expect(body.size).toBe(data.length);
    expect(body.md5).toBe(whole);
    expect(md5(new Uint8Array(await new Response(body.stream).arrayBuffer()))).toBe(whole);
    const versions = await s3Versions(options.bucket, key);
    expect(versions).toHaveLength(1);
    expect(versions[0]!.versionId).toBe(version.versionId);
  });

  it('aborts an upload: its parts are gone; aborting twice is fine', async () => {
    const { remote } = await freshS3Remote({ label: 'abort' });
    const uploadId = await remote.createMultipartUpload('k', { md5: md5('x') });
    await remote.uploadPart('k', uploadId, 1, new Blob(['part']), { md5: md5('part') });
    expect(await remote.listParts('k', uploadId)).toHaveLength(1);
    await remote.abortMultipartUpload('k', uploadId);
    // radosgw 16 says NoSuchKey here (S3 says NoSuchUpload): both are REMOTE_NOT_FOUND.
    const error = await rejection(remote.listParts('k', uploadId));
    expect(error).toMatchObject({ code: 'REMOTE_NOT_FOUND', uploadId });
    await remote.abortMultipartUpload('k', uploadId);
  });

  it('refuses a part or a file whose Content-MD5 does not match: REMOTE_BAD_DIGEST', async () => {
    const { remote } = await freshS3Remote({ label: 'digest' });
    const uploadId = await remote.createMultipartUpload('k', { md5: md5('x') });
    const part = await rejection(
      remote.uploadPart('k', uploadId, 1, new Blob(['damaged']), { md5: md5('original') }),
    );
    expect(part).toMatchObject({
      code: 'REMOTE_BAD_DIGEST',
      status: 400,
      s3Code: 'BadDigest',
      retryable: false,
    });
    expect(await remote.listParts('k', uploadId)).toEqual([]);

    const file = await rejection(remote.putObject('f', new Blob(['damaged']), { md5: md5('original') }));
    expect(file.code).toBe('REMOTE_BAD_DIGEST');
    expect((await remote.list({ prefix: '' })).keys).toEqual([]);
  });

  it('check() passes on a versioned bucket and leaves nothing behind', async () => {
    const { remote, options } = await freshS3Remote({ label: 'ok' });
    expect(await remote.check()).toEqual({ ok: true, problems: [] });
    expect(await s3Versions(options.bucket)).toEqual([]);
  });

  it('check() names bad keys AUTH; requests with them throw REMOTE_AUTH', async () => {
    const options = await freshS3Bucket({ label: 'auth' });
    const badSecret = new S3Remote({
      ...options,
      credentials: { ...options.credentials, secretAccessKey: 'wrong' },
    });
    const check = await badSecret.check();
    expect(check.ok).toBe(false);
    expect(check.problems.map((p) => p.code)).toEqual(['AUTH']);
    const error = await rejection(put(badSecret, 'k', 'v'));
    expect(error).toMatchObject({ code: 'REMOTE_AUTH', status: 403, s3Code: 'SignatureDoesNotMatch' });

    const badKey = new S3Remote({
      ...options,
      credentials: { accessKeyId: 'NOSUCHKEY', secretAccessKey: 'x' },
    });
    expect((await badKey.check()).problems.map((p) => p.code)).toEqual(['AUTH']);
    expect((await rejection(put(badKey, 'k', 'v'))).s3Code).toBe('InvalidAccessKeyId');
  });

  it('check() names a missing bucket NO_BUCKET', async () => {
    const options = await freshS3Bucket({ label: 'nob' });
    const remote = new S3Remote({ ...options, bucket: `${options.bucket}-missing` });
    const check = await remote.check();
    expect(check.problems.map((p) => p.code)).toEqual(['NO_BUCKET']);
    expect(check.problems[0]!.message).toContain(`${options.bucket}-missing`);
    expect((await rejection(remote.list({ prefix: '' }))).code).toBe('REMOTE_NO_BUCKET');
  });

  it('check() names a bucket without versioning NO_VERSIONING', async () => {
    const { remote } = await freshS3Remote({ label: 'nov', versioning: false });
    const check = await remote.check();
    expect(check.problems.map((p) => p.code)).toEqual(['NO_VERSIONING']);
    // A write there has no version to name: refused loudly rather than recorded as "null".
    const error = await rejection(put(remote, 'k', 'v'));
    expect(error.code).toBe('REMOTE_BAD_RESPONSE');
    expect(error.message).toMatch(/versioning is off/);
  });

  it('check() names a server that does not answer UNREACHABLE; requests throw a retryable REMOTE_UNREACHABLE', async () => {
    const options = await freshS3Bucket({ label: 'unr' });
    const remote = new S3Remote({ ...options, endpoint: `http://127.0.0.1:${await closedPort()}` });
    const check = await remote.check();
    expect(check.problems.map((p) => p.code)).toEqual(['UNREACHABLE']);
    const error = await rejection(put(remote, 'k', 'v'));
    expect(error).toMatchObject({ code: 'REMOTE_UNREACHABLE', retryable: true });
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('an aborted request throws REMOTE_ABORTED', async () => {
    const { remote } = await freshS3Remote({ label: 'sig' });
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(remote.getObject('k', { signal: controller.signal }));
    expect(error).toMatchObject({ code: 'REMOTE_ABORTED', retryable: false });
  });

  it('signs with a session token and a presigning callback too', async () => {
    const options = await freshS3Bucket({ label: 'presign' });
    const signer = new S3Remote(options);
    const seen: string[] = [];
    // A presign callback that signs with the keys it holds (as a server would).
    const { AwsV4Signer } = await import('aws4fetch');
    const remote = new S3Remote({
      endpoint: options.endpoint,
      bucket: options.bucket,
      presign: async ({ method, url, headers }) => {
        seen.push(method);
        const signed = await new AwsV4Signer({
          method,
          url,
          headers,
          ...options.credentials,
          service: 's3',
          region: 'us-east-1',
          signQuery: true,
        }).sign();
        return { url: signed.url.toString() };
      },
    });
    const version = await put(remote, 'p', 'presigned');
    expect(await text(signer, 'p', version.versionId)).toBe('presigned');
    expect(await text(remote, 'p', version.versionId)).toBe('presigned');
    expect(seen).toEqual(['PUT', 'GET']);
  });

  it('maps 503 SlowDown with Retry-After to a retryable REMOTE_THROTTLED (a plain HTTP answer, as S3 sends it)', async () => {
    // radosgw 16 has no rate limiter to trigger, so a local HTTP server gives S3's throttling answer.
    const server = createServer((_request, response) => {
      response.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '7' });
      response.end(
        '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const remote = new S3Remote({ ...s3Options(), endpoint: `http://127.0.0.1:${port}` });
      const error = await rejection(put(remote, 'k', 'v'));
      expect(error).toMatchObject({
        code: 'REMOTE_THROTTLED',
        status: 503,
        s3Code: 'SlowDown',
        retryable: true,
        retryAfter: 7000,
      });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

function s3Options() {
  const info = s3Gateway();
  return {
    endpoint: info.endpoint,
    bucket: 'any',
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
  };
}
