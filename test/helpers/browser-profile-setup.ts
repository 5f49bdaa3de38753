/**
 * Vitest globalSetup of the browser project: when the run ends, stops the Chromium that used the
 * run's on-disk profile (`COFFER_BROWSER_PROFILE`, made by vite.config.ts) and removes the
 * profile, so that large test files leave no gigabytes and no process behind.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';

/** Processes whose command line names `profile` as their user data folder (Linux's /proc). */
function processesUsing(profile: string): number[] {
  const flag = `--user-data-dir=${profile}`;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  return pids.map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(flag);
    } catch {
      return false;
    }
  });
}

export default function setup(): void {
  const profile = process.env.COFFER_BROWSER_PROFILE;
  if (!profile) return;
  // Vitest's provider closes a persistent context's Chromium after the teardowns and may not
  // wait for it (seen: Chromium still running 10 s after the run ended): stop it at exit.
  process.once('exit', () => {
    for (const pid of processesUsing(profile)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    rmSync(profile, { recursive: true, force: true });
  });
}
