/**
 * Bucket administration for tests, in Node (the browser project reaches it through the
 * `s3CreateBucket` / `s3DeleteBucket` commands of s3-commands.ts): create a bucket with
 * versioning and the CORS rule, list its versions, purge and delete it. Signed with aws4fetch
 * against the real gateway; nothing here is part of the library.
 */
import { createHash } from 'node:crypto';
import { AwsV4Signer } from 'aws4fetch';
import { parseXml, type XmlElement, xmlChildren, xmlText } from '../../packages/core/src/sync/xml.js';
import { corsXml } from '../../scripts/s3-cors.mjs';
import type { S3GatewayInfo } from './s3-global-setup.js';

/** How a test bucket is made. */
export interface TestBucketOptions {
  /** Enable versioning (default true). */
  versioning?: boolean;
  /** Set the sync CORS rule (default true). */
  cors?: boolean;
  /** The rule's ExposeHeaders (default ETag, x-amz-version-id, x-amz-delete-marker, x-amz-meta-md5). */
  corsExposeHeaders?: string[];
}

/** One version or delete marker of a key, as ListObjectVersions reports it. */
export interface ListedVersion {
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag: string | undefined;
}

/** One signed request to the gateway; throws with the server's answer unless 2xx. */
export async function s3AdminRequest(
  info: S3GatewayInfo,
  method: string,
  path: string,
  init: { query?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const url = `${info.endpoint.replace(/\/+$/, '')}${path}${init.query ? `?${init.query}` : ''}`;
  const headers = { ...init.headers };
  if (init.body !== undefined) headers['content-md5'] = createHash('md5').update(init.body).digest('base64');
  const signed = await new AwsV4Signer({
    method,
    url,
    headers,
    accessKeyId: info.accessKeyId,
    secretAccessKey: info.secretAccessKey,
    service: 's3',
    region: info.region,
  }).sign();
  const response = await fetch(signed.url, { method, headers: signed.headers, body: init.body ?? null });
  if (!response.ok) {
    throw new Error(
      `${method} ${path}?${init.query ?? ''}: HTTP ${response.status} ${await response.text()}`,
    );
  }
  return response;
}

/** Creates bucket `name` with versioning and the CORS rule (each unless switched off). */
export async function createTestBucket(
  info: S3GatewayInfo,
  name: string,
  options: TestBucketOptions = {},
): Promise<void> {
  await s3AdminRequest(info, 'PUT', `/${name}`);
  if (options.versioning ?? true) {
    await s3AdminRequest(info, 'PUT', `/${name}`, {
      query: 'versioning',
      body: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
    });
  }
  if (options.cors ?? true)
    await s3AdminRequest(info, 'PUT', `/${name}`, {
      query: 'cors',
      body: corsXml(options.corsExposeHeaders),
    });
}

/** Every version and delete marker in the bucket (optionally under a key prefix), newest first per key. */
export async function listTestVersions(
  info: S3GatewayInfo,
  name: string,
  prefix = '',
): Promise<ListedVersion[]> {
  const out: ListedVersion[] = [];
  let markers = '';
  for (;;) {
    const query = `prefix=${encodeURIComponent(prefix)}&versions${markers}`;
    const root = parseXml(await (await s3AdminRequest(info, 'GET', `/${name}`, { query })).text());
    const read = (entry: XmlElement, deleteMarker: boolean): ListedVersion => ({
      key: xmlText(entry, 'Key')!,
      versionId: xmlText(entry, 'VersionId')!,
      isLatest: xmlText(entry, 'IsLatest') === 'true',
      deleteMarker,
      size: Number(xmlText(entry, 'Size') ?? 0),
      etag: xmlText(entry, 'ETag'),
    });
    // Versions and markers interleave in server order; keep that order.
    for (const entry of root.children) {
      if (entry.name === 'Version') out.push(read(entry, false));
      else if (entry.name === 'DeleteMarker') out.push(read(entry, true));
    }
    if (xmlText(root, 'IsTruncated') !== 'true') return out;
    markers = `&key-marker=${encodeURIComponent(xmlText(root, 'NextKeyMarker') ?? '')}&version-id-marker=${encodeURIComponent(xmlText(root, 'NextVersionIdMarker') ?? '')}`;
  }
}

/** Removes every version, marker and unfinished upload of the bucket, then the bucket. */
export async function deleteTestBucket(info: S3GatewayInfo, name: string): Promise<void> {
  const uploads = parseXml(
    await (await s3AdminRequest(info, 'GET', `/${name}`, { query: 'uploads' })).text(),
  );
  for (const upload of xmlChildren(uploads, 'Upload')) {
    const key = xmlText(upload, 'Key')!;
    await s3AdminRequest(info, 'DELETE', `/${name}/${encodeKey(key)}`, {
      query: `uploadId=${encodeURIComponent(xmlText(upload, 'UploadId')!)}`,
    });
  }
  for (const version of await listTestVersions(info, name)) {
    await s3AdminRequest(info, 'DELETE', `/${name}/${encodeKey(version.key)}`, {
      query: `versionId=${encodeURIComponent(version.versionId)}`,
    });
  }
  await s3AdminRequest(info, 'DELETE', `/${name}`);
}

function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) =>
      encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');
}
