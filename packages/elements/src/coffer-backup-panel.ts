import type { ImportReport, OnConflict } from '@coffer/core';
import { css, html, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { CofferElement } from './base-element.js';
import './coffer-record-list.js';
import { formatBytes } from './format.js';
import { icons } from './icons.js';
import { describeError } from './messages.js';
import { baseStyles, panelStyles } from './styles.js';

/** A long operation in progress. */
interface Running {
  kind: 'export' | 'import';
  loaded: number;
  total: number | undefined;
  controller: AbortController;
}

/** Where a finished export went. */
type Saved =
  | { kind: 'file'; name: string; size: number }
  | { kind: 'link'; name: string; size: number; url: string };

/** The parts of the File System Access API used here (not in TypeScript's DOM types). */
interface SaveFilePicker {
  showSaveFilePicker(options: {
    suggestedName: string;
    types: { description: string; accept: Record<string, string[]> }[];
  }): Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;
}

/** Why an archive was refused, for people: `{name}` is the entry at fault (or "A file"). */
const BAG_PROBLEMS: Record<string, string> = {
  'not-zip': 'This file is not a ZIP archive.',
  truncated: 'The archive is incomplete: it was cut off, perhaps by an unfinished download or copy.',
  'unsupported-zip':
    'The archive uses a ZIP feature Coffer cannot read (encryption or an unusual compression).',
  'unsafe-path': '{name} in the archive has an unsafe path.',
  'duplicate-entry': '{name} is in the archive twice.',
  'overlapping-entries': 'The archive is malformed: its entries overlap.',
  'size-mismatch': '{name} in the archive is not the size the archive says.',
  'compression-ratio': '{name} in the archive expands far more than real data would.',
  'too-large': 'The archive would not fit in the space this browser has left.',
  'not-a-bag': 'This ZIP is not a Coffer backup (it has no bagit.txt).',
  'invalid-tag-file': '{name}, a description file of the backup, is not valid.',
  'missing-file': '{name} is listed in the backup but missing from it.',
  'extra-file': '{name} is in the archive but not in its list of files.',
  'checksum-mismatch': '{name} in the backup is damaged: its checksum does not match the one saved with it.',
  'payload-oxum': 'The backup does not hold the number or size of files it declares.',
  'invalid-document': '{name} in the backup is not a valid record.',
};

/**
 * A sentence for a failed import: an invalid archive names what is wrong (its `reason` and
 * `path`); every failure says that nothing was imported.
 *
 * @example
 * ```ts
 * await coffer.import(file).catch((e) => (message.textContent = describeImportError(e)));
 * ```
 */
export function describeImportError(error: unknown): string {
  const e = error as { code?: string; reason?: string; path?: string } | null;
  if (e?.code === 'INVALID_BAG') {
    const problem = BAG_PROBLEMS[e.reason ?? ''] ?? 'The archive is not a valid Coffer backup.';
    // The entry's own name is what people recognise: `data/records/<id>/files/plan.pdf` → `plan.pdf`.
    const name = e.path?.split('/').filter(Boolean).pop();
    return `${problem.replace('{name}', name ? `“${name}”` : 'A file')} Nothing was imported.`;
  }
  if (e?.code === 'ABORTED') return 'Import cancelled. Nothing was imported.';
  const message = describeError(error);
  return /nothing was/i.test(message) ? message : `${message} Nothing was imported.`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * An import report in plain words, one sentence per kind of thing.
 *
 * @example
 * ```ts
 * const lines = describeImportReport(await coffer.import(file)); // ["2 records imported.", ...]
 * ```
 */
export function describeImportReport(report: ImportReport): string[] {
  const { records, buckets, versions, files, bytes } = report;
  const lines: string[] = [];
  const parts = (counts: { imported: number; replaced?: number; skipped: number }, noun: string) => {
    const out = [`${plural(counts.imported, noun)} imported`];
    if (counts.replaced) out.push(`${counts.replaced} replaced`);
    if (counts.skipped)
      out.push(
        `${counts.skipped} skipped because ${counts.skipped === 1 ? 'it is' : 'they are'} already here`,
      );
    return out.join(', ');
  };
  lines.push(`${parts(records, 'record')}.`);
  const loose =
    buckets.imported +
    buckets.replaced +
    buckets.skipped -
    (records.imported + records.replaced + records.skipped);
  if (loose > 0) lines.push(`${parts(buckets, 'file container')}.`);
  const fileParts = [`${plural(files.imported, 'file')} written (${formatBytes(bytes)})`];
  if (files.reused) fileParts.push(`${files.reused} already stored here and shared`);
  if (files.skipped)
    fileParts.push(`${files.skipped} skipped with ${files.skipped === 1 ? 'its' : 'their'} record`);
  lines.push(`${fileParts.join(', ')}.`);
  lines.push(
    `${plural(versions.imported, 'file version')} added${versions.skipped ? `, ${versions.skipped} skipped` : ''}.`,
  );
  return lines;
}

/**
 * `coffer-backup-<yyyy-mm-dd>.zip`, in local time.
 *
 * @example
 * ```ts
 * link.download = backupFileName(); // "coffer-backup-2026-11-25.zip"
 * ```
 */
export function backupFileName(date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `coffer-backup-${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}.zip`;
}

/**
 * Backups: export all records, or the ones chosen, into one ZIP file (a BagIt bag with every
 * checksum), optionally with every version and revision; import one back with a choice for
 * records that exist already. Both show progress and can be cancelled. The ZIP is saved with
 * the File System Access API where the browser has it, else offered as a download.
 *
 * @fires coffer-exported - detail: `{ name: string, size: number, records: string[] | 'all' }`
 * @fires coffer-imported - detail: {@link ImportReport}
 * @fires coffer-error - when an export fails; detail: `{ error, message }`
 * @csspart export - the export card
 * @csspart import - the import card
 * @example
 * ```html
 * <coffer-backup-panel></coffer-backup-panel>
 * <script type="module">
 *   const panel = document.querySelector('coffer-backup-panel');
 *   panel.coffer = coffer;
 *   panel.addEventListener('coffer-imported', (e) => console.log(e.detail.records.imported));
 * </script>
 * ```
 */
@customElement('coffer-backup-panel')
export class CofferBackupPanel extends CofferElement {
  static override styles = [
    baseStyles,
    panelStyles,
    css`
      section {
        display: grid;
        gap: var(--_space-3);
      }
      .check {
        display: flex;
        align-items: flex-start;
        gap: var(--_space-2);
        font-weight: 500;
        font-size: 0.92rem;
        margin: 0;
        cursor: pointer;
      }
      .check input,
      fieldset input {
        width: 18px;
        height: 18px;
        min-height: 0;
        margin: 2px 0 0;
        flex: none;
        accent-color: var(--_accent);
      }
      .check .hint {
        display: block;
        font-weight: 400;
      }
      .records {
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
        padding: var(--_space-3);
        max-height: 340px;
        overflow: auto;
      }
      fieldset {
        border: 0;
        padding: 0;
        margin: 0;
        display: grid;
        gap: var(--_space-2);
      }
      legend {
        font-size: 0.85rem;
        font-weight: 600;
        margin-bottom: var(--_space-2);
        padding: 0;
      }
      .progress {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        gap: var(--_space-1) var(--_space-3);
        align-items: center;
        padding: var(--_space-3);
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
        background: var(--_surface-2);
      }
      .progress .meter {
        grid-column: 1 / -1;
        background: var(--_surface);
      }
      .meter.indeterminate > span {
        width: 30%;
        animation: slide 1.2s ease-in-out infinite;
      }
      @keyframes slide {
        from {
          translate: -100%;
        }
        to {
          translate: 340%;
        }
      }
      .detail {
        font-size: 0.82rem;
        color: var(--_muted);
        font-variant-numeric: tabular-nums;
      }
      .alert ul {
        margin: var(--_space-1) 0 0;
        padding-left: 1.2em;
      }
      .alert .icon {
        flex: none;
        margin-top: 2px;
      }
      .done {
        background: color-mix(in srgb, var(--_ok) 12%, var(--_surface));
        border-color: color-mix(in srgb, var(--_ok) 40%, transparent);
      }
      .done .icon {
        color: var(--_ok);
      }
      input[type='file'] {
        padding: var(--_space-2);
      }
    `,
  ];

  /** Preselected record ids for "Export selected". */
  @property({ attribute: false }) selection: readonly string[] = [];

  @state() private includeVersions = false;
  @state() private onConflict: OnConflict = 'skip';
  @state() private running: Running | undefined;
  @state() private saved: Saved | undefined;
  @state() private exportError = '';
  @state() private importFile: File | undefined;
  @state() private importReport: string[] | undefined;
  @state() private importError = '';
  @query('#backup-file') private fileInput?: HTMLInputElement;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.running?.controller.abort();
    this._revoke();
  }

  /**
   * Export the records `ids` (all when omitted) and save the ZIP: to a file the user picks
   * where the browser can, else through a download link.
   */
  async exportRecords(ids?: readonly string[]): Promise<void> {
    const coffer = this.coffer;
    if (!coffer || this.running) return;
    this._revoke();
    this.saved = undefined;
    this.exportError = '';
    const name = backupFileName();
    // Ask where to save first, while the click still counts as a user gesture.
    let target: Awaited<ReturnType<SaveFilePicker['showSaveFilePicker']>> | undefined;
    const picker = (globalThis as unknown as Partial<SaveFilePicker>).showSaveFilePicker;
    if (picker) {
      try {
        target = await picker({
          suggestedName: name,
          types: [{ description: 'Coffer backup (ZIP)', accept: { 'application/zip': ['.zip'] } }],
        });
      } catch (error) {
        if ((error as { name?: string }).name === 'AbortError') return;
        target = undefined; // No picker here after all (e.g. no user gesture): download instead.
      }
    }
    const controller = new AbortController();
    this.running = { kind: 'export', loaded: 0, total: undefined, controller };
    try {
      const blob = await coffer.export({
        ...(ids ? { records: [...ids] } : {}),
        includeVersions: this.includeVersions,
        name: name.replace(/\.zip$/, ''),
        signal: controller.signal,
        onProgress: (p) => this._progress(p),
      });
      if (target) {
        await blob.stream().pipeTo(await target.createWritable(), { signal: controller.signal });
        this.saved = { kind: 'file', name, size: blob.size };
      } else {
        const url = URL.createObjectURL(blob);
        this.saved = { kind: 'link', name, size: blob.size, url };
        await this.updateComplete;
        this.renderRoot.querySelector<HTMLAnchorElement>('a.save')?.click();
      }
      this.emit('coffer-exported', { name, size: blob.size, records: ids ? [...ids] : 'all' });
    } catch (error) {
      const code = (error as { code?: string; name?: string }).code;
      this.exportError =
        code === 'ABORTED' || controller.signal.aborted
          ? 'Export cancelled. Nothing was saved.'
          : `${this.report(error, { shown: true }).replace(/ Please try again\.$/, '')} The backup was not saved.`;
    } finally {
      this.running = undefined;
    }
  }

  /** Import `file` (a ZIP made by an export) with the chosen conflict rule; shows the report. */
  async importBackup(file: Blob = this.importFile!): Promise<ImportReport | undefined> {
    const coffer = this.coffer;
    if (!coffer || !file || this.running) return undefined;
    this.importReport = undefined;
    this.importError = '';
    const controller = new AbortController();
    this.running = { kind: 'import', loaded: 0, total: file.size, controller };
    try {
      const report = await coffer.import(file, {
        onConflict: this.onConflict,
        signal: controller.signal,
        onProgress: (p) => this._progress(p),
      });
      this.importReport = describeImportReport(report);
      this.importFile = undefined;
      if (this.fileInput) this.fileInput.value = '';
      this.emit('coffer-imported', report);
      return report;
    } catch (error) {
      this.importError = controller.signal.aborted
        ? 'Import cancelled. Nothing was imported.'
        : describeImportError(error);
      return undefined;
    } finally {
      this.running = undefined;
    }
  }

  override render() {
    const running = this.running;
    const count = this.selection.length;
    return html`
      <section class="card" part="export" aria-labelledby="export-title">
        <h2 id="export-title">Export a backup</h2>
        <p class="muted small">
          One ZIP file with the records, their files and a checksum for every file. Keep it anywhere; import it
          here or in another browser.
        </p>
        <label class="check">
          <input
            type="checkbox"
            .checked=${this.includeVersions}
            ?disabled=${!!running}
            @change=${(e: Event) => (this.includeVersions = (e.target as HTMLInputElement).checked)}
          />
          <span>Include all versions
            <span class="hint">Every earlier version of each file and every revision of each record, not only the current ones.</span></span
          >
        </label>
        <div class="row">
          <button class="primary" ?disabled=${!!running} @click=${() => this.exportRecords()}>
            ${icons.download} Export all
          </button>
          <button ?disabled=${!!running || count === 0} @click=${() => this.exportRecords(this.selection)}>
            Export selected (${count})
          </button>
        </div>
        <div class="records">
          <coffer-record-list
            selectable
            page-size="8"
            .coffer=${this.coffer}
            .selection=${this.selection}
            @coffer-selection-change=${(e: CustomEvent<{ ids: string[] }>) => {
              e.stopPropagation();
              this.selection = e.detail.ids;
            }}
          ></coffer-record-list>
        </div>
        ${running?.kind === 'export' ? this._renderProgress(running, 'Exporting') : nothing}
        ${this._renderSaved()}
        ${this.exportError ? html`<p class="alert" role="alert">${this.exportError}</p>` : nothing}
      </section>

      <section class="card" part="import" aria-labelledby="import-title">
        <h2 id="import-title">Import a backup</h2>
        <p class="muted small">
          Every file is checked against its checksum before anything is stored: a damaged or altered backup changes
          nothing.
        </p>
        <div class="field" style="margin:0">
          <label for="backup-file">Backup file (ZIP)</label>
          <input
            id="backup-file"
            type="file"
            accept=".zip,application/zip"
            ?disabled=${!!running}
            @change=${(e: Event) => {
              this.importFile = (e.target as HTMLInputElement).files?.[0];
              this.importReport = undefined;
              this.importError = '';
            }}
          />
        </div>
        <fieldset ?disabled=${!!running}>
          <legend>When a record in the backup is already here</legend>
          ${this._conflictChoice('skip', 'Keep the one here', 'The backup’s copy is skipped.')}
          ${this._conflictChoice('replace', 'Replace it with the backup’s', 'What is here now is overwritten.')}
          ${this._conflictChoice('new-ids', 'Import as new records', 'Both are kept; the backup’s get new ids.')}
        </fieldset>
        <div class="row">
          <button class="primary" ?disabled=${!!running || !this.importFile} @click=${() => this.importBackup()}>
            ${icons.upload} Import
          </button>
        </div>
        ${running?.kind === 'import' ? this._renderProgress(running, 'Importing') : nothing}
        ${
          this.importReport
            ? html`<div class="alert done" role="status">
              ${icons.check}
              <div><strong>Import finished.</strong>
                <ul>${this.importReport.map((line) => html`<li>${line}</li>`)}</ul>
              </div>
            </div>`
            : nothing
        }
        ${this.importError ? html`<p class="alert" role="alert">${this.importError}</p>` : nothing}
      </section>
    `;
  }

  private _conflictChoice(value: OnConflict, label: string, hint: string) {
    return html`<label class="check">
      <input
        type="radio"
        name="conflict"
        value=${value}
        .checked=${this.onConflict === value}
        @change=${() => (this.onConflict = value)}
      />
      <span>${label}<span class="hint">${hint}</span></span>
    </label>`;
  }

  private _renderProgress(running: Running, verb: string) {
    const { loaded, total } = running;
    const percent = total ? Math.min(100, Math.round((loaded / total) * 100)) : undefined;
    return html`<div class="progress">
      <strong>${verb}…</strong>
      <button @click=${() => running.controller.abort()}>Cancel</button>
      <div
        class="meter ${percent === undefined ? 'indeterminate' : ''}"
        role="progressbar"
        aria-label="${verb === 'Exporting' ? 'Export' : 'Import'} progress"
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow=${percent ?? nothing}
      >
        <span style=${percent === undefined ? '' : `width:${percent}%`}></span>
      </div>
      <span class="detail">
        ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)} · ${percent}%` : ''}
      </span>
    </div>`;
  }

  private _renderSaved() {
    const saved = this.saved;
    if (!saved) return nothing;
    return html`<div class="alert done" role="status">
      ${icons.check}
      <p>
        ${
          saved.kind === 'file'
            ? html`Backup saved as <strong>${saved.name}</strong> (${formatBytes(saved.size)}).`
            : html`Backup ready (${formatBytes(saved.size)}).
              <a class="save" href=${saved.url} download=${saved.name}>Save ${saved.name}</a>`
        }
      </p>
    </div>`;
  }

  private _progress(p: { loaded: number; total: number | undefined }): void {
    if (!this.running) return;
    this.running = { ...this.running, loaded: p.loaded, total: p.total ?? this.running.total };
  }

  private _revoke(): void {
    if (this.saved?.kind === 'link') URL.revokeObjectURL(this.saved.url);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-backup-panel': CofferBackupPanel;
  }
}
