import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { chromiumLaunchOptions, launchChromium } from '../helpers/chromium.js';
import { buildFixturePage, serveFixturePage } from '../helpers/fixture-page.js';

const fixtureDir = fileURLToPath(new URL('./fixtures/core-page/', import.meta.url));

/** A built page that exposes `@coffer/core` as `window.fixture.core`, served on 127.0.0.1. */
export interface Harness {
  origin: string;
  browser: Browser;
  /**
   * A context on a profile on disk, so that quota and usage are those of real files.
   * `Storage.overrideQuotaForOrigin` works here and in `browser.newContext()` alike, as long as
   * it is sent before the origin's first IndexedDB write (see the full-disk test).
   */
  persistentContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const outDir = join(tmpdir(), `coffer-reliability-${process.pid}-${Date.now()}`);
  await buildFixturePage(fixtureDir, outDir, ['page']);
  const { server, origin } = await serveFixturePage(outDir, 'loading');
  const browser = await launchChromium();
  const profiles: string[] = [];
  const persistent: BrowserContext[] = [];
  return {
    origin,
    browser,
    async persistentContext() {
      const profile = await mkdtemp(join(tmpdir(), 'coffer-profile-'));
      profiles.push(profile);
      const context = await chromium.launchPersistentContext(profile, chromiumLaunchOptions);
      persistent.push(context);
      return context;
    },
    async close() {
      for (const context of persistent) await context.close().catch(() => undefined);
      for (const profile of profiles) await rm(profile, { recursive: true, force: true });
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(outDir, { recursive: true, force: true });
    },
  };
}
