import type { BrowserSync } from '@coffer/core/sync';
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { baseStyles } from './styles.js';

/** The badge's states: of sync as a whole, or (with `record-id`) of one record. */
export type SyncBadgeState =
  | 'off'
  | 'idle'
  | 'syncing'
  | 'offline'
  | 'error'
  | 'conflicts'
  | 'paused'
  | 'synced'
  | 'pending'
  | 'conflict';

const LABELS: Record<SyncBadgeState, string> = {
  off: 'Sync off',
  idle: 'Synced',
  syncing: 'Syncing…',
  offline: 'Offline',
  error: 'Sync error',
  conflicts: 'Conflicts',
  paused: 'Sync paused',
  synced: 'Synced',
  pending: 'Not synced yet',
  conflict: 'Conflict',
};

const TONES: Partial<Record<SyncBadgeState, string>> = {
  idle: 'ok',
  synced: 'ok',
  syncing: 'accent',
  pending: 'accent',
  error: 'danger',
  conflict: 'danger',
  conflicts: 'danger',
  offline: 'warn',
  paused: 'warn',
};

/**
 * A small sync status. Without `record-id`: sync as a whole (`idle`, `syncing`, `offline`,
 * `error`, `conflicts`, `paused`, or `off` before a bucket is set up), announced politely to
 * screen readers. With `record-id`: where that record stands (`synced`, `pending`,
 * `conflict`, `error`). It follows the stored state, so it is live in every tab.
 *
 * @csspart badge - the pill
 *
 * @example
 * ```html
 * <coffer-sync-badge></coffer-sync-badge>
 * <coffer-sync-badge record-id="survey-12"></coffer-sync-badge>
 * <script type="module">
 *   for (const badge of document.querySelectorAll('coffer-sync-badge')) badge.sync = sync;
 * </script>
 * ```
 */
@customElement('coffer-sync-badge')
export class CofferSyncBadge extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: inline-block;
        vertical-align: middle;
      }
      .badge {
        display: inline-flex;
        align-items: center;
        gap: 6px;
      }
      .dot {
        width: 8px;
        height: 8px;
        border-radius: 50%;
        background: currentColor;
        flex: none;
      }
      .badge.ok {
        color: var(--_ok);
        background: color-mix(in srgb, var(--_ok) 12%, transparent);
        border-color: transparent;
      }
      .badge.warn {
        color: var(--_text);
        background: var(--_warn-soft);
        border-color: transparent;
      }
      .badge.accent .dot {
        animation: pulse 1.2s ease-in-out infinite;
      }
      @keyframes pulse {
        50% {
          opacity: 0.3;
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .badge.accent .dot {
          animation: none;
        }
      }
    `,
  ];

  /** The sync of the coffer, from `openBrowserSync(coffer)`. */
  @property({ attribute: false }) sync?: BrowserSync | undefined;

  /** Show this record's state instead of sync's as a whole. */
  @property({ attribute: 'record-id' }) recordId?: string | undefined;

  private view = new LiveQueryController(this, {
    query: async (sync, recordId): Promise<{ state: SyncBadgeState; count: number }> => {
      const remote = await sync!.remote();
      if (recordId !== undefined) {
        if (!remote) return { state: 'off', count: 0 };
        return { state: await sync!.recordStatus(recordId), count: 0 };
      }
      if (!remote) return { state: 'off', count: 0 };
      const [status, conflicts] = await Promise.all([sync!.status(), sync!.conflicts()]);
      if (status.phase === 'pushing' || status.phase === 'pulling') return { state: 'syncing', count: 0 };
      if (conflicts.length > 0) return { state: 'conflicts', count: conflicts.length };
      if (status.phase === 'offline' || status.phase === 'error') return { state: status.phase, count: 0 };
      if (remote.paused || status.phase === 'paused') return { state: 'paused', count: 0 };
      return { state: 'idle', count: 0 };
    },
    args: () => [this.sync, this.recordId] as const,
    enabled: (sync) => sync !== undefined,
  });

  /** The state shown (`undefined` until known). */
  get state(): SyncBadgeState | undefined {
    return this.view.value?.state;
  }

  override render() {
    const view = this.view.value;
    if (!view) return nothing;
    const { state, count } = view;
    if (this.recordId !== undefined && state === 'off') return nothing;
    const label = state === 'conflicts' ? `${count} conflict${count === 1 ? '' : 's'}` : LABELS[state];
    const pill = html`<span class="badge ${TONES[state] ?? ''}" part="badge" data-state=${state}
      ><span class="dot" aria-hidden="true"></span><span class="visually-hidden">Sync: </span>${label}</span
    >`;
    return this.recordId === undefined ? html`<span role="status">${pill}</span>` : pill;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-sync-badge': CofferSyncBadge;
  }
}
