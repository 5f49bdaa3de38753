/** Mount `tag` with properties, wait for its first render. */
export async function mount<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
): Promise<HTMLElementTagNameMap[K]> {
  const el = Object.assign(document.createElement(tag), props);
  document.body.append(el);
  await (el as unknown as { updateComplete: Promise<unknown> }).updateComplete;
  return el;
}

/** Wait until `check` holds (live queries answer asynchronously). */
export async function until(check: () => boolean | Promise<boolean>, timeout = 5000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeout) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The text of an element's shadow root, white space folded. */
export const text = (el: Element): string => el.shadowRoot?.textContent?.replace(/\s+/g, ' ') ?? '';
