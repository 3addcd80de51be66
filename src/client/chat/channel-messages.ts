/**
 * What the two peers say to each other over the DataChannel (the server never sees any of it).
 * JSON, one object per DataChannel message. Parsing is strict: anything else from the partner is
 * dropped, so a buggy or hostile peer cannot feed the app something that is not chat text.
 */

/** Longest text `send` accepts, in UTF-16 code units: a few screens, far below every SCTP limit. */
export const MAX_TEXT_LENGTH = 4000;

export type ChannelMessage =
  /** Sent (and resent) when the channel opens; `open` is reported once both sides heard each other. */
  | { type: 'hello'; id: number }
  /** A chat message; `id` counts up from 1 per peer connection and per direction. */
  | { type: 'text'; id: number; text: string }
  /** The receiver got message (or hello) `id`; the sender stops resending it. */
  | { type: 'receipt'; id: number }
  /** The partner is (or stopped) typing. Best effort: never resent. */
  | { type: 'typing'; active: boolean };

export function encodeChannelMessage(message: ChannelMessage): string {
  return JSON.stringify(message);
}

/** The message, or undefined when `data` is not one (binary, bad JSON, unknown type, bad fields). */
export function parseChannelMessage(data: unknown): ChannelMessage | undefined {
  if (typeof data !== 'string' || data.length > MAX_TEXT_LENGTH * 6 + 100) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  switch (fields.type) {
    case 'hello':
    case 'receipt':
      return isMessageId(fields.id) ? { type: fields.type, id: fields.id } : undefined;
    case 'text':
      return isMessageId(fields.id) && typeof fields.text === 'string' && fields.text.length <= MAX_TEXT_LENGTH
        ? { type: 'text', id: fields.id, text: fields.text }
        : undefined;
    case 'typing':
      return typeof fields.active === 'boolean' ? { type: 'typing', active: fields.active } : undefined;
    default:
      return undefined;
  }
}

function isMessageId(id: unknown): id is number {
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
}
