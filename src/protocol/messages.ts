/**
 * The wire protocol, once. The server validates with these schemas, the client SDK and the
 * tests import these types, and docs/protocol.md describes exactly this file.
 */
import * as z from 'zod';
import type { ErrorBody } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Client → server

/** RTCIceCandidateInit as browsers serialise it (`candidate.toJSON()`). */
export const iceCandidateSchema = z.strictObject({
  candidate: z.string(),
  sdpMid: z.string().nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(65535).nullable().optional(),
  usernameFragment: z.string().nullable().optional(),
});

/**
 * A signal relayed to the partner unchanged. Objects are strict: an unknown key is refused
 * rather than stripped, so what the partner receives is exactly what the sender sent.
 */
export const signalSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('offer'), sdp: z.string().min(1) }),
  z.strictObject({ type: z.literal('answer'), sdp: z.string().min(1) }),
  z.strictObject({ type: z.literal('candidate'), candidate: iceCandidateSchema }),
  z.strictObject({ type: z.literal('end-of-candidates') }),
]);

export type Signal = z.infer<typeof signalSchema>;
export type SignalType = Signal['type'];
export type IceCandidateInit = z.infer<typeof iceCandidateSchema>;

/** `leave` takes no payload; an empty object is tolerated for convenience. */
export const emptyPayloadSchema = z.union([z.undefined(), z.strictObject({})]);

/** At most this many interests per client; each is 1–32 characters once normalised. */
export const MAX_INTERESTS = 10;
export const MAX_INTEREST_CHARS = 32;
/** The longest `fallbackMs` a client may ask for (an hour); `null` asks never to fall back. */
export const MAX_FALLBACK_MS = 3_600_000;

/**
 * One interest as matching compares it: Unicode NFKC, trimmed, lower-cased ("  Jazz " and "ｊａｚｚ"
 * are both "jazz"), then 1–32 characters (code points), none of them a control character.
 */
export const interestSchema = z
  .string()
  .max(1024)
  .transform((tag) => tag.normalize('NFKC').trim().toLowerCase())
  .refine((tag) => tag.length > 0, 'an interest may not be empty')
  .refine((tag) => [...tag].length <= MAX_INTEREST_CHARS, `an interest is at most ${MAX_INTEREST_CHARS} characters`)
  .refine((tag) => !/\p{Cc}/u.test(tag), 'an interest may not contain control characters');

/**
 * `join`, `next` and `block` take optional matchmaking preferences (docs/protocol.md, "Matching");
 * nothing or `{}` asks for anyone, as before. Also accepted in the socket.io `auth` of a
 * connection that is queued at once (`auth: { join: true, interests, fallbackMs, lang }`).
 */
export const joinPayloadSchema = z.union([
  z.undefined(),
  z.strictObject({
    /** What the client wants to talk about; duplicates (after normalising) count once. */
    interests: z.array(interestSchema).max(MAX_INTERESTS).optional(),
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
]);

/** What a client may send with `join`, `next` or `block`. */
export type JoinPreferences = z.input<typeof joinPayloadSchema> & object;

/**
 * `ack`: the client has processed every event up to `seq` (cumulative), so the server may forget
 * them. Sent without an acknowledgement callback of its own, at most every ~500 ms after a receipt.
 */
export const ackPayloadSchema = z.strictObject({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

/** Commands a client may send, by event name. Anything else is UNKNOWN_EVENT. */
export const COMMANDS = ['join', 'signal', 'next', 'leave', 'ack', 'block'] as const;
export type Command = (typeof COMMANDS)[number];

export function isCommand(event: string): event is Command {
  return (COMMANDS as readonly string[]).includes(event);
}

// ---------------------------------------------------------------------------------------------
// Server → client

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Where a client stands: not queued, in the queue, or in a pair. */
export type ClientStatus = 'idle' | 'waiting' | 'paired';

export type LeaveReason = 'next' | 'leave' | 'disconnect';

export type WaitingPayload = Record<string, never>;

export interface PairedPayload {
  /** Opaque id of the pair; `partner-left` names it so a late notice can be told from a current one. */
  room: string;
  /** Exactly one side of every pair is the initiator: it creates the DataChannel and the first offer. */
  initiator: boolean;
  /** STUN/TURN servers to give RTCPeerConnection. */
  iceServers: IceServer[];
  /** The interests both sides gave, in the joining side's order; empty when matched without one (fallback). */
  commonInterests: string[];
}

export interface SessionPayload {
  /** The session's secret id: present it as `auth: { session }` when reconnecting to resume. */
  id: string;
  /** True when an earlier session (its pair or place in the queue) was resumed; false for a new one. */
  resumed: boolean;
}

export interface PartnerLeftPayload {
  room: string;
  reason: LeaveReason;
}

/** The live counts (GET /stats, the `stats` event), across every instance with Redis. */
export interface StatsPayload {
  /** Sessions alive: connected, or dropped within their resume grace. */
  online: number;
  /** Sessions waiting for a partner. */
  waiting: number;
  /** Pairs. */
  pairs: number;
}

/** How many wait with one interest. */
export interface InterestCount {
  tag: string;
  waiting: number;
}

/** GET /stats: the live counts, and the interests most waited on (at most TOP_INTERESTS, most first, ties by tag). */
export interface StatsResponse extends StatsPayload {
  topInterests: InterestCount[];
}

/** Events the server emits, by name, with their payloads. */
export interface ServerEvents {
  session: SessionPayload;
  waiting: WaitingPayload;
  paired: PairedPayload;
  signal: Signal;
  'partner-left': PartnerLeftPayload;
  /** Every STATS_EVENT_MS while the client waits (socket.io only): not numbered, not kept, not replayed. */
  stats: StatsPayload;
  /** Something the server did on the client's behalf (the automatic join on connect) failed. */
  error: ErrorBody;
}

export type ServerEventName = keyof ServerEvents;

// ---------------------------------------------------------------------------------------------
// Acknowledgements

export type Ack<T extends object = Record<never, never>> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

export type StatusAck = Ack<{ status: ClientStatus }>;
export type SignalAck = Ack;

/** What each command's acknowledgement carries when it succeeds. */
export interface CommandResults {
  join: { status: 'waiting' | 'paired' };
  signal: Record<never, never>;
  next: { status: 'waiting' | 'paired' };
  block: { status: 'waiting' | 'paired' };
  leave: { status: 'idle' };
  ack: Record<never, never>;
}
