import type { Delivery } from '../core/delivery.js';
import type { StatsPayload } from '../protocol/messages.js';
import type { Outgoing, PairingStore, SessionId } from '../store/pairing-store.js';

/** What a transport gives for one live connection of a session. */
export interface SessionLink {
  /** Writes one event to the connection, as the transport frames it. */
  write(out: Outgoing): void;
  /** Writes a `stats` event: not numbered, not kept (a newer count replaces it, a lost one is not missed). */
  writeStats(stats: StatsPayload): void;
  /** The store lost the session: tell the client so (SESSION_LOST) and close the connection. */
  lose(): void;
}

interface LinkState {
  link: SessionLink;
  /** The highest seq written to this connection (or that the client said it had on resume). */
  written: number;
  /**
   * Events that arrived ahead of a missing one, by seq, until it comes or is fetched. Made at the
   * first gap and dropped when the gap closes: most connections never have one, and an empty Map
   * costs ~180 bytes per connection.
   */
  held: Map<number, Outgoing> | undefined;
  /** Set while the missing events are awaited or fetched. */
  gapTimer: ReturnType<typeof setTimeout> | undefined;
  fetching: boolean;
  /** Where the session stands by what was written to it last (and `idle`): for the gauge of pairs held here, and who gets `stats`. */
  status: 'idle' | 'waiting' | 'paired';
}

export interface LocalDeliveryOptions {
  /**
   * How long an event that arrived ahead of its predecessor waits for it before the outbox is
   * read: events of one session can come from two routes (this process's own store replies and
   * the inbox other instances write to), which are not ordered with each other.
   */
  gapWaitMs?: number;
  onError?: (error: unknown, context: { command: string }) => void;
}

/**
 * Delivery to the connections this process holds, whatever the transport: each session's events
 * are written once and in seq order. Duplicates (an event both replayed and delivered live) are
 * dropped; an event ahead of a gap is held while the gap is filled from the session's outbox.
 */
export class LocalDelivery implements Delivery {
  readonly #store: PairingStore;
  readonly #links = new Map<SessionId, LinkState>();
  readonly #gapWaitMs: number;
  readonly #onError: NonNullable<LocalDeliveryOptions['onError']>;

  constructor(store: PairingStore, options: LocalDeliveryOptions = {}) {
    this.#store = store;
    this.#gapWaitMs = options.gapWaitMs ?? 50;
    this.#onError = options.onError ?? (() => {});
  }

  /**
   * A connection took up `session`, whose client has processed its events up to `after`: from now
   * on its events go to `link`, starting with `replay` (the outbox after `after`). A link that was
   * there before (the client reconnected before the old connection's drop was noticed) is replaced.
   * `status` is where the store said the session stood when the connection took it up.
   */
  open(
    session: SessionId,
    link: SessionLink,
    after: number,
    replay: readonly Outgoing[],
    status: LinkState['status'] = 'idle',
  ): void {
    this.#clearGap(this.#links.get(session));
    const state: LinkState = {
      link,
      written: after,
      held: undefined,
      gapTimer: undefined,
      fetching: false,
      status: 'idle',
    };
    this.#links.set(session, state);
    for (const out of replay) this.#offer(state, out);
    // Where the store says the session stands when it was taken up: the replay may end earlier
    // (a `leave` after it), or be empty (all acknowledged).
    state.status = status;
  }

  /** The connection closed: its session's events are no longer written here (unless another link took over). */
  close(session: SessionId, link: SessionLink): void {
    const state = this.#links.get(session);
    if (state?.link !== link) return;
    this.#clearGap(state);
    this.#links.delete(session);
  }

  /** Whether `link` is the connection that currently carries `session` here. */
  carries(session: SessionId, link: SessionLink): boolean {
    return this.#links.get(session)?.link === link;
  }

  /** The sessions connected here. */
  sessions(): SessionId[] {
    return [...this.#links.keys()];
  }

  /** How many of the sessions connected here were last told they are paired (a gauge, read at scrape time). */
  pairedCount(): number {
    let paired = 0;
    for (const state of this.#links.values()) if (state.status === 'paired') paired++;
    return paired;
  }

  /** How many of the sessions connected here are waiting, by what they were last told. */
  waitingCount(): number {
    let waiting = 0;
    for (const state of this.#links.values()) if (state.status === 'waiting') waiting++;
    return waiting;
  }

  /** Writes `stats` to every session connected here that is waiting, and to no other. */
  writeStatsToWaiting(stats: StatsPayload): void {
    for (const state of this.#links.values()) if (state.status === 'waiting') state.link.writeStats(stats);
  }

  idle(session: SessionId): void {
    const state = this.#links.get(session);
    if (state) state.status = 'idle';
  }

  deliver(events: readonly Outgoing[]): void {
    for (const out of events) {
      const state = this.#links.get(out.to);
      if (state) this.#offer(state, out);
    }
  }

  lost(sessions: readonly SessionId[]): void {
    for (const session of sessions) {
      const state = this.#links.get(session);
      if (!state) continue;
      this.#clearGap(state);
      this.#links.delete(session);
      state.link.lose();
    }
  }

  catchUp(lastSeq: ReadonlyMap<SessionId, number>): void {
    for (const [session, seq] of lastSeq) {
      const state = this.#links.get(session);
      if (state && seq > state.written) this.#fill(session, state);
    }
  }

  #offer(state: LinkState, out: Outgoing): void {
    if (out.seq <= state.written) return; // written already (replayed, then delivered live too)
    if (out.seq > state.written + 1) {
      state.held ??= new Map();
      state.held.set(out.seq, out);
      state.gapTimer ??= setTimeout(() => {
        state.gapTimer = undefined;
        this.#fill(out.to, state);
      }, this.#gapWaitMs);
      return;
    }
    this.#write(state, out);
    const held = state.held;
    if (!held) return;
    // What waited for this one may follow now.
    for (let next = held.get(state.written + 1); next; next = held.get(state.written + 1)) {
      held.delete(next.seq);
      this.#write(state, next);
    }
    // Held events a fill has written meanwhile are done with.
    for (const seq of held.keys()) if (seq <= state.written) held.delete(seq);
    if (held.size > 0) return;
    state.held = undefined;
    this.#clearGap(state);
  }

  #write(state: LinkState, out: Outgoing): void {
    state.written = out.seq;
    switch (out.event.name) {
      case 'waiting':
        state.status = 'waiting';
        break;
      case 'paired':
        state.status = 'paired';
        break;
      case 'partner-left':
        state.status = 'idle';
        break;
    }
    state.link.write(out);
  }

  /** Reads what this connection is missing from the outbox, and writes it in order. */
  #fill(session: SessionId, state: LinkState): void {
    if (state.fetching) return;
    state.fetching = true;
    this.#store.replay(session, state.written).then(
      (events) => {
        state.fetching = false;
        if (this.#links.get(session) !== state) return;
        if (events === null) {
          this.lost([session]);
          return;
        }
        for (const out of events) this.#offer(state, out);
      },
      (error: unknown) => {
        state.fetching = false;
        // The store is unreachable: the next heartbeat's catch-up tries again.
        this.#onError(error, { command: 'replay' });
      },
    );
  }

  #clearGap(state: LinkState | undefined): void {
    if (!state?.gapTimer) return;
    clearTimeout(state.gapTimer);
    state.gapTimer = undefined;
  }
}
