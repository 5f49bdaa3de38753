/**
 * Vitest browser commands (they run in Node, called from a page): bucket administration for
 * the browser project. A page cannot create a bucket itself: the CORS preflight of a bucket that
 * does not exist yet fails.
 */
import type { BrowserCommand } from 'vitest/node';
import {
  createTestBucket,
  deleteTestBucket,
  type ListedVersion,
  listTestVersions,
  type TestBucketOptions,
} from './s3-admin.js';
import type { S3GatewayInfo } from './s3-global-setup.js';

declare module 'vitest/browser' {
  interface BrowserCommands {
    s3CreateBucket: (info: S3GatewayInfo, name: string, options?: TestBucketOptions) => Promise<void>;
    s3DeleteBucket: (info: S3GatewayInfo, name: string) => Promise<void>;
    s3ListVersions: (info: S3GatewayInfo, name: string, prefix?: string) => Promise<ListedVersion[]>;
  }
}

const s3CreateBucket: BrowserCommand<[S3GatewayInfo, string, TestBucketOptions?]> = (
  _context,
  info,
  name,
  options,
) => createTestBucket(info, name, options);
const s3DeleteBucket: BrowserCommand<[S3GatewayInfo, string]> = (_context, info, name) =>
  deleteTestBucket(info, name);
const s3ListVersions: BrowserCommand<[S3GatewayInfo, string, string?]> = (_context, info, name, prefix) =>
  listTestVersions(info, name, prefix);

/** The commands, for `test.browser.commands` in vite.config.ts. */
export const s3Commands = { s3CreateBucket, s3DeleteBucket, s3ListVersions };
