import { css, html, LitElement, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { downloadFile, previewKind, resolveFileUrl, type StoredFile } from './file-url.js';
import { describeMimetype, formatBytes } from './format.js';
import { baseStyles } from './styles.js';

/** Text previews show at most this much of a file. */
const TEXT_PREVIEW_BYTES = 256 * 1024;

/**
 * An inline preview of one stored file: image, PDF, audio, video (with seeking, through the
 * service worker's range responses) or text; other types get a download button.
 *
 * @csspart frame - the box around the preview
 *
 * @example
 * ```ts
 * const preview = document.createElement('coffer-file-preview');
 * preview.file = await record.files!.get('site.jpg');
 * document.body.append(preview);
 * ```
 */
@customElement('coffer-file-preview')
export class CofferFilePreview extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      .frame {
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
        background: var(--_surface-2);
        overflow: hidden;
        display: grid;
        place-items: center;
        min-height: 160px;
      }
      img,
      video {
        display: block;
        max-width: 100%;
        max-height: 70vh;
        object-fit: contain;
      }
      iframe {
        width: 100%;
        height: 70vh;
        border: 0;
        background: white;
      }
      audio {
        width: calc(100% - 32px);
        margin: var(--_space-5) var(--_space-4);
      }
      pre {
        margin: 0;
        padding: var(--_space-4);
        width: 100%;
        max-height: 60vh;
        overflow: auto;
        white-space: pre-wrap;
        word-break: break-word;
        font-size: 0.85rem;
        background: var(--_surface);
        align-self: stretch;
      }
      .none {
        display: grid;
        gap: var(--_space-3);
        justify-items: center;
        padding: var(--_space-5);
        text-align: center;
      }
      .caption {
        margin-top: var(--_space-2);
        font-size: 0.8rem;
        color: var(--_muted);
      }
    `,
  ];

  /** The file or version to show. */
  @property({ attribute: false }) file?: StoredFile | undefined;

  @state() private url: string | undefined;
  @state() private text: string | undefined;
  @state() private failed = false;
  private revoke: () => void = () => undefined;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.revoke();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const previous = changed.get('file') as StoredFile | undefined;
    if (
      changed.has('file') &&
      (previous?.versionId !== this.file?.versionId || previous?.url !== this.file?.url)
    ) {
      void this.load();
    }
  }

  private async load(): Promise<void> {
    this.revoke();
    this.revoke = () => undefined;
    this.url = undefined;
    this.text = undefined;
    this.failed = false;
    const file = this.file;
    if (!file) return;
    try {
      const kind = previewKind(file.mimetype);
      if (kind === 'text') {
        const blob = await file.blob();
        const text = await blob.slice(0, TEXT_PREVIEW_BYTES).text();
        if (this.file === file) this.text = file.size > TEXT_PREVIEW_BYTES ? `${text}\n…` : text;
      } else if (kind !== 'none') {
        const { url, revoke } = await resolveFileUrl(file);
        if (this.file !== file) return revoke();
        this.url = url;
        this.revoke = revoke;
      }
    } catch {
      this.failed = true;
    }
  }

  override render() {
    const file = this.file;
    if (!file) return html``;
    const kind = previewKind(file.mimetype);
    const name = file.key;
    let body: unknown;
    if (this.failed) {
      body = html`<p class="none" role="alert">This file could not be read.</p>`;
    } else if (kind === 'none') {
      body = html`<div class="none">
        <p><strong>No preview for this type</strong><br /><span class="muted small">${describeMimetype(file.mimetype)} · ${formatBytes(file.size)}</span></p>
        <button @click=${() => downloadFile(file)}>Download ${name}</button>
      </div>`;
    } else if (kind === 'text') {
      body =
        this.text === undefined
          ? html`<p class="muted">Loading…</p>`
          : html`<pre tabindex="0" aria-label="Contents of ${name}">${this.text}</pre>`;
    } else if (!this.url) {
      body = html`<p class="muted">Loading…</p>`;
    } else if (kind === 'image') {
      body = html`<img src=${this.url} alt="Preview of ${name}" />`;
    } else if (kind === 'pdf') {
      body = html`<iframe src=${this.url} title="Preview of ${name}"></iframe>`;
    } else if (kind === 'audio') {
      body = html`<audio controls preload="metadata" src=${this.url} aria-label="Play ${name}"></audio>`;
    } else {
      body = html`<video controls preload="metadata" src=${this.url} aria-label="Play ${name}"></video>`;
    }
    return html`<figure class="frame" part="frame" data-kind=${kind} style="margin:0">${body}</figure>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-file-preview': CofferFilePreview;
  }
}
