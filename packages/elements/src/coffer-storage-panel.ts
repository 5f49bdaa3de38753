import { css, html, LitElement } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { formatBytes } from './format.js';
import { baseStyles } from './styles.js';

/** What `navigator.storage` told us. */
interface StorageFacts {
  usage: number | undefined;
  quota: number | undefined;
  persisted: boolean | undefined;
}

/**
 * The origin's storage: how much this site uses of what the browser allows
 * (`navigator.storage.estimate()`), and a "Keep my data" button that asks
 * `navigator.storage.persist()` so the browser does not evict it under pressure.
 *
 * @fires coffer-persist - after asking; detail: `{ persisted: boolean }`
 * @csspart meter - the usage bar
 *
 * @example
 * ```html
 * <coffer-storage-panel></coffer-storage-panel>
 * <script type="module">
 *   document.querySelector('coffer-storage-panel').coffer = coffer;
 * </script>
 * ```
 */
@customElement('coffer-storage-panel')
export class CofferStoragePanel extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      .numbers {
        display: flex;
        justify-content: space-between;
        gap: var(--_space-2);
        margin: var(--_space-3) 0 var(--_space-2);
        font-variant-numeric: tabular-nums;
      }
      .big {
        font-size: 1.6rem;
        font-weight: 650;
      }
      .persist {
        margin-top: var(--_space-5);
        display: grid;
        gap: var(--_space-2);
      }
      .status {
        display: flex;
        align-items: center;
        gap: var(--_space-2);
      }
      .dot {
        width: 10px;
        height: 10px;
        border-radius: 50%;
        background: var(--_muted);
      }
      .dot.on {
        background: var(--_ok);
      }
    `,
  ];

  @state() private facts: StorageFacts = { usage: undefined, quota: undefined, persisted: undefined };
  @state() private answer: string | undefined;
  @state() private asking = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), 5000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.timer);
  }

  /** Read the estimate and the persistence state again. */
  async refresh(): Promise<void> {
    const storage = navigator.storage;
    const estimate = storage?.estimate ? await storage.estimate().catch(() => undefined) : undefined;
    const persisted = storage?.persisted ? await storage.persisted().catch(() => undefined) : undefined;
    this.facts = { usage: estimate?.usage, quota: estimate?.quota, persisted };
  }

  override render() {
    const { usage, quota, persisted } = this.facts;
    const ratio = usage !== undefined && quota ? usage / quota : 0;
    const supported = typeof navigator !== 'undefined' && !!navigator.storage?.persist;
    return html`
      <section class="card" aria-labelledby="storage-title">
        <h2 id="storage-title">Storage on this device</h2>
        <p class="muted small">Everything is kept in this browser, for this site only. No server holds your data.</p>
        <div class="numbers">
          <div><span class="big">${formatBytes(usage)}</span> <span class="muted">used</span></div>
          <div class="muted">of ${formatBytes(quota)} available</div>
        </div>
        <div
          class="meter ${ratio > 0.9 ? 'high' : ''}"
          part="meter"
          role="meter"
          aria-label="Storage used"
          aria-valuemin="0"
          aria-valuemax=${quota ?? 0}
          aria-valuenow=${usage ?? 0}
          aria-valuetext="${formatBytes(usage)} of ${formatBytes(quota)}"
        >
          <span style="width:${Math.max(Math.min(ratio * 100, 100), usage ? 0.5 : 0)}%"></span>
        </div>
        <div class="persist">
          <div class="status">
            <span class="dot ${persisted ? 'on' : ''}" aria-hidden="true"></span>
            <strong>
              ${
                persisted === undefined
                  ? 'Checking whether your data is kept…'
                  : persisted
                    ? 'Your data is kept: the browser will not clear it to free space.'
                    : 'The browser may clear this data if the device runs low on space.'
              }
            </strong>
          </div>
          ${
            persisted
              ? ''
              : html`<div class="row">
                <button class="primary" ?disabled=${!supported || this.asking} @click=${this._onPersist}>
                  Keep my data
                </button>
                <span class="hint">Asks the browser to never clear this site's data on its own.</span>
              </div>`
          }
          <p role="status" aria-live="polite" class="small">${this.answer ?? ''}</p>
        </div>
      </section>
    `;
  }

  private async _onPersist(): Promise<void> {
    this.asking = true;
    try {
      const granted = await navigator.storage.persist();
      this.answer = granted
        ? 'Done: the browser agreed to keep your data.'
        : 'The browser said no for now. It often agrees once the app is installed or used more often.';
      this.dispatchEvent(
        new CustomEvent('coffer-persist', { detail: { persisted: granted }, bubbles: true, composed: true }),
      );
    } catch {
      this.answer = 'This browser cannot be asked to keep data.';
    } finally {
      this.asking = false;
      await this.refresh();
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-storage-panel': CofferStoragePanel;
  }
}
