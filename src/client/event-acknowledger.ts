/**
 * The client's half of sequenced delivery (docs/protocol.md, "Delivery"): every server event of a
 * session carries a seq; this remembers the highest one processed, tells a duplicate from a new
 * one, and acknowledges cumulatively, at most once per `delayMs` after a receipt, so the server
 * may forget what it kept for a resume. Shared by both signaling clients.
 */
export class EventAcknowledger {
  #last = 0;
  #acked = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #send: (seq: number) => void;
  readonly #delayMs: number;

  /** `send` writes the `ack` message; it may drop it when disconnected (a resume presents `last` anyway). */
  constructor(send: (seq: number) => void, delayMs = 500) {
    this.#send = send;
    this.#delayMs = delayMs;
  }

  /** The highest seq processed: what a resume presents as `lastSeq`. */
  get last(): number {
    return this.#last;
  }

  /** Takes a numbered event: true when it is new, false for a duplicate to drop. */
  receive(seq: number): boolean {
    if (seq <= this.#last) return false;
    this.#last = seq;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (this.#last <= this.#acked) return;
      this.#acked = this.#last;
      this.#send(this.#last);
    }, this.#delayMs);
    return true;
  }

  /** A new session: its numbering starts over. */
  reset(): void {
    this.stop();
    this.#last = 0;
    this.#acked = 0;
  }

  /** Cancels a pending acknowledgement (the client is closing). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
