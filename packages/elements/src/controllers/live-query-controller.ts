import { liveQuery } from '@coffer/core';
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * Where a live query stands: `as const` object plus the union it derives.
 *
 * @example
 * ```ts
 * if (this.files.status === LiveQueryStatus.Ready) return html`${this.files.value?.length} files`;
 * ```
 */
export const LiveQueryStatus = { Idle: 'idle', Pending: 'pending', Ready: 'ready', Error: 'error' } as const;
/** One of {@link LiveQueryStatus}. */
export type LiveQueryStatus = (typeof LiveQueryStatus)[keyof typeof LiveQueryStatus];

/** Options of a {@link LiveQueryController}. */
export interface LiveQueryOptions<T, A extends readonly unknown[]> {
  /** The read; it re-runs whenever the data it read changes, in this tab or another. */
  query: (...args: A) => Promise<T> | T;
  /** The arguments; when they change (compared item by item), the query is re-subscribed. */
  args: () => A;
  /** Skip the query (status `idle`) while this returns false, e.g. until a coffer arrives. */
  enabled?: (...args: A) => boolean;
}

/**
 * Keeps a Dexie `liveQuery` subscribed while its host is connected and re-renders the host on
 * every new result, so two tabs of an app update each other at once.
 *
 * @template T the query's result
 * @template A the query's arguments
 * @example
 * ```ts
 * private files = new LiveQueryController(this, {
 *   query: (record) => record.files.dumps(),
 *   args: () => [this.record] as const,
 *   enabled: (record) => record !== undefined,
 * });
 * render() { return html`${this.files.value?.length ?? 0} files`; }
 * ```
 */
export class LiveQueryController<T, const A extends readonly unknown[] = readonly unknown[]>
  implements ReactiveController
{
  /** The latest result; kept while a re-run is pending. */
  value: T | undefined = undefined;
  /** The error of the latest run, when it failed. */
  error: unknown = undefined;
  /** Where the query stands. */
  status: LiveQueryStatus = LiveQueryStatus.Idle;

  private subscription: { unsubscribe(): void } | undefined;
  private lastArgs: A | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: LiveQueryOptions<T, A>,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.resubscribe(this.options.args());
  }

  hostUpdate(): void {
    const args = this.options.args();
    const last = this.lastArgs;
    if (!last || args.length !== last.length || args.some((arg, i) => !Object.is(arg, last[i]))) {
      this.resubscribe(args);
    }
  }

  hostDisconnected(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.lastArgs = undefined;
  }

  /** Run the query again now (e.g. after a write the live query cannot see). */
  refresh(): void {
    this.resubscribe(this.options.args(), true);
  }

  private resubscribe(args: A, keepValue = false): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    const changed = this.lastArgs !== undefined && !keepValue;
    this.lastArgs = args;
    if (changed) this.value = undefined;
    this.error = undefined;
    if (this.options.enabled && !this.options.enabled(...args)) {
      this.status = LiveQueryStatus.Idle;
      this.value = undefined;
      return;
    }
    this.status = LiveQueryStatus.Pending;
    const observable = liveQuery(() => this.options.query(...args));
    this.subscription = observable.subscribe({
      next: (value: T) => {
        this.value = value;
        this.error = undefined;
        this.status = LiveQueryStatus.Ready;
        this.host.requestUpdate();
      },
      error: (error: unknown) => {
        this.error = error;
        this.status = LiveQueryStatus.Error;
        this.host.requestUpdate();
      },
    });
  }
}
