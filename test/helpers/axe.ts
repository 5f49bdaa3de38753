import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's findings on the page as it is now (every rule axe runs by default), one line each. */
export async function axeFindings(on: Page): Promise<string[]> {
  // A passing toast (fixed at the bottom) can lie over the text axe checks, which then reads the
  // toast's background: let the app's toasts go first (they leave within seconds).
  await on
    .waitForFunction(
      () => !document.querySelector('coffer-app')?.shadowRoot?.querySelector('[data-toast]'),
      undefined,
      {
        timeout: 15_000,
      },
    )
    .catch(() => undefined);
  // Colours change through short CSS transitions (a colour scheme switched, a hover left): axe
  // must read their end, not a blend of two schemes (a dark text on a half-dark background). A
  // transition starts only when styles are recomputed, which a loaded machine may not have done
  // yet: force it (a layout read) before asking which transitions run.
  await on.waitForFunction(() => {
    void document.documentElement.offsetHeight;
    return document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState !== 'running');
  });
  if (!(await on.evaluate(() => 'axe' in window))) await on.addScriptTag({ path: axePath });
  return on.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(c: Document): Promise<AxeResults> } }).axe;
    type AxeResults = { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
    const { violations } = await axe.run(document);
    return violations.map(
      (v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' > ')).join(', ')}`,
    );
  });
}
