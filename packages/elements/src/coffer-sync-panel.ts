import type { BrowserSync, SyncConflict, SyncProgress, SyncRemoteConfig } from '@coffer/core/sync';
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { describeSyncError, describeSyncProblem, type SyncProblemText } from './coffer-sync-messages.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { formatAgo, formatBytes } from './format.js';
import { describeError } from './messages.js';
import { baseStyles, panelStyles } from './styles.js';

/** The form's fields. */
interface RemoteForm {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  prefix: string;
  /** How a pull takes file bodies: at once, or on first open. */
  bodies: 'eager' | 'lazy';
}

/** Where a message shows: beside the form, the status or the conflicts. */
type Place = 'form' | 'status' | 'conflicts';

const EMPTY: RemoteForm = {
  endpoint: '',
  bucket: '',
  region: '',
  accessKeyId: '',
  secretAccessKey: '',
  prefix: '',
  bodies: 'eager',
};

const PHASES: Record<string, string> = {
  idle: 'Up to date',
  pushing: 'Sending changes…',
  pulling: 'Receiving changes…',
  offline: 'Offline: waiting for the network',
  error: 'Sync failed',
  paused: 'Paused',
};

/** A value of a conflict, short enough for a line. */
function preview(value: unknown): string {
  if (value === undefined) return '(removed)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/**
 * Sync with an S3 bucket: the remote form (endpoint, bucket, region, keys, prefix) with a
 * connection test that names each problem and how to fix it, Save, Sync now, Pause/Resume,
 * progress, the last success and error, and the conflicts to resolve (keep mine / keep theirs).
 *
 * Give it a `BrowserSync` from `openBrowserSync(coffer)` (`@coffer/core/sync`). The keys are
 * kept on this device, unencrypted, and the panel says so.
 *
 * @fires coffer-sync-saved - after Save; detail: `{ endpoint: string, bucket: string }`
 * @csspart meter - the progress bar
 *
 * @example
 * ```html
 * <coffer-sync-panel></coffer-sync-panel>
 * <script type="module">
 *   import { openBrowserSync } from '@coffer/core/sync';
 *   document.querySelector('coffer-sync-panel').sync = openBrowserSync(coffer);
 * </script>
 * ```
 */
@customElement('coffer-sync-panel')
export class CofferSyncPanel extends LitElement {
  static override styles = [
    baseStyles,
    panelStyles,
    css`
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(220px, 1fr));
        column-gap: var(--_space-3);
      }
      .grid .wide {
        grid-column: 1 / -1;
      }
      .check {
        display: flex;
        align-items: center;
        gap: var(--_space-2);
        cursor: pointer;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: var(--_space-2);
        margin-top: var(--_space-2);
      }
      .status-line {
        display: flex;
        align-items: center;
        gap: var(--_space-2);
        flex-wrap: wrap;
        margin: var(--_space-2) 0;
      }
      .facts {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: var(--_space-1) var(--_space-3);
        margin: var(--_space-3) 0;
      }
      .facts dt {
        color: var(--_muted);
      }
      .facts dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      .problems {
        list-style: none;
        margin: var(--_space-3) 0 0;
        padding: 0;
        display: grid;
        gap: var(--_space-2);
      }
      .problems li {
        display: grid;
        gap: var(--_space-1);
      }
      pre {
        margin: var(--_space-1) 0 0;
        padding: var(--_space-2) var(--_space-3);
        background: var(--_surface-2);
        border: 1px solid var(--_border);
        border-radius: 8px;
        overflow-x: auto;
        font-size: 0.8rem;
        white-space: pre;
        /* Scrolls inside the card: width 0 keeps its long lines out of the page's min width. */
        width: 0;
        min-width: 100%;
      }
      .conflicts {
        list-style: none;
        margin: var(--_space-3) 0 0;
        padding: 0;
        display: grid;
        gap: var(--_space-3);
      }
      .conflicts li {
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
        padding: var(--_space-3);
        display: grid;
        gap: var(--_space-2);
      }
      .sides {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(200px, 1fr));
        gap: var(--_space-2);
      }
      .sides div {
        background: var(--_surface-2);
        border-radius: 8px;
        padding: var(--_space-2) var(--_space-3);
        overflow-wrap: anywhere;
      }
      .ok {
        color: var(--_ok);
      }
      .note {
        margin-top: var(--_space-3);
      }
    `,
  ];

  /** The sync of the coffer, from `openBrowserSync(coffer)`. */
  @property({ attribute: false }) sync?: BrowserSync | undefined;

  @state() private form: RemoteForm = EMPTY;
  @state() private edited = false;
  @state() private testing = false;
  @state() private saving = false;
  @state() private busy = false;
  @state() private problems: SyncProblemText[] | undefined;
  @state() private message: { text: string; kind: 'info' | 'error'; place: Place } | undefined;
  @state() private progress: SyncProgress | undefined;

  private stored = new LiveQueryController(this, {
    query: (sync) => sync!.remote(),
    args: () => [this.sync] as const,
    enabled: (sync) => sync !== undefined,
  });

  private status = new LiveQueryController(this, {
    query: async (sync) => ({ status: await sync!.status(), conflicts: await sync!.conflicts() }),
    args: () => [this.sync] as const,
    enabled: (sync) => sync !== undefined,
  });

  private listening: BrowserSync | undefined;

  override updated(): void {
    if (this.listening !== this.sync) {
      this.listening?.removeEventListener('progress', this.onProgress);
      this.listening = this.sync;
      this.listening?.addEventListener('progress', this.onProgress);
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.listening?.removeEventListener('progress', this.onProgress);
    this.listening = undefined;
  }

  private onProgress = (event: Event): void => {
    this.progress = (event as CustomEvent<SyncProgress>).detail;
  };

  override willUpdate(): void {
    // The form shows the stored remote until the person edits it.
    const config = this.stored.value?.config;
    if (!this.edited && config) {
      this.form = {
        endpoint: config.endpoint,
        bucket: config.bucket,
        region: config.region ?? '',
        accessKeyId: config.credentials?.accessKeyId ?? '',
        secretAccessKey: config.credentials?.secretAccessKey ?? '',
        prefix: config.prefix ?? '',
        bodies: config.bodies ?? 'eager',
      };
    }
  }

  override render() {
    return html`${this.renderStatus()} ${this.renderForm()} ${this.renderConflicts()}`;
  }

  private renderStatus() {
    const stored = this.stored.value;
    const view = this.status.value;
    if (!stored || !view) return nothing;
    const { status } = view;
    const paused = stored.paused;
    const phase = paused && (status.phase === 'idle' || status.phase === 'paused') ? 'paused' : status.phase;
    const running = phase === 'pushing' || phase === 'pulling';
    const progress = running ? this.progress : undefined;
    const error = status.lastErrorCode
      ? describeSyncError(status.lastErrorCode, status.lastErrorMessage)
      : '';
    const toGo =
      status.filesToGo > 0
        ? `${status.filesToGo} file${status.filesToGo === 1 ? '' : 's'} (${formatBytes(status.bytesToGo)}) to send`
        : 'Nothing waiting to be sent';
    return html`<section class="card" aria-labelledby="sync-status-title">
      <h2 id="sync-status-title">Sync with ${stored.config.bucket}</h2>
      <p class="muted small">${stored.config.endpoint}${stored.config.prefix ? ` · ${stored.config.prefix}` : ''}</p>
      <div class="status-line">
        <strong role="status" aria-live="polite" id="phase">${PHASES[phase] ?? phase}</strong>
      </div>
      ${
        progress
          ? html`<div
              class="meter"
              part="meter"
              role="progressbar"
              aria-label="Sync progress"
              aria-valuemin="0"
              aria-valuemax=${progress.files.total}
              aria-valuenow=${progress.files.done}
              aria-valuetext="${progress.files.done} of ${progress.files.total} files, ${formatBytes(progress.bytes)} ${progress.phase === 'pushing' ? 'sent' : 'received'}"
            >
              <span style="width:${progress.files.total ? (100 * progress.files.done) / progress.files.total : 0}%"></span>
            </div>
            <p class="small muted">
              ${progress.files.done} of ${progress.files.total} files · ${formatBytes(progress.bytes)}
              ${progress.phase === 'pushing' ? 'sent' : 'received'}
            </p>`
          : nothing
      }
      <dl class="facts">
        <dt>To send</dt>
        <dd id="to-go">${toGo}</dd>
        <dt>Last synced</dt>
        <dd id="last-success">${status.lastSuccess ? formatAgo(status.lastSuccess) : 'Not yet'}</dd>
        ${error ? html`<dt>Last error</dt><dd id="last-error">${error}</dd>` : nothing}
      </dl>
      <div class="actions">
        <button class="primary" ?disabled=${this.busy} @click=${this.syncNow}>Sync now</button>
        ${
          paused
            ? html`<button ?disabled=${this.busy} @click=${this.resume}>Resume</button>`
            : html`<button ?disabled=${this.busy} @click=${this.pause}>Pause</button>`
        }
      </div>
      <div role="status" aria-live="polite" class="note">${this.renderMessage('status')}</div>
    </section>`;
  }

  private renderForm() {
    const f = this.form;
    const field = (
      id: keyof RemoteForm,
      label: string,
      attrs: { type?: string; hint?: string; placeholder?: string; wide?: boolean } = {},
    ) =>
      html`<div class="field ${attrs.wide ? 'wide' : ''}">
        <label for=${id}>${label}</label>
        <input
          id=${id}
          name=${id}
          type=${attrs.type ?? 'text'}
          autocomplete="off"
          spellcheck="false"
          placeholder=${attrs.placeholder ?? ''}
          aria-describedby=${attrs.hint ? `${id}-hint` : nothing}
          .value=${f[id]}
          @input=${(e: Event) => this.edit(id, (e.target as HTMLInputElement).value)}
        />
        ${attrs.hint ? html`<span class="hint" id="${id}-hint">${attrs.hint}</span>` : nothing}
      </div>`;
    return html`<section class="card" aria-labelledby="remote-title">
      <h2 id="remote-title">${this.stored.value ? 'Bucket' : 'Set up sync'}</h2>
      <p class="muted small" style="margin:4px 0 12px">
        Coffer keeps every record and every file version in an S3 bucket with versioning on (Amazon S3, Ceph,
        MinIO…), and brings back what other devices put there.
      </p>
      <form @submit=${this.save} novalidate>
        <div class="grid">
          ${field('endpoint', 'Endpoint', { type: 'url', placeholder: 'https://s3.example.org', wide: true })}
          ${field('bucket', 'Bucket')} ${field('region', 'Region', { placeholder: 'us-east-1' })}
          ${field('accessKeyId', 'Access key')} ${field('secretAccessKey', 'Secret key', { type: 'password' })}
          ${field('prefix', 'Prefix (optional)', { placeholder: 'coffer/', hint: 'Keeps this coffer in a folder of the bucket.', wide: true })}
          <div class="field wide">
            <label class="check">
              <input
                id="bodies"
                name="bodies"
                type="checkbox"
                aria-describedby="bodies-hint"
                .checked=${f.bodies === 'lazy'}
                @change=${(e: Event) => this.edit('bodies', (e.target as HTMLInputElement).checked ? 'lazy' : 'eager')}
              />
              Download files from other devices when first opened
            </label>
            <span class="hint" id="bodies-hint">
              Records and file details arrive at once; each file's bytes only when it is opened (or kept offline).
              For large collections.
            </span>
          </div>
        </div>
        <p class="alert info small" id="keys-note">
          <span>The keys are kept on this device, in this browser's storage, unencrypted. Use keys that can reach
          this bucket only.</span>
        </p>
        <div class="actions">
          <button type="button" ?disabled=${this.testing || !this.complete()} @click=${this.test}>
            ${this.testing ? 'Testing…' : 'Test connection'}
          </button>
          <button type="submit" class="primary" ?disabled=${this.saving || !this.complete()}>
            ${this.saving ? 'Saving…' : 'Save'}
          </button>
          ${this.stored.value ? html`<button type="button" class="ghost danger" @click=${this.forget}>Forget bucket</button>` : nothing}
        </div>
      </form>
      <div role="status" aria-live="polite" class="note">
        ${this.renderMessage('form')}
        ${this.problems ? this.renderProblems(this.problems) : nothing}
      </div>
    </section>`;
  }

  private renderMessage(place: Place) {
    const message = this.message;
    if (message?.place !== place) return nothing;
    return html`<p class="alert ${message.kind === 'info' ? 'info' : ''}" id="message">${message.text}</p>`;
  }

  private renderProblems(problems: SyncProblemText[]) {
    if (problems.length === 0) {
      return html`<p class="ok" id="test-ok"><strong>Connection works:</strong> the bucket keeps versions and these keys can write.</p>`;
    }
    return html`<ul class="problems" aria-label="Problems found">
      ${problems.map(
        (p) => html`<li class="alert" data-code=${p.code}>
          <div>
            <strong>${p.title}</strong>
            <p>${p.fix}</p>
            ${p.snippet ? html`<pre tabindex="0" aria-label="To copy">${p.snippet}</pre>` : nothing}
          </div>
        </li>`,
      )}
    </ul>`;
  }

  private renderConflicts() {
    const conflicts = this.status.value?.conflicts ?? [];
    if (!this.stored.value && conflicts.length === 0) return nothing;
    return html`<section class="card" aria-labelledby="conflicts-title">
      <h2 id="conflicts-title">Conflicts${conflicts.length ? ` (${conflicts.length})` : ''}</h2>
      <div role="status" aria-live="polite" class="note">${this.renderMessage('conflicts')}</div>
      ${
        conflicts.length === 0
          ? html`<p class="muted small" style="margin-top:4px">None: when two devices change the same field, it shows here.</p>`
          : html`<p class="muted small" style="margin-top:4px">
                Two devices changed the same field. The value shown in the record now is the one marked “kept for now”.
              </p>
              <ul class="conflicts">
                ${conflicts.map((c) => this.renderConflict(c))}
              </ul>`
      }
    </section>`;
  }

  private renderConflict(c: SyncConflict) {
    const field =
      c.path[0] === '_files' ? `file “${c.path[1]}”, ${c.path.slice(2).join('.')}` : c.path.join('.');
    return html`<li data-conflict=${c.id}>
      <p><strong>${field}</strong> <span class="muted small">in record <a href="#/records/${encodeURIComponent(c.recordId)}/details">${c.recordId}</a></span></p>
      <div class="sides">
        <div><span class="label">Mine${c.winner === 'local' ? ' (kept for now)' : ''}</span>${preview(c.local)}</div>
        <div><span class="label">Theirs${c.winner === 'remote' ? ' (kept for now)' : ''}</span>${preview(c.remote)}</div>
      </div>
      <div class="actions">
        <button @click=${() => this.resolve(c, 'local')} aria-label="Keep mine: ${field}">Keep mine</button>
        <button @click=${() => this.resolve(c, 'remote')} aria-label="Keep theirs: ${field}">Keep theirs</button>
      </div>
    </li>`;
  }

  private edit(id: keyof RemoteForm, value: string): void {
    this.form = { ...this.form, [id]: value };
    this.edited = true;
    this.problems = undefined;
  }

  private complete(): boolean {
    const f = this.form;
    return !!(f.endpoint.trim() && f.bucket.trim() && f.accessKeyId.trim() && f.secretAccessKey);
  }

  /** The configuration the form describes (tuning kept from the stored one). */
  config(): SyncRemoteConfig {
    const f = this.form;
    const kept = this.stored.value?.config;
    return {
      ...(kept?.interval ? { interval: kept.interval } : {}),
      ...(kept?.partSize ? { partSize: kept.partSize } : {}),
      ...(kept?.multipartThreshold ? { multipartThreshold: kept.multipartThreshold } : {}),
      endpoint: f.endpoint.trim(),
      bucket: f.bucket.trim(),
      ...(f.region.trim() ? { region: f.region.trim() } : {}),
      ...(f.prefix.trim() ? { prefix: f.prefix.trim() } : {}),
      ...(f.bodies === 'lazy' ? { bodies: 'lazy' as const } : {}),
      credentials: { accessKeyId: f.accessKeyId.trim(), secretAccessKey: f.secretAccessKey },
    };
  }

  private test = async (): Promise<void> => {
    if (!this.sync) return;
    this.testing = true;
    this.message = undefined;
    this.problems = undefined;
    const config = this.config();
    try {
      const { problems } = await this.sync.check(config);
      this.problems = problems.map((p) => describeSyncProblem(p, config, location.origin));
    } catch (error) {
      this.message = { text: this.describe(error), kind: 'error', place: 'form' };
    } finally {
      this.testing = false;
    }
  };

  private save = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (!this.sync || !this.complete()) return;
    this.saving = true;
    this.message = undefined;
    const config = this.config();
    try {
      await this.sync.configure(config);
      this.edited = false;
      this.message = {
        text: 'Saved. Coffer syncs with this bucket now and in the background.',
        kind: 'info',
        place: 'form',
      };
      this.dispatchEvent(
        new CustomEvent('coffer-sync-saved', {
          detail: { endpoint: config.endpoint, bucket: config.bucket },
          bubbles: true,
          composed: true,
        }),
      );
    } catch (error) {
      this.message = { text: this.describe(error), kind: 'error', place: 'form' };
    } finally {
      this.saving = false;
    }
  };

  private forget = async (): Promise<void> => {
    if (
      !this.sync ||
      !confirm(
        'Stop syncing and forget this bucket and its keys on this device? Nothing is deleted from the bucket.',
      )
    )
      return;
    await this.act(
      () => this.sync!.configure(undefined),
      'This device no longer syncs. Your records stay here.',
      'form',
    );
    this.edited = false;
    this.form = EMPTY;
  };

  private syncNow = (): Promise<void> =>
    this.act(async () => {
      this.progress = undefined;
      const report = await this.sync!.now({ onProgress: (p) => (this.progress = p) });
      const sent = report.versionsPushed + report.recordsPushed;
      const got = report.versionsPulled + report.recordsPulled;
      return `Synced: ${sent} change${sent === 1 ? '' : 's'} sent, ${got} received.`;
    });

  private pause = (): Promise<void> =>
    this.act(() => this.sync!.stop(), 'Paused. Nothing syncs until you resume.');
  private resume = (): Promise<void> => this.act(() => this.sync!.start(), 'Resumed.');

  private resolve = (c: SyncConflict, choice: 'local' | 'remote'): Promise<void> =>
    this.act(
      () => this.sync!.resolveConflict(c.id, choice),
      choice === 'local' ? 'Kept your value. It is sent with the next sync.' : 'Kept their value.',
      'conflicts',
    );

  private async act(work: () => Promise<unknown>, done?: string, place: Place = 'status'): Promise<void> {
    if (!this.sync) return;
    this.busy = true;
    this.message = undefined;
    try {
      const result = await work();
      const text = typeof result === 'string' ? result : done;
      if (text) this.message = { text, kind: 'info', place };
    } catch (error) {
      this.message = { text: this.describe(error), kind: 'error', place };
    } finally {
      this.busy = false;
      this.progress = undefined;
    }
  }

  private describe(error: unknown): string {
    const e = error as { code?: string; message?: string; argument?: string } | null;
    if (e?.code === 'INVALID_ARGUMENT') return e.message ?? 'A field is not valid.';
    const text = describeSyncError(e?.code, ''); // '' for codes that are not sync's
    return text || describeError(error);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-sync-panel': CofferSyncPanel;
  }
}
