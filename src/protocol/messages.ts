/**
 * The wire protocol, once: names, commands, payload types and limits, dependency-free so the
 * client SDK imports it without zod. The server validates with the schemas in schemas.ts, held to
 * these types at compile time; docs/protocol.md describes exactly these two files.
 */
import type { ErrorBody } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Client → server

/** RTCIceCandidateInit as browsers serialise it (`candidate.toJSON()`). */
export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  /** 0–65535. */
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/**
 * A signal relayed to the partner unchanged. Objects are strict: an unknown key is refused
 * rather than stripped, so what the partner receives is exactly what the sender sent.
 */
export type Signal =
  | { type: 'offer'; sdp: string }
  | { type: 'answer'; sdp: string }
  | { type: 'candidate'; candidate: IceCandidateInit }
  | { type: 'end-of-candidates' };

export type SignalType = Signal['type'];

/** At most this many interests per client; each is 1–32 characters once normalised. */
export const MAX_INTERESTS = 10;
export const MAX_INTEREST_CHARS = 32;
/** The longest `fallbackMs` a client may ask for (an hour); `null` asks never to fall back. */
export const MAX_FALLBACK_MS = 3_600_000;
/**
 * The longest bot-gate challenge: its signed fields (~80 characters), and the automatic join's
 * preferences it may carry (src/botgate/proof-of-work.ts, MAX_PREFERENCES_CHARS) with a
 * verifier's prefix.
 */
export const MAX_CHALLENGE_CHARS = 2600;

/**
 * `join`, `next` and `block` take optional matchmaking preferences (docs/protocol.md, "Matching");
 * nothing or `{}` asks for anyone, as before. Also accepted in the socket.io `auth` of a
 * connection that is queued at once (`auth: { join: true, interests, fallbackMs, lang }`).
 * An interest is compared in Unicode NFKC, trimmed, lower-cased, and is then 1–32 characters.
 */
export interface JoinPreferences {
  /** What the client wants to talk about; duplicates (after normalising) count once. At most MAX_INTERESTS. */
  interests?: string[];
  /** How long to wait for a shared interest before anyone will do; null: never. Default MATCH_FALLBACK_MS. */
  fallbackMs?: number | null;
  /** A BCP 47 primary language subtag ("en", "pt"): only partners with the same one, or none, are matched. */
  lang?: string | null;
}

/**
 * `ack`: the client has processed every event up to `seq` (cumulative), so the server may forget
 * them. Sent without an acknowledgement callback of its own, at most every ~500 ms after a receipt.
 */
export interface AckPayload {
  seq: number;
}

/** Why a user reports a partner: a fixed list, so operators can sort and count reports. */
export const REPORT_REASONS = ['spam', 'harassment', 'sexual-content', 'minor-safety', 'other'] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];

/** The longest `details` a report may carry, in characters (code points). */
export const MAX_REPORT_DETAILS_CHARS = 500;
/** The most `evidence` a report may carry, as JSON in UTF-8 bytes (4 KiB). */
export const MAX_REPORT_EVIDENCE_BYTES = 4096;

/** One chat message the reporter's client kept and chose to attach; the server never sees chat otherwise. */
export interface EvidenceMessage {
  from: 'self' | 'partner';
  text: string;
  /** When it was sent or received, in ms since the epoch, as the reporter's clock says. */
  at: number;
}

/**
 * `report`: the partner of the pair `room` (the current one, or one that ended within
 * REPORT_WINDOW_MS) broke the rules. The reported partner is blocked for the reporter; a current
 * pair ends as with `block`. docs/protocol.md, "Reporting".
 */
export interface ReportPayload {
  /** 1–128 characters: the `room` of `paired`. */
  room: string;
  reason: ReportReason;
  /** At most MAX_REPORT_DETAILS_CHARS characters. */
  details?: string | undefined;
  /** At most MAX_REPORT_EVIDENCE_BYTES of JSON (UTF-8). */
  evidence?: EvidenceMessage[] | undefined;
}

/**
 * `proof`: the answer to the bot gate's challenge (docs/protocol.md, "Bot gate"): the challenge as
 * the server sent it and either a nonce such that SHA-256(challenge + nonce) starts with the
 * challenge's number of zero bits (BOT_GATE=pow), or the token a human-verification widget gave
 * the page (BOT_GATE=siteverify).
 */
export type ProofPayload =
  /** `challenge`: as the server sent it (1–256 characters); `nonce`: 1–32 characters of 0-9 a-z. */
  | { challenge: string; nonce: string }
  /** `token`: 1–4096 characters. */
  | { challenge: string; token: string };

/** Commands a client may send, by event name. Anything else is UNKNOWN_EVENT. */
export const COMMANDS = ['join', 'signal', 'next', 'leave', 'ack', 'block', 'report', 'proof'] as const;
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
  /**
   * Only when the bot gate is on and this session has not proved its work: the challenge to solve
   * and answer with `proof` before `join` (docs/protocol.md, "Bot gate").
   */
  challenge?: string;
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

/** Every server event, at runtime; a name missing here (or one too many) fails to compile. */
export const SERVER_EVENTS = [
  'session',
  'waiting',
  'paired',
  'signal',
  'partner-left',
  'stats',
  'error',
] as const satisfies readonly ServerEventName[];

const everyServerEventListed: Exclude<ServerEventName, (typeof SERVER_EVENTS)[number]> extends never ? true : false =
  true;
void everyServerEventListed;

export function isServerEvent(event: string): event is ServerEventName {
  return (SERVER_EVENTS as readonly string[]).includes(event);
}

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
  /** The id the operator knows the report by. */
  report: { reportId: string };
  proof: Record<never, never>;
}
