import { type CofferRecord, RevisionConflictError } from '@coffer/core';
import { css, html, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { CofferElement } from './base-element.js';
import { LiveQueryController } from './controllers/live-query-controller.js';
import { formatAgo } from './format.js';
import { icons } from './icons.js';
import { describeError } from './messages.js';
import { MANAGED_FIELDS, type RecordFields, readFields, userData, writeFields } from './record-fields.js';
import { baseStyles } from './styles.js';

/** An edit not saved yet, kept while its editor is away (a tab switch) until it is saved. */
interface Draft {
  fields: RecordFields;
  json: string;
  tab: 'form' | 'json';
  basedOn: number | undefined;
}

/** Edits whose save on leaving was refused (another tab changed the record), by record id. */
const drafts = new Map<string, Draft>();

/**
 * Edit a record's metadata: title, description, creators, keywords and dates, or the raw
 * JSON. Saves as a new revision; a save that races another tab is refused and explained.
 *
 * Edits are never dropped without a word: leaving the editor (another tab of the app, another
 * record) or hiding the page saves them ({@link CofferRecordEditor.save}); closing the page
 * with unsaved edits asks first. When such a save is refused because another tab changed the
 * record, the edit is kept and shown again, with the choice to load the latest or keep it.
 *
 * @fires coffer-saved - detail: `{ id: string, revisionId: number }`
 * @fires coffer-deleted - the record went to the trash; detail: `{ id: string }`
 * @fires coffer-error - when an action fails; detail: `{ error, message }`
 *
 * @example
 * ```html
 * <coffer-record-editor record-id="survey-12"></coffer-record-editor>
 * <script type="module">
 *   const editor = document.querySelector('coffer-record-editor');
 *   editor.coffer = coffer;
 *   editor.addEventListener('coffer-saved', (e) => console.log('revision', e.detail.revisionId));
 * </script>
 * ```
 */
@customElement('coffer-record-editor')
export class CofferRecordEditor extends CofferElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      .tabs {
        display: flex;
        gap: var(--_space-1);
        margin-bottom: var(--_space-4);
      }
      .tabs button[aria-selected='true'] {
        background: var(--_accent-soft);
        color: var(--_accent);
        border-color: transparent;
      }
      .grid2 {
        display: grid;
        grid-template-columns: 1fr 1fr;
        gap: 0 var(--_space-4);
      }
      .dates {
        display: grid;
        gap: var(--_space-2);
      }
      .date-row {
        display: grid;
        grid-template-columns: 170px 1fr auto;
        gap: var(--_space-2);
      }
      .chips {
        display: flex;
        gap: var(--_space-1);
        flex-wrap: wrap;
        margin-top: var(--_space-1);
      }
      textarea.json {
        font-family: ui-monospace, 'DejaVu Sans Mono', monospace;
        font-size: 0.85rem;
        min-height: 320px;
      }
      .footer {
        display: flex;
        align-items: center;
        gap: var(--_space-2);
        flex-wrap: wrap;
        border-top: 1px solid var(--_border);
        padding-top: var(--_space-4);
        margin-top: var(--_space-2);
      }
      .alert {
        margin-bottom: var(--_space-4);
      }
      @media (max-width: 720px) {
        .grid2 {
          grid-template-columns: 1fr;
        }
        .date-row {
          grid-template-columns: 1fr 1fr;
        }
        .date-row button {
          grid-column: 1 / -1;
        }
      }
    `,
  ];

  /** The record edited. */
  @property({ attribute: 'record-id' }) recordId?: string;

  @state() private tab: 'form' | 'json' = 'form';
  @state() private draft: RecordFields | undefined;
  @state() private json = '';
  @state() private dirty = false;
  @state() private basedOn: number | undefined;
  @state() private alert: { text: string; conflict?: boolean } | undefined;
  @state() private status = '';
  @state() private saving = false;

  private record = new LiveQueryController(this, {
    query: (coffer, id) => coffer!.records.get(id!),
    args: () => [this.coffer, this.recordId] as const,
    enabled: (coffer, id) => coffer !== undefined && id !== undefined,
  });
  /** The save under way, if any: a second call joins it. */
  private saving$: Promise<boolean> | undefined;

  /** Whether there are edits not saved yet. */
  get unsaved(): boolean {
    return this.dirty;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('beforeunload', this._onBeforeUnload);
    document.addEventListener('visibilitychange', this._onVisibility);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('beforeunload', this._onBeforeUnload);
    document.removeEventListener('visibilitychange', this._onVisibility);
    if (this.dirty) void this.save();
  }

  /**
   * Save the edits now, if there are any (what the Save button does). Resolves `true` when
   * they are stored or there was nothing to store, `false` when the save was refused: the
   * reason is shown, and the edit is kept (also across a tab switch) until it is saved or
   * discarded.
   */
  save(): Promise<boolean> {
    this.saving$ ??= this._save().finally(() => {
      this.saving$ = undefined;
    });
    return this.saving$;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('recordId')) {
      const previous = this.record.value;
      // Another record: save the edit of the one left (kept in `drafts` if refused).
      // (A save under way, from save(), is already storing it.)
      if (previous && previous.id === changed.get('recordId') && this.dirty && this.draft && !this.saving$)
        void this._commit(previous, this._draft());
      this.draft = undefined;
      this.dirty = false;
      this.alert = undefined;
      this.basedOn = undefined;
    }
    const record = this.record.value;
    if (record && this.draft === undefined && record.id === this.recordId && drafts.has(record.id)) {
      this._restore(record, drafts.get(record.id)!);
      return;
    }
    if (
      record &&
      record.id === this.recordId &&
      (this.draft === undefined || (!this.dirty && record.revisionId !== this.basedOn))
    )
      this._load(record);
  }

  private _draft(): Draft {
    return { fields: this.draft!, json: this.json, tab: this.tab, basedOn: this.basedOn };
  }

  /** Show an edit kept from before, still unsaved, and why. */
  private _restore(record: CofferRecord, draft: Draft): void {
    this.draft = draft.fields;
    this.json = draft.json;
    this.tab = draft.tab;
    this.basedOn = draft.basedOn;
    this.dirty = true;
    this.alert =
      draft.basedOn === record.revisionId
        ? { text: 'Your edit was not saved yet: here it is. Save it, or discard it.' }
        : {
            text: 'Your edit could not be saved: this record was changed in another tab or window meanwhile. Here is your edit; keep it to save it over the other change, or load the latest.',
            conflict: true,
          };
  }

  private _onBeforeUnload = (event: BeforeUnloadEvent): void => {
    if (!this.dirty) return;
    event.preventDefault();
    // Older Chromium needs returnValue set to ask.
    event.returnValue = '';
  };

  private _onVisibility = (): void => {
    if (document.visibilityState === 'hidden' && this.dirty) void this.save();
  };

  private _load(record: CofferRecord): void {
    const data = record.data as Record<string, unknown>;
    this.draft = readFields(data);
    this.json = JSON.stringify(userData(data), null, 2);
    this.basedOn = record.revisionId;
    this.dirty = false;
  }

  override render() {
    if (this.record.error) return html`<p class="alert" role="alert">${describeError(this.record.error)}</p>`;
    const record = this.record.value;
    const draft = this.draft;
    if (!record || !draft) return html`<p class="muted">Loading…</p>`;
    const stale = this.dirty && record.revisionId !== this.basedOn;
    return html`
      <div class="tabs" role="tablist" aria-label="Editor view">
        <button role="tab" aria-selected=${this.tab === 'form'} @click=${() => this._switch('form')}>Details</button>
        <button role="tab" aria-selected=${this.tab === 'json'} @click=${() => this._switch('json')}>JSON</button>
      </div>
      ${
        stale && !this.alert
          ? html`<div class="alert warn" role="alert">
            <p>This record was changed in another tab or window while you were editing.</p>
            <button @click=${() => this._load(record)}>Load the latest</button>
          </div>`
          : ''
      }
      ${
        this.alert
          ? html`<div class="alert" role="alert">
            <p>${this.alert.text}</p>
            ${
              this.alert.conflict
                ? html`<button @click=${() => {
                    this.alert = undefined;
                    drafts.delete(record.id);
                    this._load(record);
                  }}>Load the latest</button>
                  ${
                    this.dirty
                      ? html`<button @click=${() => {
                          this.alert = undefined;
                          this.basedOn = record.revisionId;
                        }}>Keep my edit</button>`
                      : ''
                  }`
                : html`<button class="ghost" @click=${() => (this.alert = undefined)}>Dismiss</button>`
            }
          </div>`
          : ''
      }
      <form @submit=${this._onSave} @input=${() => (this.dirty = true)}>
        ${this.tab === 'form' ? this._renderForm(draft) : this._renderJson()}
        <div class="footer">
          <button type="submit" class="primary" ?disabled=${this.saving || !this.dirty}>
            ${this.saving ? 'Saving…' : 'Save changes'}
          </button>
          <button type="button" ?disabled=${!this.dirty} @click=${() => {
            drafts.delete(record.id);
            this.alert = undefined;
            this._load(record);
          }}>Discard</button>
          <span class="muted small" role="status" aria-live="polite" tabindex="-1"
            >${this.status || `Revision ${record.revisionId} · saved ${formatAgo(record.updated)}`}</span
          >
          <span class="spacer"></span>
          <button type="button" class="danger" @click=${this._onDelete}>${icons.trash} Move to trash</button>
        </div>
      </form>
    `;
  }

  private _renderForm(draft: RecordFields) {
    const update = (patch: Partial<RecordFields>) => {
      this.draft = { ...draft, ...patch };
      this.dirty = true;
    };
    return html`
      <div class="field">
        <label for="title">Title</label>
        <input id="title" required .value=${draft.title} @input=${(e: Event) => update({ title: (e.target as HTMLInputElement).value })} />
      </div>
      <div class="field">
        <label for="description">Description</label>
        <textarea
          id="description"
          rows="4"
          .value=${draft.description}
          @input=${(e: Event) => update({ description: (e.target as HTMLTextAreaElement).value })}
        ></textarea>
      </div>
      <div class="grid2">
        <div class="field">
          <label for="creators">Creators</label>
          <textarea
            id="creators"
            rows="3"
            aria-describedby="creators-hint"
            .value=${draft.creators.map((c) => c.name).join('\n')}
            @change=${(e: Event) =>
              update({
                creators: (e.target as HTMLTextAreaElement).value
                  .split('\n')
                  .map((name) => ({ name: name.trim() }))
                  .filter((c) => c.name),
              })}
          ></textarea>
          <span class="hint" id="creators-hint">One person or organisation per line.</span>
        </div>
        <div class="field">
          <label for="keywords">Keywords</label>
          <input
            id="keywords"
            aria-describedby="keywords-hint"
            .value=${draft.keywords.join(', ')}
            @change=${(e: Event) =>
              update({
                keywords: [
                  ...new Set(
                    (e.target as HTMLInputElement).value
                      .split(',')
                      .map((k) => k.trim())
                      .filter(Boolean),
                  ),
                ],
              })}
          />
          <span class="hint" id="keywords-hint">Separate with commas.</span>
          <div class="chips">${draft.keywords.map((k) => html`<span class="badge accent">${k}</span>`)}</div>
        </div>
      </div>
      <fieldset class="field" style="border:0;padding:0;margin-inline:0">
        <legend class="label">Dates</legend>
        <div class="dates">
          ${draft.dates.map(
            (d, i) => html`<div class="date-row">
              <input
                type="date"
                aria-label="Date ${i + 1}"
                .value=${d.date}
                @change=${(e: Event) => update({ dates: draft.dates.map((x, j) => (j === i ? { ...x, date: (e.target as HTMLInputElement).value } : x)) })}
              />
              <input
                placeholder="What happened, e.g. Collected"
                aria-label="What date ${i + 1} is"
                .value=${d.type}
                @change=${(e: Event) => update({ dates: draft.dates.map((x, j) => (j === i ? { ...x, type: (e.target as HTMLInputElement).value } : x)) })}
              />
              <button type="button" class="ghost" aria-label="Remove date ${i + 1}" @click=${() => update({ dates: draft.dates.filter((_, j) => j !== i) })}>
                Remove
              </button>
            </div>`,
          )}
          <div>
            <button
              type="button"
              @click=${() => update({ dates: [...draft.dates, { date: new Date().toISOString().slice(0, 10), type: '' }] })}
            >
              ${icons.plus} Add a date
            </button>
          </div>
        </div>
      </fieldset>
    `;
  }

  private _renderJson() {
    return html`<div class="field">
      <label for="json">Record JSON</label>
      <textarea
        id="json"
        class="json"
        spellcheck="false"
        aria-describedby="json-hint"
        .value=${this.json}
        @input=${(e: Event) => {
          this.json = (e.target as HTMLTextAreaElement).value;
          this.dirty = true;
        }}
      ></textarea>
      <span class="hint" id="json-hint">${MANAGED_FIELDS.join(' and ')} are kept by Coffer and not shown.</span>
    </div>`;
  }

  private _switch(tab: 'form' | 'json'): void {
    if (tab === this.tab) return;
    const record = this.record.value!;
    if (tab === 'json') {
      const data = userData(record.data as Record<string, unknown>);
      writeFields(data, this.draft!);
      this.json = JSON.stringify(data, null, 2);
    } else {
      try {
        this.draft = readFields(JSON.parse(this.json) as Record<string, unknown>);
      } catch (error) {
        this.alert = { text: describeError(error) };
        return;
      }
    }
    this.tab = tab;
  }

  private async _onSave(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (await this.save()) {
      await this.updateComplete;
      // The button just pressed is disabled now: keep focus where the result is told.
      this.renderRoot.querySelector<HTMLElement>('.footer [role=status]')?.focus();
    }
  }

  private async _save(): Promise<boolean> {
    const record = this.record.value;
    if (!record || !this.dirty || !this.draft || record.id !== this.recordId) return true;
    return this._commit(record, this._draft());
  }

  /** Store `draft` as the next revision of `record`; on refusal, keep it in `drafts`. */
  private async _commit(record: CofferRecord, draft: Draft): Promise<boolean> {
    const here = () => this.recordId === record.id;
    this.saving = true;
    this.alert = undefined;
    try {
      const data = record.data as Record<string, unknown>;
      if (draft.tab === 'json') {
        const parsed = JSON.parse(draft.json) as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new SyntaxError('the record must be a JSON object.');
        }
        for (const field of Object.keys(data)) {
          if (!(MANAGED_FIELDS as readonly string[]).includes(field)) delete data[field];
        }
        Object.assign(data, userData(parsed as Record<string, unknown>));
      } else {
        writeFields(data, draft.fields);
      }
      if (draft.basedOn !== undefined && record.revisionId !== draft.basedOn) {
        throw new RevisionConflictError(
          `Record ${record.id} is at revision ${record.revisionId}, not ${draft.basedOn}: another writer changed it.`,
          { recordId: record.id, expected: draft.basedOn, actual: record.revisionId },
        );
      }
      await record.commit();
      drafts.delete(record.id);
      if (!here()) return true;
      this.basedOn = record.revisionId;
      if (this.draft === draft.fields && this.json === draft.json) this.dirty = false;
      this.status = 'Saved.';
      this.emit('coffer-saved', { id: record.id, revisionId: record.revisionId });
      setTimeout(() => (this.status = ''), 3000);
      return true;
    } catch (error) {
      // Keep the edit: shown again when the editor comes back to this record.
      drafts.set(record.id, draft);
      await record.reload().catch(() => undefined);
      const text = this.report(error, { shown: true });
      if (here()) this.alert = { text, conflict: error instanceof RevisionConflictError };
      return false;
    } finally {
      this.saving = false;
    }
  }

  private async _onDelete(): Promise<void> {
    const record = this.record.value;
    if (!record) return;
    try {
      await record.delete();
      this.emit('coffer-deleted', { id: record.id });
    } catch (error) {
      this.alert = { text: this.report(error, { shown: true }) };
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'coffer-record-editor': CofferRecordEditor;
  }
}
