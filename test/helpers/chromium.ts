import { type Browser, chromium, type LaunchOptions } from 'playwright-core';

/** Debian's Chromium (or `CHROME_PATH`), headless, quiet, without a sandbox. */
export const chromiumLaunchOptions = {
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    // Heap bounds in the browser tests read the live heap after a collection (large-blobs.ts).
    '--js-flags=--expose-gc',
  ],
} satisfies LaunchOptions;

/** Launch Chromium with {@link chromiumLaunchOptions}, plus `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ ...chromiumLaunchOptions, args: [...chromiumLaunchOptions.args, ...extraArgs] });
}
