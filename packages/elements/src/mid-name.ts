import { css, html, type TemplateResult } from 'lit';
import { splitName } from './format.js';

/**
 * A long file name cut in the middle, keeping its extension (`a-very-lo…2026.jpeg`); its text
 * (and so its accessible name) is the whole name. Needs {@link middleEllipsisStyles} and a
 * `mid-name` class on the element holding it.
 *
 * @example
 * ```ts
 * html`<span class="mid-name" title=${key}>${midName(key)}</span>`;
 * ```
 */
export function midName(name: string): TemplateResult {
  const { head, tail } = splitName(name);
  // A head narrower than its 1.5em minimum would leave a gap before the tail ("sit e-plan.pdf"):
  // a name that short is shown whole.
  return [...head].length > 3
    ? html`<span class="head">${head}</span><span class="tail">${tail}</span>`
    : html`<span class="tail">${name}</span>`;
}

/**
 * The styles of {@link midName}: the head shrinks with an ellipsis, the tail stays.
 */
export const middleEllipsisStyles = css`
  .mid-name {
    display: flex;
    min-width: 0;
    max-width: 100%;
    white-space: nowrap;
  }
  .mid-name .head {
    overflow: hidden;
    text-overflow: ellipsis;
    min-width: 1.5em;
  }
  .mid-name .tail {
    flex: none;
  }
`;
