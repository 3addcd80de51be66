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
import { preferencesSchema } from './schemas.js';

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

/** What a `resume` claims. */
function claimFields() {
  return {
    /** The session's id, from its `session` event: a bearer secret, never longer than this. */
    session: z.string().min(1).max(MAX_SESSION_ID_CHARS).optional(),
    /** The highest seq the client processed: counts as acknowledged. */
    lastSeq: counter(0).optional(),
    /** Queue a new session at once (true) or leave it idle (false, the default). */
    join: z.boolean().optional(),
  };
}

/** The preferences a `resume` may carry for the join made for it (schemas.ts, `Preferences`). */
const preferenceKeys = builtOnce(
  () => Object.keys(preferencesSchema().shape) as (keyof ReturnType<typeof preferencesSchema>['shape'])[],
);

/** `resume`'s payload as documented (docs/asyncapi.yaml): the claim, and the preferences of its join. */
export const resumePayloadSchema = builtOnce(() => z.strictObject({ ...claimFields(), ...preferencesSchema().shape }));

/**
 * What `parseResume` holds a payload to: the claim as documented, the preferences only for being
 * known keys. The join made with them checks them like any `join`'s, as with socket.io's `auth`:
 * a bad one reaches the client as an `error` event (INVALID_PAYLOAD) and leaves it idle, while
 * the resume itself goes through (refused, the client would only reconnect and send it again).
 */
const resumeClaimSchema = builtOnce(() =>
  z.strictObject({
    ...claimFields(),
    ...Object.fromEntries(preferenceKeys().map((key) => [key, z.unknown().optional()])),
  }),
);

/** Reads a `resume` payload; throws INVALID_PAYLOAD. No payload asks for the connection's own new session. */
export function parseResume(payload: unknown): ResumeClaim {
  const parsed = resumeClaimSchema().safeParse(payload ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
    throw new ProtocolError(
      ErrorCode.INVALID_PAYLOAD,
      `resume: ${where}${issue?.message ?? 'invalid'} (expected {"session"?, "lastSeq"?, "join"?, "interests"?, "fallbackMs"?, "lang"?})`,
    );
  }
  const { session, lastSeq = 0, join = false } = parsed.data;
  const given = parsed.data as Record<string, unknown>;
  const preferences = Object.fromEntries(
    preferenceKeys()
      .filter((key) => Object.hasOwn(given, key))
      .map((key) => [key, given[key]]),
  );
  return { session, lastSeq, join, preferences: Object.keys(preferences).length > 0 ? preferences : undefined };
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
