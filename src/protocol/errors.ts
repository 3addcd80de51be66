/**
 * Stable error codes of the wire protocol. Clients branch on `code`, never on `message`,
 * so a code, once published in docs/protocol.md, is never renamed.
 */
export const ErrorCode = {
  /** The payload does not match the message's schema (wrong type, missing or unknown field). */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** The payload is well formed but exceeds a size limit (SDP, candidate). */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** `signal` was sent while the client has no partner. */
  NOT_PAIRED: 'NOT_PAIRED',
  /** `join` was sent while the client is already in the queue. */
  ALREADY_WAITING: 'ALREADY_WAITING',
  /** `join` was sent while the client already has a partner (use `next`). */
  ALREADY_PAIRED: 'ALREADY_PAIRED',
  /** The event name is not part of the protocol. */
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  /** The client sent too much too fast; `retryAfterMs` says when to try again. */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * The session is over for the server: it stopped reading its events until its outbox overflowed,
   * or the store lost it. Its connection is closed; a new connection starts a new session.
   */
  SESSION_LOST: 'SESSION_LOST',
  /**
   * A connection from a web page whose origin is not in CORS_ORIGINS: refused, never worth
   * retrying. The handshake itself is refused; a page learns this code from GET /origin-check.
   */
  ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
  /** `report` named a room the sender was never in, or one that ended more than REPORT_WINDOW_MS ago. */
  NOT_IN_ROOM: 'NOT_IN_ROOM',
  /** `report` of a room the sender has reported already: one report per pair and reporter. */
  ALREADY_REPORTED: 'ALREADY_REPORTED',
  /**
   * The operator banned this client (by its subject: docs/security.md), or it was banned
   * automatically; `retryAfterMs` says when the ban ends. Refused at connection and at
   * join/next/block/report; a connection open when the ban is made is closed.
   */
  BANNED: 'BANNED',
  /**
   * The bot gate is on and this session has not proved its work yet (or its proof is older than
   * BOT_GATE_VERIFIED_TTL_MS): `join`, `next` and `block` wait for a `proof`. `challenge` is a
   * fresh challenge to solve.
   */
  PROOF_REQUIRED: 'PROOF_REQUIRED',
  /**
   * The `proof` is wrong, expired, for another session, or spent before: nothing changed.
   * `challenge` is a fresh challenge to solve.
   */
  PROOF_INVALID: 'PROOF_INVALID',
  /** The pairing store cannot be reached right now; nothing changed, retry later. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** An unexpected server fault; nothing the client did. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Only with RATE_LIMITED and BANNED: how long to wait before the next attempt. */
  retryAfterMs?: number;
  /** Only with PROOF_REQUIRED and PROOF_INVALID: a fresh proof-of-work challenge for this session. */
  challenge?: string;
}

/** An error the client caused or must know about; becomes `{ ok: false, error }` on the wire. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;
  readonly challenge: string | undefined;

  constructor(code: ErrorCode, message: string, retryAfterMs?: number, challenge?: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.challenge = challenge;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.retryAfterMs !== undefined) body.retryAfterMs = this.retryAfterMs;
    if (this.challenge !== undefined) body.challenge = this.challenge;
    return body;
  }
}

/**
 * The refusal a banned client gets, the same on every transport (socket.io `connect_error` and
 * `error` event, API Gateway's 403 body and `error` frame), from any function that holds the ban:
 * when it ends, never its reason (the operator's, not shown to the client).
 */
export function bannedBody(ban: { until: number }): ErrorBody {
  return {
    code: ErrorCode.BANNED,
    message: `banned until ${new Date(ban.until).toISOString()}`,
    retryAfterMs: Math.max(0, ban.until - Date.now()),
  };
}

/** Thrown by stores when their backend cannot be reached; the core maps it to UNAVAILABLE. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
