/**
 * The protocol as plain JSON WebSocket frames, for deployments without socket.io (API Gateway).
 * Same commands, events, payloads and acks as messages.ts; only the envelope differs:
 *
 *   client → server  {"action": "signal", "id": 7, "payload": {...}}
 *   server → client  {"type": "paired", "payload": {...}, "seq": 3}  an event, numbered per session
 *                    {"type": "ack", "id": 7, "payload": {"ok": true}} the answer to command 7
 *
 * `action` is what API Gateway's route selection expression reads (`$request.body.action`).
 */
import * as z from 'zod';
import { ErrorCode, ProtocolError } from './errors.js';
import type { Ack, ServerEvents, Signal } from './messages.js';

/** Keep-alive: renews the session and resets API Gateway's 10-minute idle timer. Acked `{ok:true}`. */
export const PING = 'ping';

/** Ack ids are the client's own counter; bounded so they stay exact in every JSON parser. */
const ackId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

export const clientFrameSchema = z.strictObject({
  action: z.string().min(1).max(64),
  id: ackId.optional(),
  payload: z.unknown().optional(),
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
