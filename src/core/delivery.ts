import type { LeaveReason, ServerEvents, Signal } from '../protocol/messages.js';
import type { Pair, SessionId } from '../store/pairing-store.js';

/**
 * The one seam between the signaling core and a transport: how a message reaches a session,
 * wherever its connection lives. socket.io implements it with rooms (and the cluster adapter);
 * API Gateway implements it with PostToConnection.
 */
export interface Delivery {
  /** Sends one server event to one session. */
  send<E extends keyof ServerEvents>(to: SessionId, event: E, payload: ServerEvents[E]): void | Promise<void>;
  /**
   * Relays a signal to the other member of `pair`. It must reach the partner only while the
   * partner is still bound to that pair, so a signal racing a `next` can never reach whoever the
   * partner is paired with afterwards.
   */
  relay(pair: Pair, from: SessionId, signal: Signal): void | Promise<void>;
  /**
   * Optional fast path: relays `signal` to the partner of whatever pair `from` is bound to on this
   * instance, without asking the store, and returns true; false when this instance knows no pair
   * for `from` (the core then asks the store). Binding is what `relay` honours anyway, so this
   * reaches exactly who `relay` would.
   */
  relayBound?(from: SessionId, signal: Signal): boolean;
  /** Called when `pair` starts, before either side is told: from now on `relay` reaches both. */
  bind(pair: Pair): void | Promise<void>;
  /** Called when `pair` ends, before the partner is told: from now on `relay` reaches neither. */
  unbind(pair: Pair): void | Promise<void>;
  /**
   * The store knows no pair for `session`, yet this transport may still hold one bound for it: the
   * store lost the record (Redis restarted empty, or stalled past the record's lifetime). Tells
   * whoever else is bound to it `partner-left` with `reason` and unbinds it, so a signal of the
   * old partner can never reach `session` once it is paired with someone else. Nothing to do for
   * a transport that binds nothing (it asks the store on every relay).
   */
  unbindLost(session: SessionId, reason: LeaveReason): void | Promise<void>;
}
