import { readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { buildFixturePage, serveFixturePage } from '../helpers/fixture-page.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/sw/', import.meta.url));
const outDir = join(tmpdir(), `coffer-sw-${process.pid}-${Date.now()}`);

let server: Server;
let origin: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let urls: Awaited<ReturnType<typeof seed>>;

/** A WAV file of one second of silence: 8 kHz, 8-bit, mono. */
function silentWav(): number[] {
  const samples = 8000;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(samples, 24);
  header.writeUInt32LE(samples, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples, 40);
  return [...header, ...new Array<number>(samples).fill(128)];
}

/** Store the test files through the page; returns their URLs. */
function seed(page: Page) {
  return page.evaluate(async (wav) => {
    const coffer = await swFixture.openCoffer();
    const bucket = await coffer.buckets.create();
    const put = (key: string, content: BlobPart | Blob) =>
      bucket.objects.put(key, content instanceof Blob ? content : new Blob([content]));
    const text = await put('notes/hello.txt', 'hello from coffer');
    const html = await put(
      'page.html',
      '<h1>hi</h1><script>parent.executed = true; window.executed = true;</script>',
    );
    const svg = await put(
      'drawing.svg',
      '<svg xmlns="http://www.w3.org/2000/svg"><script>window.executed = true;</script></svg>',
    );
    const png = await put('pixel.png', await swFixture.png(7, 5));
    const audio = await put('tone.wav', new Uint8Array(wav));
    const video = await put('clip.webm', await swFixture.webm(6));
    const unicode = await put('données/żółć résumé.txt', 'ünïcödé');
    const pdf = await put('paper.pdf', '%PDF-1.4\n%%EOF\n');
    const old = await put('v.txt', 'one');
    await put('v.txt', 'two');
    await put('gone.txt', 'bye');
    const marker = await bucket.objects.delete('gone.txt');
    const secret = await put('private/secret.txt', 'hidden');
    const record = await coffer.records.create({ title: 'Survey 12' });
    const recordFile = await record.files!.set('scans/étude.txt', new Blob(['record bytes']));
    const deleted = await coffer.records.create({});
    const deletedFile = await deleted.files!.set('a.txt', new Blob(['x']));
    await deleted.delete();
    const closed = await coffer.records.create({ access: 'closed' });
    const closedFile = await closed.files!.set('c.txt', new Blob(['closed']));
    coffer.close();
    return {
      bucket: `/coffer/buckets/${bucket.id}/objects/`,
      text: text.url,
      textChecksum: text.checksum,
      html: html.url,
      svg: svg.url,
      png: png.url,
      audio: audio.url,
      video: video.url,
      videoSize: video.size,
      unicode: unicode.url,
      pdf: pdf.url,
      old: `${old.url}?versionId=${old.versionId}`,
      head: old.url,
      gone: `/coffer/buckets/${bucket.id}/objects/gone.txt`,
      marker: marker.url,
      secret: secret.url,
      record: recordFile.url,
      deletedRecord: deletedFile.url,
      deletedRecordBucket: deletedFile.version.url,
      closedRecord: closedFile.url,
      closedRecordBucket: closedFile.version.url,
    };
  }, silentWav());
}

/** Fetch `url` in the page; status, headers and text of the answer. */
const fetchIn = (page: Page, url: string, init: RequestInit = {}) =>
  page.evaluate(
    async ([url, init]) => {
      const response = await fetch(url, { cache: 'no-store', ...init });
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: await response.text(),
      };
    },
    [url, init] as const,
  );

beforeAll(async () => {
  await buildFixturePage(fixtureDir, outDir, ['page', 'sw']);
  ({ server, origin } = await serveFixturePage(outDir, 'coffer sw fixture'));
  browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
  await page.goto(origin);
  await page.evaluate(() => swFixture.registerServiceWorker());
  urls = await seed(page);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await rm(outDir, { recursive: true, force: true });
});

describe('service-worker file routes in Chromium', () => {
  it('serves a stored file with Invenio headers', async () => {
    const response = await fetchIn(page, urls.text);

    expect(response.status).toBe(200);
    expect(response.body).toBe('hello from coffer');
    expect(response.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'content-length': '17',
      'content-disposition': 'inline; filename=hello.txt',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; media-src 'self'; frame-ancestors 'self'",
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'sameorigin',
      'accept-ranges': 'bytes',
      etag: `"${urls.textChecksum}"`,
    });
    expect(Date.parse(response.headers['last-modified']!)).toBeGreaterThan(Date.now() - 3_600_000);
  });

  it('answers HEAD, ?download, 304, 206 and 416', async () => {
    const head = await fetchIn(page, urls.text, { method: 'HEAD' });
    const download = await fetchIn(page, `${urls.text}?download`);
    const notModified = await fetchIn(page, urls.text, {
      headers: { 'If-None-Match': `"${urls.textChecksum}"` },
    });
    const partial = await fetchIn(page, urls.text, { headers: { Range: 'bytes=6-9' } });
    const suffix = await fetchIn(page, urls.text, { headers: { Range: 'bytes=-6' } });
    const unsatisfiable = await fetchIn(page, urls.text, { headers: { Range: 'bytes=17-' } });

    expect([head.status, head.body, head.headers['content-length']]).toEqual([200, '', '17']);
    expect(download.headers['content-disposition']).toBe('attachment; filename=hello.txt');
    expect([notModified.status, notModified.body]).toEqual([304, '']);
    expect([partial.status, partial.body, partial.headers['content-range']]).toEqual([
      206,
      'from',
      'bytes 6-9/17',
    ]);
    expect([suffix.status, suffix.body]).toEqual([206, 'coffer']);
    expect([unsatisfiable.status, unsatisfiable.headers['content-range']]).toEqual([416, 'bytes */17']);
  });

  it('serves record files and versions, and answers 404 for what is missing, deleted or denied, at record and bucket URLs', async () => {
    const old = await fetchIn(page, urls.old);
    const recordFile = await fetchIn(page, urls.record);
    const head = await fetchIn(page, urls.head);
    const statuses = await Promise.all(
      [
        urls.gone,
        urls.marker,
        urls.secret,
        urls.deletedRecord,
        urls.deletedRecordBucket,
        urls.closedRecord,
        urls.closedRecordBucket,
        '/coffer/records/no-such-record/files/a.txt',
        `${urls.bucket}nope.txt`,
        `${urls.head}?versionId=00000000-0000-0000-0000-000000000000`,
        '/coffer/buckets/no-such-bucket/objects/a.txt',
      ].map(async (url) => [url, (await fetchIn(page, url)).status]),
    );

    expect([old.status, old.body, head.body]).toEqual([200, 'one', 'two']);
    expect([recordFile.status, recordFile.body]).toEqual([200, 'record bytes']);
    expect(urls.record).toMatch(/^\/coffer\/records\/[^/]+\/files\/scans\/%C3%A9tude\.txt$/);
    expect(statuses).toEqual(statuses.map(([url]) => [url, 404]));
  });

  it('serves PDF inline and a non-ASCII key with an RFC 6266 name', async () => {
    const pdf = await fetchIn(page, urls.pdf, { method: 'HEAD' });
    const unicode = await fetchIn(page, urls.unicode);

    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.headers['content-disposition']).toBe('inline; filename=paper.pdf');
    expect(unicode.body).toBe('ünïcödé');
    expect(unicode.headers['content-disposition']).toBe(
      'inline; filename="zoc resume.txt"; filename*=UTF-8\'\'%C5%BC%C3%B3%C5%82%C4%87%20r%C3%A9sum%C3%A9.txt',
    );
  });

  it('renders an image from its URL', async () => {
    const size = await page.evaluate(async (src) => {
      const img = document.createElement('img');
      img.src = src;
      document.body.append(img);
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    }, urls.png);

    expect(size).toEqual([7, 5]);
  });

  it('plays a video and seeks it through range requests', async () => {
    await fetchIn(page, '/__log');

    const played = await page.evaluate(async (src) => {
      const video = document.createElement('video');
      video.muted = true;
      video.preload = 'metadata';
      video.src = src;
      document.body.append(video);
      const once = (name: string) =>
        new Promise((resolve, reject) => {
          video.addEventListener(name, resolve, { once: true });
          video.addEventListener('error', () => reject(new Error(`video error ${video.error?.message}`)), {
            once: true,
          });
        });
      await once('loadedmetadata');
      const duration = video.duration;
      video.currentTime = 5.2;
      await once('seeked');
      const frame = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(true)));
      await video.play();
      await frame;
      video.pause();
      return { duration, currentTime: video.currentTime, width: video.videoWidth };
    }, urls.video);
    const log: { url: string; range: string | null }[] = JSON.parse((await fetchIn(page, '/__log')).body);
    const ranges = log.filter((entry) => entry.url.endsWith(urls.video)).map((entry) => entry.range);

    expect(played.duration).toBeCloseTo(6, 0);
    expect(played.currentTime).toBeGreaterThanOrEqual(5.2);
    expect(played.width).toBe(640);
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((range) => range?.startsWith('bytes='))).toBe(true);
    expect(ranges.some((range) => !range?.startsWith('bytes=0-'))).toBe(true);
  });

  it('downloads a file with a non-ASCII name', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.evaluate((href) => {
        const link = document.createElement('a');
        link.href = href;
        document.body.append(link);
        link.click();
      }, `${urls.unicode}?download`),
    ]);

    expect(download.suggestedFilename()).toBe('żółć résumé.txt');
    expect(await readFile((await download.path())!, 'utf8')).toBe('ünïcödé');
  });

  it('opens an image, a video, audio, a PDF and text in a tab of their own without a console error', async () => {
    const opened = [];
    for (const url of [urls.png, urls.video, urls.audio, urls.pdf, urls.text]) {
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      tab.on('pageerror', (error) => errors.push(error.message));
      const navigation = await tab.goto(origin + url);
      const shown = await tab.evaluate(async () => {
        const media = document.querySelector('video, audio');
        if (media instanceof HTMLMediaElement && media.readyState < HTMLMediaElement.HAVE_METADATA) {
          await new Promise((resolve) => {
            media.addEventListener('loadedmetadata', resolve, { once: true });
            media.addEventListener('error', resolve, { once: true });
            // A media load that the policy blocks fires neither event.
            setTimeout(resolve, 5000);
          });
        }
        const image = document.querySelector('img');
        if (image) await image.decode().catch(() => undefined);
        return {
          type: document.contentType,
          media:
            media instanceof HTMLMediaElement
              ? media.readyState >= HTMLMediaElement.HAVE_METADATA
              : undefined,
          image: image ? image.naturalWidth > 0 : undefined,
        };
      });
      // Chromium reports a blocked inline style or media load a moment after the document loads.
      await tab.waitForTimeout(300);
      opened.push({ url, status: navigation?.status(), ...shown, errors });
      await tab.close();
    }

    expect(opened).toEqual([
      { url: urls.png, status: 200, type: 'image/png', media: undefined, image: true, errors: [] },
      { url: urls.video, status: 200, type: 'video/webm', media: true, image: undefined, errors: [] },
      { url: urls.audio, status: 200, type: 'audio/wav', media: true, image: undefined, errors: [] },
      { url: urls.pdf, status: 200, type: 'application/pdf', media: undefined, image: undefined, errors: [] },
      { url: urls.text, status: 200, type: 'text/plain', media: undefined, image: undefined, errors: [] },
    ]);
  });

  it('serves HTML and SVG files as text/plain and never runs them', async () => {
    const framed = await page.evaluate(async (src) => {
      const frame = document.createElement('iframe');
      frame.src = src;
      const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
      document.body.append(frame);
      await loaded;
      return {
        type: frame.contentDocument?.contentType,
        text: frame.contentDocument?.body.textContent,
        executed: (window as { executed?: boolean }).executed ?? false,
      };
    }, urls.html);
    const inTabs = [];
    for (const url of [urls.html, urls.svg]) {
      const tab = await context.newPage();
      const navigation = await tab.goto(origin + url);
      inTabs.push({
        served: navigation?.headers()['content-type'],
        ...(await tab.evaluate(() => ({
          type: document.contentType,
          executed: (window as { executed?: boolean }).executed ?? false,
        }))),
      });
      await tab.close();
    }

    expect(framed).toEqual({
      type: 'text/plain',
      text: '<h1>hi</h1><script>parent.executed = true; window.executed = true;</script>',
      executed: false,
    });
    expect(inTabs).toEqual([
      { served: 'text/plain; charset=utf-8', type: 'text/plain', executed: false },
      { served: 'text/plain; charset=utf-8', type: 'text/plain', executed: false },
    ]);
  });

  it('reopens its coffer after the page deletes the database under it', async () => {
    const before = await fetchIn(page, urls.text);

    await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const request = indexedDB.deleteDatabase('sw-fixture');
          request.onsuccess = resolve;
          request.onerror = () => reject(request.error);
        }),
    );
    const afterDelete = await fetchIn(page, urls.text);
    const stored = await page.evaluate(async () => {
      const coffer = await swFixture.openCoffer();
      const version = await (await coffer.buckets.create()).objects.put(
        'again.txt',
        new Blob(['stored again']),
      );
      coffer.close();
      return version.url;
    });
    const afterStore = await fetchIn(page, stored);

    expect(before.status).toBe(200);
    expect(afterDelete.status).toBe(404);
    expect([afterStore.status, afterStore.body]).toEqual([200, 'stored again']);
    urls = { ...urls, text: stored };
  });

  it('still answers, fetched and navigated to, after the server stops', async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;

    const fetched = await fetchIn(page, urls.text);
    const tab = await context.newPage();
    const navigation = await tab.goto(origin + urls.text);
    const shown = await tab.evaluate(() => document.body.textContent);
    const offPrefix = await page.evaluate(async () => {
      try {
        return (await fetch('/page.js', { cache: 'no-store' })).status;
      } catch {
        return 'network error';
      }
    });

    expect([fetched.status, fetched.body]).toEqual([200, 'stored again']);
    expect(navigation?.status()).toBe(200);
    expect(navigation?.fromServiceWorker()).toBe(true);
    expect(shown).toBe('stored again');
    expect(offPrefix).toBe('network error');
  });
});
