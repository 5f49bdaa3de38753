const LIST_KEY = 'coffer-new-records';
const lockName = (id: string): string => `coffer-new-record:${id}`;
/** How long a record let go waits before it is discarded: time for a reloading tab to take it back. */
const GRACE_MS = 3000;

const listed = (): string[] => {
  try {
    const list: unknown = JSON.parse(localStorage.getItem(LIST_KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
};

const setListed = (ids: string[]): void => {
  try {
    if (ids.length === 0) localStorage.removeItem(LIST_KEY);
    else localStorage.setItem(LIST_KEY, JSON.stringify(ids));
  } catch {
    // No local storage (privacy settings): only the tab that made a record can discard it.
  }
};

/**
 * The records the app created that their tab still shows, across the tabs of one origin: the
 * tab showing one holds a Web Lock for it. When that tab leaves the record, is closed or
 * crashes, the lock is freed, and the first tab of the app to notice (or the next one opened)
 * hands the record to `discard`, which removes it if nobody touched it.
 *
 * @example
 * ```ts
 * const fresh = new NewRecords((id) => discardIfUntouched(id));
 * fresh.start();
 * await fresh.hold(record.id); // on "+ New record"
 * fresh.leave(record.id); // when this tab leaves it (then discard it here)
 * ```
 */
export class NewRecords {
  private readonly held = new Map<string, () => void>();
  private readonly watched = new Set<string>();

  constructor(private readonly discard: (id: string) => Promise<void>) {}

  /** Watch the records other tabs hold, and discard those left behind by closed tabs. */
  start(): void {
    if (!navigator.locks) return;
    window.addEventListener('storage', this.onStorage);
    for (const id of listed()) this.watch(id);
  }

  /** Stop watching (the locks this tab holds go with the page). */
  stop(): void {
    window.removeEventListener('storage', this.onStorage);
  }

  /** Hold `id` for this tab: no tab discards it while this one shows it. */
  async hold(id: string): Promise<void> {
    if (!navigator.locks || this.held.has(id)) return;
    await new Promise<void>((acquired) => {
      void navigator.locks.request(lockName(id), () => {
        const kept = new Promise<void>((release) => this.held.set(id, release));
        acquired();
        return kept;
      });
    });
    if (!listed().includes(id)) setListed([...listed(), id]);
  }

  /** This tab has left `id`: let it go and forget it (the caller decides whether to discard it). */
  leave(id: string): void {
    this.held.get(id)?.();
    this.held.delete(id);
    setListed(listed().filter((other) => other !== id));
  }

  private onStorage = (event: StorageEvent): void => {
    if (event.key === LIST_KEY) for (const id of listed()) this.watch(id);
  };

  /** Wait until the tab holding `id` lets go of it; then, after a grace, discard it if still listed. */
  private watch(id: string): void {
    if (this.held.has(id) || this.watched.has(id)) return;
    this.watched.add(id);
    void navigator.locks
      .request(lockName(id), () => undefined)
      .then(() => new Promise((resolve) => setTimeout(resolve, GRACE_MS)))
      .then(() =>
        navigator.locks.request(lockName(id), { ifAvailable: true }, async (lock) => {
          if (lock === null || !listed().includes(id)) return;
          setListed(listed().filter((other) => other !== id));
          await this.discard(id);
        }),
      )
      .finally(() => {
        this.watched.delete(id);
        // Taken back by a reloaded tab: wait for it again.
        if (listed().includes(id)) this.watch(id);
      });
  }
}
