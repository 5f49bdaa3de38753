/** What a preview, thumbnail or download needs of a stored file (a `FileObject` or an `ObjectVersion`). */
export interface StoredFile {
  key: string;
  versionId: string;
  size: number;
  mimetype: string;
  /** Where the service worker serves it. */
  url: string;
  blob(): Promise<Blob>;
}

/**
 * Whether a service worker controls this page, so that Coffer file URLs are served.
 *
 * @example
 * ```ts
 * if (!serviceWorkerServes()) console.info('Previews use object URLs until the service worker takes over.');
 * ```
 */
export function serviceWorkerServes(): boolean {
  return typeof navigator !== 'undefined' && !!navigator.serviceWorker?.controller;
}

/**
 * The service-worker URL of exactly this version (cache-safe: a new version is a new URL).
 *
 * @example
 * ```ts
 * img.src = versionUrl(file);                       // "/coffer/buckets/<id>/objects/<key>?versionId=<id>"
 * link.href = versionUrl(file, { download: true });
 * ```
 */
export function versionUrl(file: StoredFile, options: { download?: boolean } = {}): string {
  const url = new URL(file.url, location.href);
  if (!url.searchParams.has('versionId')) url.searchParams.set('versionId', file.versionId);
  if (options.download) url.searchParams.set('download', '');
  return url.pathname + url.search.replace(/download=(&|$)/, 'download$1');
}

/**
 * A URL that shows `file`: its service-worker URL when a service worker serves this page,
 * otherwise an object URL of its Blob. Call `revoke` when done.
 *
 * @example
 * ```ts
 * const { url, revoke } = await resolveFileUrl(file);
 * img.src = url;
 * img.onload = revoke;
 * ```
 */
export async function resolveFileUrl(file: StoredFile): Promise<{ url: string; revoke: () => void }> {
  if (serviceWorkerServes()) return { url: versionUrl(file), revoke: () => undefined };
  const url = URL.createObjectURL(await file.blob());
  return { url, revoke: () => URL.revokeObjectURL(url) };
}

/**
 * Save `file` to the user's downloads, through the service worker or from its Blob.
 *
 * @example
 * ```ts
 * button.onclick = () => downloadFile(file);
 * ```
 */
export async function downloadFile(file: StoredFile): Promise<void> {
  const link = document.createElement('a');
  let revoke: () => void = () => undefined;
  if (serviceWorkerServes()) {
    // The route answers `?download` with `Content-Disposition: attachment; filename=...`;
    // Chromium cancels such a download when the link also has a `download` attribute.
    link.href = versionUrl(file, { download: true });
  } else {
    link.download = file.key.split('/').pop() ?? file.key;
    link.href = URL.createObjectURL(await file.blob());
    revoke = () => URL.revokeObjectURL(link.href);
  }
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(revoke, 60_000);
}

/** Image types every browser draws (SVG is served as text, so it is not among them). */
const WEB_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);

/** Which kind of inline preview a media type gets. */
export type PreviewKind = 'image' | 'pdf' | 'audio' | 'video' | 'text' | 'none';

/**
 * The preview kind for a media type.
 *
 * @example
 * ```ts
 * previewKind('image/png');       // "image"
 * previewKind('application/pdf'); // "pdf"
 * previewKind('application/zip'); // "none"
 * ```
 */
export function previewKind(mimetype: string): PreviewKind {
  const type = mimetype.split(';')[0]!.trim().toLowerCase();
  if (WEB_IMAGES.has(type)) return 'image';
  if (type === 'application/pdf') return 'pdf';
  if (type.startsWith('audio/')) return 'audio';
  if (type.startsWith('video/')) return 'video';
  if (
    type.startsWith('text/') ||
    ['application/json', 'application/xml', 'application/javascript'].includes(type)
  ) {
    return 'text';
  }
  return 'none';
}
