/** A gap that lasts is asked about again at most every this many `gapMs`. */
const MAX_GAP_WAIT_FACTOR = 16;

/**
 * Puts a session's numbered events back in order (docs/protocol.md, "Delivery"), for a transport
 * whose events can overtake each other: over API Gateway each event is its own PostToConnection,
 * made by whichever invocation appended it, and two posts to one connection may land in either
 * order. An event that comes ahead of a missing one is held until the missing one arrives; if it
 * has not within `gapMs`, `onGap` asks the server to replay what came after the last event in
 * order, and asks again, twice as long after each time, while the gap lasts. Duplicates (an event
 * both replayed and posted live) are dropped.
 */
export class EventSequencer<T> {
  #last = 0;
  readonly #held = new Map<number, T>();
  #gapTimer: ReturnType<typeof setTimeout> | undefined;
  /** How long until the next ask, while a gap lasts. */
  #gapWaitMs: number;
  readonly #deliver: (seq: number, item: T) => void;
  readonly #onGap: (last: number) => void;
  readonly #gapMs: number;

  /** `deliver` gets every event once, in order; `onGap(last)` asks for a replay after `last`. */
  constructor(deliver: (seq: number, item: T) => void, onGap: (last: number) => void, gapMs: number) {
    this.#deliver = deliver;
    this.#onGap = onGap;
    this.#gapMs = gapMs;
    this.#gapWaitMs = gapMs;
  }

  /** The highest seq delivered, every one before it delivered too: what a resume presents. */
  get last(): number {
    return this.#last;
  }

  /** Takes event `seq`: delivers it and whatever it unblocks, holds it, or drops it as a duplicate. */
  receive(seq: number, item: T): void {
    if (seq <= this.#last || this.#held.has(seq)) return;
    if (seq !== this.#last + 1) {
      this.#held.set(seq, item);
      this.#gapTimer ??= setTimeout(() => this.#gapOpen(), this.#gapWaitMs);
      return;
    }
    this.#last = seq;
    this.#deliver(seq, item);
    for (let next = this.#held.get(this.#last + 1); next !== undefined; next = this.#held.get(this.#last + 1)) {
      this.#held.delete(this.#last + 1);
      this.#last += 1;
      this.#deliver(this.#last, next);
    }
    if (this.#held.size === 0) this.#stopGapTimer();
  }

  /**
   * The connection closed: what was held will be replayed after `last` on the resume, so it is
   * dropped, and no replay is asked for meanwhile.
   */
  dropHeld(): void {
    this.#held.clear();
    this.#stopGapTimer();
  }

  /** A new session: its numbering starts over. */
  reset(): void {
    this.dropHeld();
    this.#last = 0;
  }

  #gapOpen(): void {
    this.#gapTimer = undefined;
    if (this.#held.size === 0) return;
    this.#gapWaitMs = Math.min(this.#gapWaitMs * 2, MAX_GAP_WAIT_FACTOR * this.#gapMs);
    this.#gapTimer = setTimeout(() => this.#gapOpen(), this.#gapWaitMs);
    this.#onGap(this.#last);
  }

  #stopGapTimer(): void {
    clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
    this.#gapWaitMs = this.#gapMs;
  }
}
