import { randomUUID } from 'node:crypto';
import {
  type EnqueueResult,
  type Pair,
  type PairingStore,
  partnerOf,
  type SessionId,
  type SessionState,
} from './pairing-store.js';

/**
 * The embedded default: one process, no dependencies. Every method runs to completion without
 * awaiting, so each one is atomic with respect to every other on the event loop. The process is
 * the only owner, so attached sessions need no lease; only detached ones expire.
 */
export class MemoryPairingStore implements PairingStore {
  /** Waiting sessions; a Set iterates in insertion order, which makes it a FIFO with O(1) removal. */
  readonly #queue = new Set<SessionId>();
  /** Both members of every pair point at the same record. */
  readonly #pairs = new Map<SessionId, Pair>();
  /** Known sessions: null while attached, else the time (ms) at which the detached session expires. */
  readonly #sessions = new Map<SessionId, number | null>();
  /**
   * Detached sessions by expiry time, oldest first: what the heartbeat sweeps. A session that
   * reattaches stays listed until its old expiry passes, and is then skipped as live.
   */
  readonly #expiries: { session: SessionId; at: number }[] = [];
  /** Detached sessions that were waiting when they dropped. */
  readonly #droppedWhileWaiting = new Set<SessionId>();

  async attach(session: SessionId, { resume }: { resume: boolean }): Promise<SessionState | null> {
    if (resume && !this.#alive(session)) return null;
    this.#sessions.set(session, null);
    if (this.#droppedWhileWaiting.delete(session)) return { status: 'idle', requeue: true };
    return this.#stateOf(session);
  }

  async detach(session: SessionId, graceMs: number): Promise<void> {
    if (!this.#sessions.has(session)) return;
    if (this.#queue.delete(session)) this.#droppedWhileWaiting.add(session);
    const at = Date.now() + graceMs;
    this.#sessions.set(session, at);
    // Graces are all alike in practice, so appending keeps the list in expiry order; a shorter one
    // is only swept a little late.
    this.#expiries.push({ session, at });
  }

  async release(session: SessionId): Promise<void> {
    this.#queue.delete(session);
    this.#sessions.delete(session);
    this.#droppedWhileWaiting.delete(session);
  }

  async heartbeat(sessions: SessionId[]): Promise<SessionId[]> {
    this.#sweep();
    const orphans: SessionId[] = [];
    for (const session of sessions) {
      const pair = this.#pairs.get(session);
      if (!pair) continue;
      const partner = pair.initiator === session ? pair.polite : pair.initiator;
      if (!this.#alive(partner)) orphans.push(session);
    }
    return orphans;
  }

  async enqueue(session: SessionId): Promise<EnqueueResult> {
    this.#sessions.set(session, null); // the caller is live by definition
    const current = this.#pairs.get(session);
    if (current) return { status: 'already-paired', pair: current };
    if (this.#queue.has(session)) return { status: 'already-waiting' };

    for (const candidate of this.#queue) {
      this.#queue.delete(candidate);
      if (!this.#alive(candidate)) continue; // a leftover: drop it and look further
      const pair: Pair = { id: randomUUID(), initiator: candidate, polite: session };
      this.#pairs.set(pair.initiator, pair);
      this.#pairs.set(pair.polite, pair);
      return { status: 'paired', pair };
    }
    this.#queue.add(session);
    return { status: 'waiting' };
  }

  async dequeue(session: SessionId): Promise<boolean> {
    return this.#queue.delete(session);
  }

  async pairOf(session: SessionId): Promise<Pair | null> {
    return this.#pairs.get(session) ?? null;
  }

  async unpair(session: SessionId): Promise<Pair | null> {
    const pair = this.#pairs.get(session);
    if (!pair) return null;
    this.#pairs.delete(pair.initiator);
    this.#pairs.delete(pair.polite);
    return pair;
  }

  async queueLength(): Promise<number> {
    return this.#queue.size;
  }

  /** What the store holds, for tests and gauges: sessions known, sessions in a pair, sessions queued. */
  get size(): { sessions: number; paired: number; queued: number } {
    return { sessions: this.#sessions.size, paired: this.#pairs.size, queued: this.#queue.size };
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#queue.clear();
    this.#pairs.clear();
    this.#sessions.clear();
    this.#droppedWhileWaiting.clear();
    this.#expiries.length = 0;
  }

  /**
   * Forgets sessions whose grace ran out: a session that dropped without a goodbye is otherwise
   * only forgotten when something asks about it, and nothing does once both sides of a pair are
   * gone. A pair is dropped once neither side is alive; while one is, that side's heartbeat
   * reports its partner gone and the core ends the pair and tells it.
   */
  #sweep(): void {
    const now = Date.now();
    let swept = 0;
    for (const { session, at } of this.#expiries) {
      if (at > now) break;
      swept++;
      if (this.#alive(session)) continue; // reattached since, or detached again later
      const pair = this.#pairs.get(session);
      if (pair && !this.#alive(partnerOf(pair, session))) {
        this.#pairs.delete(pair.initiator);
        this.#pairs.delete(pair.polite);
      }
    }
    this.#expiries.splice(0, swept);
  }

  /** A session is alive from attach until release, or until its grace runs out after detach. */
  #alive(session: SessionId): boolean {
    if (!this.#sessions.has(session)) return false;
    const expiresAt = this.#sessions.get(session);
    if (expiresAt === null || expiresAt === undefined) return true;
    if (expiresAt > Date.now()) return true;
    this.#sessions.delete(session);
    this.#droppedWhileWaiting.delete(session);
    return false;
  }

  #stateOf(session: SessionId): SessionState {
    const pair = this.#pairs.get(session);
    if (pair) return { status: 'paired', pair };
    return this.#queue.has(session) ? { status: 'waiting' } : { status: 'idle' };
  }
}
