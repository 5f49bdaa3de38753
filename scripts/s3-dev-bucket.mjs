#!/usr/bin/env node
/**
 * For `npm run s3:dev`: make the bucket a person syncs to on the local gateway — versioning on
 * and the sync CORS rule (`S3_CORS_RULE` of `@coffer/core/sync`) — unless it exists already.
 * Reads COFFER_S3_ENDPOINT, COFFER_S3_ACCESS_KEY, COFFER_S3_SECRET_KEY, COFFER_S3_REGION and
 * COFFER_S3_DEV_BUCKET (default `coffer`), as `scripts/s3-gateway.sh start` prints them.
 */
import { createHash } from 'node:crypto';
import { AwsV4Signer } from 'aws4fetch';
import { corsXml } from './s3-cors.mjs';

const env = process.env;
const endpoint = (env.COFFER_S3_ENDPOINT ?? 'http://127.0.0.1:7480').replace(/\/+$/, '');
const bucket = env.COFFER_S3_DEV_BUCKET || 'coffer';

const cors = corsXml();

async function request(query, body) {
  const url = `${endpoint}/${bucket}${query ? `?${query}` : ''}`;
  const headers = body ? { 'content-md5': createHash('md5').update(body).digest('base64') } : {};
  const signed = await new AwsV4Signer({
    method: 'PUT',
    url,
    headers,
    accessKeyId: env.COFFER_S3_ACCESS_KEY,
    secretAccessKey: env.COFFER_S3_SECRET_KEY,
    service: 's3',
    region: env.COFFER_S3_REGION || 'us-east-1',
  }).sign();
  const response = await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: body ?? null });
  const text = await response.text();
  if (!response.ok && !text.includes('BucketAlreadyOwnedByYou')) {
    throw new Error(`PUT /${bucket}?${query}: HTTP ${response.status} ${text}`);
  }
}

await request('');
await request('versioning', '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>');
await request('cors', cors);
console.error(`s3-gateway: bucket "${bucket}" ready (versioning on, sync CORS rule set)`);
console.log(`export COFFER_S3_DEV_BUCKET=${bucket}`);
