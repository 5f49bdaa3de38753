import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { formatBytes } from './format.js';
import { middleEllipsisStyles, midName } from './mid-name.js';
import { baseStyles, listElementStyles } from './styles.js';

/**
 * Where an upload stands: `as const` object plus the union it derives.
 *
 * @example
 * ```ts
 * const done = queue.items.filter((item) => item.state === UploadState.Done);
 * ```
 */
export const UploadState = {
  Queued: 'queued',
  Uploading: 'uploading',
  Done: 'done',
  Failed: 'failed',
  Cancelled: 'cancelled',
} as const;
/** One of {@link UploadState}. */
export type UploadState = (typeof UploadState)[keyof typeof UploadState];

/** One file on its way into a bucket. */
export interface UploadItem {
  /** A unique id for this upload. */
  id: string;
  /** The key it is stored under. */
  key: string;
  /** Bytes in total. */
  size: number;
  /** Bytes written so far. */
  loaded: number;
  state: UploadState;
  /** A plain-language sentence when it failed. */
  message?: string | undefined;
  /** Cancels the write; nothing is stored. */
  controller: AbortController;
}

/**
 * Uploads in progress, each with a progress bar and a cancel button; finished ones can be
 * cleared.
 *
 * @fires coffer-upload-cancel - detail: `{ id: string }`; the owner aborts it
 * @fires coffer-upload-clear - the owner drops finished items
 * @csspart item - one upload
 *
 * @example
 * ```ts
 * const queue = document.createElement('coffer-upload-queue');
 * const controller = new AbortController();
 * queue.items = [{ id: '1', key: 'site.jpg', size: file.size, loaded: 0, state: UploadState.Queued, controller }];
 * queue.addEventListener('coffer-upload-cancel', () => controller.abort());
 * ```
 */
@customElement('coffer-upload-queue')
export class CofferUploadQueue extends LitElement {
  static override styles = [
    baseStyles,
    listElementStyles,
    css`
      li {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: var(--_space-1) var(--_space-3);
        align-items: center;
        padding: var(--_space-2) var(--_space-3);
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
        background: var(--_surface);
      }
      .name {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        font-weight: 500;
      }
      .meter {
        grid-column: 1 / -1;
      }
      .detail {
        grid-column: 1 / -1;
        font-size: 0.8rem;
        color: var(--_muted);
        font-variant-numeric: tabular-nums;
      }
      li.failed .detail {
        color: var(--_danger);
      }
      li.done .meter > span {
        background: var(--_ok);
      }
      li.failed .meter,
      li.cancelled .meter {
        display: none;
      }
      h2 {
        font-size: 1rem;
      }
      header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        margin-bottom: var(--_space-2);
      }
    `,
    middleEllipsisStyles,
    css`
      /* A flex item drops the white space at its edges: keep the space in "raw/ (3 files)". */
      .mid-name > span {
        white-space: pre;
      }
    `,
  ];

  /** The uploads, oldest first. */
  @property({ attribute: false }) items: UploadItem[] = [];

  override render() {
    if (this.items.length === 0) return html``;
    const active = this.items.filter((item) => item.state === 'uploading' || item.state === 'queued').length;
    return html`
      <header>
        <h2 id="uploads-title">${active ? `Uploading ${active} file${active === 1 ? '' : 's'}` : 'Uploads finished'}</h2>
        ${
          active < this.items.length
            ? html`<button class="ghost" @click=${() => this._emit('coffer-upload-clear', {})}>Clear finished</button>`
            : ''
        }
      </header>
      <ul aria-labelledby="uploads-title">
        ${repeat(
          this.items,
          (item) => item.id,
          (item) => this._renderItem(item),
        )}
      </ul>
    `;
  }

  private _renderItem(item: UploadItem) {
    const percent = item.size ? Math.round((item.loaded / item.size) * 100) : item.state === 'done' ? 100 : 0;
    const detail =
      item.state === 'uploading' || item.state === 'queued'
        ? `${formatBytes(item.loaded)} of ${formatBytes(item.size)} · ${percent}%`
        : item.state === 'done'
          ? `Stored · ${formatBytes(item.size)}`
          : item.state === 'cancelled'
            ? 'Cancelled. Nothing was stored.'
            : (item.message ?? 'Failed.');
    return html`
      <li class=${item.state} part="item" data-key=${item.key}>
        <span class="name mid-name" title=${item.key}>${midName(item.key)}</span>
        ${
          item.state === 'uploading' || item.state === 'queued'
            ? html`<button class="ghost" aria-label="Cancel upload of ${item.key}" @click=${() => this._emit('coffer-upload-cancel', { id: item.id })}>
              Cancel
            </button>`
            : html`<span class="badge ${item.state === 'done' ? 'accent' : item.state === 'failed' ? 'danger' : ''}"
              >${item.state === 'done' ? 'Done' : item.state === 'failed' ? 'Failed' : 'Cancelled'}</span
            >`
        }
        <div
          class="meter"
          role="progressbar"
          aria-label="Upload of ${item.key}"
          aria-valuemin="0"
          aria-valuemax="100"
          aria-valuenow=${percent}
        >
          <span style="width:${percent}%"></span>
        </div>
        <span class="detail" role=${item.state === 'failed' ? 'alert' : 'none'}>${detail}</span>
      </li>
    `;
  }

  private _emit(type: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-upload-queue': CofferUploadQueue;
  }
}
