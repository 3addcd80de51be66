import type { Outgoing, SessionId } from '../store/pairing-store.js';

/**
 * The one seam between the signaling core and a transport: how the events the store appended to
 * sessions' outboxes reach their connections. The store has already numbered each event and kept
 * it until the client acknowledges it, so delivery may be cut at any point (a drop, a crash)
 * without losing anything: a resumed connection gets the rest from the outbox.
 */
export interface Delivery {
  /**
   * Writes `events` to the connections of their sessions, where this process holds them. Events
   * for sessions connected elsewhere are routed there by the store (PairingStore.watch). A
   * transport whose writes are remote calls (API Gateway) returns a promise the core awaits.
   */
  deliver(events: readonly Outgoing[]): void | Promise<void>;
  /**
   * The store lost these sessions (their outbox overflowed, their lease ran out while this
   * process stalled, or Redis lost its data): their connections are told and closed, so their
   * clients start anew rather than wait for events that can no longer come.
   */
  lost(sessions: readonly SessionId[]): void | Promise<void>;
  /**
   * The store's last seq for each of this process's sessions (from the heartbeat): a connection
   * that has written less catches up from the outbox, so an event whose delivery was missed (a
   * reply lost to a timeout) is late, never lost.
   */
  catchUp(lastSeq: ReadonlyMap<SessionId, number>): void;
  /**
   * The session is idle now without an event saying so (a `leave`: it announces nothing to its
   * sender), for a transport that tells waiting clients apart (the `stats` event goes to those only).
   */
  idle(session: SessionId): void;
}
