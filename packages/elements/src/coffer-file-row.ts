import type { FileObject, ObjectVersion, RecordFiles } from '@coffer/core';
import { css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { CofferElement } from './base-element.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import './coffer-file-preview.js';
import './coffer-version-history.js';
import { deleteFiles, renameFile } from './file-actions.js';
import { downloadFile, previewKind, resolveFileUrl } from './file-url.js';
import { checksumHex, describeMimetype, formatAgo, formatBytes } from './format.js';
import { icons } from './icons.js';
import { middleEllipsisStyles, midName } from './mid-name.js';
import { baseStyles } from './styles.js';
import type { CofferDoneDetail } from './undo.js';

/** Detail of `coffer-move`. */
export interface MoveDetail {
  key: string;
  /** -1 for up, +1 for down. */
  delta: number;
}

/**
 * One file of a record: thumbnail, name, size, type and md5 (copyable); opened, its preview,
 * description, rename, a new version, delete, and its version history.
 *
 * @fires coffer-move - keyboard reorder; detail: {@link MoveDetail}
 * @fires coffer-toggle - open or close; detail: `{ key: string }`
 * @fires coffer-renamed - detail: `{ from: string, to: string }`
 * @fires coffer-done - after a rename or delete; detail: {@link CofferDoneDetail} (with `undo`)
 * @fires coffer-check - `selectable` only; detail: `{ key: string, checked: boolean }`
 * @fires coffer-new-version - a file was picked as the new version; detail: `{ key: string, file: File }`
 * @fires coffer-error - when an action fails; detail: `{ error, message }`
 * @csspart row - the always-visible line
 *
 * @example
 * ```ts
 * // Used by <coffer-files>; standalone it shows one FileObject:
 * const row = document.createElement('coffer-file-row');
 * row.file = await record.files!.get('site.jpg');
 * row.act = (change) => change(record.files!);
 * document.body.append(row);
 * ```
 */
@customElement('coffer-file-row')
export class CofferFileRow extends CofferElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        background: var(--_surface);
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
      }
      :host([dragging]) {
        opacity: 0.5;
      }
      :host([drop-before]) {
        box-shadow: 0 -3px 0 var(--_accent);
      }
      :host([drop-after]) {
        box-shadow: 0 3px 0 var(--_accent);
      }
      .line {
        display: grid;
        grid-template-columns: auto auto 1fr auto;
        align-items: center;
        gap: var(--_space-3);
        padding: var(--_space-2) var(--_space-3);
      }
      .check {
        display: grid;
        place-items: center;
        width: 28px;
        min-height: 44px;
        margin: 0;
        cursor: pointer;
      }
      .grip {
        width: 28px;
        min-height: 44px;
        padding: 0;
        border: 0;
        background: transparent;
        color: var(--_muted);
        cursor: grab;
      }
      .thumb {
        width: 48px;
        height: 48px;
        border-radius: 8px;
        background: var(--_surface-2);
        display: grid;
        place-items: center;
        overflow: hidden;
        color: var(--_muted);
        font-size: 0.65rem;
        font-weight: 700;
        letter-spacing: 0.03em;
        flex: none;
      }
      .thumb img {
        width: 100%;
        height: 100%;
        object-fit: cover;
      }
      .info {
        min-width: 0;
      }
      .name {
        all: unset;
        cursor: pointer;
        font-weight: 600;
        display: flex;
        max-width: 100%;
        border-radius: 4px;
      }
      .name:hover {
        color: var(--_accent);
      }
      .name:focus-visible {
        box-shadow: var(--_focus);
      }
      .meta {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 2px var(--_space-2);
        font-size: 0.8rem;
        color: var(--_muted);
        font-variant-numeric: tabular-nums;
      }
      .cloud {
        display: inline-flex;
        align-items: center;
        gap: 4px;
      }
      .cloud .icon {
        width: 14px;
        height: 14px;
      }
      .description {
        font-size: 0.85rem;
        color: var(--_muted);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .md5 {
        all: unset;
        cursor: pointer;
        display: inline-flex;
        align-items: center;
        gap: 4px;
        border-radius: 4px;
        font-family: ui-monospace, 'DejaVu Sans Mono', monospace;
      }
      .md5 .icon {
        width: 13px;
        height: 13px;
      }
      .md5:hover {
        color: var(--_accent);
      }
      .md5:focus-visible {
        box-shadow: var(--_focus);
      }
      .actions {
        display: flex;
        gap: var(--_space-1);
      }
      .chev .icon {
        transition: transform 0.15s;
      }
      :host([open]) .chev .icon {
        transform: rotate(180deg);
      }
      .row-error {
        margin: 0 var(--_space-3) var(--_space-3);
      }
      .rename {
        display: flex;
        gap: var(--_space-1);
      }
      .rename input {
        min-height: 32px;
        padding: 2px 8px;
      }
      .panel {
        border-top: 1px solid var(--_border);
        padding: var(--_space-4);
        display: grid;
        grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
        gap: var(--_space-5);
      }
      .side {
        display: grid;
        gap: var(--_space-4);
        align-content: start;
      }
      .side .field {
        margin: 0;
      }
      .checksum {
        word-break: break-all;
      }
      @media (max-width: 720px) {
        .panel {
          grid-template-columns: 1fr;
          padding: var(--_space-3);
        }
        .line {
          gap: var(--_space-2);
          padding: var(--_space-2);
        }
        .thumb {
          width: 40px;
          height: 40px;
        }
        .download-label {
          display: none;
        }
      }
    `,
    middleEllipsisStyles,
  ];

  /** The file shown. */
  @property({ attribute: false }) file?: FileObject | undefined;
  /** Whether the details are open. */
  @property({ type: Boolean, reflect: true }) open = false;
  /** Whether the bucket is locked: changes are disabled. */
  @property({ type: Boolean }) locked = false;
  /** Position in the list (1-based) and the list's length, for labels. */
  /** The list shows a sorted or filtered view: the file cannot be moved. */
  @property({ type: Boolean }) fixed = false;
  /** Show a checkbox instead of the move handle, to choose this file among several. */
  @property({ type: Boolean }) selectable = false;
  /** Whether the checkbox is ticked, in `selectable` mode. */
  @property({ type: Boolean }) checked = false;
  @property({ type: Number }) position = 1;
  @property({ type: Number }) count = 1;
  /**
   * Runs a change of the record's files; by default on the file's own record. A list passes
   * one shared runner so that its writes build on each other.
   */
  @property({ attribute: false }) act: <T>(change: (files: RecordFiles) => Promise<T>) => Promise<T> = (
    change,
  ) => change(this.file!.record.files!);
  @state() private error = '';

  @state() private thumbUrl: string | undefined;
  @state() private renaming = false;
  @state() private confirmDelete = false;
  @state() private status = '';
  /** An older version shown in the preview instead of the current one. */
  @state() private previewed: ObjectVersion | undefined;
  /** The bytes were on the sync server only (pulled lazily) when the row loaded: no thumbnail. */
  @state() private remoteOnly = false;
  /** Watched only while {@link remoteOnly}: the bytes arriving (opened, kept offline) end it. */
  private fetched = new LiveQueryController(this, {
    query: async (file) => ({ fileId: file!.fileId, lazy: (await file!.version.file()).lazy }),
    args: () => [this.file, this.remoteOnly] as const,
    enabled: (file, remoteOnly) => file !== undefined && remoteOnly,
  });
  @query('.rename input') private renameInput?: HTMLInputElement;
  @query('input[type=file]') private versionInput?: HTMLInputElement;
  private revokeThumb: () => void = () => undefined;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.revokeThumb();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('file')) {
      const previous = changed.get('file') as FileObject | undefined;
      if (previous?.versionId !== this.file?.versionId) {
        void this.loadThumb();
        this.previewed = undefined;
      }
    }
    // The bytes of a file left on the server arrived: no note any more, and its thumbnail.
    const seen = this.fetched.value;
    if (this.remoteOnly && seen?.fileId === this.file?.fileId && seen?.lazy === false) void this.loadThumb();
  }

  private async loadThumb(): Promise<void> {
    this.revokeThumb();
    this.revokeThumb = () => undefined;
    this.thumbUrl = undefined;
    this.remoteOnly = false;
    const file = this.file;
    if (!file) return;
    // A thumbnail would download a file sync left on the server: it shows as such instead.
    const lazy = await file.version.file().then(
      (instance) => instance.lazy,
      () => false,
    );
    if (this.file !== file) return;
    this.remoteOnly = lazy;
    if (lazy || previewKind(file.mimetype) !== 'image') return;
    try {
      const { url, revoke } = await resolveFileUrl(file);
      if (this.file !== file) return revoke();
      this.thumbUrl = url;
      this.revokeThumb = revoke;
    } catch {
      // No thumbnail: the type badge stays.
    }
  }

  override render() {
    const file = this.file;
    if (!file) return html``;
    const description = typeof file.metadata.description === 'string' ? file.metadata.description : '';
    const ext = (file.key.includes('.') ? file.key.split('.').pop()! : 'file').slice(0, 4).toUpperCase();
    const hex = checksumHex(file.checksum);
    return html`
      <div class="line" part="row">
        ${
          this.selectable
            ? html`<label class="check"><input
                type="checkbox"
                aria-label="Select ${file.key}"
                .checked=${this.checked}
                @change=${(e: Event) =>
                  this.emit('coffer-check', {
                    key: file.key,
                    checked: (e.target as HTMLInputElement).checked,
                  })}
              /></label>`
            : html`<button
          class="grip"
          aria-label="Move ${file.key}, position ${this.position} of ${this.count}. Use the up and down arrow keys."
          ?disabled=${this.locked || this.fixed}
          @keydown=${this._onGripKey}
          @pointerdown=${() => this.setAttribute('draggable', 'true')}
        >
          ${icons.grip}
        </button>`
        }
        <div class="thumb" aria-hidden="true">${this.thumbUrl ? html`<img src=${this.thumbUrl} alt="" />` : ext}</div>
        <div class="info">
          ${
            this.renaming
              ? html`<form class="rename" @submit=${this._onRename}>
                <label class="visually-hidden" for="rename">New name for ${file.key}</label>
                <input id="rename" name="name" .value=${file.key} @keydown=${this._onRenameKey} autocomplete="off" />
                <button type="submit" class="primary">Save</button>
                <button type="button" @click=${() => (this.renaming = false)}>Cancel</button>
              </form>`
              : html`<button class="name mid-name" aria-label=${file.key} aria-expanded=${this.open ? 'true' : 'false'} @click=${this._toggle} title=${file.key}>${midName(file.key)}</button>`
          }
          <div class="meta">
            <span>${formatBytes(file.size)}</span><span aria-hidden="true">·</span>
            <span>${describeMimetype(file.mimetype)}</span><span aria-hidden="true">·</span>
            ${
              this.remoteOnly
                ? html`<span class="cloud" title="On the sync server only: downloaded when opened"
                    >${icons.cloud} Not downloaded</span
                  ><span aria-hidden="true">·</span>`
                : nothing
            }
            <button class="md5" @click=${() => this._copy(hex)} title="Copy the md5 checksum ${hex}">
              md5 ${hex.slice(0, 8)}<span class="visually-hidden">, copy checksum ${hex}</span> ${icons.copy}
            </button>
          </div>
          ${description && !this.open ? html`<div class="description">${description}</div>` : ''}
        </div>
        <div class="actions">
          <button class="ghost" @click=${() => void downloadFile(file)} aria-label="Download ${file.key}">
            ${icons.download}<span class="download-label">Download</span>
          </button>
          <button class="ghost icon chev" aria-label="${this.open ? 'Close' : 'Open'} ${file.key}" aria-expanded=${this.open ? 'true' : 'false'} @click=${this._toggle}>
            ${icons.chevron}
          </button>
        </div>
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">${this.status}</p>
      ${
        this.error
          ? html`<div class="alert row-error" role="alert"><p>${this.error}</p><button class="ghost" @click=${() => (this.error = '')}>Dismiss</button></div>`
          : ''
      }
      ${this.open ? this._renderPanel(file, description, hex) : ''}
    `;
  }

  private _renderPanel(file: FileObject, description: string, hex: string) {
    const previewed = this.previewed ?? file;
    // What the details say follows the version shown in the preview.
    const shown = previewed;
    const shownHex = this.previewed ? checksumHex(this.previewed.checksum) : hex;
    return html`
      <div class="panel">
        <div>
          <coffer-file-preview .file=${previewed}></coffer-file-preview>
          ${
            previewed !== file
              ? html`<p class="small muted" style="margin-top:6px">
                Showing an older version.
                <button class="ghost" @click=${() => (this.previewed = undefined)}>Show current</button>
              </p>`
              : ''
          }
        </div>
        <div class="side">
          <div class="field">
            <label for="description">Description</label>
            <textarea
              id="description"
              rows="2"
              placeholder="What is this file?"
              .value=${description}
              ?disabled=${this.locked}
              @change=${this._onDescription}
            ></textarea>
          </div>
          <div>
            <span class="label">${this.previewed ? 'md5 checksum of the older version shown' : 'md5 checksum'}</span>
            <div class="row">
              <span class="mono checksum">${shownHex}</span>
              <button class="ghost" @click=${() => this._copy(shownHex)}>${icons.copy} Copy</button>
            </div>
            <p class="hint">Added ${formatAgo(shown.created)} · ${shown.mimetype}${this.previewed ? ` · ${formatBytes(shown.size)}` : ''}</p>
          </div>
          <div class="row">
            <button ?disabled=${this.locked} @click=${this._startRename}>${icons.pencil} Rename</button>
            <button ?disabled=${this.locked} @click=${() => this.versionInput?.click()}>${icons.upload} New version</button>
            <input type="file" hidden aria-label="Choose a new version of ${file.key}" @change=${this._onNewVersion} />
            <button
              class="danger"
              ?disabled=${this.locked}
              @click=${this._onDelete}
              @blur=${() => (this.confirmDelete = false)}
            >
              ${icons.trash} ${this.confirmDelete ? 'Confirm delete' : 'Delete'}
            </button>
          </div>
          <div>
            <h3 style="margin-bottom:4px">Versions</h3>
            <coffer-version-history
              .coffer=${this.coffer}
              .file=${file}
              ?locked=${this.locked}
              @coffer-preview=${(e: CustomEvent<{ version: ObjectVersion }>) => {
                e.stopPropagation();
                this.previewed = e.detail.version.isHead ? undefined : e.detail.version;
              }}
            ></coffer-version-history>
          </div>
        </div>
      </div>
    `;
  }

  private _toggle(): void {
    this.emit('coffer-toggle', { key: this.file!.key });
  }

  private _onGripKey(event: KeyboardEvent): void {
    const delta = event.key === 'ArrowUp' ? -1 : event.key === 'ArrowDown' ? 1 : 0;
    if (!delta) return;
    event.preventDefault();
    this.emit<MoveDetail>('coffer-move', { key: this.file!.key, delta });
  }

  private async _copy(hex: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(hex);
      this.status = 'Checksum copied.';
    } catch {
      this.status = 'Could not copy; select the checksum in the details instead.';
    }
  }

  private async _startRename(): Promise<void> {
    this.renaming = true;
    await this.updateComplete;
    this.renameInput?.focus();
    const dot = this.file!.key.lastIndexOf('.');
    this.renameInput?.setSelectionRange(0, dot > 0 ? dot : this.file!.key.length);
  }

  private _onRenameKey(event: KeyboardEvent): void {
    if (event.key === 'Escape') this.renaming = false;
  }

  private async _onRename(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const file = this.file!;
    const next = String(new FormData(event.target as HTMLFormElement).get('name') ?? '').trim();
    if (!next || next === file.key) {
      this.renaming = false;
      return;
    }
    try {
      const done = await this.act((files) => renameFile(files, file.key, next));
      this.renaming = false;
      this.emit('coffer-renamed', { from: file.key, to: next });
      this.status = `Renamed to ${next}.`;
      this.emit<CofferDoneDetail>('coffer-done', done);
    } catch (error) {
      this.status = this.error = this.report(error, { shown: true });
    }
  }

  private async _onDescription(event: Event): Promise<void> {
    const value = (event.target as HTMLTextAreaElement).value.trim();
    try {
      const key = this.file!.key;
      await this.act((files) => files.setMetadata(key, { description: value || null }));
      this.status = 'Description saved.';
    } catch (error) {
      this.status = this.error = this.report(error, { shown: true });
    }
  }

  private _onNewVersion(event: Event): void {
    const input = event.target as HTMLInputElement;
    const picked = input.files?.[0];
    input.value = '';
    if (picked) this.emit('coffer-new-version', { key: this.file!.key, file: picked });
  }

  private async _onDelete(): Promise<void> {
    if (!this.confirmDelete) {
      this.confirmDelete = true;
      return;
    }
    this.confirmDelete = false;
    const file = this.file!;
    try {
      const done = await this.act((files) => deleteFiles(files, [file.key]));
      this.emit<CofferDoneDetail>('coffer-done', done);
    } catch (error) {
      this.status = this.error = this.report(error, { shown: true });
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-file-row': CofferFileRow;
  }
}
