import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { chromiumLaunchOptions } from './test/helpers/chromium.js';
import { s3Commands } from './test/helpers/s3-commands.js';

// The browser tests' Chromium profile lives on disk, as a person's does: an off-the-record
// context keeps every Blob and database in memory under one 2 GiB limit, and a 2 GiB file (the
// large-file sync test) could not be read there. A fresh folder a run, removed when it ends
// (test/helpers/browser-profile-setup.ts).
const browserProfile = join(tmpdir(), `coffer-chromium-${process.pid}`);
process.env.COFFER_BROWSER_PROFILE = browserProfile;

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the `source` export condition).
  resolve: { conditions: ['@coffer/source', 'module', 'browser', 'development|production'] },
  ssr: { resolve: { conditions: ['@coffer/source', 'module', 'node', 'development|production'] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.browser.test.ts', 'test/e2e/**'],
          setupFiles: ['test/helpers/node-setup.ts'],
          // A real Ceph S3 gateway for the tests under test/sync/ (see the file).
          globalSetup: ['test/helpers/s3-global-setup.ts'],
        },
      },
      {
        // Playwright drives Debian's Chromium against a built app or page served on 127.0.0.1.
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          // The gateway for test/e2e/sync.test.ts (started only when that file runs).
          globalSetup: ['test/helpers/s3-global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/**/*.browser.test.ts'],
          testTimeout: 60_000,
          // One file at a time: test files run in same-origin iframes of one page, which share one
          // JS heap, so a heap bound read while another file runs counts that file's garbage too
          // (an export heap test read 64.8 MiB in a full run, over its 64 MiB bound, and passed alone).
          fileParallelism: false,
          globalSetup: ['test/helpers/s3-global-setup.ts', 'test/helpers/browser-profile-setup.ts'],
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: chromiumLaunchOptions,
              persistentContext: browserProfile,
            }),
            instances: [{ browser: 'chromium' }],
            // Bucket administration in Node for the S3 tests (test/helpers/s3.ts).
            commands: s3Commands,
          },
        },
      },
    ],
  },
});
