// Issue 13: sync "resumes by itself when the network returns". Chromium loses the network to the
// gateway through DevTools (CDP): its own network state goes offline (`navigator.onLine` false,
// the browser fires `offline`, and `online` when it comes back) and every request to the gateway
// fails as a fetch without network does (TypeError "Failed to fetch"). Only the gateway is cut:
// DevTools' full "Offline" also cuts the test runner's own connection to Vitest.
import { describe, expect, it, onTestFinished } from 'vitest';
import { cdp } from 'vitest/browser';
import { openSync } from '../../packages/core/src/sync/engine.js';
import { S3Remote } from '../../packages/core/src/sync/s3-remote.js';
import { cofferOpener } from '../helpers/coffer.js';
import { freshS3Bucket, s3Gateway, s3Versions } from '../helpers/s3.js';

const open = cofferOpener('online');

/** Take the network to the gateway away from the page, or give it back. */
async function setNetwork(online: boolean): Promise<void> {
  const session = cdp();
  await session.send('Network.enable');
  const gateway = new URL(s3Gateway().endpoint).origin;
  await session.send('Network.setBlockedURLs', { urls: online ? [] : [`${gateway}/*`] });
  await session.send('Network.overrideNetworkState', {
    offline: !online,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
}

/** Resolves when `check` holds, polled every 20 ms; rejects after `ms`. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with the time of the next `type` event of the page. */
const nextEvent = (type: 'online' | 'offline') =>
  new Promise<number>((resolve) => addEventListener(type, () => resolve(performance.now()), { once: true }));

describe('Sync when the network goes and comes back (Chromium)', () => {
  // attempts 1: the sync fails and the background loop waits for its next try; attempts 6: the
  // request itself waits to be retried. Either wait is 30-60 s (half to all of initialDelay) and
  // the next scheduled sync is 10 minutes away: only the online event can make it sync sooner.
  it.each([
    { attempts: 1, waiting: 'between two syncs' },
    { attempts: 6, waiting: "in a request's retry wait" },
  ])(
    'shows offline while the network is gone, and syncs at once on the online event $waiting',
    async ({ attempts }) => {
      const bucket = await freshS3Bucket({ label: 'online' });
      const coffer = await open({ worker: false });
      const sync = openSync(coffer, {
        remote: new S3Remote(bucket),
        retry: { attempts, initialDelay: 60_000, maxDelay: 60_000 },
      });
      onTestFinished(async () => {
        await setNetwork(true);
        await sync.close();
      });

      const wentOffline = nextEvent('offline');
      await setNetwork(false);
      await wentOffline;
      expect(navigator.onLine).toBe(false);

      const record = await coffer.records.create({ title: 'Written offline' });
      await record.files!.set('notes.txt', new Blob(['field notes']));
      sync.start({ interval: 600_000 });
      await until(async () => (await sync.status()).phase === 'offline', 10_000, 'the offline status');
      expect(await sync.status()).toMatchObject({
        phase: 'offline',
        lastErrorCode: 'REMOTE_UNREACHABLE',
        lastSuccess: undefined,
      });
      expect(await sync.recordStatus(record.id)).toBe('pending');

      const cameBack = nextEvent('online');
      await setNetwork(true);
      const online = await cameBack;
      await until(async () => (await sync.status()).lastSuccess !== undefined, 20_000, 'a successful sync');
      // 176 ms here; without the engine's `online` listener nothing happens for 30 s or more.
      expect(performance.now() - online).toBeLessThan(10_000);
      expect(await sync.status()).toMatchObject({ phase: 'idle', lastErrorCode: undefined, filesToGo: 0 });
      expect(await sync.recordStatus(record.id)).toBe('synced');

      const keys = (await s3Versions(bucket.bucket)).map((version) => version.key);
      expect(keys).toContain(`records/${encodeURIComponent(record.id)}/files/notes.txt`);
      expect(keys.some((key) => key.startsWith('journal/'))).toBe(true);

      // Another device gets the record and its file from the bucket.
      const other = await open({ worker: false });
      const otherSync = openSync(other, { remote: new S3Remote(bucket) });
      onTestFinished(() => otherSync.close());
      await otherSync.now();
      const pulled = await other.records.get(record.id);
      expect(pulled.data.title).toBe('Written offline');
      expect(await (await (await pulled.files!.get('notes.txt'))!.blob()).text()).toBe('field notes');
    },
  );
});
