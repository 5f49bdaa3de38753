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
  return head
    ? html`<span class="head">${head}</span><span class="tail">${tail}</span>`
    : html`<span class="tail">${tail}</span>`;
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
