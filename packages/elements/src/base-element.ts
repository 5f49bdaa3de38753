import type { Coffer } from '@coffer/core';
import { consume } from '@lit/context';
import { LitElement } from 'lit';
import { property } from 'lit/decorators.js';
import { cofferContext } from './context.js';
import { describeError } from './messages.js';

/** Detail of the `coffer-error` event. */
export interface CofferErrorDetail {
  /** What was thrown. */
  error: unknown;
  /** The sentence shown to people. */
  message: string;
  /**
   * Whether the element shows the message itself, next to what failed: a page that also
   * collects errors (a toast) can then leave it out, so that no error shows twice.
   */
  shown: boolean;
}

/**
 * The base of Coffer elements that read or write a coffer. The coffer comes from the
 * `coffer` property or, inside an app that provides it, from {@link cofferContext}.
 *
 * @example
 * ```ts
 * class MyPanel extends CofferElement {
 *   override render() {
 *     return html`<p>${this.coffer?.name}</p>`;
 *   }
 * }
 * ```
 */
export class CofferElement extends LitElement {
  /** The open coffer; provided by context when not set. */
  @consume({ context: cofferContext, subscribe: true })
  @property({ attribute: false })
  coffer?: Coffer | undefined;

  /**
   * Tell the page about an error (`coffer-error`, bubbling) and return its plain-language text.
   * Pass `shown` when the element shows that text itself.
   */
  protected report(error: unknown, options: { shown?: boolean } = {}): string {
    const message = describeError(error);
    if ((error as { code?: string })?.code !== 'ABORTED') {
      this.dispatchEvent(
        new CustomEvent<CofferErrorDetail>('coffer-error', {
          detail: { error, message, shown: options.shown ?? false },
          bubbles: true,
          composed: true,
        }),
      );
    }
    return message;
  }

  /** Dispatch a bubbling, composed event. */
  protected emit<T>(type: string, detail: T): void {
    this.dispatchEvent(new CustomEvent<T>(type, { detail, bubbles: true, composed: true }));
  }
}
