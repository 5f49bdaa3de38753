import { test as base } from 'vitest';
import { type Coffer, type CofferOptions, openCoffer } from '@coffer/core';

/** A coffer on a fresh database, closed and deleted after the test. */
export async function freshCoffer(options: Partial<CofferOptions> = {}): Promise<Coffer> {
  return openCoffer({ name: `test-${crypto.randomUUID()}`, ...options });
}

/** Close a coffer and delete its database. */
export async function dispose(coffer: Coffer): Promise<void> {
  coffer.close();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(coffer.name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/**
 * `it` with a `coffer` on a fresh database for each test. Chunks are 4 bytes, so that small
 * files cross chunk boundaries.
 */
export const it = base.extend<{ coffer: Coffer }>({
  // biome-ignore lint/correctness/noEmptyPattern: Vitest reads fixture dependencies from this pattern.
  coffer: async ({}, use) => {
    const coffer = await freshCoffer({ chunkSize: 4, inlineBelow: 0 });
    await use(coffer);
    await dispose(coffer);
  },
});

/** The bytes of a string, as a Blob. */
export const blob = (text: string, type = ''): Blob => new Blob([text], { type });

/** The text of a Blob. */
export const text = (b: Blob): Promise<string> => b.text();
