import type { Coffer } from '@coffer/core';
import { createContext } from '@lit/context';

/**
 * The open coffer, provided once by an app (`@provide({ context: cofferContext })`) and
 * consumed by every Coffer element inside it. Elements also take it as a `coffer` property.
 *
 * @example
 * ```ts
 * @customElement('my-app')
 * class MyApp extends LitElement {
 *   @provide({ context: cofferContext }) coffer?: Coffer; // every Coffer element inside gets it
 * }
 * ```
 */
export const cofferContext = createContext<Coffer | undefined>(Symbol('coffer'));
