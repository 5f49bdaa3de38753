import { css } from 'lit';

/**
 * The design tokens and base styles every Coffer element shares. Tokens are CSS custom
 * properties (`--coffer-*`) a page may set; each falls back to a light/dark pair that follows
 * the user's colour scheme.
 *
 * @example
 * ```ts
 * class MyPanel extends CofferElement {
 *   static override styles = [baseStyles, css`:host { display: block; }`];
 * }
 * ```
 */
export const baseStyles = css`
  :host {
    color-scheme: light dark;
    --_bg: var(--coffer-bg, light-dark(#f6f7f9, #111418));
    --_surface: var(--coffer-surface, light-dark(#ffffff, #1a1e24));
    --_surface-2: var(--coffer-surface-2, light-dark(#f1f3f6, #232830));
    --_text: var(--coffer-text, light-dark(#1b1f24, #e8eaed));
    --_muted: var(--coffer-muted, light-dark(#5b6470, #aab2bd));
    --_border: var(--coffer-border, light-dark(#dde1e6, #323842));
    --_accent: var(--coffer-accent, light-dark(#2357d9, #7aa2ff));
    --_accent-text: var(--coffer-accent-text, light-dark(#ffffff, #0b1220));
    --_accent-soft: var(--coffer-accent-soft, light-dark(#e8eefc, #1d2a46));
    --_danger: var(--coffer-danger, light-dark(#c22a2a, #ff8a80));
    --_danger-soft: var(--coffer-danger-soft, light-dark(#fdecec, #3a1d1d));
    --_ok: var(--coffer-ok, light-dark(#1d7a46, #6fd29b));
    --_warn-soft: var(--coffer-warn-soft, light-dark(#fff6e0, #3a3020));
    --_radius: var(--coffer-radius, 10px);
    --_space-1: 4px;
    --_space-2: 8px;
    --_space-3: 12px;
    --_space-4: 16px;
    --_space-5: 24px;
    --_space-6: 32px;
    --_focus: 0 0 0 3px color-mix(in srgb, var(--_accent) 45%, transparent);
    font-family: var(--coffer-font, system-ui, -apple-system, 'Segoe UI', Roboto, Ubuntu, sans-serif);
    font-size: 15px;
    line-height: 1.45;
    color: var(--_text);
    box-sizing: border-box;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  [hidden] {
    display: none !important;
  }
  h2,
  h3,
  h4 {
    margin: 0;
    line-height: 1.25;
  }
  h2 {
    font-size: 1.15rem;
  }
  h3 {
    font-size: 1rem;
  }
  p {
    margin: 0;
  }
  .muted {
    color: var(--_muted);
  }
  .small {
    font-size: 0.85em;
  }
  .mono {
    font-family: ui-monospace, 'SF Mono', 'Cascadia Mono', 'DejaVu Sans Mono', monospace;
    font-size: 0.85em;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  .card {
    background: var(--_surface);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: var(--_space-4);
  }
  .row {
    display: flex;
    align-items: center;
    gap: var(--_space-2);
    flex-wrap: wrap;
  }
  .spacer {
    flex: 1;
  }
  button,
  .button {
    font: inherit;
    font-size: 0.9rem;
    font-weight: 500;
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: var(--_space-1);
    min-height: 36px;
    padding: 0 var(--_space-3);
    border-radius: 8px;
    border: 1px solid var(--_border);
    background: var(--_surface);
    color: var(--_text);
    cursor: pointer;
    text-decoration: none;
    white-space: nowrap;
  }
  button:hover:not(:disabled),
  .button:hover {
    background: var(--_surface-2);
  }
  button.primary {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_accent-text);
  }
  button.primary:hover:not(:disabled) {
    background: color-mix(in srgb, var(--_accent) 88%, black);
  }
  button.danger {
    color: var(--_danger);
  }
  button.danger:hover:not(:disabled) {
    background: var(--_danger-soft);
  }
  button.ghost {
    border-color: transparent;
    background: transparent;
  }
  button.icon {
    padding: 0;
    width: 36px;
  }
  button:disabled {
    opacity: 0.5;
    cursor: not-allowed;
  }
  :focus-visible {
    outline: none;
    box-shadow: var(--_focus);
  }
  input,
  textarea,
  select {
    font: inherit;
    font-size: 0.95rem;
    color: var(--_text);
    background: var(--_surface);
    border: 1px solid var(--_border);
    border-radius: 8px;
    padding: var(--_space-2) var(--_space-3);
    min-height: 38px;
    width: 100%;
  }
  textarea {
    resize: vertical;
    min-height: 80px;
  }
  input[type='checkbox'] {
    width: 18px;
    height: 18px;
    min-height: 0;
    margin: 0;
    flex: none;
    accent-color: var(--_accent);
  }
  input:focus-visible,
  textarea:focus-visible,
  select:focus-visible {
    border-color: var(--_accent);
  }
  label,
  .label {
    display: block;
    font-size: 0.85rem;
    font-weight: 600;
    margin-bottom: var(--_space-1);
  }
  .field {
    display: grid;
    gap: var(--_space-1);
    margin-bottom: var(--_space-4);
  }
  .hint {
    font-size: 0.8rem;
    color: var(--_muted);
  }
  .alert {
    display: flex;
    gap: var(--_space-2);
    align-items: flex-start;
    padding: var(--_space-3) var(--_space-4);
    border-radius: var(--_radius);
    background: var(--_danger-soft);
    color: var(--_text);
    border: 1px solid color-mix(in srgb, var(--_danger) 35%, transparent);
  }
  .alert.info {
    background: var(--_accent-soft);
    border-color: color-mix(in srgb, var(--_accent) 30%, transparent);
  }
  .alert.warn {
    background: var(--_warn-soft);
    border-color: color-mix(in srgb, #c98a00 40%, transparent);
  }
  .alert p {
    flex: 1;
  }
  .badge {
    display: inline-block;
    font-size: 0.72rem;
    font-weight: 600;
    letter-spacing: 0.02em;
    padding: 1px 8px;
    border-radius: 999px;
    background: var(--_surface-2);
    color: var(--_muted);
    border: 1px solid var(--_border);
    white-space: nowrap;
  }
  .badge.accent {
    background: var(--_accent-soft);
    color: var(--_accent);
    border-color: transparent;
  }
  .badge.danger {
    background: var(--_danger-soft);
    color: var(--_danger);
    border-color: transparent;
  }
  .meter {
    height: 8px;
    border-radius: 999px;
    background: var(--_surface-2);
    overflow: hidden;
    border: 1px solid var(--_border);
  }
  .meter > span {
    display: block;
    height: 100%;
    background: var(--_accent);
    border-radius: inherit;
    transition: width 0.2s ease;
  }
  .meter.high > span {
    background: var(--_danger);
  }
  .empty {
    text-align: center;
    padding: var(--_space-6) var(--_space-4);
    color: var(--_muted);
  }
`;

/**
 * An element that is a block holding one list (a `ul` or an `ol`): the list has no bullets or
 * indentation, its items in a grid `--_space-2` apart. An element's own styles, placed after
 * these, may set another `gap`.
 *
 * @example
 * ```ts
 * static override styles = [baseStyles, listElementStyles, css`ol { gap: 0; }`];
 * ```
 */
export const listElementStyles = css`
  :host {
    display: block;
  }
  ul,
  ol {
    list-style: none;
    margin: 0;
    padding: 0;
    display: grid;
    gap: var(--_space-2);
  }
`;

/**
 * An element that is a panel: a column of parts (sections, a form, a status) `--_space-4` apart.
 *
 * @example
 * ```ts
 * static override styles = [baseStyles, panelStyles, css`section { display: grid; }`];
 * ```
 */
export const panelStyles = css`
  :host {
    display: grid;
    gap: var(--_space-4);
  }
`;

/**
 * The row of tools above a list (`<div class="tools">`: a search field, filters), wrapping on a
 * narrow screen. An element's own styles, placed after these, size the tools in it.
 *
 * @example
 * ```ts
 * static override styles = [baseStyles, listElementStyles, toolsRowStyles, css`.tools input { flex: 1 1 160px; }`];
 * ```
 */
export const toolsRowStyles = css`
  .tools {
    display: flex;
    flex-wrap: wrap;
    gap: var(--_space-2);
    margin-bottom: var(--_space-3);
  }
`;
