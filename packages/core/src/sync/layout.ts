/**
 * Where things are in the bucket (docs/sync-protocol.md, "Bucket layout"). Keys are relative to
 * the remote's own prefix, which the `Remote` adds.
 *
 * @module
 */

/** The folder of every device's journal. */
export const JOURNAL_PREFIX = 'journal/';

/** Journal keys are `<seq:012d>.json`. */
const ENTRY_NAME = /^(\d{12})\.json$/;

/** The key of a file version's bytes: `records/<recordId>/files/<encodeURIComponent(key)>`. */
export const fileKey = (recordId: string, key: string): string =>
  `records/${encodeURIComponent(recordId)}/files/${encodeURIComponent(key)}`;

/** The folder of one device's journal. */
export const journalPrefix = (device: string): string => `${JOURNAL_PREFIX}${device}/`;

/** The key of one journal entry. */
export const journalKey = (device: string, seq: number): string =>
  `${journalPrefix(device)}${String(seq).padStart(12, '0')}.json`;

/** The seq of a journal key under `prefix`, or `undefined` for a key that is not an entry. */
export function entrySeq(prefix: string, key: string): number | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const match = ENTRY_NAME.exec(key.slice(prefix.length));
  return match ? Number(match[1]) : undefined;
}

/** The device of a `journal/<device>/` folder, or `undefined` for anything else. */
export function deviceOf(prefix: string): string | undefined {
  if (!prefix.startsWith(JOURNAL_PREFIX) || !prefix.endsWith('/')) return undefined;
  const device = prefix.slice(JOURNAL_PREFIX.length, -1);
  return device && !device.includes('/') ? device : undefined;
}
