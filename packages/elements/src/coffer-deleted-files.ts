import type { CofferRecord, ObjectVersion } from '@coffer/core';
import { css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { CofferElement } from './base-element.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { checksumHex, formatAgo, formatBytes, formatDateTime } from './format.js';
import { icons } from './icons.js';
import { describeError } from './messages.js';
import { middleEllipsisStyles, midName } from './mid-name.js';
import { baseStyles, listElementStyles } from './styles.js';

/** A deleted key: its delete marker and the newest version that still has bytes. */
interface DeletedFile {
  key: string;
  marker: ObjectVersion;
  /** The version a restore brings back; none when only markers are left. */
  last: ObjectVersion | undefined;
  versions: ObjectVersion[];
}

/** What the list shows. */
interface DeletedView {
  record: CofferRecord;
  files: DeletedFile[];
  locked: boolean;
}

/** The versions live files were renamed from (their `renamedFrom` lists), by version id. */
async function renamedVersions(record: CofferRecord): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const entry of (await record.files?.dumps()) ?? []) {
    const list = Array.isArray(entry.renamedFrom) ? entry.renamedFrom : [];
    for (const item of list) if (typeof item?.versionId === 'string') ids.add(item.versionId);
  }
  return ids;
}

/**
 * The deleted files of a record: keys whose current version is a delete marker, except the
 * names a live file was renamed away from (their versions show in that file's history). "Restore"
 * makes the newest version that has bytes current again and puts the file back in the
 * record's list; "Remove permanently" removes every version of the key (its bytes are freed
 * by the next garbage collection).
 *
 * @fires coffer-file-restored - detail: `{ key: string }`
 * @fires coffer-file-removed - detail: `{ key: string }`
 * @fires coffer-error - when an action fails; detail: `{ error, message }`
 * @csspart item - one deleted file
 * @example
 * ```html
 * <coffer-deleted-files record-id="…"></coffer-deleted-files>
 * <script type="module">
 *   document.querySelector('coffer-deleted-files').coffer = coffer;
 * </script>
 * ```
 */
@customElement('coffer-deleted-files')
export class CofferDeletedFiles extends CofferElement {
  static override styles = [
    baseStyles,
    listElementStyles,
    css`
      li {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        gap: var(--_space-2) var(--_space-3);
        align-items: center;
        padding: var(--_space-2) var(--_space-3);
        border: 1px dashed var(--_border);
        border-radius: var(--_radius);
        background: var(--_surface);
      }
      .name {
        font-weight: 600;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        color: var(--_muted);
        text-decoration: line-through;
        text-decoration-color: color-mix(in srgb, var(--_muted) 60%, transparent);
      }
      .meta {
        font-size: 0.8rem;
        color: var(--_muted);
        font-variant-numeric: tabular-nums;
      }
      .actions {
        display: flex;
        gap: var(--_space-1);
        flex-wrap: wrap;
        justify-content: flex-end;
      }
      @media (max-width: 560px) {
        li {
          grid-template-columns: 1fr;
        }
        .actions {
          justify-content: flex-start;
        }
      }
    `,
    middleEllipsisStyles,
  ];

  /** The record whose deleted files are listed. */
  @property({ attribute: 'record-id' }) recordId?: string;

  @state() private confirming: string | undefined;
  @state() private busy: string | undefined;
  @state() private status = '';

  private view = new LiveQueryController(this, {
    query: async (coffer, id): Promise<DeletedView> => {
      const record = await coffer!.records.get(id!);
      const bucket = record.bucket;
      if (!bucket) return { record, files: [], locked: false };
      await bucket.reload();
      const heads = await bucket.objects.list({ withDeleted: true });
      const renamedAway = await renamedVersions(record);
      const files: DeletedFile[] = [];
      for (const marker of heads) {
        if (!marker.isDeleteMarker) continue;
        const versions = await bucket.objects.versions(marker.key);
        const last = versions.find((v) => !v.isDeleteMarker);
        // A name a file was renamed away from: its versions show under the file it became.
        if (last && renamedAway.has(last.versionId)) continue;
        files.push({ key: marker.key, marker, last, versions });
      }
      files.sort((a, b) => b.marker.created.getTime() - a.marker.created.getTime());
      return { record, files, locked: bucket.locked };
    },
    args: () => [this.coffer, this.recordId] as const,
    enabled: (coffer, id) => coffer !== undefined && id !== undefined,
  });

  /** How many deleted files the record has (once loaded). */
  get count(): number {
    return this.view.value?.files.length ?? 0;
  }

  override render() {
    if (this.view.error) return html`<p class="alert" role="alert">${describeError(this.view.error)}</p>`;
    const view = this.view.value;
    if (!view) return html`<p class="muted small">Loading deleted files…</p>`;
    return html`
      ${
        view.files.length === 0
          ? html`<p class="empty">No deleted files.</p>`
          : html`<ul aria-label="Deleted files">
            ${repeat(
              view.files,
              (f) => f.key,
              (f) => this._renderItem(f, view.locked),
            )}
          </ul>`
      }
      <p class="visually-hidden" role="status" aria-live="polite">${this.status}</p>
    `;
  }

  private _renderItem(file: DeletedFile, locked: boolean) {
    const { key, marker, last } = file;
    const kept = file.versions.filter((v) => !v.isDeleteMarker).length;
    const confirming = this.confirming === key;
    return html`<li part="item" data-key=${key}>
      <div style="min-width:0">
        <div class="name mid-name" title=${key}>${midName(key)}</div>
        <div class="meta">
          <span title=${formatDateTime(marker.created)}>Deleted ${formatAgo(marker.created)}</span>
          ${
            last
              ? html` · ${formatBytes(last.size)} · md5 <span class="mono">${checksumHex(last.checksum).slice(0, 8)}</span> ·
                ${kept} version${kept === 1 ? '' : 's'} kept`
              : html` · no version with content is left`
          }
        </div>
      </div>
      <div class="actions">
        ${
          last
            ? html`<button
              ?disabled=${locked || !!this.busy}
              @click=${() => this._restore(file)}
              aria-label="Restore ${key}"
            >
              ${icons.restore} Restore
            </button>`
            : nothing
        }
        <button
          class="danger"
          ?disabled=${locked || !!this.busy}
          @click=${() => this._remove(file)}
          @blur=${() => {
            if (this.confirming === key) this.confirming = undefined;
          }}
          aria-label=${confirming ? `Confirm remove: ${key}, permanently` : `Remove permanently: ${key}`}
        >
          ${icons.trash} ${confirming ? 'Confirm remove' : 'Remove permanently'}
        </button>
      </div>
    </li>`;
  }

  private async _restore(file: DeletedFile): Promise<void> {
    const record = this.view.value?.record;
    if (!file.last || !record) return;
    this.busy = file.key;
    try {
      // Through the record: the file comes back with its description and rename history.
      const fresh = await this.coffer!.records.get(record.id);
      if (fresh.files) await fresh.files.restoreVersion(file.key, file.last.versionId);
      else await file.last.restore();
      this.status = `${file.key} restored.`;
      this.emit('coffer-file-restored', { key: file.key });
    } catch (error) {
      this.status = this.report(error);
    } finally {
      this.busy = undefined;
    }
  }

  private async _remove(file: DeletedFile): Promise<void> {
    if (this.confirming !== file.key) {
      this.confirming = file.key;
      return;
    }
    this.confirming = undefined;
    this.busy = file.key;
    try {
      // Oldest first, the delete marker last: removing the marker while older versions remain
      // would make the newest of them current again.
      const bucket = this.view.value!.record.bucket!;
      const versions = await bucket.objects.versions(file.key);
      for (const version of versions.reverse()) await version.remove();
      this.status = `${file.key} was removed permanently.`;
      this.emit('coffer-file-removed', { key: file.key });
    } catch (error) {
      this.status = this.report(error);
    } finally {
      this.busy = undefined;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-deleted-files': CofferDeletedFiles;
  }
}
