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
 */
import * as z from 'zod';
import { ErrorCode, ProtocolError } from './errors.js';
import type { Ack, ServerEvents, Signal } from './messages.js';

/** Keep-alive: renews the session and resets API Gateway's 10-minute idle timer. Acked `{ok:true}`. */
export const PING = 'ping';
/**
 * `{"session"?, "lastSeq"?, "join"?}`: claims an earlier session (after a drop), or with no
 * `session` takes the connection's own new one. Answered by a `session` event, then every event
 * after `lastSeq`; sent again on the same session, it replays what came after `lastSeq` (a gap).
 */
export const RESUME = 'resume';
/** The goodbye: the session ends at once (its partner hears `partner-left`), where a drop keeps it for the grace. */
export const BYE = 'bye';

/** Ack ids are the client's own counter; bounded so they stay exact in every JSON parser. */
const ackId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** A whole number from 0 (or 1) that any JSON parser reads exactly. */
const counter = (from: number) => z.number().int().min(from).max(Number.MAX_SAFE_INTEGER);

export const clientFrameSchema = z.strictObject({
  action: z.string().min(1).max(64),
  id: ackId.optional(),
  payload: z.unknown().optional(),
  /**
   * A signal's number in its session's own order (1, 2, 3, …): with it a client may send signals
   * without waiting for each ack, and the partner still gets them in this order.
   */
  cseq: counter(1).optional(),
});

export type ClientFrame = z.infer<typeof clientFrameSchema>;

/**
 * Reads one inbound frame. A frame that is not a JSON object with an `action` throws
 * INVALID_PAYLOAD; `id` is returned whenever it could be read, so even that refusal can be acked.
 */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError(ErrorCode.INVALID_PAYLOAD, 'a frame must be one JSON object');
  }
  const parsed = clientFrameSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  throw new ProtocolError(
    ErrorCode.INVALID_PAYLOAD,
    `${where}${issue?.message ?? 'invalid frame'} (expected {"action", "id"?, "payload"?})`,
  );
}

const resumeSchema = z.strictObject({
  /** The session's id, from its `session` event: a bearer secret, never longer than this. */
  session: z.string().min(1).max(64).optional(),
  /** The highest seq the client processed: counts as acknowledged. */
  lastSeq: counter(0).optional(),
  /** Queue a new session at once (true) or leave it idle (false, the default). */
  join: z.boolean().optional(),
});

export interface ResumeClaim {
  session: string | undefined;
  lastSeq: number;
  join: boolean;
}

/** Reads a `resume` payload; throws INVALID_PAYLOAD. No payload asks for the connection's own new session. */
export function parseResume(payload: unknown): ResumeClaim {
  const parsed = resumeSchema.safeParse(payload ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
    throw new ProtocolError(
      ErrorCode.INVALID_PAYLOAD,
      `resume: ${where}${issue?.message ?? 'invalid'} (expected {"session"?, "lastSeq"?, "join"?})`,
    );
  }
  const { session, lastSeq = 0, join = false } = parsed.data;
  return { session, lastSeq, join };
}

/** The ack id of a frame that failed to parse, when it has a usable one. */
export function salvageAckId(text: string): number | undefined {
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return ackId.safeParse(id).success ? (id as number) : undefined;
  } catch {
    return undefined;
  }
}

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
