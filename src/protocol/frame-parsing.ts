/**
 * The server-only half of the plain-WebSocket envelope (frames.ts): zod schemas that validate
 * what a client sends, and the parsers that turn a bad frame into INVALID_PAYLOAD.
 * Never import this from src/client (biome.json forbids it: it would ship zod to browsers).
 * The schemas are built on first use, not at import (builtOnce, as in schemas.ts): a cold start
 * pays for them with the first frame that needs them.
 */
import * as z from 'zod';
import { builtOnce } from './built-once.js';
import { ErrorCode, ProtocolError } from './errors.js';
import {
  type ClientFrame,
  MAX_ACK_ID,
  MAX_ACTION_CHARS,
  MAX_SESSION_ID_CHARS,
  type ResumeClaim,
  type ResumePayload,
} from './frames.js';

/** Ack ids are the client's own counter; bounded so they stay exact in every JSON parser. */
const ackId = builtOnce(() => z.number().int().min(0).max(MAX_ACK_ID));

/** A whole number from 0 (or 1) that any JSON parser reads exactly. */
const counter = (from: number) => z.number().int().min(from).max(Number.MAX_SAFE_INTEGER);

export const clientFrameSchema = builtOnce(() =>
  z.strictObject({
    action: z.string().min(1).max(MAX_ACTION_CHARS),
    id: ackId().optional(),
    payload: z.unknown().optional(),
    /**
     * A signal's number in its session's own order (1, 2, 3, …): with it a client may send signals
     * without waiting for each ack, and the partner still gets them in this order.
     */
    cseq: counter(1).optional(),
  }),
);

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
  const parsed = clientFrameSchema().safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  throw new ProtocolError(
    ErrorCode.INVALID_PAYLOAD,
    `${where}${issue?.message ?? 'invalid frame'} (expected {"action", "id"?, "payload"?})`,
  );
}

export const resumePayloadSchema = builtOnce(() =>
  z.strictObject({
    /** The session's id, from its `session` event: a bearer secret, never longer than this. */
    session: z.string().min(1).max(MAX_SESSION_ID_CHARS).optional(),
    /** The highest seq the client processed: counts as acknowledged. */
    lastSeq: counter(0).optional(),
    /** Queue a new session at once (true) or leave it idle (false, the default). */
    join: z.boolean().optional(),
  }),
);

/** Reads a `resume` payload; throws INVALID_PAYLOAD. No payload asks for the connection's own new session. */
export function parseResume(payload: unknown): ResumeClaim {
  const parsed = resumePayloadSchema().safeParse(payload ?? {});
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
    return ackId().safeParse(id).success ? (id as number) : undefined;
  } catch {
    return undefined;
  }
}

/** True when A and B accept exactly the same values (each is assignable to the other). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** The schemas and the types of frames.ts agree: a change to one without the other fails to compile. */
export const frameSchemasMatchTypes: [
  Same<z.infer<ReturnType<typeof clientFrameSchema>>, ClientFrame>,
  Same<z.infer<ReturnType<typeof resumePayloadSchema>>, ResumePayload>,
] = [true, true];
