import type { Ack, Signal } from '../protocol/messages.js';
import { asksForRetry, retryPause } from './signal-retry.js';

interface Pending {
  signal: Signal;
  resolve: (ack: Ack) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  /** The next try after an UNAVAILABLE answer, while one is scheduled. */
  retry?: ReturnType<typeof setTimeout>;
  /** UNAVAILABLE answers so far: each doubles the pause before the next try. */
  tries: number;
}

/**
 * The signals a client sent and the server has not acknowledged yet, numbered in the session's
 * order (`cseq`, from 1). A connection that drops may take a signal, or its acknowledgement, with
 * it; the session's resume then sends every unacknowledged one again with its number, and the
 * server relays each number at most once (docs/protocol.md, "Resuming"). So a retry can neither
 * lose a signal nor deliver it twice. For the same reason a signal answered UNAVAILABLE (the store
 * did not answer in time: it may or may not have relayed it) is sent again, with back-off, until
 * another answer or the timeout: its successors are held for it on the server meanwhile.
 */
export class UnackedSignals {
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutMs: number;
  readonly #send: (cseq: number, signal: Signal, answered: (ack: Ack) => void) => void;
  readonly #connected: () => boolean;
  #last = 0;

  /**
   * `send` writes one signal now (the caller knows whether there is a connection to write to);
   * `connected` says whether a retry may be written now (else the resume's `resend` sends it).
   */
  constructor(
    timeoutMs: number,
    send: (cseq: number, signal: Signal, answered: (ack: Ack) => void) => void,
    connected: () => boolean = () => true,
  ) {
    this.#timeoutMs = timeoutMs;
    this.#send = send;
    this.#connected = connected;
  }

  /** Numbers `signal`, sends it when `connected`, and resolves with the server's first answer. */
  add(signal: Signal, connected: boolean): Promise<Ack> {
    const cseq = ++this.#last;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.#settle(cseq, (pending) =>
            pending.reject(new Error(`signal not acknowledged within ${this.#timeoutMs} ms`)),
          ),
        this.#timeoutMs,
      );
      this.#pending.set(cseq, { signal, resolve, reject, timer, tries: 0 });
      if (connected) this.#write(cseq, signal);
    });
  }

  /** The session is known (resumed, or new): every signal still unacknowledged goes (again), in order, with its number. */
  resend(): void {
    for (const [cseq, pending] of this.#pending) {
      clearTimeout(pending.retry);
      pending.retry = undefined;
      this.#write(cseq, pending.signal);
    }
  }

  /** The session is gone (a new one began, or the client closed): nothing pending can be relayed any more. */
  abandon(reason: string): void {
    for (const cseq of [...this.#pending.keys()]) this.#settle(cseq, (pending) => pending.reject(new Error(reason)));
    this.#last = 0;
  }

  #write(cseq: number, signal: Signal): void {
    // Only the first answer counts: a resent copy's answer (`ok`, a duplicate) finds nothing pending.
    this.#send(cseq, signal, (ack) => {
      if (asksForRetry(ack) && this.#retryLater(cseq, ack)) return;
      this.#settle(cseq, (pending) => pending.resolve(ack));
    });
  }

  /** Schedules signal `cseq` to be sent again; false when it is no longer pending or already scheduled. */
  #retryLater(cseq: number, ack: Ack): boolean {
    const pending = this.#pending.get(cseq);
    if (!pending) return false;
    if (pending.retry) return true;
    const pause = retryPause(pending.tries++, ack);
    pending.retry = setTimeout(() => {
      pending.retry = undefined;
      if (this.#pending.get(cseq) === pending && this.#connected()) this.#write(cseq, pending.signal);
    }, pause);
    return true;
  }

  #settle(cseq: number, settle: (pending: Pending) => void): void {
    const pending = this.#pending.get(cseq);
    if (!pending) return;
    this.#pending.delete(cseq);
    clearTimeout(pending.timer);
    clearTimeout(pending.retry);
    settle(pending);
  }
}
