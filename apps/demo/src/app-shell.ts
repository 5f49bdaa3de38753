import { type Coffer, openCoffer } from '@coffer/core';
import { type BrowserSync, openBrowserSync } from '@coffer/core/sync';
import {
  baseStyles,
  type CofferDoneDetail,
  type CofferErrorDetail,
  cofferContext,
  describeError,
  formatAgo,
  LiveQueryController,
  type TrackedUpload,
  uploadTracker,
} from '@coffer/elements';
import { provide } from '@lit/context';
import { css, html, LitElement } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { COFFER_NAME } from './config.js';
import { NewRecords } from './new-records.js';
import { ServiceWorkerUpdateController } from './sw-update.js';

/** Whether an upload is over (stored, failed or cancelled). */
const ended = (item: TrackedUpload): boolean => item.state !== 'queued' && item.state !== 'uploading';

/** Where a tab keeps the id of the record it just created (see `_setFresh`). */
const FRESH_KEY = 'coffer-new-record';

/** The title of a new record. */
const UNTITLED = 'Untitled record';

/** The record screen's tabs. */
const TABS = [
  { id: 'files', label: 'Files' },
  { id: 'details', label: 'Details' },
  { id: 'history', label: 'History' },
  { id: 'bucket', label: 'Settings' },
] as const;
type Tab = (typeof TABS)[number]['id'];

/** Where the app is, read from the URL hash. */
type Route =
  | { view: 'records' }
  | { view: 'record'; id: string; tab: Tab }
  | { view: 'trash' }
  | { view: 'backup' }
  | { view: 'sync' }
  | { view: 'storage' };

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'records' && parts[1]) {
    const tab = TABS.find((t) => t.id === parts[2])?.id ?? 'files';
    return { view: 'record', id: parts[1], tab };
  }
  if (parts[0] === 'trash') return { view: 'trash' };
  if (parts[0] === 'storage') return { view: 'storage' };
  if (parts[0] === 'backup') return { view: 'backup' };
  if (parts[0] === 'sync') return { view: 'sync' };
  return { view: 'records' };
}

/** A message in the corner. */
interface Toast {
  id: number;
  text: string;
  kind: 'error' | 'info';
  /** Takes back what the toast tells; resolves with what was restored. */
  undo?: (() => Promise<string>) | undefined;
}

/** The event `beforeinstallprompt` (not in TypeScript's DOM types). */
interface InstallPromptEvent extends Event {
  prompt(): Promise<void>;
  userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}

/**
 * The Coffer app: opens the coffer, provides it to every element, routes by hash between the
 * record list, a record (files, details, history, bucket), the trash and storage, and shows
 * update prompts and errors.
 */
@customElement('coffer-app')
export class CofferApp extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: grid;
        grid-template-rows: auto 1fr;
        min-height: 100dvh;
        background: var(--_bg);
      }
      .top {
        position: sticky;
        top: 0;
        z-index: 5;
        background: color-mix(in srgb, var(--_surface) 92%, transparent);
        backdrop-filter: blur(8px);
        border-bottom: 1px solid var(--_border);
      }
      .top-inner {
        max-width: 1320px;
        margin: 0 auto;
        display: flex;
        align-items: center;
        gap: var(--_space-4);
        padding: var(--_space-2) var(--_space-5);
        min-height: 56px;
      }
      .skip {
        position: absolute;
        left: var(--_space-2);
        top: -80px;
        z-index: 30;
        padding: var(--_space-2) var(--_space-3);
        border-radius: 8px;
        background: var(--_surface);
        color: var(--_accent);
        font-weight: 600;
        box-shadow: var(--_focus);
      }
      .skip:focus {
        top: var(--_space-2);
      }
      main:focus {
        outline: none;
      }
      h1.list-title {
        font-size: 1.15rem;
      }
      .upload-tray {
        position: fixed;
        right: var(--_space-4);
        bottom: var(--_space-4);
        z-index: 15;
        width: min(420px, calc(100vw - 24px));
        max-height: 50dvh;
        overflow: auto;
        padding: var(--_space-3);
        display: grid;
        gap: var(--_space-2);
        box-shadow: 0 8px 24px rgb(0 0 0 / 0.18);
      }
      .tray-link {
        color: var(--_accent);
        font-weight: 500;
      }
      .brand {
        display: flex;
        align-items: center;
        gap: var(--_space-2);
        font-weight: 700;
        font-size: 1.1rem;
        color: inherit;
        text-decoration: none;
        letter-spacing: -0.01em;
      }
      .brand img {
        width: 28px;
        height: 28px;
        border-radius: 7px;
      }
      nav.main {
        display: flex;
        gap: var(--_space-1);
      }
      nav.main a {
        color: var(--_muted);
        text-decoration: none;
        font-weight: 500;
        padding: 6px 12px;
        border-radius: 8px;
      }
      nav.main a:hover {
        background: var(--_surface-2);
        color: var(--_text);
      }
      nav.main a[aria-current='page'] {
        color: var(--_accent);
        background: var(--_accent-soft);
      }
      .layout {
        max-width: 1320px;
        width: 100%;
        margin: 0 auto;
        padding: var(--_space-5);
        display: grid;
        grid-template-columns: 340px minmax(0, 1fr);
        gap: var(--_space-5);
        align-items: start;
      }
      .layout.single {
        grid-template-columns: minmax(0, 880px);
        justify-content: center;
      }
      aside {
        position: sticky;
        top: 80px;
        max-height: calc(100dvh - 100px);
        overflow: auto;
        padding: var(--_space-4);
      }
      aside header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        margin-bottom: var(--_space-3);
      }
      h1 {
        margin: 0;
        font-size: 1.5rem;
        line-height: 1.2;
        letter-spacing: -0.015em;
        overflow-wrap: anywhere;
      }
      .record-head {
        margin-bottom: var(--_space-4);
      }
      .record-head .meta {
        margin-top: var(--_space-1);
      }
      .keep-offline {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: var(--_space-2);
        margin: 0 0 var(--_space-3);
      }
      nav.tabs {
        display: flex;
        gap: var(--_space-1);
        border-bottom: 1px solid var(--_border);
        margin-bottom: var(--_space-4);
        overflow-x: auto;
        /* Room for the focus ring, which overflow would clip. */
        padding: 4px 4px 0;
      }
      nav.tabs a:focus-visible {
        outline: none;
        box-shadow: inset var(--_focus);
        border-radius: 6px 6px 0 0;
      }
      nav.tabs a {
        color: var(--_muted);
        text-decoration: none;
        font-weight: 550;
        padding: var(--_space-2) var(--_space-3);
        border-bottom: 2px solid transparent;
        margin-bottom: -1px;
        white-space: nowrap;
      }
      nav.tabs a[aria-current='page'] {
        color: var(--_accent);
        border-bottom-color: var(--_accent);
      }
      .back {
        display: none;
        color: var(--_accent);
        text-decoration: none;
        margin-bottom: var(--_space-2);
        font-weight: 500;
      }
      .welcome {
        display: grid;
        justify-items: center;
        gap: var(--_space-3);
        text-align: center;
        padding: 72px var(--_space-5);
      }
      .welcome img {
        width: 72px;
        height: 72px;
        border-radius: 18px;
      }
      .welcome p {
        max-width: 440px;
      }
      .toasts {
        position: fixed;
        left: 50%;
        bottom: var(--_space-4);
        translate: -50% 0;
        display: grid;
        gap: var(--_space-2);
        width: min(560px, calc(100vw - 24px));
        z-index: 20;
      }
      .toast {
        display: flex;
        align-items: center;
        gap: var(--_space-3);
        padding: var(--_space-3) var(--_space-4);
        border-radius: var(--_radius);
        background: var(--_text);
        color: var(--_surface);
        box-shadow: 0 8px 24px rgb(0 0 0 / 0.2);
      }
      .toast p {
        flex: 1;
      }
      .toast button {
        background: transparent;
        color: inherit;
        border-color: color-mix(in srgb, var(--_surface) 40%, transparent);
      }
      .toast button.primary {
        background: var(--_surface);
        color: var(--_text);
      }
      .toast.error {
        background: var(--_danger);
        color: white;
      }
      .sync-status {
        text-decoration: none;
        border-radius: 999px;
      }
      .offline {
        background: var(--_warn-soft);
        color: var(--_text);
        border-color: transparent;
      }
      section.activity {
        margin-top: var(--_space-4);
      }
      section.activity > p {
        margin: 2px 0 var(--_space-3);
      }
      details.deleted {
        margin-top: var(--_space-5);
        border-top: 1px solid var(--_border);
        padding-top: var(--_space-3);
      }
      details.deleted summary {
        cursor: pointer;
        font-weight: 600;
        color: var(--_muted);
        padding: var(--_space-1) 0;
      }
      details.deleted[open] summary {
        color: var(--_text);
        margin-bottom: var(--_space-1);
      }
      details.deleted coffer-deleted-files {
        margin-top: var(--_space-3);
      }
      .fatal {
        max-width: 560px;
        margin: 80px auto;
      }
      @media (max-width: 900px) {
        .layout {
          grid-template-columns: minmax(0, 1fr);
          padding: var(--_space-3);
          gap: var(--_space-3);
        }
        aside {
          position: static;
          max-height: none;
        }
        .layout.record aside {
          display: none;
        }
        .layout.list .content {
          display: none;
        }
        .back {
          display: inline-block;
        }
        .top-inner {
          padding: var(--_space-2) var(--_space-3);
          gap: var(--_space-2);
        }
        .brand span {
          display: none;
        }
        h1 {
          font-size: 1.3rem;
        }
      }
      @media (max-width: 600px) {
        .top-inner {
          flex-wrap: wrap;
          row-gap: var(--_space-1);
        }
        nav.main {
          gap: 0;
          min-width: 0;
        }
        nav.main a {
          padding: 6px 8px;
        }
        /* With Install offered the links take a line of their own, under the brand and the button. */
        .has-install nav.main {
          order: 3;
          flex-basis: 100%;
        }
        .has-install .spacer {
          order: 1;
        }
        .install {
          order: 2;
        }
        .install .wide {
          display: none;
        }
        nav.tabs {
          gap: 0;
        }
        nav.tabs a {
          padding: var(--_space-2) 9px;
        }
        .upload-tray {
          right: 12px;
          bottom: 12px;
        }
      }
      @media (max-width: 380px) {
        nav.main a {
          padding: 6px 5px;
          font-size: 0.9rem;
        }
      }
    `,
  ];

  @provide({ context: cofferContext })
  @state()
  coffer?: Coffer;

  /** Sync with an S3 bucket: this tab leads it or follows the tab that does. */
  @state() sync?: BrowserSync;
  @state() private route: Route = parseRoute(location.hash);
  @state() private fatal: string | undefined;
  @state() private toasts: Toast[] = [];
  @state() private online = navigator.onLine;
  @state() private installPrompt: InstallPromptEvent | undefined;
  private nextToast = 1;
  /** Uploads seen ended, and those of them that ended away from their record's files. */
  private endedSeen = new Set<string>();
  private endedAway = new Set<string>();
  /** A record this tab created and has not left yet: discarded when left untouched. */
  private fresh: string | undefined;
  /** The records app tabs created and still show: those left by a closed tab are discarded too. */
  private newRecords = new NewRecords((id) => this._discardIfUntouched(id, undefined));
  private sw = new ServiceWorkerUpdateController(this);

  private current = new LiveQueryController(this, {
    query: async (coffer, id) => {
      const record = await coffer!.records.get(id!);
      return { title: String((record.data as { title?: unknown }).title || UNTITLED), record };
    },
    args: () => [this.coffer, this.route.view === 'record' ? this.route.id : undefined] as const,
    enabled: (coffer, id) => coffer !== undefined && id !== undefined,
  });

  /** Whether sync leaves other devices' file bytes on the server until first opened. */
  private lazySync = new LiveQueryController(this, {
    query: async (sync) => (await sync!.remote())?.config.bodies === 'lazy',
    args: () => [this.sync] as const,
    enabled: (sync) => sync !== undefined,
  });
  @state() private keepingOffline = false;

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this._onHashChange);
    window.addEventListener('online', this._onConnectivity);
    window.addEventListener('offline', this._onConnectivity);
    window.addEventListener('beforeinstallprompt', this._onInstallPrompt);
    this.addEventListener('coffer-error', this._onError as EventListener);
    this.addEventListener('coffer-record-created', this._onCreated as EventListener);
    this.addEventListener('coffer-deleted', this._onDeleted as EventListener);
    this.addEventListener('coffer-reverted', this._onReverted as EventListener);
    this.addEventListener('coffer-done', this._onDone as EventListener);
    uploadTracker.addEventListener('change', this._onUploads);
    void this.open();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this._onHashChange);
    window.removeEventListener('online', this._onConnectivity);
    window.removeEventListener('offline', this._onConnectivity);
    window.removeEventListener('beforeinstallprompt', this._onInstallPrompt);
    uploadTracker.removeEventListener('change', this._onUploads);
    this.newRecords.stop();
    void this.sync?.close();
    this.coffer?.close();
  }

  private async open(): Promise<void> {
    try {
      this.coffer = await openCoffer({ name: COFFER_NAME });
      this._resumeFresh();
      this.newRecords.start();
      this.sync = openBrowserSync(this.coffer);
    } catch {
      this.fatal =
        "This browser can't store data for this site. Private browsing or strict privacy settings may block it.";
    }
  }

  override render() {
    const route = this.route;
    const view = route.view;
    return html`
      <header class="top">
        <button class="skip" @click=${this._skip}>Skip to content</button>
        <div class="top-inner ${this.installPrompt ? 'has-install' : ''}">
          <a class="brand" href="#/" aria-label="Coffer"><img src="icons/icon.svg" alt="" /><span>Coffer</span></a>
          <nav class="main" aria-label="Main">
            <a href="#/" aria-current=${view === 'records' || view === 'record' ? 'page' : 'false'}>Records</a>
            <a href="#/trash" aria-current=${view === 'trash' ? 'page' : 'false'}>Trash</a>
            <a href="#/backup" aria-current=${view === 'backup' ? 'page' : 'false'}>Backup</a>
            <a href="#/storage" aria-current=${view === 'storage' ? 'page' : 'false'}>Storage</a>
            <a href="#/sync" aria-current=${view === 'sync' ? 'page' : 'false'}>Sync</a>
          </nav>
          <span class="spacer"></span>
          ${this.sync ? html`<a class="sync-status" href="#/sync"><coffer-sync-badge .sync=${this.sync}></coffer-sync-badge></a>` : ''}
          ${this.online ? '' : html`<span class="badge offline" role="status">Offline · everything still works</span>`}
          ${this.installPrompt ? html`<button class="install" @click=${this._install}>Install<span class="wide"> app</span></button>` : ''}
        </div>
      </header>
      ${
        this.fatal
          ? html`<div class="fatal alert" role="alert"><p>${this.fatal}</p></div>`
          : view === 'trash'
            ? html`<main id="main" tabindex="-1" class="layout single">${this._renderTrash()}</main>`
            : view === 'storage'
              ? html`<main id="main" tabindex="-1" class="layout single">${this._renderStorage()}</main>`
              : view === 'backup'
                ? html`<main id="main" tabindex="-1" class="layout single">${this._renderBackup()}</main>`
                : view === 'sync'
                  ? html`<main id="main" tabindex="-1" class="layout single">${this._renderSync()}</main>`
                  : html`<main id="main" tabindex="-1" class="layout ${view === 'record' ? 'record' : 'list'}">
                <aside class="card" aria-label="Records">
                  <header>
                    ${view === 'record' ? html`<h2>Records</h2>` : html`<h1 class="list-title">Records</h1>`}
                    <button class="primary" ?disabled=${!this.coffer} @click=${this._create}>+ New record</button>
                  </header>
                  <coffer-record-list .selected=${route.view === 'record' ? route.id : undefined}></coffer-record-list>
                </aside>
                <section class="content">${route.view === 'record' ? this._renderRecord(route) : this._renderWelcome()}</section>
              </main>`
      }
      ${this._renderUploads(route)}
      <div class="toasts">
        ${
          this.sw.updateReady
            ? html`<div class="toast" role="alert">
              <p>A new version of Coffer is ready.</p>
              <button class="primary" @click=${() => this.sw.update()}>Reload to update</button>
              <button @click=${() => this.sw.dismiss()}>Later</button>
            </div>`
            : ''
        }
        <div role="status" aria-live="polite" style="display:grid;gap:8px">
          ${this.toasts.map(
            (t) => html`<div class="toast ${t.kind}" data-toast=${t.id}>
              <p>${t.text}</p>
              ${t.undo ? html`<button class="primary" @click=${() => this._undo(t)}>Undo</button>` : ''}
              <button aria-label="Dismiss" @click=${() => this._dismiss(t.id)}>Dismiss</button>
            </div>`,
          )}
        </div>
      </div>
    `;
  }

  /**
   * Uploads going on away from the screen that started them (another tab, record or view):
   * their progress and Cancel stay here until they end.
   */
  private _renderUploads(route: Route) {
    const shown = (item: TrackedUpload) =>
      route.view === 'record' && route.tab === 'files' && route.id === item.recordId;
    const elsewhere = uploadTracker.items.filter((item) => item.coffer === this.coffer?.name && !shown(item));
    // Only while some go on, or to tell how those that ended away from their screen ended.
    if (!elsewhere.some((item) => !ended(item) || this.endedAway.has(item.id))) return '';
    const recordIds = [...new Set(elsewhere.map((item) => item.recordId))];
    return html`<section class="upload-tray card" aria-label="Uploads">
      <coffer-upload-queue
        .items=${elsewhere}
        @coffer-upload-cancel=${(e: CustomEvent<{ id: string }>) => uploadTracker.cancel(e.detail.id)}
        @coffer-upload-clear=${() => uploadTracker.clearFinished((item) => elsewhere.includes(item))}
      ></coffer-upload-queue>
      ${
        recordIds.length === 1
          ? html`<a class="small tray-link" href="#/records/${encodeURIComponent(recordIds[0]!)}/files">Show the record’s files</a>`
          : ''
      }
    </section>`;
  }

  private _renderWelcome() {
    return html`<div class="card welcome">
      <img src="icons/icon.svg" alt="" />
      <h2>Your records, kept on this device</h2>
      <p class="muted">
        Each record holds a description and files with every version kept. Everything stays in this browser and
        works offline.
      </p>
      <button class="primary" ?disabled=${!this.coffer} @click=${this._create}>+ New record</button>
    </div>`;
  }

  private _renderRecord(route: Extract<Route, { view: 'record' }>) {
    const current = this.current.value;
    const base = `#/records/${encodeURIComponent(route.id)}`;
    if (this.current.error) {
      return html`<a class="back" href="#/">← Records</a>
        <div class="card alert" role="alert"><p>This record doesn't exist or was moved to the trash.</p></div>`;
    }
    const files = current ? ((current.record.data as { _files?: unknown[] })._files?.length ?? 0) : 0;
    return html`
      <a class="back" href="#/">← Records</a>
      <div class="record-head">
        <h1>${current?.title ?? '…'}</h1>
        ${
          current
            ? html`<p class="meta muted small">
              Updated ${formatAgo(current.record.updated)} · ${files} file${files === 1 ? '' : 's'} · revision
              ${current.record.revisionId}
              ${this.sync ? html`<coffer-sync-badge .sync=${this.sync} record-id=${route.id}></coffer-sync-badge>` : ''}
            </p>`
            : ''
        }
      </div>
      <nav class="tabs" aria-label="Record">
        ${TABS.map(
          (tab) =>
            html`<a href="${base}/${tab.id}" aria-current=${route.tab === tab.id ? 'page' : 'false'}>${tab.label}</a>`,
        )}
      </nav>
      ${
        route.tab === 'files'
          ? html`${
              this.lazySync.value
                ? html`<p class="keep-offline muted small">
                    Files from other devices download when first opened.
                    <button ?disabled=${this.keepingOffline} @click=${() => this._keepOffline(route.id)}>
                      ${this.keepingOffline ? 'Downloading…' : 'Keep this record offline'}
                    </button>
                  </p>`
                : ''
            }
            <coffer-files record-id=${route.id}></coffer-files>
            <details class="deleted">
              <summary>Deleted files</summary>
              <p class="muted small">Deleted files keep their versions until you remove them permanently.</p>
              <coffer-deleted-files record-id=${route.id}></coffer-deleted-files>
            </details>`
          : route.tab === 'details'
            ? html`<div class="card"><coffer-record-editor record-id=${route.id}></coffer-record-editor></div>`
            : route.tab === 'history'
              ? html`<coffer-revision-history record-id=${route.id}></coffer-revision-history>
                <section class="card activity" aria-labelledby="activity-title">
                  <h2 id="activity-title">File activity</h2>
                  <p class="muted small">What changed in this record’s files, and when.</p>
                  <coffer-file-activity record-id=${route.id}></coffer-file-activity>
                </section>`
              : html`<coffer-bucket-panel record-id=${route.id}></coffer-bucket-panel>`
      }
    `;
  }

  private _renderTrash() {
    return html`<div>
      <h1 style="margin-bottom:4px">Trash</h1>
      <p class="muted" style="margin-bottom:16px">Deleted records stay here, with their files, until you delete them for good.</p>
      <div class="card"><coffer-record-list trash></coffer-record-list></div>
    </div>`;
  }

  private _renderBackup() {
    return html`<div style="display:grid;gap:16px">
      <div>
        <h1 style="margin-bottom:4px">Backup</h1>
        <p class="muted">Save your records and files to one file, or bring them back from one.</p>
      </div>
      <coffer-backup-panel></coffer-backup-panel>
    </div>`;
  }

  private _renderSync() {
    return html`<div style="display:grid;gap:16px">
      <div>
        <h1 style="margin-bottom:4px">Sync</h1>
        <p class="muted">Keep your records and every file version in an S3 bucket, and on your other devices.</p>
      </div>
      <coffer-sync-panel .sync=${this.sync}></coffer-sync-panel>
    </div>`;
  }

  private _renderStorage() {
    const sw = this.sw;
    return html`<div style="display:grid;gap:16px">
      <h1>Storage</h1>
      <coffer-storage-panel></coffer-storage-panel>
      <section class="card">
        <h2>Offline</h2>
        <p class="muted" style="margin-top:6px">
          ${
            sw.offlineReady
              ? 'Coffer is saved on this device: it opens and works without a network.'
              : 'Coffer will work offline once it has finished saving itself on this device.'
          }
        </p>
      </section>
    </div>`;
  }

  private _create = async (): Promise<void> => {
    if (!this.coffer) return;
    try {
      const record = await this.coffer.records.create({ title: UNTITLED });
      await this.newRecords.hold(record.id);
      this._setFresh(record.id);
      location.hash = `#/records/${encodeURIComponent(record.id)}/details`;
      this.route = parseRoute(location.hash);
      // The editor loads the record through a live query: wait for its title field.
      for (let i = 0; i < 100; i++) {
        await this.updateComplete;
        const title = this.renderRoot
          .querySelector('coffer-record-editor')
          ?.renderRoot.querySelector<HTMLInputElement>('#title');
        if (title) {
          title.focus();
          title.select();
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch (error) {
      this._toast((error as { message?: string }).message ?? 'Could not create a record.', 'error');
    }
  };

  /** Download every file of a record that sync left on the server (through the leading tab). */
  private async _keepOffline(recordId: string): Promise<void> {
    if (!this.sync) return;
    this.keepingOffline = true;
    try {
      const { files } = await this.sync.fetchBodies({ recordId });
      this._toast(
        files === 0
          ? 'Every file of this record is on this device already.'
          : `${files} file${files === 1 ? '' : 's'} downloaded: this record works offline.`,
      );
    } catch (error) {
      this._toast(describeError(error), 'error');
    } finally {
      this.keepingOffline = false;
    }
  }

  private _toast(text: string, kind: Toast['kind'] = 'info', undo?: Toast['undo']): void {
    const id = this.nextToast++;
    this.toasts = [...this.toasts.slice(-2), { id, text, kind, undo }];
    const later = () => {
      // A toast being read or used (pointer over it, focus in it) stays until it is left.
      const element = this.renderRoot.querySelector(`[data-toast="${id}"]`);
      if (element?.matches(':hover, :focus-within')) setTimeout(later, 2000);
      else this._dismiss(id);
    };
    setTimeout(later, kind === 'error' || undo ? 10_000 : 4000);
  }

  private async _undo(toast: Toast): Promise<void> {
    this._dismiss(toast.id);
    try {
      this._toast((await toast.undo?.()) ?? 'Undone.');
    } catch (error) {
      this._toast(`Could not undo: ${describeError(error)}`, 'error');
    }
  }

  private _onDone = (event: CustomEvent<CofferDoneDetail>): void => {
    this._toast(event.detail.message, 'info', event.detail.undo);
  };

  private _dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  private _onError = (event: CustomEvent<CofferErrorDetail>): void => {
    // An error the element shows next to what failed is not repeated in a toast.
    if (!event.detail.shown) this._toast(event.detail.message, 'error');
  };

  private _onCreated = (event: CustomEvent<{ id: string }>): void => {
    this._toast('Snapshot created.');
    location.hash = `#/records/${encodeURIComponent(event.detail.id)}/files`;
  };

  private _onDeleted = (event: CustomEvent<{ id: string }>): void => {
    const { id } = event.detail;
    this._toast('Moved to the trash.', 'info', async () => {
      const record = await this.coffer!.records.get(id, { includeDeleted: true });
      await record.restore();
      location.hash = `#/records/${encodeURIComponent(id)}/details`;
      return 'Restored from the trash.';
    });
    location.hash = '#/';
  };

  private _onHashChange = (): void => {
    const left = this.route.view === 'record' ? this.route.id : undefined;
    // Leaving the details with edits not saved yet: save them (never drop them silently).
    const editor = this.renderRoot.querySelector('coffer-record-editor');
    const saving = editor?.unsaved ? editor.save() : undefined;
    const next = parseRoute(location.hash);
    if (editor && saving && (next.view !== 'record' || next.tab !== 'details' || next.id !== left)) {
      void saving.then((saved) =>
        this._toast(
          saved
            ? 'Your changes were saved.'
            : 'Your changes could not be saved yet. They are kept: open Details to finish.',
          saved ? 'info' : 'error',
        ),
      );
    }
    this.route = next;
    if (left !== undefined && left === this.fresh && (next.view !== 'record' || next.id !== left)) {
      this._setFresh(undefined);
      this.newRecords.leave(left);
      void this._discardIfUntouched(left, saving);
    }
    window.scrollTo({ top: 0 });
  };

  /**
   * Remove a record this tab created and left untouched: never edited (revision 0, the title
   * it was given), no file stored or on its way. It was never anything; the trash is not for it.
   */
  private async _discardIfUntouched(id: string, saving: Promise<boolean> | undefined): Promise<void> {
    await saving;
    const coffer = this.coffer;
    if (!coffer || uploadTracker.active((item) => item.recordId === id).length > 0) return;
    try {
      const record = await coffer.records.get(id);
      const { _bucket, _files, ...fields } = record.data;
      const untouched =
        record.revisionId === 0 && JSON.stringify(fields) === JSON.stringify({ title: UNTITLED });
      const bucket = record.bucket;
      if (!untouched || (bucket && (await bucket.objects.list({ withDeleted: true })).length > 0)) return;
      await record.delete({ force: true });
      await bucket?.remove();
    } catch {
      // Discarding is tidying: a record that stays is no loss.
    }
  }

  /** Remember the new record across a reload of this tab (sessionStorage), or forget it. */
  private _setFresh(id: string | undefined): void {
    this.fresh = id;
    try {
      if (id === undefined) sessionStorage.removeItem(FRESH_KEY);
      else sessionStorage.setItem(FRESH_KEY, id);
    } catch {
      // No session storage (privacy settings): the new record is only known until a reload.
    }
  }

  /** After a reload: a new record still open stays fresh; one left untouched is discarded. */
  private _resumeFresh(): void {
    let id: string | null = null;
    try {
      id = sessionStorage.getItem(FRESH_KEY);
    } catch {
      return;
    }
    if (id === null) return;
    if (this.route.view === 'record' && this.route.id === id) {
      this.fresh = id;
      void this.newRecords.hold(id);
      return;
    }
    this._setFresh(undefined);
    this.newRecords.leave(id);
    void this._discardIfUntouched(id, undefined);
  }

  private _skip = (event: Event): void => {
    event.preventDefault();
    const main = this.renderRoot.querySelector<HTMLElement>('#main');
    const heading = main?.querySelector<HTMLElement>('h1') ?? main;
    if (heading && !heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
    heading?.focus();
  };

  private _onUploads = (): void => {
    const route = this.route;
    for (const item of uploadTracker.items) {
      if (!ended(item) || this.endedSeen.has(item.id)) continue;
      this.endedSeen.add(item.id);
      const shown = route.view === 'record' && route.tab === 'files' && route.id === item.recordId;
      if (!shown) this.endedAway.add(item.id);
    }
    this.requestUpdate();
  };

  private _onReverted = (event: CustomEvent<{ id: string; revisionId: number; from: number }>): void => {
    const { id, revisionId, from } = event.detail;
    this._toast(`Reverted to revision ${from}. The files were not changed.`, 'info', async () => {
      const record = await this.coffer!.records.get(id);
      const before = (await record.revisions())
        .map((r) => r.revisionId)
        .filter((r) => r < revisionId)
        .sort((a, b) => b - a)[0];
      if (before === undefined) throw new Error('No earlier revision.');
      await record.revert(before);
      return `Back to the details of revision ${before} (now revision ${record.revisionId}).`;
    });
  };

  private _onConnectivity = (): void => {
    this.online = navigator.onLine;
  };

  private _onInstallPrompt = (event: Event): void => {
    event.preventDefault();
    this.installPrompt = event as InstallPromptEvent;
  };

  private async _install(): Promise<void> {
    const prompt = this.installPrompt;
    this.installPrompt = undefined;
    await prompt?.prompt();
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-app': CofferApp;
  }
}
