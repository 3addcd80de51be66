const SETTLED: Promise<unknown> = Promise.resolve();

/**
 * Runs one client's commands strictly one after another, so their effects and their acks keep
 * the order the client sent them in even when the store answers asynchronously. `limit` bounds
 * what may wait: a client that floods faster than the store answers is refused, not buffered.
 * An idle queue holds no promise, and is in `busy` (when given) exactly while it has work: every
 * connection has a queue, and most of them are idle most of the time.
 */
export class SerialQueue {
  #tail: Promise<unknown> | undefined;
  #pending = 0;
  readonly #limit: number;
  readonly #busy: Set<SerialQueue> | undefined;

  constructor(limit: number, busy?: Set<SerialQueue>) {
    this.#limit = limit;
    this.#busy = busy;
  }

  /** Schedules `task`; returns false, without scheduling it, when `limit` tasks are already waiting. */
  push(task: () => Promise<unknown>): boolean {
    if (this.#pending >= this.#limit) return false;
    this.force(task);
    return true;
  }

  /** Schedules `task` whatever the backlog: for what must not be refused, like a disconnect. */
  force(task: () => Promise<unknown>): void {
    if (this.#pending++ === 0) this.#busy?.add(this);
    const run = async () => {
      try {
        await task();
      } finally {
        if (--this.#pending === 0) {
          // Everything scheduled has run: the next task starts from a settled promise.
          this.#tail = undefined;
          this.#busy?.delete(this);
        }
      }
    };
    this.#tail = (this.#tail ?? SETTLED).then(run, run);
  }

  /** Nothing is scheduled or running: work done right now cannot overtake any of it. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /** How many tasks are scheduled or running. */
  get size(): number {
    return this.#pending;
  }

  /** Resolves once everything scheduled so far has run. */
  drained(): Promise<unknown> {
    return this.#tail ?? SETTLED;
  }
}
