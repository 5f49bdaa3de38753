import type { FileObject, ObjectVersion } from '@coffer/core';
import { css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { CofferElement } from './base-element.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { downloadFile } from './file-url.js';
import { checksumHex, formatAgo, formatBytes, formatDateTime } from './format.js';
import { baseStyles, listElementStyles } from './styles.js';

/**
 * Every version of one file, newest first, across its renames (a version from before a rename
 * is labelled with the name it had): restore an older one (a new current version of the file,
 * under its current name, that shares its bytes), preview or download any, or remove one for good.
 *
 * @fires coffer-preview - detail: `{ version: ObjectVersion }`
 * @fires coffer-versions-changed - after a restore or a removal; detail: `{ key: string }`
 * @fires coffer-error - when an action fails; detail: `{ error, message }`
 * @csspart version - one version row
 *
 * @example
 * ```ts
 * const history = document.createElement('coffer-version-history');
 * history.coffer = coffer;
 * history.file = await record.files!.get('site.jpg');
 * history.addEventListener('coffer-preview', (e) => show(e.detail.version));
 * ```
 */
@customElement('coffer-version-history')
export class CofferVersionHistory extends CofferElement {
  static override styles = [
    baseStyles,
    listElementStyles,
    css`
      ol {
        gap: 0;
      }
      li {
        display: grid;
        grid-template-columns: 1fr;
        gap: var(--_space-1) var(--_space-3);
        padding: var(--_space-2) 0;
        border-top: 1px solid var(--_border);
        align-items: center;
      }
      li:first-child {
        border-top: 0;
      }
      .when {
        font-weight: 500;
      }
      .meta {
        font-size: 0.8rem;
        color: var(--_muted);
        font-variant-numeric: tabular-nums;
      }
      .old-name {
        max-width: 16em;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .actions {
        display: flex;
        gap: var(--_space-1);
        flex-wrap: wrap;
      }
      .actions button {
        min-height: 30px;
        font-size: 0.82rem;
        padding: 0 var(--_space-2);
      }
    `,
  ];

  /** The file whose versions are listed. */
  @property({ attribute: false }) file?: FileObject | undefined;
  /** Whether the bucket is locked (restore and remove are then disabled). */
  @property({ type: Boolean }) locked = false;

  @state() private confirming: string | undefined;
  @state() private message = '';

  private versions = new LiveQueryController(this, {
    // Across renames when the file belongs to a record: versions from before a rename are
    // listed too, under the name they had.
    query: (file) => file!.record?.files?.history(file!.key) ?? file!.versions(),
    args: () => [this.file] as const,
    enabled: (file) => file !== undefined,
  });

  override render() {
    const versions = this.versions.value;
    if (!versions) return html`<p class="muted small">Loading versions…</p>`;
    return html`
      <ol aria-label="Versions of ${this.file?.key}">
        ${repeat(
          versions,
          (v) => v.versionId,
          (v, i) => this._renderVersion(v, versions.length - i),
        )}
      </ol>
      <p class="small muted" role="status" aria-live="polite">${this.message}</p>
    `;
  }

  private _renderVersion(version: ObjectVersion, number: number) {
    const marker = version.isDeleteMarker;
    return html`
      <li part="version" data-version-id=${version.versionId}>
        <div>
          <div class="row">
            <span class="when" title=${formatDateTime(version.created)}>Version ${number} · ${formatAgo(version.created)}</span>
            ${version.isHead && version.key === this.file?.key ? html`<span class="badge accent">Current</span>` : ''}
            ${version.key !== this.file?.key ? html`<span class="badge old-name" title=${version.key}>as ${version.key}</span>` : ''}
            ${marker ? html`<span class="badge danger">Deleted</span>` : ''}
          </div>
          ${
            marker
              ? ''
              : html`<div class="meta">${formatBytes(version.size)} · md5 <span class="mono">${checksumHex(version.checksum).slice(0, 12)}…</span></div>`
          }
        </div>
        <div class="actions">
          ${
            marker
              ? ''
              : html`
                <button @click=${() => this.emit('coffer-preview', { version })} aria-label="Preview version ${number}">Preview</button>
                <button @click=${() => void downloadFile(version)} aria-label="Download version ${number}">Download</button>
                ${
                  version.isHead && version.key === this.file?.key
                    ? ''
                    : html`<button ?disabled=${this.locked} @click=${() => this._restore(version, number)} aria-label="Restore version ${number}">Restore</button>`
                }
              `
          }
          <button
            class="danger"
            ?disabled=${this.locked}
            @click=${() => this._remove(version, number)}
            @blur=${() => {
              if (this.confirming === version.versionId) this.confirming = undefined;
            }}
            aria-label=${this.confirming === version.versionId ? `Confirm remove version ${number} for good` : `Remove version ${number} for good`}
          >
            ${this.confirming === version.versionId ? 'Confirm remove' : 'Remove'}
          </button>
        </div>
      </li>
    `;
  }

  private async _restore(version: ObjectVersion, number: number): Promise<void> {
    const file = this.file;
    try {
      const files = file?.record?.files;
      if (files && file) await files.restoreVersion(file.key, version.versionId);
      else await version.restore();
      this.message = `Version ${number} is current again${file && version.key !== file.key ? ` as ${file.key}` : ''}.`;
      this.emit('coffer-versions-changed', { key: version.key });
    } catch (error) {
      this.message = this.report(error, { shown: true });
    }
  }

  private async _remove(version: ObjectVersion, number: number): Promise<void> {
    if (this.confirming !== version.versionId) {
      this.confirming = version.versionId;
      return;
    }
    this.confirming = undefined;
    try {
      await version.remove();
      this.message = `Version ${number} was removed for good.`;
      this.emit('coffer-versions-changed', { key: version.key });
    } catch (error) {
      this.message = this.report(error, { shown: true });
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-version-history': CofferVersionHistory;
  }
}
