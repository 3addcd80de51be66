import type { Ack, CommandResults, ServerEvents, Signal } from '../protocol/messages.js';

/** A listener of one server event. */
export type SignalingListener<E extends keyof ServerEvents> = (payload: ServerEvents[E]) => void;

/**
 * The signaling side of a pairwire client, whatever carries it: `SignalingClient` speaks
 * socket.io (the long-lived server), `WebSocketSignalingClient` plain JSON frames over a
 * WebSocket (the AWS API Gateway deployment). The chat SDK needs nothing more than this.
 */
export interface Signaling {
  /**
   * The server-issued session id (a secret: it resumes the session), once connected; always
   * undefined on a transport without resume.
   */
  readonly sessionId: string | undefined;
  /**
   * True when a reconnection resumes the same session (its place in the queue or its pair);
   * false when each connection is a new session, so the caller must `join` again after one.
   */
  readonly resumes: boolean;

  join(): Promise<Ack<CommandResults['join']>>;
  signal(signal: Signal): Promise<Ack<CommandResults['signal']>>;
  next(): Promise<Ack<CommandResults['next']>>;
  leave(): Promise<Ack<CommandResults['leave']>>;

  /** Subscribes to a server event; returns the unsubscribe function. */
  on<E extends keyof ServerEvents>(event: E, listener: SignalingListener<E>): () => void;
  /** Resolves with the next `event`, or rejects after `timeoutMs` (default: the ack timeout). */
  once<E extends keyof ServerEvents>(event: E, timeoutMs?: number): Promise<ServerEvents[E]>;
  /** Resolves once connected (at once when already connected), or rejects after `timeoutMs`. */
  connected(timeoutMs?: number): Promise<void>;
  /**
   * Calls `listener` on every connection: in a microtask when already connected, then on each
   * reconnection. Returns the unsubscribe function.
   */
  onConnect(listener: () => void): () => void;
  /** Disconnects for good (the server ends the pair at once: a goodbye, not a drop). */
  close(): void;
}
