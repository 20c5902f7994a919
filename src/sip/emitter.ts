/**
 * A small typed event emitter (works in Node and the browser). A listener that throws never breaks the emitter or the
 * protocol path: the error goes to `onListenerError`.
 */
export type EventMap = Record<string, unknown[]>;

type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<Listener<never[]>>>();
  /** where listener exceptions go (default: ignored) */
  protected onListenerError: (e: unknown, event: string) => void = () => undefined;

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn as unknown as Listener<never[]>);
    return () => this.off(event, fn);
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const off = this.on(event, (...args: E[K]) => {
      off();
      fn(...args);
    });
    return off;
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    this.listeners.get(event)?.delete(fn as unknown as Listener<never[]>);
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  /** Resolves with the event's arguments the next time it fires. */
  next<K extends keyof E>(event: K): Promise<E[K]> {
    return new Promise((resolve) => {
      this.once(event, (...args: E[K]) => resolve(args));
    });
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as unknown as Listener<E[K]>)(...args);
      } catch (e) {
        try {
          this.onListenerError(e, String(event));
        } catch {
          // never rethrow
        }
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
