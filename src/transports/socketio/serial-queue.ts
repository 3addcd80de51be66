/**
 * Runs one client's commands strictly one after another, so their effects and their acks keep
 * the order the client sent them in even when the store answers asynchronously. `limit` bounds
 * what may wait: a client that floods faster than the store answers is refused, not buffered.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Schedules `task`; returns false, without scheduling it, when `limit` tasks are already waiting. */
  push(task: () => Promise<unknown>): boolean {
    if (this.#pending >= this.#limit) return false;
    this.force(task);
    return true;
  }

  /** Schedules `task` whatever the backlog: for what must not be refused, like a disconnect. */
  force(task: () => Promise<unknown>): void {
    this.#pending++;
    const run = async () => {
      try {
        await task();
      } finally {
        this.#pending--;
      }
    };
    this.#tail = this.#tail.then(run, run);
  }

  /** Nothing is scheduled or running: work done right now cannot overtake any of it. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /** Resolves once everything scheduled so far has run. */
  drained(): Promise<unknown> {
    return this.#tail;
  }
}
