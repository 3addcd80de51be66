/**
 * The server-only half of the wire protocol: the zod schemas that validate what clients send, and
 * those of what the server sends (for the AsyncAPI document, docs/asyncapi.yaml). Each is held to
 * its dependency-free type in messages.ts at compile time (below), so the client SDK, which
 * imports only messages.ts, can never disagree with the server or the published document.
 * Never import this from src/client (biome.json forbids it: it would ship zod to browsers).
 *
 * Each schema is a function returning the one schema of its kind, built on its first call
 * (builtOnce): importing this module builds none, so a Lambda cold start pays only for the
 * schemas its invocations use (docs/deploy.md, "Cold starts"). Schemas built from others call
 * their getters, so `signalSchema()` inside `serverEventSchemas()` is the very same object.
 */
import * as z from 'zod';
import { builtOnce } from './built-once.js';
import { type ErrorBody, ErrorCode } from './errors.js';
import {
  type AckPayload,
  type Command,
  type CommandResults,
  type EvidenceMessage,
  type IceCandidateInit,
  type IceServer,
  type JoinPreferences,
  MAX_CHALLENGE_CHARS,
  MAX_FALLBACK_MS,
  MAX_INTEREST_CHARS,
  MAX_INTERESTS,
  MAX_REPORT_DETAILS_CHARS,
  MAX_REPORT_EVIDENCE_BYTES,
  type ProofPayload,
  REPORT_REASONS,
  type ReportPayload,
  type ServerEventName,
  type ServerEvents,
  type Signal,
} from './messages.js';

// ---------------------------------------------------------------------------------------------
// Client → server

/** RTCIceCandidateInit as browsers serialise it (`candidate.toJSON()`). */
export const iceCandidateSchema = builtOnce(() =>
  z.strictObject({
    candidate: z.string(),
    sdpMid: z.string().nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(65535).nullable().optional(),
    usernameFragment: z.string().nullable().optional(),
  }),
);

/**
 * A signal relayed to the partner unchanged. Objects are strict: an unknown key is refused
 * rather than stripped, so what the partner receives is exactly what the sender sent.
 */
export const signalSchema = builtOnce(() =>
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('offer'), sdp: z.string().min(1) }),
    z.strictObject({ type: z.literal('answer'), sdp: z.string().min(1) }),
    z.strictObject({ type: z.literal('candidate'), candidate: iceCandidateSchema() }),
    z.strictObject({ type: z.literal('end-of-candidates') }),
  ]),
);

/** `leave` takes no payload; an empty object is tolerated for convenience. */
export const emptyPayloadSchema = builtOnce(() => z.union([z.undefined(), z.strictObject({})]));

/**
 * One interest as matching compares it: Unicode NFKC, trimmed, lower-cased ("  Jazz " and "ｊａｚｚ"
 * are both "jazz"), then 1–32 characters (code points), none of them a control character.
 */
export const interestSchema = builtOnce(() =>
  z
    .string()
    .max(1024)
    .transform((tag) => tag.normalize('NFKC').trim().toLowerCase())
    .refine((tag) => tag.length > 0, 'an interest may not be empty')
    .refine((tag) => [...tag].length <= MAX_INTEREST_CHARS, `an interest is at most ${MAX_INTEREST_CHARS} characters`)
    .refine((tag) => !/\p{Cc}/u.test(tag), 'an interest may not contain control characters')
    .describe('Compared in Unicode NFKC, trimmed, lower-cased; then 1–32 characters, no control character.'),
);

/**
 * Matchmaking preferences (docs/protocol.md, "Matching"); `{}` asks for anyone. Also accepted in
 * the socket.io `auth`, and in the plain-WebSocket `resume`, of a connection that is queued at once
 * (`{ join: true, interests, fallbackMs, lang }`).
 */
export const preferencesSchema = builtOnce(() =>
  z.strictObject({
    /** What the client wants to talk about; duplicates (after normalising) count once. */
    interests: z.array(interestSchema()).max(MAX_INTERESTS).optional(),
    /** How long to wait for a shared interest before anyone will do; null: never. Default MATCH_FALLBACK_MS. */
    fallbackMs: z.number().int().min(0).max(MAX_FALLBACK_MS).nullable().optional(),
    /** A BCP 47 primary language subtag ("en", "pt"): only partners with the same one, or none, are matched. */
    lang: z
      .string()
      .regex(/^[A-Za-z]{2,8}$/, 'lang is a BCP 47 primary language subtag, like "en"')
      .transform((lang) => lang.toLowerCase())
      .nullable()
      .optional(),
  }),
);

/** `join`, `next` and `block` take optional preferences: nothing (or `{}`) asks for anyone, as before. */
export const joinPayloadSchema = builtOnce(() => z.union([z.undefined(), preferencesSchema()]));

/**
 * `ack`: the client has processed every event up to `seq` (cumulative), so the server may forget
 * them. Sent without an acknowledgement callback of its own, at most every ~500 ms after a receipt.
 */
export const ackPayloadSchema = builtOnce(() =>
  z.strictObject({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
);

/** `proof`: the answer to the bot gate's challenge (docs/protocol.md, "Bot gate"). */
export const proofPayloadSchema = builtOnce(() => {
  // A challenge may carry its automatic join's preferences (src/botgate/proof-of-work.ts).
  const challengeField = z.string().min(1).max(MAX_CHALLENGE_CHARS);
  return z.union([
    z.strictObject({
      challenge: challengeField,
      nonce: z.string().regex(/^[0-9a-z]{1,32}$/, 'nonce is 1–32 characters of 0-9 a-z'),
    }),
    z.strictObject({ challenge: challengeField, token: z.string().min(1).max(4096) }),
  ]);
});

// TextEncoder rather than Buffer, like the rest of the protocol.
const utf8 = new TextEncoder();

/** One chat message the reporter's client kept and chose to attach. */
export const evidenceMessageSchema = builtOnce(() =>
  z.strictObject({
    from: z.enum(['self', 'partner']),
    text: z.string(),
    at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
);

/** `report`: docs/protocol.md, "Reporting". */
export const reportPayloadSchema = builtOnce(() =>
  z.strictObject({
    room: z.string().min(1).max(128),
    reason: z.enum(REPORT_REASONS),
    details: z
      .string()
      .refine(
        (text) => [...text].length <= MAX_REPORT_DETAILS_CHARS,
        `details is at most ${MAX_REPORT_DETAILS_CHARS} characters`,
      )
      .optional(),
    evidence: z
      .array(evidenceMessageSchema())
      .refine(
        (messages) => utf8.encode(JSON.stringify(messages)).length <= MAX_REPORT_EVIDENCE_BYTES,
        `evidence is at most ${MAX_REPORT_EVIDENCE_BYTES} bytes of JSON`,
      )
      .optional(),
  }),
);

// ---------------------------------------------------------------------------------------------
// Server → client (the server builds these values itself: the schemas document them)

export const errorCodeSchema = builtOnce(() =>
  z.enum(ErrorCode).describe('A stable error code: clients branch on it, never on message.'),
);

export const errorBodySchema = builtOnce(() =>
  z.object({
    code: errorCodeSchema(),
    message: z.string().describe('For people; may change.'),
    retryAfterMs: z.number().int().min(0).optional().describe('Only with RATE_LIMITED and BANNED: how long to wait.'),
    challenge: z
      .string()
      .optional()
      .describe('Only with PROOF_REQUIRED and PROOF_INVALID: a fresh challenge to solve.'),
  }),
);

export const iceServerSchema = builtOnce(() =>
  z.object({
    urls: z.union([z.string(), z.array(z.string())]),
    username: z.string().optional(),
    credential: z.string().optional(),
  }),
);

export const sessionPayloadSchema = builtOnce(() =>
  z.object({
    id: z.string().describe("The session's secret id: present it to resume (auth.session, or resume's session)."),
    resumed: z.boolean().describe('True when an earlier session (pair or place in the queue) was resumed.'),
    challenge: z
      .string()
      .optional()
      .describe('Only with the bot gate on, until the session proved its work: the challenge to answer with proof.'),
  }),
);

export const waitingPayloadSchema = builtOnce(() => z.object({}));

export const pairedPayloadSchema = builtOnce(() =>
  z.object({
    room: z.string().describe('Opaque id of the pair; partner-left names it.'),
    initiator: z.boolean().describe('Exactly one side is the initiator: it makes the DataChannel and the first offer.'),
    iceServers: z.array(iceServerSchema()).describe('STUN/TURN servers for RTCPeerConnection.'),
    commonInterests: z.array(z.string()).describe('The interests both sides gave; empty after a fallback.'),
  }),
);

export const leaveReasonSchema = builtOnce(() => z.enum(['next', 'leave', 'disconnect']));

export const partnerLeftPayloadSchema = builtOnce(() => z.object({ room: z.string(), reason: leaveReasonSchema() }));

export const statsPayloadSchema = builtOnce(() =>
  z.object({
    online: z.number().int().min(0).describe('Sessions connected, or dropped within their grace, on every instance.'),
    waiting: z.number().int().min(0).describe('Sessions in the queue.'),
    pairs: z.number().int().min(0).describe('Pairs.'),
  }),
);

/** Every server event's payload, by name. */
export const serverEventSchemas = builtOnce(
  () =>
    ({
      session: sessionPayloadSchema(),
      waiting: waitingPayloadSchema(),
      paired: pairedPayloadSchema(),
      signal: signalSchema(),
      'partner-left': partnerLeftPayloadSchema(),
      stats: statsPayloadSchema(),
      error: errorBodySchema(),
    }) satisfies Record<ServerEventName, z.ZodType>,
);

const status = <const S extends readonly [string, ...string[]]>(...values: S) => z.object({ status: z.enum(values) });

/**
 * Every command: its payload (`optional`: it may be left out) and what its acknowledgement adds to
 * `{ ok: true }`. A command added to COMMANDS without a row here fails to compile.
 */
export const commandSchemas = builtOnce(
  () =>
    ({
      join: { payload: joinPayloadSchema(), optional: true, result: status('waiting', 'paired') },
      signal: { payload: signalSchema(), optional: false, result: z.object({}) },
      next: { payload: joinPayloadSchema(), optional: true, result: status('waiting', 'paired') },
      leave: { payload: emptyPayloadSchema(), optional: true, result: status('idle') },
      ack: { payload: ackPayloadSchema(), optional: false, result: z.object({}) },
      block: { payload: joinPayloadSchema(), optional: true, result: status('waiting', 'paired') },
      report: { payload: reportPayloadSchema(), optional: false, result: z.object({ reportId: z.string() }) },
      proof: { payload: proofPayloadSchema(), optional: false, result: z.object({}) },
    }) satisfies Record<Command, { payload: z.ZodType; optional: boolean; result: z.ZodObject }>,
);

/** `{ ok: true, ...result }` or `{ ok: false, error }`: the acknowledgement of a command. */
export function ackSchema<R extends z.ZodObject>(result: R) {
  return z.union([
    result.extend({ ok: z.literal(true) }),
    z.object({ ok: z.literal(false), error: errorBodySchema() }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// The schemas and the types of messages.ts agree: a change to one without the other fails to compile.

/** True when A and B accept exactly the same values (each is assignable to the other). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const schemasMatchTypes: [
  Same<z.infer<ReturnType<typeof iceCandidateSchema>>, IceCandidateInit>,
  Same<z.infer<ReturnType<typeof signalSchema>>, Signal>,
  Same<z.input<ReturnType<typeof joinPayloadSchema>> & object, JoinPreferences>,
  Same<z.infer<ReturnType<typeof ackPayloadSchema>>, AckPayload>,
  Same<z.infer<ReturnType<typeof evidenceMessageSchema>>, EvidenceMessage>,
  Same<z.infer<ReturnType<typeof reportPayloadSchema>>, ReportPayload>,
  Same<z.infer<ReturnType<typeof proofPayloadSchema>>, ProofPayload>,
  Same<z.infer<ReturnType<typeof errorBodySchema>>, ErrorBody>,
  Same<z.infer<ReturnType<typeof iceServerSchema>>, IceServer>,
  Same<{ [E in ServerEventName]: z.infer<ReturnType<typeof serverEventSchemas>[E]> }, ServerEvents>,
  Same<{ [C in Command]: z.infer<ReturnType<typeof commandSchemas>[C]['result']> }, CommandResults>,
] = [true, true, true, true, true, true, true, true, true, true, true];
