import type { CofferRecord, FileObject, RecordFiles } from '@coffer/core';
import { css, html, svg } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { CofferElement } from './base-element.js';
import './coffer-file-row.js';
import type { CofferFileRow, MoveDetail } from './coffer-file-row.js';
import './coffer-upload-queue.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { deleteFiles } from './file-actions.js';
import { downloadFile } from './file-url.js';
import { droppedEntries, type FolderFile, filesOfEntries, folderFilesFromInput } from './folder-files.js';
import { formatBytes } from './format.js';
import { icons } from './icons.js';
import { describeError } from './messages.js';
import { baseStyles, listElementStyles } from './styles.js';
import { type CofferDoneDetail, saveBlob } from './undo.js';
import { type TrackedUpload, uploadTracker } from './upload-tracker.js';
import { zipBlobs } from './zip.js';

/**
 * How many files are written at once. Writes through `record.files` merge on the stored
 * record, so parallel uploads never conflict; three keep the worker busy without starving
 * each other's progress.
 */
const PARALLEL_UPLOADS = 3;
/** How long a finished upload stays in the queue. */
const DONE_VISIBLE_MS = 5000;
/** Drag type of a file row being reordered. */
const ROW_DRAG_TYPE = 'application/x-coffer-key';

const folderIcon = svg`<svg class="icon" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M3 6a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/></svg>`;

/** How the file list is ordered: the record's own order (which drag and arrows change), or a view. */
export type FileOrder = 'record' | 'name' | 'newest' | 'largest' | 'type';

const ORDERS: { value: FileOrder; label: string }[] = [
  { value: 'record', label: 'Record order' },
  { value: 'name', label: 'Name A–Z' },
  { value: 'newest', label: 'Newest first' },
  { value: 'largest', label: 'Largest first' },
  { value: 'type', label: 'Type' },
];

const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const ARRANGE: Record<Exclude<FileOrder, 'record'>, (a: FileObject, b: FileObject) => number> = {
  name: (a, b) => byName.compare(a.key, b.key),
  newest: (a, b) => b.created.getTime() - a.created.getTime(),
  largest: (a, b) => b.size - a.size,
  type: (a, b) => a.mimetype.localeCompare(b.mimetype) || byName.compare(a.key, b.key),
};

/** What the list shows. */
interface FilesView {
  record: CofferRecord;
  files: FileObject[];
  locked: boolean;
  size: number;
}

/**
 * The files of a record: add by drag and drop, file picker or paste (many at once, each with
 * progress and cancel), or a whole folder (picked or dropped; keys keep the relative paths,
 * one progress for the batch), reorder by drag or keyboard, and open one to preview, describe,
 * rename, replace, delete or go through its versions. Works standalone given a `coffer`.
 *
 * @fires coffer-done - files were deleted or renamed; detail: {@link CofferDoneDetail} (with `undo`)
 * @fires coffer-error - when an action fails; detail: `{ error, message }`
 * @csspart dropzone - the drop target and file picker
 *
 * @example
 * ```html
 * <coffer-files record-id="survey-12"></coffer-files>
 * <script type="module">
 *   import { openCoffer } from '@coffer/core';
 *   import '@coffer/elements';
 *   document.querySelector('coffer-files').coffer = await openCoffer({ name: 'field-notes' });
 * </script>
 * ```
 */
@customElement('coffer-files')
export class CofferFiles extends CofferElement {
  static override styles = [
    baseStyles,
    listElementStyles,
    css`
      :host {
        position: relative;
      }
      .dropzone {
        display: flex;
        align-items: center;
        gap: var(--_space-3);
        flex-wrap: wrap;
        padding: var(--_space-4);
        border: 2px dashed var(--_border);
        border-radius: var(--_radius);
        background: var(--_surface);
        transition:
          border-color 0.15s,
          background 0.15s;
      }
      .dropzone {
        cursor: pointer;
      }
      .dropzone.over {
        border-color: var(--_accent);
        background: var(--_accent-soft);
      }
      .dropzone p {
        flex: 1 1 220px;
      }
      .dropzone > .icon {
        color: var(--_accent);
      }
      .stack {
        display: grid;
        gap: var(--_space-4);
      }
      .count {
        font-size: 1rem;
      }
      .arrange {
        display: flex;
        gap: var(--_space-2);
        flex-wrap: wrap;
      }
      .arrange input {
        flex: 1 1 160px;
      }
      .arrange select {
        width: auto;
      }
      .arrange .hint {
        width: 100%;
        margin: 0;
      }
      .bulk {
        display: flex;
        align-items: center;
        gap: var(--_space-2);
        flex-wrap: wrap;
      }
      .bulk button {
        min-height: 36px;
      }
      .bulk-actions {
        display: flex;
        gap: var(--_space-2);
        flex-wrap: wrap;
        width: 100%;
      }
      .summary {
        display: flex;
        justify-content: space-between;
        align-items: baseline;
        gap: var(--_space-2);
        flex-wrap: wrap;
      }
    `,
  ];

  /** The record whose files are shown. */
  @property({ attribute: 'record-id' }) recordId?: string;

  @state() private openKey: string | undefined;
  @state() private over = false;
  @state() private alert: string | undefined;
  @state() private status = '';
  /** Choosing files to act on many at once. */
  @state() private selecting = false;
  @state() private checked: ReadonlySet<string> = new Set();
  @state() private busy = '';
  @state() private confirmBulkDelete = false;
  @state() private filter = '';
  @state() private order: FileOrder = 'record';
  @query('input.files') private picker?: HTMLInputElement;
  @query('input.folder') private folderPicker?: HTMLInputElement;
  private dragKey: string | undefined;
  private queue: { item: TrackedUpload; file: Blob; key: string }[] = [];
  private running = 0;
  /** The record object the writes go through. */
  private writer: CofferRecord | undefined;

  private view = new LiveQueryController(this, {
    query: async (coffer, id): Promise<FilesView> => {
      const record = await coffer!.records.get(id!);
      const files: FileObject[] = [];
      if (record.files) for await (const file of record.files) files.push(file);
      const bucket = record.bucket;
      if (bucket) await bucket.reload();
      return { record, files, locked: bucket?.locked ?? false, size: bucket?.size ?? 0 };
    },
    args: () => [this.coffer, this.recordId] as const,
    enabled: (coffer, id) => coffer !== undefined && id !== undefined,
  });

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('paste', this._onPaste);
    uploadTracker.addEventListener('change', this._onUploads);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('paste', this._onPaste);
    uploadTracker.removeEventListener('change', this._onUploads);
  }

  /**
   * This record's uploads, kept in {@link uploadTracker}: uploads go on when this element is
   * left (another tab), and a new `<coffer-files>` of the same record shows them again.
   */
  get uploads(): TrackedUpload[] {
    return this.coffer && this.recordId ? uploadTracker.forRecord(this.coffer.name, this.recordId) : [];
  }

  private _onUploads = (): void => this.requestUpdate();

  /**
   * Store `files` in the record, each as the new version of its name (or of `key`). Resolves
   * when all are done; each success or failure shows in the upload queue.
   */
  async addFiles(files: Iterable<File | { file: Blob; key: string }>): Promise<void> {
    const known = new Set(this.view.value?.files.map((f) => f.key));
    const picked: string[] = [];
    for (const entry of files) {
      const file = entry instanceof File ? entry : entry.file;
      const key = entry instanceof File ? entry.name : entry.key;
      const item: TrackedUpload = {
        id: crypto.randomUUID(),
        key,
        size: file.size,
        loaded: 0,
        state: 'queued',
        controller: new AbortController(),
        coffer: this.coffer!.name,
        recordId: this.recordId!,
      };
      uploadTracker.add(item);
      this.queue.push({ item, file, key });
      if (!known.has(key)) picked.push(key);
    }
    await this._drain();
    await this._keepPickedOrder(picked);
  }

  /**
   * Files written at once land in the order they finish; put the new ones back in the order
   * they were picked (in the places they took), so a small file picked last stays last.
   */
  private async _keepPickedOrder(picked: string[]): Promise<void> {
    if (picked.length < 2 || !this.coffer || !this.recordId) return;
    try {
      const record = await this.coffer.records.get(this.recordId);
      const keys = (await record.files?.keys()) ?? [];
      const wanted = new Set(picked);
      const landed = keys.filter((k) => wanted.has(k));
      const order = picked.filter((k, i) => landed.includes(k) && picked.indexOf(k) === i);
      if (landed.every((k, i) => k === order[i])) return;
      let next = 0;
      await this.act((files) => files.sortBy(keys.map((k) => (wanted.has(k) ? order[next++]! : k))));
    } catch {
      // The order is a nicety: the files are stored either way.
    }
  }

  /**
   * Run a change of the record's files on one shared record object. Writes through
   * `record.files` merge on the stored record, so they never conflict, with each other or with
   * other tabs.
   */
  readonly act = async <T>(change: (files: RecordFiles) => Promise<T>): Promise<T> => {
    const id = this.recordId!;
    if (this.writer?.id !== id) this.writer = await this.coffer!.records.get(id);
    return change(this.writer.files!);
  };

  override render() {
    if (this.view.error) {
      return html`<p class="alert" role="alert">${describeError(this.view.error)}</p>`;
    }
    const view = this.view.value;
    if (!view) return html`<p class="muted">Loading files…</p>`;
    const { files, locked } = view;
    const shown = this._arranged(files);
    const fixed = shown !== files;
    return html`
      <div
        class="stack"
        @dragover=${this._onDragOver}
        @dragleave=${() => (this.over = false)}
        @drop=${this._onDrop}
      >
        ${
          locked
            ? html`<p class="alert info" role="note">${icons.lock}<span>These files are locked. Unlock them in Settings to add or change files.</span></p>`
            : html`<div class="dropzone ${this.over ? 'over' : ''}" part="dropzone" @click=${this._onZoneClick}>
              ${icons.upload}
              <p><strong>Drop files or folders here</strong>, paste them, or <span class="muted">choose them from your device.</span></p>
              <button class="primary" @click=${() => this.picker?.click()}>${icons.plus} Add files</button>
              <button @click=${() => this.folderPicker?.click()}>${folderIcon} Add folder</button>
              <input class="files" type="file" multiple hidden aria-label="Add files" @change=${this._onPick} />
              <input class="folder" type="file" webkitdirectory hidden aria-label="Add a folder" @change=${this._onPickFolder} />
            </div>`
        }
        ${
          this.alert
            ? html`<div class="alert" role="alert"><p>${this.alert}</p><button class="ghost" @click=${() => (this.alert = undefined)}>Dismiss</button></div>`
            : ''
        }
        <coffer-upload-queue
          .items=${this.uploads}
          @coffer-upload-cancel=${(e: CustomEvent<{ id: string }>) => this._cancel(e.detail.id)}
          @coffer-upload-clear=${() => uploadTracker.clearFinished((u) => this.uploads.includes(u))}
        ></coffer-upload-queue>
        <div class="summary">
          <h2 class="count">${files.length} file${files.length === 1 ? '' : 's'}</h2>
          <span class="muted small">${formatBytes(view.size)} with all versions</span>
        </div>
        ${files.length > 1 ? this._renderArrange() : ''}
        ${files.length > 0 ? this._renderBulkBar(view, shown) : ''}
        ${
          shown.length === 0
            ? html`<p class="empty">${files.length === 0 ? 'No files yet.' : 'No file name matches.'}</p>`
            : html`<ul aria-label="Files" @coffer-check=${this._onCheck} @coffer-move=${this._onMove} @coffer-toggle=${this._onToggle} @coffer-renamed=${this._onRenamed}
              @coffer-new-version=${this._onNewVersion}>
              ${repeat(
                shown,
                (file) => file.key,
                (file, i) => html`<li>
                  <coffer-file-row
                    .coffer=${this.coffer}
                    .file=${file}
                    .act=${this.act}
                    .position=${i + 1}
                    .count=${files.length}
                    ?open=${this.openKey === file.key}
                    ?selectable=${this.selecting}
                    ?checked=${this.checked.has(file.key)}
                    ?locked=${locked}
                    ?fixed=${fixed}
                    data-key=${file.key}
                    @dragstart=${(e: DragEvent) => this._onRowDragStart(e, file.key)}
                    @dragend=${this._onRowDragEnd}
                  ></coffer-file-row>
                </li>`,
              )}
            </ul>`
        }
        <p class="visually-hidden" role="status" aria-live="polite">${this.status}</p>
      </div>
    `;
  }

  /** `files` filtered by name and put in the chosen order; `files` itself in record order. */
  private _arranged(files: FileObject[]): FileObject[] {
    const needle = this.filter.trim().toLocaleLowerCase();
    if (!needle && this.order === 'record') return files;
    const found = needle ? files.filter((f) => f.key.toLocaleLowerCase().includes(needle)) : [...files];
    return this.order === 'record' ? found : found.sort(ARRANGE[this.order]);
  }

  private _renderArrange() {
    return html`<div class="arrange">
      <label class="visually-hidden" for="filter">Filter files by name</label>
      <input id="filter" type="search" placeholder="Filter by name" .value=${this.filter}
        @input=${(e: Event) => (this.filter = (e.target as HTMLInputElement).value)} />
      <label class="visually-hidden" for="order">Order files by</label>
      <select id="order" @change=${(e: Event) => (this.order = (e.target as HTMLSelectElement).value as FileOrder)}>
        ${ORDERS.map((o) => html`<option value=${o.value} ?selected=${this.order === o.value}>${o.label}</option>`)}
      </select>
      ${
        this.order !== 'record' || this.filter.trim()
          ? html`<p class="muted small hint">Showing a view: choose Record order with no filter to move files.</p>`
          : ''
      }
    </div>`;
  }

  private _renderBulkBar(view: FilesView, shown: FileObject[]) {
    const { files, locked } = view;
    const live = files.filter((f) => this.checked.has(f.key));
    const none = live.length === 0 || this.busy !== '';
    if (!this.selecting) {
      return html`<div class="bulk">
        <button class="ghost" @click=${this._startSelecting}>Select</button>
        <button class="ghost" ?disabled=${this.busy !== ''} @click=${() => this._download(files, view)}>
          ${icons.download} Download all
        </button>
        ${this.busy ? html`<span class="muted small" aria-live="polite">${this.busy}</span>` : ''}
      </div>`;
    }
    return html`<div class="bulk selecting" role="group" aria-label="Selected files">
      <span class="small" aria-live="polite">${this.busy || `${live.length} of ${files.length} selected`}</span>
      <span class="spacer"></span>
      <button class="ghost" ?disabled=${shown.every((f) => this.checked.has(f.key))} @click=${() => (this.checked = new Set([...this.checked, ...shown.map((f) => f.key)]))}>Select all</button>
      <button class="ghost" ?disabled=${live.length === 0} @click=${() => (this.checked = new Set())}>Clear</button>
      <button class="ghost" @click=${this._endSelecting}>Done</button>
      <div class="bulk-actions">
        <button ?disabled=${none} @click=${() => this._download(live, view)}>${icons.download} Download ZIP</button>
        <button
          class="danger"
          ?disabled=${none || locked}
          @click=${() => this._deleteChecked(live)}
          @blur=${() => (this.confirmBulkDelete = false)}
        >
          ${icons.trash} ${this.confirmBulkDelete ? `Confirm: delete ${live.length}` : 'Delete'}
        </button>
      </div>
    </div>`;
  }

  private _startSelecting = (): void => {
    this.selecting = true;
    void this._focusInBar();
  };

  private _endSelecting = (): void => {
    this.selecting = false;
    this.checked = new Set();
    this.confirmBulkDelete = false;
    void this._focusInBar();
  };

  /** The button pressed is gone (Select, Done): focus goes to the bar's first enabled button. */
  private async _focusInBar(): Promise<void> {
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('.bulk button:not([disabled])')?.focus();
  }

  private _onCheck(event: CustomEvent<{ key: string; checked: boolean }>): void {
    const next = new Set(this.checked);
    if (event.detail.checked) next.add(event.detail.key);
    else next.delete(event.detail.key);
    this.checked = next;
    this.confirmBulkDelete = false;
  }

  /** Save `files` as one ZIP, each at its key (a key with `/` lands in folders). */
  private async _download(files: FileObject[], view: FilesView): Promise<void> {
    if (files.length === 1) return downloadFile(files[0]!);
    const { coffer } = this;
    if (!coffer) return;
    const title = String((view.record.data as { title?: unknown }).title || 'record');
    const name = `${title.replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '') || 'record'}-files.zip`;
    this.busy = `Preparing ${name}…`;
    try {
      const entries = [];
      for (const file of files)
        entries.push({ name: file.key, blob: await file.blob(), modified: file.created });
      const zip = await zipBlobs(coffer, entries, (done, total) => {
        this.busy = `Preparing ${name}… ${total ? Math.round((done / total) * 100) : 100}%`;
      });
      saveBlob(zip, name);
      this.status = `${name} is ready: ${files.length} files, ${formatBytes(zip.size)}.`;
    } catch (error) {
      this.alert = error instanceof RangeError ? error.message : this.report(error, { shown: true });
    } finally {
      this.busy = '';
    }
  }

  private async _deleteChecked(files: FileObject[]): Promise<void> {
    if (!this.confirmBulkDelete) {
      this.confirmBulkDelete = true;
      return;
    }
    this.confirmBulkDelete = false;
    try {
      const done = await this.act((record) =>
        deleteFiles(
          record,
          files.map((f) => f.key),
        ),
      );
      this.checked = new Set();
      this.status = done.message;
      this.emit<CofferDoneDetail>('coffer-done', done);
      // The Delete button that had focus is disabled now: keep focus in the list's controls.
      await this.updateComplete;
      const next =
        this.renderRoot.querySelector<HTMLElement>('.bulk button:not([disabled])') ??
        this.renderRoot.querySelector<HTMLElement>('.dropzone button');
      next?.focus();
    } catch (error) {
      this.alert = this.report(error, { shown: true });
    }
  }

  private async _drain(): Promise<void> {
    const runs: Promise<void>[] = [];
    while (this.running < PARALLEL_UPLOADS && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.running++;
      runs.push(
        this._upload(next.item, next.file, next.key).finally(() => {
          this.running--;
          return this._drain();
        }),
      );
    }
    await Promise.all(runs);
  }

  private async _upload(item: TrackedUpload, file: Blob, key: string): Promise<void> {
    if (item.controller.signal.aborted) {
      uploadTracker.update(item, { state: 'cancelled' });
      return;
    }
    uploadTracker.update(item, { state: 'uploading' });
    try {
      await this.act((files) =>
        files.set(key, file, {
          mimetype: file.type || undefined,
          signal: item.controller.signal,
          onProgress: ({ loaded }) => uploadTracker.progress(item, loaded),
        }),
      );
      uploadTracker.update(item, { state: 'done', loaded: item.size });
      this.status = `${key} stored.`;
      setTimeout(() => uploadTracker.remove(item), DONE_VISIBLE_MS);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ABORTED' || item.controller.signal.aborted) {
        uploadTracker.update(item, { state: 'cancelled' });
      } else {
        const message = this.report(error, { shown: true });
        uploadTracker.update(item, { state: 'failed', message });
        if (code === 'STORAGE_QUOTA_EXCEEDED') this.alert = message;
      }
    }
  }

  private _cancel(id: string): void {
    uploadTracker.cancel(id);
    this.queue = this.queue.filter((q) => q.item.id !== id);
  }

  private _onPick(event: Event): void {
    const input = event.target as HTMLInputElement;
    const files = [...(input.files ?? [])];
    input.value = '';
    void this.addFiles(files);
  }

  /** The drop zone opens the file picker wherever it is clicked (its buttons say what they do). */
  private _onZoneClick(event: MouseEvent): void {
    if ((event.composedPath()[0] as Element).closest?.('button, input')) return;
    this.picker?.click();
  }

  private _onPickFolder(event: Event): void {
    const input = event.target as HTMLInputElement;
    const files = folderFilesFromInput(input.files ?? []);
    input.value = '';
    if (files.length > 0) void this.addFolder(files);
  }

  /**
   * Store the files of a folder (or any batch) as one upload with one progress, each under
   * its key (its path in the folder: `raw/2026/img_001.tif`). Small files are committed many
   * per transaction, in path order. Resolves when all are done; files that fail are named in
   * the queue.
   */
  async addFolder(picked: readonly FolderFile[]): Promise<void> {
    if (picked.length === 0) return;
    // Browsers list a folder in no particular order: store it in path order.
    const files = [...picked].sort((a, b) => byName.compare(a.key, b.key));
    const roots = [...new Set(files.map((f) => (f.key.includes('/') ? `${f.key.split('/')[0]}/` : f.key)))];
    const label = `${roots.length === 1 ? roots[0] : `${roots.length} items`} (${files.length} file${files.length === 1 ? '' : 's'})`;
    const item: TrackedUpload = {
      id: crypto.randomUUID(),
      key: label,
      size: files.reduce((sum, f) => sum + f.file.size, 0),
      loaded: 0,
      state: 'uploading',
      controller: new AbortController(),
      coffer: this.coffer!.name,
      recordId: this.recordId!,
    };
    uploadTracker.add(item);
    try {
      const results = await this.act((record) =>
        record.setMany(
          files.map((f) => ({ key: f.key, source: f.file, mimetype: f.file.type || undefined })),
          {
            signal: item.controller.signal,
            onProgress: ({ loaded }) => uploadTracker.progress(item, loaded),
          },
        ),
      );
      const failed = results.filter((r) => !r.ok);
      if (item.controller.signal.aborted) {
        uploadTracker.update(item, { state: 'cancelled' });
      } else if (failed.length > 0) {
        const first = failed[0]!;
        const message = `${failed.length} of ${files.length} not stored: ${first.ok ? '' : describeError(first.error)}`;
        uploadTracker.update(item, { state: 'failed', message });
      } else {
        uploadTracker.update(item, { state: 'done', loaded: item.size });
        setTimeout(() => uploadTracker.remove(item), DONE_VISIBLE_MS);
      }
      this.status = `${files.length - failed.length} of ${files.length} files stored.`;
    } catch (error) {
      if (item.controller.signal.aborted) uploadTracker.update(item, { state: 'cancelled' });
      else uploadTracker.update(item, { state: 'failed', message: this.report(error, { shown: true }) });
    }
  }

  private _onDragOver(event: DragEvent): void {
    const types = event.dataTransfer?.types ?? [];
    if (types.includes(ROW_DRAG_TYPE)) {
      event.preventDefault();
      this._markDropTarget(event);
      return;
    }
    if (!types.includes('Files') || this.view.value?.locked) return;
    event.preventDefault();
    this.over = true;
  }

  private _onDrop(event: DragEvent): void {
    event.preventDefault();
    this.over = false;
    if (this.dragKey) {
      const target = this._rowAt(event);
      if (target) void this._reorderTo(this.dragKey, target.row.dataset.key!, target.after);
      this._clearDropMarks();
      return;
    }
    if (this.view.value?.locked) return;
    const entries = droppedEntries(event.dataTransfer);
    if (entries.some((entry) => entry.isDirectory)) {
      void filesOfEntries(entries).then((files) => this.addFolder(files));
      return;
    }
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length > 0) void this.addFiles(files);
  }

  private _onPaste = (event: ClipboardEvent): void => {
    const target = event.composedPath()[0] as HTMLElement | undefined;
    if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable))
      return;
    if (!this.isConnected || this.view.value?.locked) return;
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    event.preventDefault();
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    void this.addFiles(
      files.map((file, i) => {
        const ext = file.name.includes('.') ? file.name.slice(file.name.lastIndexOf('.')) : '';
        const generic = /^image\.\w+$/.test(file.name) || !file.name;
        return generic ? { file, key: `pasted-${stamp}${files.length > 1 ? `-${i + 1}` : ''}${ext}` } : file;
      }),
    );
  };

  private _onRowDragStart(event: DragEvent, key: string): void {
    this.dragKey = key;
    event.dataTransfer?.setData(ROW_DRAG_TYPE, key);
    event.dataTransfer?.setData('text/plain', key);
    if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
    (event.currentTarget as HTMLElement).setAttribute('dragging', '');
  }

  private _onRowDragEnd(event: DragEvent): void {
    const row = event.currentTarget as HTMLElement;
    row.removeAttribute('dragging');
    row.removeAttribute('draggable');
    this.dragKey = undefined;
    this._clearDropMarks();
  }

  private _rowAt(event: DragEvent): { row: CofferFileRow; after: boolean } | undefined {
    const row = event
      .composedPath()
      .find((node): node is CofferFileRow => (node as Element).tagName === 'COFFER-FILE-ROW');
    if (!row) return undefined;
    const box = row.getBoundingClientRect();
    return { row, after: event.clientY > box.top + box.height / 2 };
  }

  private _markDropTarget(event: DragEvent): void {
    this._clearDropMarks();
    const target = this._rowAt(event);
    if (!target || target.row.dataset.key === this.dragKey) return;
    target.row.setAttribute(target.after ? 'drop-after' : 'drop-before', '');
  }

  private _clearDropMarks(): void {
    for (const row of this.renderRoot.querySelectorAll('coffer-file-row')) {
      row.removeAttribute('drop-before');
      row.removeAttribute('drop-after');
    }
  }

  private async _reorderTo(key: string, targetKey: string, after: boolean): Promise<void> {
    const keys = this.view.value?.files.map((f) => f.key) ?? [];
    if (key === targetKey) return;
    const rest = keys.filter((k) => k !== key);
    const index = rest.indexOf(targetKey) + (after ? 1 : 0);
    rest.splice(index, 0, key);
    await this._sort(rest, `${key} moved to position ${index + 1}.`);
  }

  private async _onMove(event: CustomEvent<MoveDetail>): Promise<void> {
    const keys = this.view.value?.files.map((f) => f.key) ?? [];
    const from = keys.indexOf(event.detail.key);
    const to = from + event.detail.delta;
    if (from < 0 || to < 0 || to >= keys.length) return;
    keys.splice(from, 1);
    keys.splice(to, 0, event.detail.key);
    await this._sort(keys, `${event.detail.key} moved to position ${to + 1} of ${keys.length}.`);
    await this._focusRow(
      event.detail.key,
      '.grip',
      () => this.view.value?.files[to]?.key === event.detail.key,
    );
  }

  /** Once the list shows it (`ready`), focus `selector` in the row of `key`. */
  private async _focusRow(key: string, selector: string, ready: () => boolean): Promise<void> {
    for (let i = 0; i < 50 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.updateComplete;
    const row = this.renderRoot.querySelector<CofferFileRow>(
      `coffer-file-row[data-key="${CSS.escape(key)}"]`,
    );
    await row?.updateComplete;
    row?.renderRoot.querySelector<HTMLElement>(selector)?.focus();
  }

  private async _sort(keys: string[], done: string): Promise<void> {
    try {
      await this.act((files) => files.sortBy(keys));
      this.status = done;
    } catch (error) {
      this.alert = this.report(error, { shown: true });
    }
  }

  private _onToggle(event: CustomEvent<{ key: string }>): void {
    this.openKey = this.openKey === event.detail.key ? undefined : event.detail.key;
  }

  private async _onRenamed(event: CustomEvent<{ from: string; to: string }>): Promise<void> {
    const { from, to } = event.detail;
    if (this.openKey === from) this.openKey = to;
    this.status = `${from} renamed to ${to}.`;
    // The row is a new element under its new key: give it the focus the rename form had.
    await this._focusRow(to, '.name', () => !!this.view.value?.files.some((f) => f.key === to));
  }

  private _onNewVersion(event: CustomEvent<{ key: string; file: File }>): void {
    void this.addFiles([{ file: event.detail.file, key: event.detail.key }]);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-files': CofferFiles;
  }
}
