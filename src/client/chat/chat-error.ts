/** Why the chat SDK reports an `error`; branch on `code`, the message is for humans. */
export type ChatErrorCode =
  /** The DataChannel did not open within `openTimeoutMs` of `paired`. */
  | 'OPEN_TIMEOUT'
  /** The peer-to-peer connection failed (ICE or DTLS); the chat is over. */
  | 'CONNECTION_FAILED'
  /** A WebRTC call rejected what the partner sent (a bad offer, answer or candidate). */
  | 'NEGOTIATION_FAILED'
  /** The signaling server refused a command or did not answer it. */
  | 'SIGNALING'
  /** `send` while no DataChannel is open. */
  | 'NOT_OPEN'
  /** `send` with a text longer than MAX_TEXT_LENGTH. */
  | 'TOO_LONG';

export class ChatError extends Error {
  override readonly name = 'ChatError';

  constructor(
    readonly code: ChatErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
