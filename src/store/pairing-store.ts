/**
 * Where waiting clients and pairs live. The signaling core talks only to this interface, so the
 * in-memory store (one process) and the Redis store (many instances) are interchangeable; both
 * pass the same contract suite (pairing-store.contract.ts).
 */

/** Opaque, unguessable id of one client session; never shown to the partner. */
export type SessionId = string;

export interface Pair {
  /** Opaque id, also the name of the pair's delivery channel. */
  id: string;
  /** The side that waited longer: it creates the DataChannel and sends the first offer. */
  initiator: SessionId;
  /** The other side: it answers (the polite peer of "perfect negotiation"). */
  polite: SessionId;
}

export type EnqueueResult =
  | { status: 'waiting' }
  | { status: 'paired'; pair: Pair }
  | { status: 'already-waiting' }
  | { status: 'already-paired'; pair: Pair };

export interface PairingStore {
  /**
   * Queues `session`, or, when another session is waiting, takes the longest-waiting one off the
   * queue and records the pair, all in one atomic step: no session is ever paired twice, with
   * itself, or after it left the queue.
   */
  enqueue(session: SessionId): Promise<EnqueueResult>;
  /** Takes `session` off the queue; true when it was waiting. */
  dequeue(session: SessionId): Promise<boolean>;
  /** The pair `session` is in, or null. */
  pairOf(session: SessionId): Promise<Pair | null>;
  /** Ends the pair `session` is in, for both sides at once; returns it, or null when there was none. */
  unpair(session: SessionId): Promise<Pair | null>;
  /** Resolves when the backend answers; rejects with StoreUnavailableError when it does not. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function partnerOf(pair: Pair, session: SessionId): SessionId {
  return pair.initiator === session ? pair.polite : pair.initiator;
}
