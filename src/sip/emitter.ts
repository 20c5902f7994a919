/**
 * The one typed event emitter of imsdc (works in Node and the browser; every event API in src/ extends it).
 *
 * Listener-error policy: a listener that throws never breaks the protocol code that emitted — `emit` catches the
 * error, the remaining listeners still run and `emit` returns normally. The error is never silent either: it goes to
 * `onListenerError`, whose default rethrows it on a microtask (`queueMicrotask`) so that it surfaces as an uncaught
 * exception, as Node's EventEmitter would, but only after the emitting code has finished. A node with a logger
 * overrides the hook to log instead.
 */
export type EventMap = Record<string, unknown[]>;

type Listener<A extends unknown[]> = (...args: A) => void;

interface Entry {
  fn: Listener<never[]>;
  once: boolean;
}

/** The default `onListenerError`: surface the error as an uncaught exception once the emitting code has finished. */
function rethrowLater(e: unknown): void {
  queueMicrotask(() => {
    throw e;
  });
}

/** An event map: event name → listener arguments (an interface or a type alias). */
export type EventsOf<E> = { [K in keyof E]: unknown[] };

export class TypedEmitter<E extends EventsOf<E>> {
  private readonly listeners = new Map<keyof E, Entry[]>();
  /** where listener exceptions go (default: rethrown on a microtask, see the class comment) */
  protected onListenerError: (e: unknown, event: string) => void = rethrowLater;

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    return this.add(event, fn, false);
  }

  /** Adds a listener that runs at most once; returns the function that removes it. */
  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    return this.add(event, fn, true);
  }

  /** Removes `fn` (added by `on` or `once`; the most recently added one if it was added more than once). */
  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    const list = this.listeners.get(event);
    if (!list) return;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]?.fn === (fn as unknown as Listener<never[]>)) {
        list.splice(i, 1);
        break;
      }
    }
    if (list.length === 0) this.listeners.delete(event);
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Resolves with the event's arguments the next time it fires. */
  next<K extends keyof E>(event: K): Promise<E[K]> {
    return new Promise((resolve) => {
      this.once(event, (...args: E[K]) => resolve(args));
    });
  }

  /** Calls every listener of `event` in order; returns whether there was any. Never throws (see the class comment). */
  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const entry of [...list]) {
      if (entry.once) this.remove(event, entry);
      try {
        (entry.fn as unknown as Listener<E[K]>)(...args);
      } catch (e) {
        try {
          this.onListenerError(e, String(event));
        } catch (hookError) {
          rethrowLater(hookError);
        }
      }
    }
    return true;
  }

  /** Removes the listeners of `event`, or of every event. */
  removeAllListeners<K extends keyof E>(event?: K): void {
    if (event === undefined) this.listeners.clear();
    else this.listeners.delete(event);
  }

  private add<K extends keyof E>(event: K, fn: Listener<E[K]>, once: boolean): () => void {
    let list = this.listeners.get(event);
    if (!list) {
      list = [];
      this.listeners.set(event, list);
    }
    const entry: Entry = { fn: fn as unknown as Listener<never[]>, once };
    list.push(entry);
    return () => this.remove(event, entry);
  }

  private remove(event: keyof E, entry: Entry): void {
    const list = this.listeners.get(event);
    const i = list?.indexOf(entry) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(event);
  }
}
