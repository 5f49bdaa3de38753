import { css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { CofferElement } from './base-element.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { formatAgo, formatDateTime } from './format.js';
import { describeError } from './messages.js';
import { diffData, diffFiles, type FieldChange, userData } from './record-fields.js';
import { baseStyles, listElementStyles } from './styles.js';

/** One revision as listed. */
interface RevisionView {
  revisionId: number;
  created: Date;
  data: Record<string, unknown>;
  changes: FieldChange[];
  files: string[];
  current: boolean;
}

const show = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : value === undefined
      ? ''
      : JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');

/**
 * A record's revisions, newest first, each with what changed from the one before (fields and
 * files), and a revert to any earlier one (itself a new revision: history is never rewritten).
 * A revert asks first, showing the details it changes back; it never changes the files.
 *
 * @fires coffer-reverted - detail: `{ id: string, revisionId: number, from: number }`
 * @fires coffer-error - when a revert fails; detail: `{ error, message }`
 * @csspart revision - one revision
 *
 * @example
 * ```html
 * <coffer-revision-history record-id="survey-12"></coffer-revision-history>
 * <script type="module">
 *   document.querySelector('coffer-revision-history').coffer = coffer;
 * </script>
 * ```
 */
@customElement('coffer-revision-history')
export class CofferRevisionHistory extends CofferElement {
  static override styles = [
    baseStyles,
    listElementStyles,
    css`
      ol {
        gap: var(--_space-3);
      }
      li {
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
        background: var(--_surface);
        padding: var(--_space-3) var(--_space-4);
      }
      header {
        display: flex;
        align-items: center;
        gap: var(--_space-2);
        flex-wrap: wrap;
      }
      header strong {
        flex: 1;
      }
      dl {
        margin: var(--_space-2) 0 0;
        display: grid;
        grid-template-columns: minmax(90px, auto) 1fr;
        gap: var(--_space-1) var(--_space-3);
        font-size: 0.88rem;
      }
      dt {
        font-weight: 600;
        color: var(--_muted);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      del {
        color: var(--_danger);
        background: var(--_danger-soft);
        text-decoration: line-through;
        padding: 0 3px;
        border-radius: 3px;
      }
      .file-changes {
        margin: 0;
        padding-left: 1.1em;
        list-style: disc;
        display: block;
      }
      .file-changes li {
        border: 0;
        padding: 0;
        background: none;
      }
      .confirm {
        margin-top: var(--_space-3);
        padding: var(--_space-3);
        border-radius: var(--_radius);
        background: var(--_warn-soft);
        display: grid;
        gap: var(--_space-2);
      }
      .confirm dl {
        margin: 0;
      }
      ins {
        color: var(--_ok);
        background: color-mix(in srgb, var(--_ok) 12%, transparent);
        text-decoration: none;
        padding: 0 3px;
        border-radius: 3px;
      }
    `,
  ];

  /** The record whose history is shown. */
  @property({ attribute: 'record-id' }) recordId?: string;

  @state() private status = '';
  /** The revision whose revert is being confirmed. */
  @state() private confirming: number | undefined;
  @state() private reverting = false;

  private revisions = new LiveQueryController(this, {
    query: async (coffer, id) => {
      const record = await coffer!.records.get(id!);
      const revisions = await record.revisions();
      const views: RevisionView[] = revisions.map((rev, i) => {
        const data = userData(rev.data as Record<string, unknown>);
        const before = i === 0 ? {} : userData(revisions[i - 1]!.data as Record<string, unknown>);
        return {
          revisionId: rev.revisionId,
          created: rev.created,
          data,
          changes: diffData(before, data),
          files: diffFiles(i === 0 ? [] : revisions[i - 1]!.data._files, rev.data._files),
          current: rev.revisionId === record.revisionId,
        };
      });
      return { record, views: views.reverse() };
    },
    args: () => [this.coffer, this.recordId] as const,
    enabled: (coffer, id) => coffer !== undefined && id !== undefined,
  });

  override render() {
    if (this.revisions.error)
      return html`<p class="alert" role="alert">${describeError(this.revisions.error)}</p>`;
    const value = this.revisions.value;
    if (!value) return html`<p class="muted">Loading…</p>`;
    return html`
      <p class="muted small" style="margin-bottom:12px">
        Every save is kept. Reverting brings back the details of an earlier revision as a new revision; the files stay as they are, and nothing is rewritten.
      </p>
      <ol aria-label="Revisions, newest first">
        ${value.views.map((rev, i) => this._renderRevision(rev, i === value.views.length - 1))}
      </ol>
      <p class="visually-hidden" role="status" aria-live="polite">${this.status}</p>
    `;
  }

  private _renderRevision(rev: RevisionView, first: boolean) {
    const confirming = this.confirming === rev.revisionId;
    return html`<li part="revision" data-revision=${rev.revisionId}>
      <header>
        <strong tabindex="-1">Revision ${rev.revisionId}</strong>
        ${rev.current ? html`<span class="badge accent">Current</span>` : ''}
        <span class="muted small" title=${formatDateTime(rev.created)}>${formatAgo(rev.created)}</span>
        ${
          rev.current || confirming
            ? ''
            : html`<button @click=${() => this._askRevert(rev.revisionId)}>Revert to revision ${rev.revisionId}</button>`
        }
      </header>
      ${
        rev.changes.length === 0 && rev.files.length === 0
          ? html`<p class="muted small" style="margin-top:6px">${first ? 'Created empty.' : 'Nothing changed.'}</p>`
          : this._renderChanges(rev.changes, rev.files)
      }
      ${confirming ? this._renderConfirm(rev) : ''}
    </li>`;
  }

  private _renderChanges(changes: FieldChange[], files: string[]) {
    return html`<dl>
      ${changes.map(
        (c) => html`<dt>${c.field}</dt>
          <dd>
            ${
              c.kind === 'added'
                ? html`<ins>${show(c.after)}</ins>`
                : c.kind === 'removed'
                  ? html`<del>${show(c.before)}</del>`
                  : html`<del>${show(c.before)}</del> → <ins>${show(c.after)}</ins>`
            }
          </dd>`,
      )}
      ${
        files.length > 0
          ? html`<dt>files</dt>
            <dd>
              <ul class="file-changes">
                ${files.map((line) => html`<li>${line}</li>`)}
              </ul>
            </dd>`
          : ''
      }
    </dl>`;
  }

  /** What reverting to `rev` would change, from the current revision, and the buttons to do it. */
  private _renderConfirm(rev: RevisionView) {
    const value = this.revisions.value!;
    const current = value.views.find((v) => v.current);
    const changes = current ? diffData(current.data, rev.data) : [];
    const files = (value.record.data._files ?? []).length;
    return html`<div class="confirm" role="group" aria-labelledby="confirm-${rev.revisionId}">
      <p id="confirm-${rev.revisionId}"><strong>Revert to revision ${rev.revisionId}?</strong></p>
      ${
        changes.length === 0
          ? html`<p class="small">The details are already the same as in revision ${rev.revisionId}.</p>`
          : html`<p class="small">These details change back:</p>
            ${this._renderChanges(changes, [])}`
      }
      <p class="small">
        Files are not changed: the ${files} file${files === 1 ? '' : 's'} stay${files === 1 ? 's' : ''} as ${files === 1 ? 'it is' : 'they are'}
        now, in the same order, with ${files === 1 ? 'its' : 'their'} descriptions. A new revision is added; nothing is lost.
      </p>
      <div class="row">
        <button class="primary" ?disabled=${this.reverting} @click=${() => this._revert(rev.revisionId)}>
          ${this.reverting ? 'Reverting…' : `Revert to revision ${rev.revisionId}`}
        </button>
        <button @click=${() => this._cancelRevert(rev.revisionId)}>Cancel</button>
      </div>
    </div>`;
  }

  private async _askRevert(revisionId: number): Promise<void> {
    this.confirming = revisionId;
    await this.updateComplete;
    this.renderRoot
      .querySelector<HTMLButtonElement>(`li[data-revision="${revisionId}"] .confirm button.primary`)
      ?.focus();
  }

  private async _cancelRevert(revisionId: number): Promise<void> {
    this.confirming = undefined;
    await this.updateComplete;
    this.renderRoot
      .querySelector<HTMLButtonElement>(`li[data-revision="${revisionId}"] header button`)
      ?.focus();
  }

  private async _revert(revisionId: number): Promise<void> {
    const record = this.revisions.value?.record;
    if (!record) return;
    this.reverting = true;
    try {
      await record.revert(revisionId);
      this.confirming = undefined;
      this.status = `Reverted to revision ${revisionId}: revision ${record.revisionId} has its details.`;
      this.emit('coffer-reverted', { id: record.id, revisionId: record.revisionId, from: revisionId });
      for (let i = 0; i < 50 && this.revisions.value?.views[0]?.revisionId !== record.revisionId; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>('li[data-revision] strong')?.focus();
    } catch (error) {
      this.status = this.report(error);
    } finally {
      this.reverting = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-revision-history': CofferRevisionHistory;
  }
}
