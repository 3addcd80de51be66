/**
 * The next payload a subscription delivers, unsubscribing after it; with `timeoutMs`, rejects
 * (and unsubscribes) when none came by then.
 */
export function nextEvent<P>(
  subscribe: (listener: (payload: P) => void) => () => void,
  event: string,
  timeoutMs?: number,
): Promise<P> {
  return new Promise((resolve, reject) => {
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            off();
            reject(new Error(`no "${event}" within ${timeoutMs} ms`));
          }, timeoutMs);
    const off = subscribe((payload) => {
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** A minimal typed event emitter that runs the same in the browser and in Node. */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Subscribes; returns the unsubscribe function. */
  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Resolves with the next `event`; with `timeoutMs`, rejects if none comes by then. */
  once<E extends keyof Events>(event: E, timeoutMs?: number): Promise<Events[E]> {
    return nextEvent((listener) => this.on(event, listener), String(event), timeoutMs);
  }

  protected emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as (payload: Events[E]) => void)(payload);
      } catch (error) {
        // A throwing listener is the app's bug: surface it as an uncaught error, but let the
        // other listeners and the SDK's own bookkeeping carry on.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
