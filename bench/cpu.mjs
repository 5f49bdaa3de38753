/**
 * CPU time of the processes a sync benchmark keeps busy, read from /proc (Linux): the Ceph
 * daemons, Chromium's processes by role, and this Node process. On a 2-core machine the
 * gateway shares the cores with the browser, so a ratio to a plain request is also a ratio of
 * CPU: `cpuRecorder()` samples them while a case runs and gives the seconds per role over the
 * case's timed window; `cpuSnapshot()` and `cpuDelta()` do the same around any step.
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

/** This run's processes (Chromium's among this process's descendants, Ceph's naming `cephDir`), by pid. */
function ourProcesses(cephDir) {
  const procs = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      procs.push({ pid: Number(pid), ppid: Number(fieldsOf(stat)[1]), role: roleOf(cmdline), cmdline });
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
  return procs.filter(
    (p) =>
      p.role && (p.role.startsWith('chromium') ? ours.has(p.pid) : !cephDir || p.cmdline.includes(cephDir)),
  );
}

/** The fields of /proc/<pid>/stat after the parenthesised name: ppid is [1], utime [11], stime [12]. */
const fieldsOf = (stat) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');

/** Seconds of CPU used so far by each of `procs`, summed per role, and this process's as `node`. */
function sample(procs) {
  const seconds = {};
  for (const p of procs) {
    try {
      const fields = fieldsOf(readFileSync(`/proc/${p.pid}/stat`, 'latin1'));
      seconds[p.role] = (seconds[p.role] ?? 0) + (Number(fields[11]) + Number(fields[12])) / TICKS;
    } catch {
      // Ended: its time is lost with it.
    }
  }
  const own = process.cpuUsage();
  seconds.node = (own.user + own.system) / 1e6;
  return { at: performance.timeOrigin + performance.now(), seconds };
}

/** Seconds of CPU used so far per role by this run's processes (see {@link ourProcesses}). */
export function cpuSnapshot(cephDir) {
  return sample(ourProcesses(cephDir));
}

/**
 * Samples this run's processes every `everyMs` until `stop()`, which returns a function giving
 * the CPU used over a window `{ start, end }` of epoch milliseconds (the samples around it; the
 * whole recording without one). Reads only the processes found at the start: cheap enough to
 * run beside what it measures.
 */
export function cpuRecorder(cephDir, everyMs = 20) {
  const procs = ourProcesses(cephDir);
  const samples = [sample(procs)];
  const timer = setInterval(() => samples.push(sample(procs)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      samples.push(sample(procs));
      return (window) => {
        if (!window) return cpuDelta(samples[0], samples[samples.length - 1]);
        const before = samples.findLast((s) => s.at <= window.start) ?? samples[0];
        const after = samples.find((s) => s.at >= window.end) ?? samples[samples.length - 1];
        return cpuDelta(before, after);
      };
    },
  };
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
