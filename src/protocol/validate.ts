import { ErrorCode, ProtocolError } from './errors.js';
import type { ProofPayload, ReportPayload, Signal } from './messages.js';
import {
  ackPayloadSchema,
  emptyPayloadSchema,
  joinPayloadSchema,
  proofPayloadSchema,
  reportPayloadSchema,
  signalSchema,
} from './schemas.js';
import { isWellFormedSignal } from './signal-shape.js';

export interface PayloadLimits {
  /** Largest SDP (offer or answer) accepted, in UTF-8 bytes. */
  maxSdpBytes: number;
  /** Largest ICE candidate string accepted, in UTF-8 bytes. */
  maxCandidateBytes: number;
}

/** Validates an inbound `signal` payload; returns it typed, or throws INVALID_PAYLOAD / PAYLOAD_TOO_LARGE. */
export function parseSignal(raw: unknown, limits: PayloadLimits): Signal {
  const signal = isWellFormedSignal(raw) ? raw : parseWithSchema(raw);
  if (signal.type === 'offer' || signal.type === 'answer') {
    assertFits(signal.sdp, limits.maxSdpBytes, `${signal.type} SDP`);
  } else if (signal.type === 'candidate') {
    assertFits(signal.candidate.candidate, limits.maxCandidateBytes, 'ICE candidate');
    // The other fields are short by nature; bound them by the same limit so none is a side channel.
    if (signal.candidate.sdpMid) assertFits(signal.candidate.sdpMid, limits.maxCandidateBytes, 'sdpMid');
    if (signal.candidate.usernameFragment)
      assertFits(signal.candidate.usernameFragment, limits.maxCandidateBytes, 'usernameFragment');
  }
  return signal;
}

/** The schema's verdict: the signal as parsed, or INVALID_PAYLOAD naming the first issue. */
function parseWithSchema(raw: unknown): Signal {
  const parsed = signalSchema().safeParse(raw);
  if (!parsed.success) throw invalid(parsed.error.issues[0]);
  return parsed.data;
}

/** What a client asked of its match, normalised; `fallbackMs` undefined leaves it to the server's default. */
export interface RequestedMatch {
  interests: string[];
  fallbackMs?: number | null;
  lang: string | null;
}

/**
 * The preferences of `join`, `next` and `block` (nothing or `{}`: anyone), or INVALID_PAYLOAD naming
 * the first problem. Interests come back normalised, duplicates dropped, in the order first given.
 */
export function parsePreferences(raw: unknown, command: string): RequestedMatch {
  const parsed = joinPayloadSchema().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
    throw new ProtocolError(
      ErrorCode.INVALID_PAYLOAD,
      `${command} takes nothing or { interests?, fallbackMs?, lang? }: ${where}${issue?.message ?? 'invalid'}`,
    );
  }
  const { interests = [], fallbackMs, lang = null } = parsed.data ?? {};
  const match: RequestedMatch = { interests: [...new Set(interests)], lang };
  if (fallbackMs !== undefined) match.fallbackMs = fallbackMs;
  return match;
}

/** `leave` carries nothing; anything else is refused rather than ignored. */
export function parseEmpty(raw: unknown, command: string): void {
  if (!emptyPayloadSchema().safeParse(raw).success) {
    throw new ProtocolError(ErrorCode.INVALID_PAYLOAD, `${command} takes no payload`);
  }
}

/** `proof`'s `{ challenge, nonce }` or `{ challenge, token }` (docs/protocol.md, "Bot gate"), or INVALID_PAYLOAD. */
export function parseProof(raw: unknown): ProofPayload {
  const parsed = proofPayloadSchema().safeParse(raw);
  if (!parsed.success) {
    throw new ProtocolError(ErrorCode.INVALID_PAYLOAD, 'proof takes { challenge, nonce } or { challenge, token }');
  }
  return parsed.data;
}

/** `ack`'s `{ seq }`: the highest event the client processed. */
export function parseAck(raw: unknown): number {
  const parsed = ackPayloadSchema().safeParse(raw);
  if (!parsed.success) throw new ProtocolError(ErrorCode.INVALID_PAYLOAD, 'ack takes { seq: a non-negative integer }');
  return parsed.data.seq;
}

/** `report`'s `{ room, reason, details?, evidence? }`, or INVALID_PAYLOAD naming the first problem. */
export function parseReport(raw: unknown): ReportPayload {
  const parsed = reportPayloadSchema().safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  throw new ProtocolError(
    ErrorCode.INVALID_PAYLOAD,
    `report takes { room, reason, details?, evidence? }: ${where}${issue?.message ?? 'invalid'}`,
  );
}

function assertFits(text: string, maxBytes: number, what: string): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most strings are cleared without encoding them.
  if (text.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new ProtocolError(ErrorCode.PAYLOAD_TOO_LARGE, `${what} is ${bytes} bytes; the limit is ${maxBytes}`);
  }
}

interface Issue {
  path: PropertyKey[];
  message: string;
}

function invalid(issue: Issue | undefined): ProtocolError {
  if (!issue) return new ProtocolError(ErrorCode.INVALID_PAYLOAD, 'invalid signal');
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : 'signal';
  return new ProtocolError(ErrorCode.INVALID_PAYLOAD, `${where}: ${issue.message}`);
}
