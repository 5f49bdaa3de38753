import type { Bucket } from '@coffer/core';
import { css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { CofferElement } from './base-element.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { formatBytes } from './format.js';
import { baseStyles } from './styles.js';

const MB = 1024 * 1024;

/** A bucket's fields as shown. */
interface BucketView {
  bucket: Bucket;
  title: string;
}

/**
 * The bucket of a record: its usage against the quota, the quota and the maximum file size,
 * lock and unlock, and a snapshot into a new record.
 *
 * @fires coffer-record-created - after a snapshot; detail: `{ id: string }`
 * @fires coffer-error - when an action fails; detail: `{ error, message }`
 * @csspart meter - the usage bar
 *
 * @example
 * ```html
 * <coffer-bucket-panel record-id="survey-12"></coffer-bucket-panel>
 * <script type="module">
 *   document.querySelector('coffer-bucket-panel').coffer = coffer;
 * </script>
 * ```
 */
@customElement('coffer-bucket-panel')
export class CofferBucketPanel extends CofferElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      section + section {
        margin-top: var(--_space-4);
      }
      .usage {
        display: flex;
        justify-content: space-between;
        margin: var(--_space-3) 0 var(--_space-2);
        font-variant-numeric: tabular-nums;
      }
      form {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(180px, 1fr));
        gap: var(--_space-3);
        align-items: end;
        margin-top: var(--_space-4);
      }
      form .field {
        margin: 0;
      }
      .lock {
        display: flex;
        align-items: center;
        gap: var(--_space-3);
        flex-wrap: wrap;
      }
      .lock p {
        flex: 1 1 220px;
      }
    `,
  ];

  /** The record whose bucket is shown. */
  @property({ attribute: 'record-id' }) recordId?: string;

  @state() private message: string | undefined;
  @state() private busy = false;
  /** Limits asked for with a quota under what is stored: saved once confirmed. */
  @state() private belowUse: { quotaSize: number; maxFileSize: number | null } | undefined;

  private view = new LiveQueryController(this, {
    query: async (coffer, id): Promise<BucketView | undefined> => {
      const record = await coffer!.records.get(id!);
      const bucket = record.bucket;
      if (!bucket) return undefined;
      await bucket.reload();
      return { bucket, title: String((record.data as { title?: unknown }).title ?? 'Untitled record') };
    },
    args: () => [this.coffer, this.recordId] as const,
    enabled: (coffer, id) => coffer !== undefined && id !== undefined,
  });

  override render() {
    const view = this.view.value;
    if (this.view.error)
      return html`<p class="alert" role="alert">${this.report(this.view.error, { shown: true })}</p>`;
    if (!view) return html`<p class="muted">Loading…</p>`;
    const { bucket } = view;
    const quota = bucket.quotaSize;
    const ratio = quota ? bucket.size / quota : 0;
    return html`
      <section class="card" aria-labelledby="usage-title">
        <h2 id="usage-title">Space for this record's files</h2>
        <div class="usage">
          <span><strong>${formatBytes(bucket.size)}</strong> used</span>
          <span class="muted">${quota === null ? 'no limit' : `of ${formatBytes(quota)}`}</span>
        </div>
        <div
          class="meter ${ratio > 0.9 ? 'high' : ''}"
          part="meter"
          role="meter"
          aria-label="Space used by this record's files"
          aria-valuemin="0"
          aria-valuemax=${quota ?? bucket.size}
          aria-valuenow=${bucket.size}
          aria-valuetext="${formatBytes(bucket.size)} of ${quota === null ? 'no limit' : formatBytes(quota)}"
        >
          <span style="width:${quota ? Math.min(ratio * 100, 100) : 0}%"></span>
        </div>
        <p class="hint" style="margin-top:8px">
          Every version of every file counts in full, even when its content is stored only once on this device
          (the same bytes in several versions or records are kept once). So the space the device uses, under
          Storage, can be less than the records' totals added up.
        </p>
        <form @submit=${this._onSaveLimits}>
          <div class="field">
            <label for="quota">Quota (MB)</label>
            <input
              id="quota"
              name="quota"
              type="number"
              min="0"
              step="any"
              inputmode="decimal"
              placeholder="No limit"
              .value=${quota === null ? '' : String(+(quota / MB).toFixed(2))}
              ?disabled=${bucket.locked}
            />
          </div>
          <div class="field">
            <label for="max">Largest file (MB)</label>
            <input
              id="max"
              name="max"
              type="number"
              min="0"
              step="any"
              inputmode="decimal"
              placeholder="No limit"
              .value=${bucket.maxFileSize === null ? '' : String(+(bucket.maxFileSize / MB).toFixed(2))}
              ?disabled=${bucket.locked}
            />
          </div>
          ${
            this.belowUse
              ? html`<div class="alert warn" role="alert">
                <p>
                  These files already use ${formatBytes(bucket.size)}, more than a quota of
                  ${formatBytes(this.belowUse.quotaSize)}. Nothing is deleted, but no file can be added or
                  changed until the quota is raised.
                </p>
                <div class="row">
                  <button type="button" class="primary" @click=${() => this._saveLimits(this.belowUse!)}>Save anyway</button>
                  <button type="button" @click=${() => (this.belowUse = undefined)}>Cancel</button>
                </div>
              </div>`
              : html`<div><button type="submit" ?disabled=${this.busy || bucket.locked}>Save limits</button></div>`
          }
        </form>
      </section>
      <section class="card" aria-labelledby="lock-title">
        <div class="lock">
          <p>
            <strong id="lock-title">${bucket.locked ? 'Files are locked' : 'Files can be changed'}</strong><br />
            <span class="muted small"
              >${
                bucket.locked
                  ? 'No file can be added, changed, renamed or deleted until you unlock.'
                  : 'Lock to protect the files from any change.'
              }</span
            >
          </p>
          <button
            class=${bucket.locked ? '' : 'primary'}
            aria-pressed=${bucket.locked ? 'true' : 'false'}
            ?disabled=${this.busy}
            @click=${() => this._run(() => (bucket.locked ? bucket.unlock() : bucket.lock()), bucket.locked ? 'Unlocked.' : 'Locked.')}
          >
            ${bucket.locked ? 'Unlock files' : 'Lock files'}
          </button>
        </div>
      </section>
      <section class="card" aria-labelledby="snapshot-title">
        <div class="lock">
          <p>
            <strong id="snapshot-title">Snapshot</strong><br />
            <span class="muted small"
              >A new record with a copy of the current files, locked. Copies share their bytes: no extra
              space is used.</span
            >
          </p>
          <button ?disabled=${this.busy} @click=${() => this._onSnapshot(view)}>Snapshot into a new record</button>
        </div>
      </section>
      <p role="status" aria-live="polite" class="small muted" style="margin-top:8px">${this.message ?? ''}</p>
    `;
  }

  private async _run(action: () => Promise<unknown>, done: string): Promise<void> {
    this.busy = true;
    this.message = undefined;
    try {
      await action();
      this.message = done;
      this.view.refresh();
    } catch (error) {
      this.message = this.report(error, { shown: true });
    } finally {
      this.busy = false;
    }
  }

  private _onSaveLimits(event: SubmitEvent): void {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const bytes = (name: string) => {
      const raw = String(form.get(name) ?? '').trim();
      return raw === '' ? null : Math.round(Number(raw) * MB);
    };
    const bucket = this.view.value?.bucket;
    if (!bucket) return;
    const limits = { quotaSize: bytes('quota'), maxFileSize: bytes('max') };
    // A quota under what is stored is allowed (Invenio allows it) but never by surprise.
    if (limits.quotaSize !== null && limits.quotaSize < bucket.size)
      this.belowUse = { quotaSize: limits.quotaSize, maxFileSize: limits.maxFileSize };
    else this._saveLimits(limits);
  }

  private _saveLimits(limits: { quotaSize: number | null; maxFileSize: number | null }): void {
    const bucket = this.view.value?.bucket;
    this.belowUse = undefined;
    if (bucket) void this._run(() => bucket.update(limits), 'Limits saved.');
  }

  private _onSnapshot(view: BucketView): void {
    const coffer = this.coffer!;
    void this._run(async () => {
      const source = await coffer.records.get(this.recordId!);
      const { _bucket, _files, ...data } = source.data as Record<string, unknown>;
      const copy = await coffer.records.create({ ...data, title: `${view.title} (snapshot)` });
      await source.bucket!.sync(copy.bucket!);
      const entries = await source.files!.dumps();
      await copy.files!.flush();
      await copy.files!.sortBy(entries.map((entry) => entry.key));
      for (const { bucket, checksum, file_id, key, size, version_id, ...extra } of entries) {
        if (Object.keys(extra).length > 0) await copy.files!.setMetadata(key, extra);
      }
      await copy.bucket!.lock();
      this.emit('coffer-record-created', { id: copy.id });
    }, 'Snapshot created.');
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-bucket-panel': CofferBucketPanel;
  }
}
