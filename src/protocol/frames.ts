/**
 * The protocol as plain JSON WebSocket frames, for deployments without socket.io (API Gateway).
 * Same commands, events, payloads and acks as messages.ts; only the envelope differs:
 *
 *   client → server  {"action": "signal", "id": 7, "payload": {...}, "cseq": 4}  (cseq: signals only)
 *   server → client  {"type": "paired", "payload": {...}, "seq": 3}  an event, numbered per session
 *                    {"type": "ack", "id": 7, "payload": {"ok": true}} the answer to command 7
 *
 * and three actions of this envelope's own: `ping` (keep-alive), `resume` (which session this
 * connection carries, answered by a `session` event, and the replay of what it missed) and `bye`
 * (the goodbye that socket.io says by disconnecting).
 *
 * `action` is what API Gateway's route selection expression reads (`$request.body.action`).
 *
 * This file is dependency-free (the client SDK imports it): the envelope's names and types, the
 * encoders of both directions and the client's decoder. The server's validating decoder of client
 * frames is in frame-parsing.ts.
 */
import type { Ack, JoinPreferences, ServerEvents, Signal } from './messages.js';

/** Keep-alive: renews the session and resets API Gateway's 10-minute idle timer. Acked `{ok:true}`. */
export const PING = 'ping';
/**
 * `{"session"?, "lastSeq"?, "join"?, "interests"?, "fallbackMs"?, "lang"?}`: claims an earlier
 * session (after a drop), or with no `session` takes the connection's own new one; the
 * preferences are those of the join the server makes for it (`join`, or a resumed session taking
 * its place in the queue again). Answered by a `session` event, then every event after `lastSeq`;
 * sent again on the same session, it replays what came after `lastSeq` (a gap).
 */
export const RESUME = 'resume';
/** The goodbye: the session ends at once (its partner hears `partner-left`), where a drop keeps it for the grace. */
export const BYE = 'bye';

/** The envelope's own actions, beside the commands of messages.ts. */
export const FRAME_ACTIONS = [PING, RESUME, BYE] as const;

/** Ack ids are the client's own counter; bounded so they stay exact in every JSON parser. */
export const MAX_ACK_ID = 2 ** 31 - 1;
/** The longest a session id (the `resume` frame's `session`) may be. */
export const MAX_SESSION_ID_CHARS = 64;
/** The longest an `action` may be. */
export const MAX_ACTION_CHARS = 64;

/** A client → server frame. */
export interface ClientFrame {
  action: string;
  /** 0–MAX_ACK_ID; present when the client wants an ack. */
  id?: number | undefined;
  payload?: unknown;
  /**
   * A signal's number in its session's own order (1, 2, 3, …): with it a client may send signals
   * without waiting for each ack, and the partner still gets them in this order.
   */
  cseq?: number | undefined;
}

/**
 * The payload of `resume`: the claim, and the matchmaking preferences of the join the server makes
 * for the session (`join: true` for a new one; a resumed one that was waiting takes its place
 * again), as socket.io's `auth` carries them. The client sends them with every `resume`.
 */
export interface ResumePayload extends JoinPreferences {
  /** The session's id, from its `session` event: a bearer secret, at most MAX_SESSION_ID_CHARS. */
  session?: string;
  /** The highest seq the client processed: counts as acknowledged. */
  lastSeq?: number;
  /** Queue a new session at once (true) or leave it idle (false, the default). */
  join?: boolean;
}

export interface ResumeClaim {
  session: string | undefined;
  lastSeq: number;
  join: boolean;
  /**
   * The preferences it carried, as sent (undefined when none): the payload of the join made for
   * it, which checks them as any `join`'s (a bad one fails that join, not the resume).
   */
  preferences: Record<string, unknown> | undefined;
}

// ---------------------------------------------------------------------------------------------
// Client → server

/** A command as a frame; `cseq` is a signal's number in its session's order. */
export function commandFrame(action: string, id: number | undefined, payload?: unknown, cseq?: number): string {
  const frame: ClientFrame = { action };
  if (id !== undefined) frame.id = id;
  if (payload !== undefined) frame.payload = payload;
  if (cseq !== undefined) frame.cseq = cseq;
  return JSON.stringify(frame);
}

// ---------------------------------------------------------------------------------------------
// Server → client

/** A server event; `seq` numbers the session's events (docs/protocol.md, "Delivery"), `error` has none. */
export function eventFrame<E extends keyof ServerEvents>(type: E, payload: ServerEvents[E], seq?: number): string {
  return JSON.stringify(seq === undefined ? { type, payload } : { type, payload, seq });
}

/**
 * A relayed signal, with the pair it was sent in beside (not inside) its payload, which stays
 * exactly what the partner sent.
 */
export function signalFrame(room: string, signal: Signal, seq: number): string {
  return JSON.stringify({ type: 'signal', room, payload: signal, seq });
}

export function ackFrame(id: number, ack: Ack<object>): string {
  return JSON.stringify({ type: 'ack', id, payload: ack });
}

/** A server frame as the client reads it: `id` is set on acks only, `room` on relayed signals. */
export interface ServerFrame {
  type: string;
  id: number | undefined;
  room: string | undefined;
  /** The event's number in its session (events only; `error` has none). */
  seq: number | undefined;
  payload: unknown;
}

/**
 * Reads a server frame (text or UTF-8 bytes), or undefined for anything that is not one: the
 * client ignores those rather than throwing. An ack without a numeric id is no frame.
 */
export function parseServerFrame(data: unknown): ServerFrame | undefined {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) text = new TextDecoder().decode(data);
  else return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, id, room, seq, payload } = value as {
    type?: unknown;
    id?: unknown;
    room?: unknown;
    seq?: unknown;
    payload?: unknown;
  };
  if (typeof type !== 'string') return undefined;
  if (type === 'ack')
    return typeof id === 'number' ? { type, id, room: undefined, seq: undefined, payload } : undefined;
  return {
    type,
    id: undefined,
    room: typeof room === 'string' ? room : undefined,
    seq: typeof seq === 'number' ? seq : undefined,
    payload,
  };
}
