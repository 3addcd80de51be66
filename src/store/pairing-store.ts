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

/**
 * Where a known session stands. `requeue` marks an idle session that was waiting when its
 * connection dropped: it left the queue so nobody was paired with a ghost, and wants its place back.
 */
export type SessionState =
  | { status: 'idle'; requeue?: true }
  | { status: 'waiting' }
  | { status: 'paired'; pair: Pair };

/**
 * Sessions are leased: a live session's record is kept alive by its owner's heartbeat. When the
 * owner process dies (even by SIGKILL) its sessions simply stop being renewed, expire, and are
 * never matched again; their partners are told by their own instances' heartbeat.
 */
export interface PairingStore {
  /**
   * Marks `session` live and owned by this process. With `resume`, the session must already be
   * known and unexpired: returns where it stands, or null (then it is lost and a new one is needed).
   */
  attach(session: SessionId, options: { resume: boolean }): Promise<SessionState | null>;
  /**
   * The connection dropped without a goodbye: the session leaves the queue but keeps its pair for
   * `graceMs`, during which `attach(…, { resume: true })` brings it back.
   */
  detach(session: SessionId, graceMs: number): Promise<void>;
  /** The session is over for good (the core has ended its pair): forget it and take it off the queue. */
  release(session: SessionId): Promise<void>;
  /**
   * Renews the leases of these live sessions of this process, and returns the ones among them
   * whose partner is gone (released, or detached or unrenewed past its lease).
   */
  heartbeat(sessions: SessionId[]): Promise<SessionId[]>;
  /**
   * Queues `session`, or, when another session is waiting, takes the longest-waiting one off the
   * queue and records the pair, all in one atomic step: no session is ever paired twice, with
   * itself, with a session whose lease is gone, or after it left the queue.
   */
  enqueue(session: SessionId): Promise<EnqueueResult>;
  /** Takes `session` off the queue; true when it was waiting. */
  dequeue(session: SessionId): Promise<boolean>;
  /** The pair `session` is in, or null. */
  pairOf(session: SessionId): Promise<Pair | null>;
  /** Ends the pair `session` is in, for both sides at once; returns it, or null when there was none. */
  unpair(session: SessionId): Promise<Pair | null>;
  /** How many sessions wait in the queue (leftovers of a crashed instance included until skipped). */
  queueLength(): Promise<number>;
  /** Resolves when the backend answers; rejects with StoreUnavailableError when it does not. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function partnerOf(pair: Pair, session: SessionId): SessionId {
  return pair.initiator === session ? pair.polite : pair.initiator;
}
