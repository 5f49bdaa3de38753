/**
 * CPU profiles of every thread of a page (its main thread, its workers), from a Chromium trace
 * with V8's sampling profiler on (`browser.startTracing` with {@link PROFILE_CATEGORIES}): the
 * functions with the most samples of their own, per thread.
 */

/** The trace categories that record V8's CPU samples of every thread. */
export const PROFILE_CATEGORIES = ['disabled-by-default-v8.cpu_profiler', 'v8', 'devtools.timeline'];

/**
 * The threads that ran JavaScript in `trace` (the JSON of `browser.stopTracing()`), busiest
 * first: each with its sample count, the share of its samples that were idle, and the `top`
 * functions by samples of their own (`name file:line`, share of the thread's samples).
 */
export function profileThreads(trace, top = 15) {
  const events = JSON.parse(trace.toString()).traceEvents ?? [];
  const threadNames = new Map();
  for (const e of events) {
    if (e.name === 'thread_name') threadNames.set(`${e.pid}:${e.tid}`, e.args?.name);
  }
  /** Per profile id: its thread, nodes by id, and the sample counts by node id. */
  const profiles = new Map();
  for (const e of events) {
    if (e.name !== 'Profile' && e.name !== 'ProfileChunk') continue;
    const key = `${e.pid}:${e.id}`;
    const profile = profiles.get(key) ?? { thread: `${e.pid}:${e.tid}`, nodes: new Map(), counts: new Map() };
    if (e.name === 'Profile') profile.thread = `${e.pid}:${e.tid}`;
    profiles.set(key, profile);
    const data = e.args?.data?.cpuProfile;
    for (const node of data?.nodes ?? []) profile.nodes.set(node.id, node.callFrame);
    for (const sample of data?.samples ?? [])
      profile.counts.set(sample, (profile.counts.get(sample) ?? 0) + 1);
  }
  const threads = new Map();
  for (const profile of profiles.values()) {
    const thread = threads.get(profile.thread) ?? { samples: 0, idle: 0, functions: new Map() };
    threads.set(profile.thread, thread);
    for (const [id, count] of profile.counts) {
      const frame = profile.nodes.get(id) ?? {};
      const name = frame.functionName || '(anonymous)';
      thread.samples += count;
      if (name === '(idle)' || name === '(program)') thread.idle += name === '(idle)' ? count : 0;
      const file = (frame.url ?? '').split('/').pop();
      const where = file ? `${name} ${file}:${(frame.lineNumber ?? 0) + 1}` : name;
      thread.functions.set(where, (thread.functions.get(where) ?? 0) + count);
    }
  }
  return [...threads.entries()]
    .map(([key, t]) => ({
      thread: threadNames.get(key) ?? key,
      samples: t.samples,
      idleShare: t.idle / t.samples,
      top: [...t.functions.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([where, count]) => ({ where, share: count / t.samples })),
    }))
    .filter((t) => t.samples > 0)
    .sort((a, b) => b.samples - a.samples);
}
