/** Why the chat SDK reports an `error`; branch on `code`, the message is for humans. */
export type ChatErrorCode =
  /** The DataChannel did not open within `openTimeoutMs` of `paired` (whatever `beforePeerConnection` did meanwhile). */
  | 'OPEN_TIMEOUT'
  /** The peer-to-peer connection failed (ICE or DTLS, or `beforePeerConnection` rejected); the chat is over. */
  | 'CONNECTION_FAILED'
  /** A WebRTC call rejected what the partner sent (a bad offer, answer or candidate). */
  | 'NEGOTIATION_FAILED'
  /** The signaling server refused a command or did not answer it. */
  | 'SIGNALING'
  /** The server refused the connection: too many from this address. Retried by itself after `retryInMs`. */
  | 'RATE_LIMITED'
  /** The server does not take connections from this page's origin (its CORS_ORIGINS). Never retried. */
  | 'ORIGIN_NOT_ALLOWED'
  /**
   * This address or device is banned (after reports, or by the operator): `bannedUntil` says when
   * it ends (absent when the server did not say). No connection is tried before then; the SDK
   * tries again by itself after `retryInMs` when it is set, else it has stopped.
   */
  | 'BANNED'
  /** No server answered (network or server down). The connection is retried by itself. */
  | 'UNREACHABLE'
  /** `send` while no DataChannel is open. */
  | 'NOT_OPEN'
  /** `send` with a text longer than MAX_TEXT_LENGTH. */
  | 'TOO_LONG';

export class ChatError extends Error {
  override readonly name = 'ChatError';
  /** Set when the SDK tries again by itself, this long from now (a refused connection). */
  readonly retryInMs: number | undefined;
  /** With `BANNED`: when the ban ends (ms since the epoch), when the server said. */
  readonly bannedUntil: number | undefined;

  constructor(
    readonly code: ChatErrorCode,
    message: string,
    options?: { cause?: unknown; retryInMs?: number; bannedUntil?: number },
  ) {
    super(message, options);
    this.retryInMs = options?.retryInMs;
    this.bannedUntil = options?.bannedUntil;
  }
}
