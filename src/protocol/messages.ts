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

/** `join`, `next` and `leave` take no payload; an empty object is tolerated for convenience. */
export const emptyPayloadSchema = z.union([z.undefined(), z.strictObject({})]);

/**
 * `ack`: the client has processed every event up to `seq` (cumulative), so the server may forget
 * them. Sent without an acknowledgement callback of its own, at most every ~500 ms after a receipt.
 */
export const ackPayloadSchema = z.strictObject({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

/** Commands a client may send, by event name. Anything else is UNKNOWN_EVENT. */
export const COMMANDS = ['join', 'signal', 'next', 'leave', 'ack'] as const;
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

/** Events the server emits, by name, with their payloads. */
export interface ServerEvents {
  session: SessionPayload;
  waiting: WaitingPayload;
  paired: PairedPayload;
  signal: Signal;
  'partner-left': PartnerLeftPayload;
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
  leave: { status: 'idle' };
  ack: Record<never, never>;
}
