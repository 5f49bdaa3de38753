/** Memory figures shared by the benchmark page's cases. */

/** Bytes of JS heap per scope (`Window`, `DedicatedWorkerGlobalScope`), measured after a GC. */
export async function heapByScope(): Promise<Record<string, number>> {
  const measure = (
    performance as unknown as {
      measureUserAgentSpecificMemory?: () => Promise<{
        breakdown: { bytes: number; attribution: { scope: string }[] }[];
      }>;
    }
  ).measureUserAgentSpecificMemory;
  if (!measure || !crossOriginIsolated) return {};
  const result = await measure.call(performance);
  const byScope: Record<string, number> = {};
  for (const entry of result.breakdown) {
    for (const a of entry.attribution)
      byScope[a.scope] = (byScope[a.scope] ?? 0) + entry.bytes / entry.attribution.length;
  }
  return byScope;
}
