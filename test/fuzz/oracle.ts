/**
 * What the server must answer, decided independently of the server's own code path: the shape of
 * every acknowledgement (docs/protocol.md), the verdict a payload deserves (from the published
 * schema in src/protocol/schemas.ts and the byte limits), and what may reach whom.
 */
import { isDeepStrictEqual } from 'node:util';
import { Decoder, Encoder, type Packet, PacketType } from 'socket.io-parser';
import { z } from 'zod';
import { ErrorCode } from '../../src/protocol/errors.js';
import { COMMANDS } from '../../src/protocol/messages.js';
import { proofPayloadSchema, signalSchema } from '../../src/protocol/schemas.js';
import type { HostileCommand, SizeLimits } from './arbitraries.js';

/** Any acknowledgement on the wire: `{ ok: true, ... }` or a typed error, nothing else. */
const wireAckSchema = z.union([
  z.looseObject({ ok: z.literal(true) }),
  z.strictObject({
    ok: z.literal(false),
    error: z.strictObject({
      code: z.enum(ErrorCode),
      message: z.string(),
      retryAfterMs: z.number().finite().nonnegative().optional(),
    }),
  }),
]);

export type WireAck = z.infer<typeof wireAckSchema>;

/** What each command's success ack carries (docs/protocol.md, "Client → server commands"). */
const successShapes: Record<string, z.ZodType> = {
  signal: z.strictObject({ ok: z.literal(true) }),
  join: z.strictObject({ ok: z.literal(true), status: z.enum(['waiting', 'paired']) }),
  next: z.strictObject({ ok: z.literal(true), status: z.enum(['waiting', 'paired']) }),
  leave: z.strictObject({ ok: z.literal(true), status: z.literal('idle') }),
};

/** Refusals that depend on load or on the store, not on the payload: always acceptable. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE]);

/**
 * Checks that `response` (the arguments the server acked with) is exactly one well-formed ack for
 * `event`; returns it, or throws saying what is wrong.
 */
export function wellFormedAck(event: string | number, response: unknown[]): WireAck {
  if (response.length !== 1) throw new Error(`ack for ${String(event)} has ${response.length} arguments`);
  const parsed = wireAckSchema.safeParse(response[0]);
  if (!parsed.success) throw new Error(`malformed ack for ${String(event)}: ${JSON.stringify(response[0])}`);
  const ack = parsed.data;
  if (ack.ok) {
    const shape = successShapes[String(event)];
    if (!shape?.safeParse(ack).success)
      throw new Error(`unexpected success ack for ${String(event)}: ${JSON.stringify(ack)}`);
  } else if ((ack.error.code === ErrorCode.RATE_LIMITED) !== (ack.error.retryAfterMs !== undefined)) {
    throw new Error(`retryAfterMs must come with RATE_LIMITED and only with it: ${JSON.stringify(ack)}`);
  }
  return ack;
}

/** True for anything socket.io-client sends as a binary attachment. */
export function isBinary(value: unknown): boolean {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/**
 * True when socket.io-client sends the command with binary attachments (a BINARY_EVENT): the
 * server closes that connection at the announcement (no message has a binary form).
 */
export function carriesBinary(command: HostileCommand): boolean {
  try {
    return (
      new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: [command.event, ...command.args] }).length > 1
    );
  } catch {
    // socket.io-client cannot encode it either: it never leaves the client.
    return false;
  }
}

/**
 * The arguments exactly as the server will see them, through the codec both sides use
 * (socket.io-parser, which socket.io and socket.io-client share): JSON turns undefined into
 * null, a Map into {}, NaN into null; binary becomes attachments that come back as Buffers; and
 * in a packet with attachments an own `__proto__` key is lost on the way (the encoder copies keys
 * by assignment). The oracle judges that, not the JavaScript value the test built.
 */
export function onTheWire(args: unknown[]): unknown[] {
  let decoded: unknown[] | undefined;
  const decoder = new Decoder();
  decoder.on('decoded', (packet: Packet) => {
    decoded = (packet.data as unknown[]).slice(1);
  });
  for (const part of new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['probe', ...args] })) {
    decoder.add(part);
  }
  decoder.destroy();
  if (!decoded) throw new Error('socket.io-parser did not decode its own encoding');
  return decoded;
}

export type Verdict = 'ok' | ErrorCode;

/** The verdict docs/protocol.md promises for one command from a client in the given state. */
export function expectedVerdict(command: HostileCommand, paired: boolean, limits: SizeLimits): Verdict {
  const { event } = command;
  if (typeof event !== 'string' || !(COMMANDS as readonly string[]).includes(event)) return ErrorCode.UNKNOWN_EVENT;
  if (command.args.length > 1) return ErrorCode.INVALID_PAYLOAD;
  const [payload] = onTheWire(command.args);
  // The fuzzed server has no bot gate: a well-formed proof is acknowledged, anything else refused.
  if (event === 'proof') return proofPayloadSchema().safeParse(payload).success ? 'ok' : ErrorCode.INVALID_PAYLOAD;
  if (event !== 'signal') {
    const empty = command.args.length === 0 || isDeepStrictEqual(payload, {});
    if (!empty) return ErrorCode.INVALID_PAYLOAD;
    throw new Error(`the oracle does not model state changes (${event} with an empty payload)`);
  }
  const parsed = signalSchema().safeParse(payload);
  if (!parsed.success) return ErrorCode.INVALID_PAYLOAD;
  if (!fitsLimits(parsed.data, limits)) return ErrorCode.PAYLOAD_TOO_LARGE;
  return paired ? 'ok' : ErrorCode.NOT_PAIRED;
}

/** Every SDP and candidate field within its byte limit (what a partner may ever receive). */
export function fitsLimits(signal: z.infer<ReturnType<typeof signalSchema>>, limits: SizeLimits): boolean {
  const bytes = (text: string | null | undefined) => Buffer.byteLength(text ?? '', 'utf8');
  if (signal.type === 'offer' || signal.type === 'answer') return bytes(signal.sdp) <= limits.maxSdpBytes;
  if (signal.type === 'candidate') {
    const { candidate, sdpMid, usernameFragment } = signal.candidate;
    return [candidate, sdpMid, usernameFragment].every((field) => bytes(field) <= limits.maxCandidateBytes);
  }
  return true;
}

/** Does a refusal match the verdict? Transient refusals always do. */
export function matchesVerdict(ack: WireAck, verdict: Verdict): boolean {
  if (ack.ok) return verdict === 'ok';
  return ack.error.code === verdict || TRANSIENT_CODES.has(ack.error.code);
}

/** A rough upper bound of the largest frame a command becomes (its JSON text, or its largest attachment). */
export function frameBytes(command: HostileCommand): number {
  let largestAttachment = 0;
  // A function replacer sees the holder as `this`: the original value, before Buffer#toJSON ran.
  const text = JSON.stringify([command.event, ...command.args], function (this: unknown, key: string, value: unknown) {
    const original = (this as Record<string, unknown>)[key];
    if (!isBinary(original)) return value;
    largestAttachment = Math.max(largestAttachment, (original as ArrayBuffer | ArrayBufferView).byteLength);
    return { _placeholder: true, num: 0 };
  });
  return Math.max(Buffer.byteLength(text ?? '', 'utf8') + 32, largestAttachment);
}
