import { randomUUID } from 'node:crypto';
import type { EnqueueResult, Pair, PairingStore, SessionId } from './pairing-store.js';

/**
 * The embedded default: one process, no dependencies. Every method runs to completion without
 * awaiting, so each one is atomic with respect to every other on the event loop.
 */
export class MemoryPairingStore implements PairingStore {
  /** Waiting sessions; a Set iterates in insertion order, which makes it a FIFO with O(1) removal. */
  readonly #queue = new Set<SessionId>();
  /** Both members of every pair point at the same record. */
  readonly #pairs = new Map<SessionId, Pair>();

  async enqueue(session: SessionId): Promise<EnqueueResult> {
    const current = this.#pairs.get(session);
    if (current) return { status: 'already-paired', pair: current };
    if (this.#queue.has(session)) return { status: 'already-waiting' };

    const oldest = this.#queue.values().next();
    if (oldest.done) {
      this.#queue.add(session);
      return { status: 'waiting' };
    }
    this.#queue.delete(oldest.value);
    const pair: Pair = { id: randomUUID(), initiator: oldest.value, polite: session };
    this.#pairs.set(pair.initiator, pair);
    this.#pairs.set(pair.polite, pair);
    return { status: 'paired', pair };
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

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#queue.clear();
    this.#pairs.clear();
  }
}
