/**
 * CPU time of the processes a sync benchmark keeps busy, read from /proc (Linux): the Ceph
 * daemons, Chromium's processes by role, and this Node process. On a 2-core machine the
 * gateway shares the cores with the browser, so a ratio to a plain request is also a ratio of
 * CPU: `cpuSnapshot()` before and after a timed step, `cpuDelta()` gives seconds per role.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** The role of one process, from its command line; `undefined` for processes not counted. */
function roleOf(cmdline) {
  // Chromium rewrites its children's title: their arguments are then separated by spaces.
  const [exe = '', ...args] = cmdline.split(/[\0 ]+/);
  const name = exe.split('/').pop();
  if (['radosgw', 'ceph-osd', 'ceph-mon'].includes(name)) return name;
  if (!/^(chromium|chrome|headless_shell)/.test(name)) return undefined;
  const type = args.find((a) => a.startsWith('--type='))?.slice(7);
  if (!type) return 'chromium:browser';
  const sub = args.find((a) => a.startsWith('--utility-sub-type='))?.slice(19);
  if (sub?.includes('network')) return 'chromium:network';
  if (sub?.includes('storage')) return 'chromium:storage';
  return `chromium:${type}`;
}

/**
 * Seconds of CPU (user + system) used so far, summed per role, and this process's as `node`.
 * Only this run's processes count: Chromium's among this process's descendants, Ceph's whose
 * command line names `cephDir` (the gateway's folder; any Ceph process when not given).
 */
export function cpuSnapshot(cephDir) {
  const procs = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      // Fields after the parenthesised name: ppid is field 4, utime and stime 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.push({
        pid: Number(pid),
        ppid: Number(fields[1]),
        cmdline,
        seconds: (Number(fields[11]) + Number(fields[12])) / TICKS,
      });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const ours = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs)
      if (!ours.has(p.pid) && ours.has(p.ppid)) {
        ours.add(p.pid);
        grew = true;
      }
  }
  const seconds = {};
  for (const p of procs) {
    const role = roleOf(p.cmdline);
    if (!role) continue;
    if (role.startsWith('chromium') ? !ours.has(p.pid) : cephDir && !p.cmdline.includes(cephDir)) continue;
    seconds[role] = (seconds[role] ?? 0) + p.seconds;
  }
  const own = process.cpuUsage();
  seconds.node = (own.user + own.system) / 1e6;
  return { at: performance.now(), seconds };
}

/**
 * CPU used between two snapshots, per role, as seconds and as cores (seconds per wall second).
 * A process that ended in between is missing from `after` and counted as 0.
 */
export function cpuDelta(before, after) {
  const wall = (after.at - before.at) / 1000;
  const roles = {};
  let total = 0;
  for (const [role, value] of Object.entries(after.seconds)) {
    const used = Math.max(0, value - (before.seconds[role] ?? 0));
    if (used < 0.005) continue;
    roles[role] = used;
    total += used;
  }
  return { wall, total, cores: total / wall, roles };
}

/** `radosgw 0.91, chromium:renderer 0.62, …` cores, largest first, for a log line. */
export function formatCores(delta) {
  return Object.entries(delta.roles)
    .sort((a, b) => b[1] - a[1])
    .map(([role, s]) => `${role} ${(s / delta.wall).toFixed(2)}`)
    .join(', ');
}
