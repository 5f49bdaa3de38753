import type { UploadItem } from './coffer-upload-queue.js';

/** An upload as the tracker knows it: the record it goes to. */
export interface TrackedUpload extends UploadItem {
  /** The name of the coffer written to. */
  coffer: string;
  /** The record whose files it joins. */
  recordId: string;
}

/**
 * The uploads of the page, wherever they were started: an upload outlives the element that
 * started it (a `<coffer-files>` left for another tab keeps writing), so its progress and its
 * Cancel must stay reachable from anywhere. `<coffer-files>` adds its uploads here; an app
 * shows the ones of other screens (see `activeElsewhere`). Dispatches `change` when an upload
 * is added, moves (at most once a frame) or ends.
 *
 * @example
 * ```ts
 * uploadTracker.addEventListener('change', () => {
 *   badge.textContent = String(uploadTracker.active().length);
 * });
 * ```
 */
export class UploadTracker extends EventTarget {
  private list: TrackedUpload[] = [];
  private frame = 0;

  /** Every upload still listed, oldest first. */
  get items(): readonly TrackedUpload[] {
    return this.list;
  }

  /** The uploads of one record, oldest first (a new array). */
  forRecord(coffer: string, recordId: string): TrackedUpload[] {
    return this.list.filter((item) => item.coffer === coffer && item.recordId === recordId);
  }

  /** The uploads queued or running, optionally only those for which `where` holds. */
  active(where: (item: TrackedUpload) => boolean = () => true): TrackedUpload[] {
    return this.list.filter((item) => (item.state === 'queued' || item.state === 'uploading') && where(item));
  }

  add(item: TrackedUpload): void {
    this.list = [...this.list, item];
    this.changed();
  }

  /** Change an upload's state (told at once) . */
  update(item: TrackedUpload, patch: Partial<UploadItem>): void {
    Object.assign(item, patch);
    this.list = [...this.list];
    this.changed();
  }

  /** Bytes moved: told at most once a frame. */
  progress(item: TrackedUpload, loaded: number): void {
    item.loaded = loaded;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.list = [...this.list];
      this.changed();
    });
  }

  /** Cancel an upload: a queued one ends at once, a running one when its write stops. */
  cancel(id: string): void {
    const item = this.list.find((u) => u.id === id);
    if (!item) return;
    item.controller.abort();
    if (item.state === 'queued') this.update(item, { state: 'cancelled' });
  }

  /** Drop `item` from the list. */
  remove(item: TrackedUpload): void {
    this.list = this.list.filter((u) => u !== item);
    this.changed();
  }

  /** Drop the finished uploads for which `where` holds. */
  clearFinished(where: (item: TrackedUpload) => boolean = () => true): void {
    this.list = this.list.filter((u) => u.state === 'queued' || u.state === 'uploading' || !where(u));
    this.changed();
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}

/**
 * The page's one {@link UploadTracker}.
 *
 * @example
 * ```ts
 * const mine = uploadTracker.forRecord(coffer.name, record.id);
 * for (const upload of mine) uploadTracker.cancel(upload.id);
 * ```
 */
export const uploadTracker = new UploadTracker();
