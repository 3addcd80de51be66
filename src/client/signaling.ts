import type {
  Ack,
  Command,
  CommandResults,
  JoinPreferences,
  ReportPayload,
  ServerEvents,
  Signal,
} from '../protocol/messages.js';

/** A listener of one server event. */
export type SignalingListener<E extends keyof ServerEvents> = (payload: ServerEvents[E]) => void;

/** A connection attempt the server refused, or that got no answer, and what the transport does next. */
export interface ConnectionRefusal {
  /**
   * The server's code (`RATE_LIMITED`: too many connections from this address;
   * `ORIGIN_NOT_ALLOWED`: this page's origin may not connect, see CORS_ORIGINS; `BANNED`: this
   * address or device is banned, `retryInMs` is when the ban ends), or `UNREACHABLE` when no server
   * answered (network down, server down).
   */
  code: string;
  /** For humans. */
  message: string;
  /** The transport tries again by itself; false when retrying cannot help (it has given up). */
  retrying: boolean;
  /** When `retrying`, how long until the next attempt, if the transport knows. */
  retryInMs?: number;
  /** The server's own hint, when it gave one: with `BANNED`, how long the ban lasts from now. */
  retryAfterMs?: number;
}

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

  /** Queues for a partner, with matchmaking preferences (docs/protocol.md, "Matching"): none means anyone. */
  join(preferences?: JoinPreferences): Promise<Ack<CommandResults['join']>>;
  signal(signal: Signal): Promise<Ack<CommandResults['signal']>>;
  next(preferences?: JoinPreferences): Promise<Ack<CommandResults['next']>>;
  /** Optional. Ends the pair like `next` and is never paired with that partner again. */
  block?(preferences?: JoinPreferences): Promise<Ack<CommandResults['block']>>;
  /**
   * Optional. Reports the partner of `room` (the current pair, or one that ended a short while ago);
   * that partner is never paired with this client again, and a current pair ends like `block`.
   */
  report?(payload: ReportPayload): Promise<Ack<CommandResults['report']>>;
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
  /** Calls `listener` each time the connection is lost (before any reconnection). Returns the unsubscribe function. */
  onDisconnect(listener: () => void): () => void;
  /**
   * Optional. Calls `listener` with each command's ack the moment it arrives, in order with the
   * server's events: after every event that came before it, before any that came after. (A
   * command's promise cannot promise that: its continuation runs only once the events that
   * arrived with the ack in the same read were dispatched.) Returns the unsubscribe function.
   */
  onAnswer?(listener: (command: Command, ack: Ack<object>) => void): () => void;
  /**
   * Optional. Calls `listener` whenever a connection attempt is refused or unanswered; returns the
   * unsubscribe function. Without it, such failures are silent (the transport still retries).
   */
  onRefused?(listener: (refusal: ConnectionRefusal) => void): () => void;
  /**
   * Optional. At every connection that starts a new session (the first one, or one whose claimed
   * session the server no longer knows), asks the server to queue it at once (`decide()` true)
   * or to leave it idle (false), whatever its AUTO_JOIN says. A transport with this needs no
   * `join` after connecting; `ChatClient` sends one itself over a transport without it.
   */
  queueOnConnect?(decide: () => boolean): void;
  /** Optional. The preferences of the joins the server makes for this client (on connecting, on resuming its place). */
  setPreferences?(preferences: JoinPreferences | undefined): void;
  /** Disconnects for good (the server ends the pair at once: a goodbye, not a drop). */
  close(): void;
}
