import type { ObjectVersion } from '@coffer/core';
import { css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { CofferElement } from './base-element.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { formatAgo, formatBytes, formatDateTime } from './format.js';
import { describeError } from './messages.js';
import { baseStyles, listElementStyles, toolsRowStyles } from './styles.js';

/** What happened to a file. */
export type ActivityKind = 'added' | 'replaced' | 'renamed' | 'deleted' | 'restored';

/** One change of a record's files. */
export interface ActivityEntry {
  kind: ActivityKind;
  key: string;
  /** The earlier name, for `renamed`. */
  from?: string | undefined;
  when: Date;
  /** The size of the version written (not for `deleted`). */
  size?: number | undefined;
  versionId: string;
}

/** The fields of an object version the activity reads. */
export type ActivityVersion = Pick<
  ObjectVersion,
  'key' | 'versionId' | 'fileId' | 'size' | 'created' | 'sequence'
>;

/**
 * What happened to the files of a bucket, newest first, read from every version and delete
 * marker: a first version is `added`, a later one `replaced` (or `restored` when it brings
 * back bytes the key held before), a delete marker `deleted`; a rename (a copy under the new
 * key followed at once by a delete marker on the old one) is one `renamed`.
 *
 * @example
 * ```ts
 * fileActivity(await bucket.objects.list({ versions: true, withDeleted: true }));
 * // [{ kind: 'renamed', from: 'site.jpg', key: 'north.jpg', … }, { kind: 'added', key: 'site.jpg', … }]
 * ```
 */
export function fileActivity(versions: readonly ActivityVersion[]): ActivityEntry[] {
  const ordered = [...versions].sort((a, b) => a.sequence - b.sequence);
  const held = new Map<string, Set<string>>();
  const head = new Map<string, ActivityVersion>();
  const out: (ActivityEntry & { sequence: number; fileId: string | null })[] = [];
  for (const v of ordered) {
    const previous = head.get(v.key);
    head.set(v.key, v);
    if (v.fileId === null) {
      const last = out[out.length - 1];
      if (
        previous?.fileId &&
        last &&
        last.sequence === v.sequence - 1 &&
        last.fileId === previous.fileId &&
        (last.kind === 'added' || last.kind === 'restored')
      ) {
        Object.assign(last, { kind: 'renamed', from: v.key });
        // The file keeps its past under its new name: a restore of it later is a restore.
        for (const id of held.get(v.key) ?? []) held.get(last.key)?.add(id);
        continue;
      }
      if (previous?.fileId) out.push(entry('deleted', v, undefined));
      continue;
    }
    const seen = held.get(v.key) ?? new Set<string>();
    const live = !!previous?.fileId;
    const kind: ActivityKind =
      seen.has(v.fileId) && v.fileId !== previous?.fileId ? 'restored' : live ? 'replaced' : 'added';
    seen.add(v.fileId);
    held.set(v.key, seen);
    out.push(entry(kind, v, v.size));
  }
  return out.reverse().map(({ sequence: _s, fileId: _f, ...rest }) => rest);
}

const entry = (kind: ActivityKind, v: ActivityVersion, size: number | undefined) => ({
  kind,
  key: v.key,
  when: v.created,
  size,
  versionId: v.versionId,
  sequence: v.sequence,
  fileId: v.fileId,
});

const VERBS: Record<ActivityKind, string> = {
  added: 'Added',
  replaced: 'New version of',
  renamed: 'Renamed',
  deleted: 'Deleted',
  restored: 'Restored',
};

/**
 * What changed in a record's files and when: added, replaced, renamed, deleted and restored,
 * newest first, filtered by kind or by file name. Updates live.
 *
 * @example
 * ```html
 * <coffer-file-activity record-id="survey-12"></coffer-file-activity>
 * ```
 */
@customElement('coffer-file-activity')
export class CofferFileActivity extends CofferElement {
  static override styles = [
    baseStyles,
    listElementStyles,
    toolsRowStyles,
    css`
      .tools input {
        flex: 1 1 160px;
      }
      .tools select {
        width: auto;
      }
      li {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        gap: var(--_space-2);
        align-items: baseline;
        padding: var(--_space-2) 0;
        border-bottom: 1px solid var(--_border);
      }
      .what {
        overflow-wrap: anywhere;
      }
      .kind {
        font-weight: 600;
      }
      .when {
        font-size: 0.82rem;
        color: var(--_muted);
        white-space: nowrap;
      }
    `,
  ];

  /** The record whose files' activity is shown. */
  @property({ attribute: 'record-id' }) recordId?: string;
  /** How many entries are shown before "Show more". */
  @property({ type: Number }) limit = 50;

  @state() private kind: ActivityKind | '' = '';
  @state() private name = '';
  @state() private shown = 0;

  private activity = new LiveQueryController(this, {
    query: async (coffer, id) => {
      const record = await coffer!.records.get(id!);
      const bucket = record.bucket;
      if (!bucket) return [];
      return fileActivity(await bucket.objects.list({ versions: true, withDeleted: true }));
    },
    args: () => [this.coffer, this.recordId] as const,
    enabled: (coffer, id) => coffer !== undefined && id !== undefined,
  });

  override render() {
    if (this.activity.error)
      return html`<p class="alert" role="alert">${describeError(this.activity.error)}</p>`;
    const all = this.activity.value;
    if (!all) return html`<p class="muted">Loading…</p>`;
    const needle = this.name.trim().toLocaleLowerCase();
    const found = all.filter(
      (e) =>
        (!this.kind || e.kind === this.kind) &&
        (!needle ||
          e.key.toLocaleLowerCase().includes(needle) ||
          !!e.from?.toLocaleLowerCase().includes(needle)),
    );
    const count = Math.max(this.limit, this.shown);
    return html`
      <div class="tools">
        <label class="visually-hidden" for="name">Filter the activity by file name</label>
        <input id="name" type="search" placeholder="File name" .value=${this.name}
          @input=${(e: Event) => (this.name = (e.target as HTMLInputElement).value)} />
        <label class="visually-hidden" for="kind">Kind of change</label>
        <select id="kind" @change=${(e: Event) => (this.kind = (e.target as HTMLSelectElement).value as ActivityKind)}>
          <option value="">All changes</option>
          ${(Object.keys(VERBS) as ActivityKind[]).map(
            (k) =>
              html`<option value=${k} ?selected=${this.kind === k}>${k[0]!.toUpperCase()}${k.slice(1)}</option>`,
          )}
        </select>
      </div>
      ${
        found.length === 0
          ? html`<p class="empty">${all.length === 0 ? 'No file has been added yet.' : 'No change matches.'}</p>`
          : html`<ul aria-label="File activity">
            ${found.slice(0, count).map(
              (e) => html`<li>
                <span class="what"><span class="kind">${VERBS[e.kind]}</span>
                  ${e.kind === 'renamed' ? html`${e.from} → ${e.key}` : e.key}
                  ${e.size !== undefined && e.kind !== 'renamed' ? html`<span class="muted small">(${formatBytes(e.size)})</span>` : ''}</span>
                <time class="when" datetime=${e.when.toISOString()} title=${formatDateTime(e.when)}>${formatAgo(e.when)}</time>
              </li>`,
            )}
          </ul>
          ${
            found.length > count
              ? html`<button class="ghost" @click=${() => (this.shown = count + this.limit)}>Show more (${found.length - count} left)</button>`
              : ''
          }`
      }
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-file-activity': CofferFileActivity;
  }
}
