import { describe, expect, it } from 'vitest';
import {
  bucketObjectUrl,
  encodeKeyPath,
  parseFileUrl,
  recordFileUrl,
} from '../../packages/core/src/model/file-url.js';
import {
  asciiFilename,
  contentDisposition,
  DEFAULT_INLINE_TYPES,
  inlineTypeSet,
  isNotModified,
  parseRange,
  rangeStillValid,
  servedMimetype,
} from '../../packages/core/src/model/http.js';

const inline = inlineTypeSet(DEFAULT_INLINE_TYPES);

describe('servedMimetype', () => {
  it('passes Invenio allow-listed types through, with a charset for text', () => {
    expect(servedMimetype('image/png', 'a.png')).toBe('image/png');
    expect(servedMimetype('text/plain', 'a.txt')).toBe('text/plain; charset=utf-8');
  });

  it('serves markup and script as text/plain, even when listed as inline', () => {
    for (const type of ['text/html', 'image/svg+xml', 'application/javascript', 'application/xml']) {
      expect(servedMimetype(type, 'x', inline)).toBe('text/plain; charset=utf-8');
    }
  });

  it('serves a README as text whatever its type', () => {
    expect(servedMimetype('application/octet-stream', 'docs/ReadMe')).toBe('text/plain; charset=utf-8');
  });

  it('serves PDF and video as octet-stream under the strict list and as themselves when inline', () => {
    expect(servedMimetype('application/pdf', 'a.pdf')).toBe('application/octet-stream');
    expect(servedMimetype('application/pdf', 'a.pdf', inline)).toBe('application/pdf');
    expect(servedMimetype('video/webm; codecs=vp8', 'a.webm', inline)).toBe('video/webm');
  });

  it('serves unknown types as octet-stream', () => {
    expect(servedMimetype('application/zip', 'a.zip', inline)).toBe('application/octet-stream');
  });
});

describe('inlineTypeSet', () => {
  it('refuses types that could run script', () => {
    for (const type of [
      'text/html',
      'image/svg+xml',
      'application/xhtml+xml',
      'text/javascript',
      'nonsense',
    ]) {
      expect(() => inlineTypeSet([type])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('normalizes case and parameters', () => {
    expect([...inlineTypeSet(['Video/MP4; codecs=avc1'])]).toEqual(['video/mp4']);
  });
});

describe('contentDisposition', () => {
  it('names an ASCII basename as a bare token', () => {
    expect(contentDisposition('attachment', 'dir/report.pdf')).toBe('attachment; filename=report.pdf');
  });

  it('adds an RFC 6266 filename* with an NFKD ASCII fallback for a non-ASCII name', () => {
    expect(contentDisposition('attachment', 'żółć.dat')).toBe(
      "attachment; filename=zoc.dat; filename*=UTF-8''%C5%BC%C3%B3%C5%82%C4%87.dat",
    );
  });

  it('quotes a fallback with spaces or quotes and encodes attr-chars the URI encoder leaves', () => {
    expect(contentDisposition('inline', 'a "b" (c).txt')).toBe('inline; filename="a \\"b\\" (c).txt"');
    expect(contentDisposition('inline', "é's (1)*.txt")).toBe(
      "inline; filename=\"e's (1)*.txt\"; filename*=UTF-8''%C3%A9%27s%20%281%29%2A.txt",
    );
  });

  it('falls back to "download" when nothing ASCII is left', () => {
    expect(asciiFilename('日本語')).toBe('download');
    expect(contentDisposition('attachment', '日本語')).toBe(
      "attachment; filename=download; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E",
    );
  });

  it('drops control characters from the fallback', () => {
    expect(contentDisposition('attachment', 'a\r\nb.txt')).toContain('filename=ab.txt;');
  });
});

describe('parseRange', () => {
  it('reads a-b, a- and -n', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
  });

  it('clamps an end past the last byte and a suffix longer than the file', () => {
    expect(parseRange('bytes=990-5000', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
  });

  it('is unsatisfiable for a start at or past the end, a > b, a zero suffix, malformed bytes, an empty file', () => {
    for (const header of ['bytes=1000-', 'bytes=5-4', 'bytes=-0', 'bytes=x-1', 'bytes=-', 'bytes=1-2-3']) {
      expect(parseRange(header, 1000)).toBe('unsatisfiable');
    }
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });

  it('ignores no header, other units and several ranges', () => {
    expect(parseRange(null, 10)).toBeUndefined();
    expect(parseRange('items=0-1', 10)).toBeUndefined();
    expect(parseRange('bytes=0-1,4-5', 10)).toBeUndefined();
  });
});

describe('conditional requests', () => {
  const validators = { etag: '"md5:abc"', lastModified: new Date('2026-01-02T03:04:05.678Z') };
  const headers = (init: Record<string, string>) => new Headers(init);

  it('is not modified when If-None-Match lists the ETag, weakly or as *', () => {
    expect(isNotModified(headers({ 'If-None-Match': '"x", W/"md5:abc"' }), validators)).toBe(true);
    expect(isNotModified(headers({ 'If-None-Match': '*' }), validators)).toBe(true);
    expect(isNotModified(headers({ 'If-None-Match': '"md5:def"' }), validators)).toBe(false);
  });

  it('compares If-Modified-Since at whole seconds, and only without If-None-Match', () => {
    const same = 'Fri, 02 Jan 2026 03:04:05 GMT';
    expect(isNotModified(headers({ 'If-Modified-Since': same }), validators)).toBe(true);
    expect(isNotModified(headers({ 'If-Modified-Since': 'Fri, 02 Jan 2026 03:04:04 GMT' }), validators)).toBe(
      false,
    );
    expect(isNotModified(headers({ 'If-Modified-Since': 'garbage' }), validators)).toBe(false);
    expect(
      isNotModified(headers({ 'If-None-Match': '"other"', 'If-Modified-Since': same }), validators),
    ).toBe(false);
  });

  it('keeps a range under If-Range only when the ETag or the date matches', () => {
    expect(rangeStillValid(headers({}), validators)).toBe(true);
    expect(rangeStillValid(headers({ 'If-Range': '"md5:abc"' }), validators)).toBe(true);
    expect(rangeStillValid(headers({ 'If-Range': '"md5:old"' }), validators)).toBe(false);
    expect(rangeStillValid(headers({ 'If-Range': 'Fri, 02 Jan 2026 03:04:05 GMT' }), validators)).toBe(true);
    expect(rangeStillValid(headers({ 'If-Range': 'Fri, 02 Jan 2026 03:04:06 GMT' }), validators)).toBe(false);
  });
});

describe('file URLs', () => {
  const origin = 'https://app.example';
  const roundTrip = (key: string) => parseFileUrl(origin + bucketObjectUrl('/coffer/', 'b1', key))?.key;

  it('round-trips keys with slashes, Unicode, reserved characters and dot segments', () => {
    for (const key of [
      'a/b/c.txt',
      'żółć/日本 語.pdf',
      'q?x#y%z&\\.txt',
      'a/../b',
      './x',
      'a/.',
      'a//b/',
      '...',
    ]) {
      expect(roundTrip(key)).toBe(key);
    }
    expect(encodeKeyPath('a/../b')).toBe('a%2F..%2Fb');
  });

  it('reads record and bucket routes with versionId and download', () => {
    expect(parseFileUrl(`${origin}${recordFileUrl('/coffer/', 'r 1', 'x/y.pdf', 'v1')}&download`)).toEqual({
      kind: 'record',
      id: 'r 1',
      key: 'x/y.pdf',
      versionId: 'v1',
      download: true,
    });
    expect(parseFileUrl(`${origin}/coffer/buckets/b/objects/k?versionId=`)).toMatchObject({
      kind: 'bucket',
      versionId: undefined,
      download: false,
    });
  });

  it('ignores other paths, mixed routes, other prefixes and origins, and bad encodings', () => {
    for (const url of [
      `${origin}/coffer/buckets/b/objects/`,
      `${origin}/coffer/buckets/b/files/k`,
      `${origin}/coffer/records/r/objects/k`,
      `${origin}/other/buckets/b/objects/k`,
      `${origin}/coffer/buckets/b/objects/%E0%A4%A`,
    ]) {
      expect(parseFileUrl(url)).toBeUndefined();
    }
    expect(
      parseFileUrl(`${origin}/coffer/buckets/b/objects/k`, '/coffer/', 'https://elsewhere.example/'),
    ).toBeUndefined();
    expect(parseFileUrl(`${origin}/files/buckets/b/objects/k`, '/files')).toMatchObject({ key: 'k' });
  });
});
