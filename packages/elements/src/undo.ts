/**
 * Detail of `coffer-done`: an action finished that can be taken back. A page shows `message`
 * with an Undo button (a toast) and calls `undo` when it is pressed.
 *
 * @example
 * ```ts
 * app.addEventListener('coffer-done', (e) => toast(e.detail.message, { action: 'Undo', run: e.detail.undo }));
 * ```
 */
export interface CofferDoneDetail {
  /** What was done, as a sentence ("report.pdf deleted."). */
  message: string;
  /** Take the action back; resolves with a sentence saying what was restored. */
  undo?: (() => Promise<string>) | undefined;
}

/**
 * Save `blob` as a download named `name` (a link clicked for the user; the object URL is
 * revoked once the browser has it).
 *
 * @example
 * ```ts
 * saveBlob(await coffer.export(), 'coffer-backup.zip');
 * ```
 */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
