import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { Workbox } from 'workbox-window';

/**
 * Registers the app's service worker and tells its host when a new version is ready. The new
 * version takes over only when the user agrees ({@link ServiceWorkerUpdateController.update}):
 * `messageSkipWaiting()`, then one reload once it controls the page.
 */
export class ServiceWorkerUpdateController implements ReactiveController {
  /** A new version is installed and waiting for the user's consent. */
  updateReady = false;
  /** The app shell is cached: the app works offline. */
  offlineReady = false;
  private workbox: Workbox | undefined;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {
    if (this.workbox || !('serviceWorker' in navigator) || import.meta.env.DEV) return;
    const workbox = new Workbox(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL });
    workbox.addEventListener('waiting', () => {
      this.updateReady = true;
      this.host.requestUpdate();
    });
    workbox.addEventListener('activated', (event) => {
      if (!event.isUpdate) {
        this.offlineReady = true;
        this.host.requestUpdate();
      }
    });
    this.workbox = workbox;
    void workbox.register().then(() => {
      if (navigator.serviceWorker.controller) this.offlineReady = true;
      this.host.requestUpdate();
    });
  }

  /** Switch to the waiting version and reload once it controls the page. */
  update(): void {
    const workbox = this.workbox;
    if (!workbox) return;
    workbox.addEventListener('controlling', () => window.location.reload());
    workbox.messageSkipWaiting();
  }

  /** Keep the current version for now. */
  dismiss(): void {
    this.updateReady = false;
    this.host.requestUpdate();
  }
}
