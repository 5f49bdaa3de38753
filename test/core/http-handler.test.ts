import type { Coffer, ObjectVersion } from '@coffer/core';
import { handleFileRequest, lazyCoffer } from '@coffer/core/sw';
import { describe, expect } from 'vitest';
import { blob, dispose, freshCoffer, it } from '../helpers/coffer.js';

const origin = 'http://app.test';

const get = (coffer: Coffer, path: string, init: RequestInit = {}, options = {}) =>
  handleFileRequest(new Request(origin + path, init), coffer, options) as Promise<Response>;

async function stored(
  coffer: Coffer,
  key: string,
  content: string | Blob = 'hello world',
  mimetype?: string,
) {
  const bucket = await coffer.buckets.create();
  const version = await bucket.objects.put(key, typeof content === 'string' ? blob(content) : content, {
    mimetype,
  });
  return { bucket, version };
}

describe('handleFileRequest: statuses and headers', () => {
  it('serves a text file with Invenio headers, validators and the bytes', async ({ coffer }) => {
    const { version } = await stored(coffer, 'notes/a.txt');

    const response = await get(coffer, version.url);

    expect(response.status).toBe(200);
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'content-length': '11',
      'content-disposition': 'inline; filename=a.txt',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; media-src 'self'; frame-ancestors 'self'",
      'x-content-type-options': 'nosniff',
      'x-download-options': 'noopen',
      'x-permitted-cross-domain-policies': 'none',
      'x-frame-options': 'sameorigin',
      'accept-ranges': 'bytes',
      'cache-control': 'no-cache',
      etag: `"${version.checksum}"`,
      'last-modified': (await version.file()).updated.toUTCString(),
    });
    expect(version.checksum).toMatch(/^md5:[0-9a-f]{32}$/);
    expect(await response.text()).toBe('hello world');
  });

  it('answers HEAD with the headers of GET and no body', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt');

    const response = await get(coffer, version.url, { method: 'HEAD' });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('11');
    expect(response.body).toBeNull();
  });

  it('makes ?download, and octet-stream, an attachment', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt');
    const zip = await stored(coffer, 'b.zip');

    const download = await get(coffer, `${version.url}?download`);
    const octets = await get(coffer, zip.version.url);

    expect(download.headers.get('content-disposition')).toBe('attachment; filename=a.txt');
    expect(octets.headers.get('content-type')).toBe('application/octet-stream');
    expect(octets.headers.get('content-disposition')).toBe('attachment; filename=b.zip');
  });

  it('serves HTML, SVG and JavaScript as text/plain', async ({ coffer }) => {
    for (const key of ['x.html', 'x.svg', 'x.js']) {
      const { version } = await stored(coffer, key, '<script>alert(1)</script>');

      const response = await get(coffer, version.url);

      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    }
  });

  it('serves PDF inline by default and as an octet-stream attachment with inlineTypes: []', async ({
    coffer,
  }) => {
    const { version } = await stored(coffer, 'paper.pdf', '%PDF-1.4');

    const inline = await get(coffer, version.url);
    const strict = await get(coffer, version.url, {}, { inlineTypes: [] });

    expect(inline.headers.get('content-type')).toBe('application/pdf');
    expect(inline.headers.get('content-disposition')).toBe('inline; filename=paper.pdf');
    expect(strict.headers.get('content-type')).toBe('application/octet-stream');
    expect(strict.headers.get('content-disposition')).toBe('attachment; filename=paper.pdf');
  });

  it('uses the stored mimetype over the guessed one', async ({ coffer }) => {
    const { version } = await stored(coffer, 'image', 'GIF89a', 'image/gif');

    const response = await get(coffer, version.url);

    expect(response.headers.get('content-type')).toBe('image/gif');
  });

  it('serves a key with slashes and Unicode at its URL with an RFC 6266 name', async ({ coffer }) => {
    const { version } = await stored(coffer, 'dir/sub/żółć ü?#.txt');

    const response = await get(coffer, `${version.url}?download`);

    expect(version.url).toContain('/objects/dir/sub/%C5%BC');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="zoc u?#.txt"; filename*=UTF-8\'\'%C5%BC%C3%B3%C5%82%C4%87%20%C3%BC%3F%23.txt',
    );
  });

  it('serves an empty file', async ({ coffer }) => {
    const { version } = await stored(coffer, 'empty.txt', '');

    const response = await get(coffer, version.url);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('0');
    expect(await response.text()).toBe('');
  });

  it('answers 405 to other methods and ignores URLs that are not its own', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt');

    const post = await get(coffer, version.url, { method: 'POST', body: 'x' });
    const other = await handleFileRequest(new Request(`${origin}/index.html`), coffer);

    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(other).toBeUndefined();
  });

  it('serves under the coffer urlPrefix', async () => {
    const coffer = await freshCoffer({ urlPrefix: '/files/' });
    const { version } = await stored(coffer, 'a.txt');

    const response = await get(coffer, version.url);
    const wrongPrefix = await handleFileRequest(
      new Request(`${origin}/coffer/buckets/x/objects/a.txt`),
      coffer,
    );

    expect(version.url).toMatch(/^\/files\/buckets\//);
    expect(response.status).toBe(200);
    expect(wrongPrefix).toBeUndefined();
    await dispose(coffer);
  });
});

describe('handleFileRequest: 404', () => {
  it('is 404 for an unknown bucket, key or version, and a too long key', async ({ coffer }) => {
    const { bucket, version } = await stored(coffer, 'a.txt');
    const base = `/coffer/buckets/${bucket.id}/objects`;

    for (const path of [
      '/coffer/buckets/nope/objects/a.txt',
      `${base}/b.txt`,
      `${base}/a.txt?versionId=nope`,
      `${base}/${'k'.repeat(300)}`,
      `/coffer/buckets/${bucket.id}/objects/other.txt?versionId=${version.versionId}`,
    ]) {
      expect((await get(coffer, path)).status, path).toBe(404);
    }
  });

  it('is 404 for a deleted key and for the delete marker version, and serves older versions', async ({
    coffer,
  }) => {
    const { bucket } = await stored(coffer, 'a.txt', 'one');
    await bucket.objects.put('a.txt', blob('two'));
    const marker = await bucket.objects.delete('a.txt');
    const first = (await bucket.objects.versions('a.txt')).at(-1)!;

    const head = await get(coffer, `/coffer/buckets/${bucket.id}/objects/a.txt`);
    const markerVersion = await get(coffer, marker.url);
    const old = await get(coffer, first.url);

    expect(head.status).toBe(404);
    expect(marker.url).toContain('?versionId=');
    expect(markerVersion.status).toBe(404);
    expect(first.url).toContain(`?versionId=${first.versionId}`);
    expect(old.status).toBe(200);
    expect(await old.text()).toBe('one');
  });

  it('is 404 for a deleted bucket', async ({ coffer }) => {
    const { bucket, version } = await stored(coffer, 'a.txt');
    await bucket.delete();

    expect((await get(coffer, version.url)).status).toBe(404);
  });

  it('is 404 when canRead denies, and canRead sees the version and the request', async ({ coffer }) => {
    const { version } = await stored(coffer, 'secret.txt');
    const seen: [unknown, string, string][] = [];
    const canRead = (record: unknown, file: ObjectVersion, request: Request) => {
      seen.push([record, file.key, request.url]);
      return false;
    };

    const response = await get(coffer, version.url, {}, { canRead });

    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Not Found');
    expect(seen).toEqual([[undefined, 'secret.txt', origin + version.url]]);
  });
});

describe('handleFileRequest: record routes', () => {
  it('serves a record file at its FileObject.url, and older versions by versionId', async ({ coffer }) => {
    const record = await coffer.records.create({ title: 'Survey 12' });
    await record.files!.set('plans/site plan.txt', blob('one'));
    const file = await record.files!.set('plans/site plan.txt', blob('two'));
    const [, old] = await record.bucket!.objects.versions('plans/site plan.txt');

    const head = await get(coffer, file.url);
    const older = await get(coffer, `${file.url}?versionId=${old!.versionId}&download`);

    expect(file.url).toBe(`/coffer/records/${record.id}/files/plans/site%20plan.txt`);
    expect([head.status, await head.text()]).toEqual([200, 'two']);
    expect(head.headers.get('etag')).toBe(`"${file.version.checksum}"`);
    expect([older.status, await older.text()]).toEqual([200, 'one']);
    expect(older.headers.get('content-disposition')).toBe('attachment; filename="site plan.txt"');
  });

  it('is 404 for an unknown record or key, a deleted file, a record without a bucket, a soft-deleted record', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({});
    const file = await record.files!.set('a.txt', blob('a'));
    await record.files!.set('gone.txt', blob('g'));
    await record.files!.delete('gone.txt');
    const bare = await coffer.records.create({}, { withBucket: false });
    const deleted = await coffer.records.create({});
    const deletedFile = await deleted.files!.set('a.txt', blob('a'));
    await deleted.delete();

    for (const path of [
      `/coffer/records/nope/files/a.txt`,
      `/coffer/records/${record.id}/files/b.txt`,
      `/coffer/records/${record.id}/files/gone.txt`,
      `/coffer/records/${bare.id}/files/a.txt`,
      deletedFile.url,
    ]) {
      expect((await get(coffer, path)).status, path).toBe(404);
    }
    expect((await get(coffer, file.url)).status).toBe(200);
  });

  it('passes the record to canRead', async ({ coffer }) => {
    const record = await coffer.records.create({ access: 'restricted' });
    const file = await record.files!.set('a.txt', blob('a'));
    const canRead = (r: { data: Record<string, unknown> } | undefined) => r?.data.access !== 'restricted';

    const response = await get(coffer, file.url, {}, { canRead });

    expect(response.status).toBe(404);
  });
});

describe('handleFileRequest: the rules of a record on its bucket route', () => {
  it('passes the owning record to canRead on the bucket route, so a closed record hides its files there too', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({ access: 'closed' });
    const file = await record.files!.set('a.txt', blob('a'));
    const seen: unknown[] = [];
    const canRead = (r: { id: string; data: Record<string, unknown> } | undefined) => {
      seen.push(r?.id);
      return r?.data.access !== 'closed';
    };

    const response = await get(coffer, file.version.url, {}, { canRead });

    expect(file.version.url).toContain(`/buckets/${record.bucketId}/objects/a.txt`);
    expect(response.status).toBe(404);
    expect(seen).toEqual([record.id]);
  });

  it('does not serve the files of a record in the trash at their bucket URLs, nor older versions', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({});
    const first = await record.files!.set('a.txt', blob('one'));
    const file = await record.files!.set('a.txt', blob('two'));
    const older = (await file.versions()).at(-1)!;
    await record.delete();

    const head = await get(coffer, file.version.url);
    const old = await get(coffer, older.url);

    expect(older.versionId).toBe(first.versionId);
    expect([head.status, old.status]).toEqual([404, 404]);
  });

  it('serves them again once the record is restored', async ({ coffer }) => {
    const record = await coffer.records.create({});
    const file = await record.files!.set('a.txt', blob('a'));
    await record.delete();
    await record.restore();

    const response = await get(coffer, file.version.url);

    expect(response.status).toBe(200);
  });

  it('serves the files of a trashed record on both routes with serveDeletedRecords, and canRead sees the record', async ({
    coffer,
  }) => {
    const record = await coffer.records.create({});
    const file = await record.files!.set('a.txt', blob('a'));
    await record.delete();
    const seen: unknown[] = [];
    const options = {
      serveDeletedRecords: true,
      canRead: (r: { deleted: boolean } | undefined) => {
        seen.push(r?.deleted);
        return true;
      },
    };

    const byBucket = await get(coffer, file.version.url, {}, options);
    const byRecord = await get(coffer, file.url, {}, options);

    expect([byBucket.status, byRecord.status]).toEqual([200, 200]);
    expect(await byBucket.text()).toBe('a');
    expect(seen).toEqual([true, true]);
  });

  it('serves a bucket no record owns, giving canRead no record', async ({ coffer }) => {
    const { version } = await stored(coffer, 'free.txt');
    const seen: unknown[] = [];

    const response = await get(coffer, version.url, {}, { canRead: (r: unknown) => seen.push(r) > 0 });

    expect(response.status).toBe(200);
    expect(seen).toEqual([undefined]);
  });
});

describe('handleFileRequest: conditional and range requests', () => {
  it('answers 304 to a matching If-None-Match or a current If-Modified-Since', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt');
    const first = await get(coffer, version.url);
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;

    const byTag = await get(coffer, version.url, { headers: { 'If-None-Match': etag } });
    const byDate = await get(coffer, version.url, { headers: { 'If-Modified-Since': lastModified } });
    const changed = await get(coffer, version.url, { headers: { 'If-None-Match': '"md5:0"' } });

    expect(byTag.status).toBe(304);
    expect(byTag.headers.get('etag')).toBe(etag);
    expect(byTag.body).toBeNull();
    expect(byDate.status).toBe(304);
    expect(changed.status).toBe(200);
  });

  it('answers 206 for a-b, a- and -n across chunk boundaries', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt', '0123456789abcdef');

    const cases = [
      ['bytes=3-9', 'bytes 3-9/16', '3456789'],
      ['bytes=10-', 'bytes 10-15/16', 'abcdef'],
      ['bytes=-5', 'bytes 11-15/16', 'bcdef'],
      ['bytes=14-99', 'bytes 14-15/16', 'ef'],
    ] as const;
    for (const [range, contentRange, body] of cases) {
      const response = await get(coffer, version.url, { headers: { Range: range } });

      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(contentRange);
      expect(response.headers.get('content-length')).toBe(String(body.length));
      expect(await response.text()).toBe(body);
    }
  });

  it('reads only the chunks a range covers', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt', '0123456789abcdef');
    const file = await coffer.context.db.files.get(version.fileId!);
    const { dataId } = file!.extents[0]!;
    await coffer.context.db.chunks.bulkDelete([
      [dataId, 0],
      [dataId, 12],
    ]);

    const response = await get(coffer, version.url, { headers: { Range: 'bytes=5-10' } });

    expect(await response.text()).toBe('56789a');
  });

  it('answers 416 with Content-Range */size when a range cannot be satisfied', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt', '0123456789');

    for (const range of ['bytes=10-', 'bytes=5-2', 'bytes=abc']) {
      const response = await get(coffer, version.url, { headers: { Range: range } });

      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */10');
    }
  });

  it('sends the whole file when If-Range no longer matches', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt', '0123456789');

    const response = await get(coffer, version.url, {
      headers: { Range: 'bytes=0-1', 'If-Range': '"md5:0"' },
    });

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('0123456789');
  });

  it('answers a ranged HEAD with 206 headers and no body', async ({ coffer }) => {
    const { version } = await stored(coffer, 'a.txt', '0123456789');

    const response = await get(coffer, version.url, { method: 'HEAD', headers: { Range: 'bytes=2-3' } });

    expect(response.status).toBe(206);
    expect(response.headers.get('content-length')).toBe('2');
    expect(response.body).toBeNull();
  });
});

describe('lazyCoffer', () => {
  it('opens once, and again after the database closes', async () => {
    const name = `test-${crypto.randomUUID()}`;
    const coffer = lazyCoffer({ name });

    const first = await coffer();
    const same = await coffer();
    first.close();
    const reopened = await coffer();

    expect(same).toBe(first);
    expect(reopened).not.toBe(first);
    await dispose(reopened);
  });

  it('tries again after a failed open', async () => {
    let attempts = 0;
    const coffer = lazyCoffer(async () => {
      attempts++;
      if (attempts === 1) throw new Error('blocked');
      return freshCoffer();
    });

    await expect(coffer()).rejects.toThrow('blocked');
    const opened = await coffer();

    expect(attempts).toBe(2);
    await dispose(opened);
  });
});
