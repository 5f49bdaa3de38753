/** The descriptive fields the record editor knows; any other field is kept as it is. */
export interface RecordFields {
  title: string;
  description: string;
  creators: { name: string }[];
  keywords: string[];
  dates: { date: string; type: string }[];
}

/** Fields Coffer keeps itself: never edited by hand. */
export const MANAGED_FIELDS = ['_bucket', '_files'] as const;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * Read the known fields from a record's data, tolerating any shape.
 *
 * @example
 * ```ts
 * const fields = readFields(record.data); // { title, description, creators, keywords, dates }
 * ```
 */
export function readFields(data: Record<string, unknown>): RecordFields {
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  return {
    title: text(data.title),
    description: text(data.description),
    creators: list(data.creators)
      .map((c) => ({ name: typeof c === 'string' ? c : text((c as { name?: unknown })?.name) }))
      .filter((c) => c.name),
    keywords: list(data.keywords).filter((k): k is string => typeof k === 'string'),
    dates: list(data.dates)
      .map((d) => ({
        date: text((d as { date?: unknown })?.date),
        type: text((d as { type?: unknown })?.type),
      }))
      .filter((d) => d.date),
  };
}

/**
 * Write the known fields into `data` (in place); empty ones are removed.
 *
 * @example
 * ```ts
 * const fields = readFields(record.data);
 * fields.keywords.push('survey');
 * writeFields(record.data, fields);
 * await record.commit();
 * ```
 */
export function writeFields(data: Record<string, unknown>, fields: RecordFields): void {
  const set = (name: string, value: unknown, empty: boolean) => {
    if (empty) delete data[name];
    else data[name] = value;
  };
  set('title', fields.title.trim(), false);
  set('description', fields.description.trim(), !fields.description.trim());
  set('creators', fields.creators, fields.creators.length === 0);
  set('keywords', fields.keywords, fields.keywords.length === 0);
  set('dates', fields.dates, fields.dates.length === 0);
}

/**
 * The user's part of a record's data: everything but the managed fields.
 *
 * @example
 * ```ts
 * userData({ title: 'Survey', _bucket: 'b_1', _files: [] }); // { title: 'Survey' }
 * ```
 */
export function userData(data: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...data };
  for (const name of MANAGED_FIELDS) delete copy[name];
  return copy;
}

/** One change between two revisions, at a top-level field. */
export interface FieldChange {
  field: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/**
 * The top-level fields that differ between two versions of a record's data.
 *
 * @example
 * ```ts
 * diffData({ title: 'A' }, { title: 'B', year: 2026 });
 * // [{ field: 'title', kind: 'changed', before: 'A', after: 'B' }, { field: 'year', kind: 'added', after: 2026 }]
 * ```
 */
export function diffData(before: Record<string, unknown>, after: Record<string, unknown>): FieldChange[] {
  const changes: FieldChange[] = [];
  const fields = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const field of fields) {
    const a = before[field];
    const b = after[field];
    if (a === undefined && b !== undefined) changes.push({ field, kind: 'added', after: b });
    else if (a !== undefined && b === undefined) changes.push({ field, kind: 'removed', before: a });
    else if (JSON.stringify(a) !== JSON.stringify(b))
      changes.push({ field, kind: 'changed', before: a, after: b });
  }
  return changes;
}

/** What happened to a record's files between two revisions, one sentence per change. */
export function diffFiles(before: unknown, after: unknown): string[] {
  type Entry = { key: string; file_id?: string; version_id?: string; description?: unknown };
  const entries = (value: unknown): Entry[] =>
    Array.isArray(value) ? value.filter((e): e is Entry => typeof (e as Entry)?.key === 'string') : [];
  const a = entries(before);
  const b = entries(after);
  const byKey = (list: Entry[]) => new Map(list.map((e) => [e.key, e]));
  const was = byKey(a);
  const now = byKey(b);
  const changes: string[] = [];
  const renamedFrom = new Set<string>();
  const described = (old: Entry, entry: Entry) => {
    const from = typeof old.description === 'string' ? old.description : '';
    const to = typeof entry.description === 'string' ? entry.description : '';
    if (from === to) return;
    changes.push(to === '' ? `Removed the description of ${entry.key}` : `Described ${entry.key}: “${to}”`);
  };
  for (const entry of b) {
    const old = was.get(entry.key);
    if (old) {
      if (old.version_id !== entry.version_id) changes.push(`New version of ${entry.key}`);
      described(old, entry);
      continue;
    }
    const source = a.find((e) => !now.has(e.key) && e.file_id === entry.file_id);
    if (source) {
      renamedFrom.add(source.key);
      changes.push(`Renamed ${source.key} → ${entry.key}`);
      described(source, entry);
    } else {
      changes.push(`Added ${entry.key}`);
    }
  }
  for (const entry of a) {
    if (!now.has(entry.key) && !renamedFrom.has(entry.key)) changes.push(`Removed ${entry.key}`);
  }
  const order = (list: Entry[]) => list.map((e) => e.key).filter((k) => was.has(k) && now.has(k));
  if (order(a).join('\0') !== order(b).join('\0')) changes.push('Reordered files');
  return changes;
}
