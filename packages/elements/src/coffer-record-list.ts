import type { CofferRecord } from '@coffer/core';
import { css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { CofferElement } from './base-element.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { formatAgo, formatDateTime } from './format.js';
import { icons } from './icons.js';
import { baseStyles, listElementStyles } from './styles.js';

/** Records are read from the coffer this many at a time. */
const READ_PAGE = 500;

/** How the list is ordered. */
export type RecordSort = 'updated' | 'title';

/** The fields a list row shows. */
interface RecordSummary {
  id: string;
  title: string;
  description: string;
  keywords: string[];
  files: number;
  updated: Date;
  record: CofferRecord;
}

const summarize = (record: CofferRecord): RecordSummary => {
  const data = record.data as Record<string, unknown>;
  return {
    id: record.id,
    title: typeof data.title === 'string' && data.title.trim() ? data.title : 'Untitled record',
    description: typeof data.description === 'string' ? data.description : '',
    keywords: Array.isArray(data.keywords)
      ? data.keywords.filter((k): k is string => typeof k === 'string')
      : [],
    files: Array.isArray(data._files) ? data._files.length : 0,
    updated: record.updated,
    record,
  };
};

/**
 * The records of a coffer: search by title, sort by last change or title, and page through
 * thousands. In `trash` mode it lists deleted records with restore and delete-for-good; in
 * `selectable` mode each row is a checkbox (e.g. to choose records to export).
 *
 * @fires coffer-select - a record was chosen; detail: `{ id: string }`
 * @fires coffer-selection-change - `selectable` only; detail: `{ ids: string[] }`
 * @fires coffer-error - when an action fails; detail: `{ error, message }`
 * @csspart item - one record
 *
 * @example
 * ```html
 * <coffer-record-list page-size="50" href="#/records/{id}"></coffer-record-list>
 * <script type="module">
 *   const list = document.querySelector('coffer-record-list');
 *   list.coffer = coffer;
 *   list.addEventListener('coffer-select', (e) => open(e.detail.id));
 * </script>
 * ```
 */
@customElement('coffer-record-list')
export class CofferRecordList extends CofferElement {
  static override styles = [
    baseStyles,
    listElementStyles,
    css`
      .tools {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: var(--_space-2);
        margin-bottom: var(--_space-3);
      }
      .search {
        position: relative;
      }
      .search .icon {
        position: absolute;
        left: 10px;
        top: 50%;
        translate: 0 -50%;
        color: var(--_muted);
      }
      .search input {
        padding-left: 36px;
      }
      select {
        width: auto;
      }
      ul {
        gap: var(--_space-1);
      }
      a.item {
        display: grid;
        gap: 2px;
        padding: var(--_space-3);
        border-radius: var(--_radius);
        color: inherit;
        text-decoration: none;
        border: 1px solid transparent;
      }
      a.item:hover {
        background: var(--_surface-2);
      }
      a.item[aria-current='page'] {
        background: var(--_accent-soft);
        border-color: color-mix(in srgb, var(--_accent) 30%, transparent);
      }
      .title {
        font-weight: 600;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .meta {
        display: flex;
        gap: var(--_space-2);
        font-size: 0.8rem;
        color: var(--_muted);
        flex-wrap: wrap;
      }
      .desc {
        font-size: 0.85rem;
        color: var(--_muted);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      label.item {
        display: grid;
        padding: var(--_space-2) var(--_space-3);
        border-radius: var(--_radius);
        grid-template-columns: auto minmax(0, 1fr);
        align-items: center;
        column-gap: var(--_space-3);
        margin: 0;
        font-size: inherit;
        font-weight: inherit;
        cursor: pointer;
      }
      label.item > span {
        display: grid;
        gap: 2px;
        min-width: 0;
      }
      label.item input {
        width: 18px;
        height: 18px;
        min-height: 0;
        margin: 0;
        accent-color: var(--_accent);
      }
      label.item:hover {
        background: var(--_surface-2);
      }
      label.item:has(input:checked) {
        background: var(--_accent-soft);
      }
      .selection {
        display: flex;
        align-items: center;
        gap: var(--_space-2);
        margin-bottom: var(--_space-2);
        font-size: 0.85rem;
        color: var(--_muted);
      }
      .selection button {
        min-height: 28px;
        font-size: 0.82rem;
      }
      .trash-item {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: var(--_space-2);
        align-items: center;
        padding: var(--_space-3);
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
        background: var(--_surface);
      }
      .pager {
        display: flex;
        align-items: center;
        justify-content: space-between;
        margin-top: var(--_space-3);
        font-size: 0.85rem;
        color: var(--_muted);
      }
    `,
  ];

  /** The id of the record being shown, highlighted in the list. */
  @property() selected?: string | undefined;
  /** List deleted records (the trash) instead of live ones. */
  @property({ type: Boolean }) trash = false;
  /** Records per page. */
  @property({ type: Number, attribute: 'page-size' }) pageSize = 25;
  /** How rows link to a record: `{id}` is replaced (default `#/records/{id}`). */
  @property() href = '#/records/{id}';
  /** Show a checkbox per record instead of a link (see {@link selection}). */
  @property({ type: Boolean }) selectable = false;
  /** The ids of the checked records, in `selectable` mode. */
  @property({ attribute: false }) selection: readonly string[] = [];

  @state() private search = '';
  @state() private sort: RecordSort = 'updated';
  @state() private page = 0;
  @state() private confirming: string | undefined;
  @state() private status = '';

  private records = new LiveQueryController(this, {
    query: async (coffer, trash) => {
      const all: CofferRecord[] = [];
      for (let after: string | undefined; ; ) {
        const page = await coffer!.records.list({ limit: READ_PAGE, after, includeDeleted: trash });
        all.push(...page);
        if (page.length < READ_PAGE) break;
        after = page[page.length - 1]!.id;
      }
      return all.filter((r) => r.deleted === trash).map(summarize);
    },
    args: () => [this.coffer, this.trash] as const,
    enabled: (coffer) => coffer !== undefined,
  });

  override render() {
    const all = this.records.value;
    const needle = this.search.trim().toLocaleLowerCase();
    const found = (all ?? []).filter((r) => !needle || r.title.toLocaleLowerCase().includes(needle));
    if (this.sort === 'title')
      found.sort((a, b) => a.title.localeCompare(b.title, undefined, { sensitivity: 'base' }));
    const pages = Math.max(1, Math.ceil(found.length / this.pageSize));
    const page = Math.min(this.page, pages - 1);
    const shown = found.slice(page * this.pageSize, (page + 1) * this.pageSize);
    return html`
      <div class="tools" role="search">
        <div class="search">
          ${icons.search}
          <label class="visually-hidden" for="search">Search by title</label>
          <input
            id="search"
            type="search"
            placeholder="Search by title"
            .value=${this.search}
            @input=${(e: Event) => {
              this.search = (e.target as HTMLInputElement).value;
              this.page = 0;
            }}
          />
        </div>
        <label class="visually-hidden" for="sort">Sort by</label>
        <select id="sort" @change=${(e: Event) => (this.sort = (e.target as HTMLSelectElement).value as RecordSort)}>
          <option value="updated" ?selected=${this.sort === 'updated'}>Recent</option>
          <option value="title" ?selected=${this.sort === 'title'}>Title A–Z</option>
        </select>
      </div>
      ${
        all === undefined
          ? html`<p class="muted">Loading…</p>`
          : found.length === 0
            ? html`<p class="empty">${needle ? 'No record matches.' : this.trash ? 'The trash is empty.' : 'No records yet.'}</p>`
            : html`${this.selectable ? this._renderSelectionBar(found) : ''}
            <ul aria-label=${this.trash ? 'Deleted records' : 'Records'}>
              ${repeat(
                shown,
                (r) => r.id,
                (r) =>
                  html`<li part="item">${
                    this.trash
                      ? this._renderTrashItem(r)
                      : this.selectable
                        ? this._renderCheckItem(r)
                        : this._renderItem(r)
                  }</li>`,
              )}
            </ul>`
      }
      ${
        pages > 1
          ? html`<nav class="pager" aria-label="Pages">
            <button ?disabled=${page === 0} @click=${() => (this.page = page - 1)}>Previous</button>
            <span aria-live="polite">Page ${page + 1} of ${pages} · ${found.length} records</span>
            <button ?disabled=${page >= pages - 1} @click=${() => (this.page = page + 1)}>Next</button>
          </nav>`
          : found.length > 0
            ? html`<p class="pager">${found.length} record${found.length === 1 ? '' : 's'}</p>`
            : ''
      }
      <p class="visually-hidden" role="status" aria-live="polite">${this.status}</p>
    `;
  }

  private _renderItem(r: RecordSummary) {
    return html`<a
      class="item"
      href=${this.href.replace('{id}', encodeURIComponent(r.id))}
      aria-current=${this.selected === r.id ? 'page' : 'false'}
      @click=${() => this.emit('coffer-select', { id: r.id })}
    >
      <span class="title">${r.title}</span>
      ${r.description ? html`<span class="desc">${r.description}</span>` : ''}
      <span class="meta">
        <span title=${formatDateTime(r.updated)}>${formatAgo(r.updated)}</span>
        <span>${r.files} file${r.files === 1 ? '' : 's'}</span>
        ${r.keywords.slice(0, 3).map((k) => html`<span class="badge">${k}</span>`)}
      </span>
    </a>`;
  }

  private _renderSelectionBar(found: RecordSummary[]) {
    const count = this.selection.length;
    return html`<div class="selection">
      <span aria-live="polite">${count} of ${found.length} selected</span>
      <span class="spacer"></span>
      <button class="ghost" ?disabled=${count === found.length} @click=${() => this._select(found.map((r) => r.id))}>
        Select all
      </button>
      <button class="ghost" ?disabled=${count === 0} @click=${() => this._select([])}>Clear</button>
    </div>`;
  }

  private _renderCheckItem(r: RecordSummary) {
    const checked = this.selection.includes(r.id);
    return html`<label class="item">
      <input
        type="checkbox"
        .checked=${checked}
        @change=${(e: Event) => {
          const on = (e.target as HTMLInputElement).checked;
          this._select(on ? [...this.selection, r.id] : this.selection.filter((id) => id !== r.id));
        }}
      />
      <span>
        <span class="title">${r.title}</span>
        <span class="meta">
          <span title=${formatDateTime(r.updated)}>${formatAgo(r.updated)}</span>
          <span>${r.files} file${r.files === 1 ? '' : 's'}</span>
        </span>
      </span>
    </label>`;
  }

  private _select(ids: string[]): void {
    this.selection = [...new Set(ids)];
    this.emit('coffer-selection-change', { ids: this.selection });
  }

  private _renderTrashItem(r: RecordSummary) {
    const confirming = this.confirming === r.id;
    return html`<div class="trash-item">
      <div>
        <div class="title">${r.title}</div>
        <div class="meta">Deleted ${formatAgo(r.updated)} · ${r.files} file${r.files === 1 ? '' : 's'}</div>
      </div>
      <div class="row">
        <button @click=${() => this._restore(r)} aria-label="Restore ${r.title}">${icons.restore} Restore</button>
        <button
          class="danger"
          @click=${() => this._destroy(r)}
          @blur=${() => (this.confirming = undefined)}
          aria-label=${confirming ? `Confirm delete: ${r.title}, for good` : `Delete for good: ${r.title}`}
        >
          ${confirming ? 'Confirm delete' : 'Delete for good'}
        </button>
      </div>
    </div>`;
  }

  private async _restore(r: RecordSummary): Promise<void> {
    try {
      await r.record.restore();
      this.status = `${r.title} restored.`;
    } catch (error) {
      this.status = this.report(error);
    }
  }

  private async _destroy(r: RecordSummary): Promise<void> {
    if (this.confirming !== r.id) {
      this.confirming = r.id;
      return;
    }
    this.confirming = undefined;
    try {
      await r.record.delete({ force: true });
      this.status = `${r.title} deleted for good.`;
    } catch (error) {
      this.status = this.report(error);
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-record-list': CofferRecordList;
  }
}
