/**
 * Hostile inputs for the fuzz properties (test/fuzz.test.ts): what a client can put on the wire,
 * from plausible near-misses of a Signal to binary blobs, poisoned keys and frames past the limit.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { Signal } from '../../src/protocol/messages.js';
import { answer, candidate, offerSdp } from '../fixtures/webrtc.js';
import { onTheWire } from './oracle.js';

/** The size limits the fuzzed server runs with; the generators aim at both sides of each. */
export interface SizeLimits {
  maxSdpBytes: number;
  maxCandidateBytes: number;
  maxFrameBytes: number;
}

/** One client → server emit: an event name (numbers are legal socket.io event names) and its arguments. */
export interface HostileCommand {
  event: string | number;
  args: unknown[];
  /** False: emitted without an acknowledgement callback (the server must cope with `ack` missing). */
  withAck: boolean;
}

/**
 * Keys that have hurt JavaScript servers: prototype pollution, thenables, and the Signal's own
 * field names (so a poisoned object can look almost valid).
 */
export const POISON_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'then',
  'toJSON',
  'type',
  'sdp',
  'candidate',
  'sdpMid',
  'sdpMLineIndex',
] as const;

/** Event names a careless dispatcher might treat specially (server events, Object.prototype, near-commands). */
const SUSPICIOUS_EVENTS = [
  'error',
  'session',
  'paired',
  'waiting',
  'partner-left',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'Signal',
  'JOIN',
  ' join',
  'next ',
  'leave\u0000',
  '',
];

const COMMAND_NAMES = ['join', 'signal', 'next', 'leave'] as const;

/** Names socket.io-client refuses to emit itself; the raw-frame property sends them instead. */
const CLIENT_RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...POISON_KEYS));

const oddStrings = fc.constantFrom('\u0000', '\ud800', '\udfff', '\u2028', '\ufeff', 'null', '{}', '%s%n', '<script>');

/** A string of exactly `bytes` UTF-8 bytes made of characters `width` bytes wide (ASCII padding makes it exact). */
export function textOfBytes(bytes: number, width: 1 | 2 | 3 | 4): string {
  const unit = { 1: 'a', 2: 'é', 3: '€', 4: '😀' }[width];
  const count = Math.floor(bytes / width);
  return unit.repeat(count) + 'a'.repeat(bytes - count * width);
}

/** Strings whose UTF-8 size sits just under, at or just over `limit` bytes. */
export function stringNear(limit: number): fc.Arbitrary<string> {
  return fc
    .record({
      delta: fc.integer({ min: -3, max: 3 }),
      width: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<1 | 2 | 3 | 4>,
    })
    .map(({ delta, width }) => textOfBytes(Math.max(1, limit + delta), width));
}

/** Every binary shape socket.io-client turns into an attachment. */
export const binaryValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.buffer),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => new DataView(bytes.buffer)),
  fc.int16Array({ maxLength: 16 }),
  fc.float64Array({ maxLength: 8 }),
  fc.constant(new Uint8Array(0)),
);

/** Arrays or objects nested `depth` deep (built iteratively: the generator must not be what overflows). */
export function nested(depth: number, shape: 'array' | 'object'): unknown {
  let value: unknown = shape === 'array' ? [] : {};
  for (let i = 0; i < depth; i++) value = shape === 'array' ? [value] : { a: value };
  return value;
}

/** An object whose keys are poisoned, with arbitrary values. */
const poisonedObject = fc.dictionary(key, fc.oneof(fc.jsonValue({ maxDepth: 2 }), binaryValue), {
  minKeys: 1,
  maxKeys: 4,
});

/** Anything at all: JSON-ish values, exotic objects (which JSON flattens), binary, deep nesting, big strings. */
export function hostileValue(limits: SizeLimits): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.anything({
        key,
        maxDepth: 3,
        maxKeys: 5,
        withBoxedValues: true,
        withMap: true,
        withSet: true,
        withDate: true,
        withNullPrototype: true,
        withObjectString: true,
        withSparseArray: true,
        withTypedArray: true,
        stringUnit: 'binary',
      }),
    },
    { weight: 2, arbitrary: poisonedObject },
    { weight: 2, arbitrary: binaryValue },
    { weight: 1, arbitrary: oddStrings },
    { weight: 1, arbitrary: stringNear(limits.maxSdpBytes) },
    {
      weight: 1,
      arbitrary: fc
        .record({
          depth: fc.integer({ min: 2, max: 1500 }),
          shape: fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>,
        })
        .map(({ depth, shape }) => nested(depth, shape)),
    },
  );
}

/** A schema-valid Signal, with SDPs and candidate fields anywhere up to (and just past) the limits. */
export function validishSignal(limits: SizeLimits): fc.Arbitrary<Signal> {
  const sdp = fc.oneof(fc.constant(offerSdp), fc.string({ minLength: 1 }), stringNear(limits.maxSdpBytes));
  const field = fc.oneof(fc.string({ maxLength: 12, unit: 'binary' }), stringNear(limits.maxCandidateBytes));
  return fc.oneof(
    fc.record({ type: fc.constantFrom('offer', 'answer') as fc.Arbitrary<'offer' | 'answer'>, sdp }),
    fc.record(
      {
        type: fc.constant('candidate' as const),
        candidate: fc.record(
          {
            candidate: field,
            sdpMid: fc.option(field),
            sdpMLineIndex: fc.option(fc.integer({ min: 0, max: 65535 })),
            usernameFragment: fc.option(field),
          },
          { requiredKeys: ['candidate'] },
        ),
      },
      { requiredKeys: ['type', 'candidate'] },
    ),
    fc.constant({ type: 'end-of-candidates' as const }),
    fc.constantFrom(answer, candidate(7)),
  );
}

/** One small change that should make a valid Signal invalid (or, for a few, keep it valid: the oracle decides). */
function mutate(signal: Signal, limits: SizeLimits): fc.Arbitrary<unknown> {
  const fields = Object.keys(signal);
  const withExtraKey = fc
    .tuple(key, hostileValue(limits))
    .map(([k, v]) => Object.fromEntries([...Object.entries(signal), [k, v]]));
  const withFieldReplaced = fc
    .tuple(fc.constantFrom(...fields), hostileValue(limits))
    .map(([k, v]) => Object.fromEntries(Object.entries(signal).map(([f, old]) => [f, f === k ? v : old])));
  const withFieldDropped = fc
    .constantFrom(...fields)
    .map((k) => Object.fromEntries(Object.entries(signal).filter(([f]) => f !== k)));
  const innerCandidate =
    signal.type === 'candidate'
      ? fc.tuple(key, hostileValue(limits)).map(([k, v]) => ({
          ...signal,
          candidate: Object.fromEntries([...Object.entries(signal.candidate), [k, v]]),
        }))
      : withExtraKey;
  return fc.oneof(
    withExtraKey,
    withFieldReplaced,
    withFieldDropped,
    innerCandidate,
    fc.constant([signal]),
    fc.constant(JSON.stringify(signal)),
    fc.constant({ ...signal, type: signal.type.toUpperCase() }),
  );
}

/** A `signal` payload: valid, a near miss, or anything at all. */
export function signalPayload(limits: SizeLimits): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: validishSignal(limits) },
    { weight: 4, arbitrary: validishSignal(limits).chain((s) => mutate(s, limits)) },
    { weight: 3, arbitrary: hostileValue(limits) },
  );
}

/** Up to `max` arguments: none, one, or too many. */
function argumentsOf(value: fc.Arbitrary<unknown>, max = 6): fc.Arbitrary<unknown[]> {
  return fc.oneof(
    { weight: 6, arbitrary: value.map((v) => [v]) },
    { weight: 2, arbitrary: fc.array(value, { maxLength: max }) },
  );
}

/** An event name that is not a command (and that socket.io-client agrees to send). */
const unknownEvent: fc.Arbitrary<string | number> = fc
  .oneof(fc.constantFrom(...SUSPICIOUS_EVENTS), fc.string({ maxLength: 16, unit: 'binary' }), fc.integer())
  .filter((name) => !(COMMAND_NAMES as readonly unknown[]).includes(name) && !CLIENT_RESERVED.has(String(name)));

/**
 * Any command a hostile client may emit. `join`/`next`/`leave`/`proof` always carry something (a payload
 * or extra arguments): the valid bare forms change pairing state, which the churn property covers.
 */
export function hostileCommand(limits: SizeLimits): fc.Arbitrary<HostileCommand> {
  const signal = argumentsOf(signalPayload(limits)).map((args) => ({ event: 'signal', args, withAck: true }));
  const pairing = fc
    .tuple(
      fc.constantFrom('join', 'next', 'leave', 'proof'),
      fc.array(hostileValue(limits), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
    )
    .map(([event, args, withAck]) => ({ event, args, withAck }))
    // `{}` on the wire (a Map, a Set, an object of undefineds...) is a valid bare command.
    .filter(({ args }) => !(args.length === 1 && isDeepStrictEqual(onTheWire(args)[0], {})));
  const unknown = fc
    .tuple(unknownEvent, fc.array(hostileValue(limits), { maxLength: 4 }), fc.boolean())
    .map(([event, args, withAck]) => ({ event, args, withAck }));
  return fc.oneof(
    { weight: 5, arbitrary: signal },
    { weight: 2, arbitrary: pairing },
    { weight: 2, arbitrary: unknown },
  );
}

/** A payload that cannot fit in one frame: past MAX_FRAME_BYTES as text, as binary, as breadth or as arguments. */
export function oversizePayload(limits: SizeLimits): fc.Arbitrary<unknown[]> {
  const over = fc.integer({ min: limits.maxFrameBytes + 1024, max: limits.maxFrameBytes * 3 });
  return fc.oneof(
    over.map((n) => [{ type: 'offer', sdp: 'v'.repeat(n) }]),
    over.map((n) => [{ type: 'candidate', candidate: { candidate: 'c'.repeat(n) } }]),
    over.map((n) => [Buffer.alloc(n, 7)]),
    over.map((n) => [Array.from({ length: Math.ceil(n / 2) }, () => 0)]),
    over.map((n) => Array.from({ length: Math.ceil(n / 8) }, () => 'argument')),
  );
}

/** What one client does in the churn property: pairing commands, signals, or hanging up. */
export type ChurnAction = { kind: 'join' | 'next' | 'leave' | 'goodbye' } | { kind: 'signal'; payload: unknown };

/** A client's script of pairing churn and signals, some of them invalid. */
export function churnScript(limits: SizeLimits): fc.Arbitrary<ChurnAction[]> {
  const pairing = fc.constantFrom('join', 'join', 'next', 'leave', 'goodbye') as fc.Arbitrary<
    'join' | 'next' | 'leave' | 'goodbye'
  >;
  const action: fc.Arbitrary<ChurnAction> = fc.oneof(
    pairing.map((kind) => ({ kind })),
    signalPayload(limits).map((payload) => ({ kind: 'signal' as const, payload })),
  );
  return fc.array(action, { minLength: 1, maxLength: 10 });
}

/** Flood templates, chosen by index so thousands of commands cost nothing to generate. */
export function floodCommand(template: number, n: number): HostileCommand {
  const tagged = { type: 'candidate', candidate: { candidate: `flood ${n}`, sdpMid: '0', sdpMLineIndex: 0 } };
  const templates: HostileCommand[] = [
    { event: 'signal', args: [tagged], withAck: true },
    { event: 'signal', args: [{ type: 'offer', sdp: `v=0 flood ${n}` }], withAck: true },
    { event: 'signal', args: [{ ...tagged, to: 'everyone' }], withAck: true },
    // Not binary: a packet with attachments closes the connection at once, which would end the flood.
    { event: 'signal', args: ['x'.repeat(64)], withAck: true },
    { event: 'join', args: [], withAck: true },
    { event: 'next', args: [], withAck: true },
    { event: 'junk', args: [n, 'x'.repeat(256)], withAck: n % 2 === 0 },
    { event: 'signal', args: [{ type: 'offer', sdp: 'x'.repeat(60_000) }], withAck: true },
  ];
  return templates[template % templates.length] as HostileCommand;
}

export const FLOOD_TEMPLATES = 8;

/** One raw WebSocket frame: Engine.IO text, a socket.io packet (with an ack id assigned when sent), or binary. */
export type RawFrame =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'packet'; type: string; attachments?: number; nsp?: string; withId: boolean; body: string };

/** The text of a socket.io packet frame ("4" is Engine.IO's message type), with `id` when it asks for an ack. */
export function renderPacket(frame: Extract<RawFrame, { kind: 'packet' }>, id: number): string {
  const attachments = frame.attachments === undefined ? '' : `${frame.attachments}-`;
  const nsp = frame.nsp === undefined ? '' : `${frame.nsp},`;
  return `4${frame.type}${attachments}${nsp}${frame.withId ? id : ''}${frame.body}`;
}

const jsonArgument = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  poisonedObject.map((o) => JSON.parse(JSON.stringify(o))),
);

/** The body of an EVENT packet: any event name (reserved ones included), any JSON arguments. */
function eventBody(limits: SizeLimits): fc.Arbitrary<string> {
  const name = fc.oneof(fc.constantFrom(...COMMAND_NAMES, ...CLIENT_RESERVED, 'error', '__proto__'), unknownEvent);
  const signal = validishSignal(limits).map((s) => ['signal', s]);
  const anyEvent = fc.tuple(name, fc.array(jsonArgument, { maxLength: 3 })).map(([event, args]) => [event, ...args]);
  return fc.oneof(signal, anyEvent).map((array) => JSON.stringify(array));
}

/** Malformed JSON and JSON of the wrong shape, where an event array belongs. */
const brokenBody = fc.oneof(
  fc.json(),
  fc.string({ maxLength: 40 }),
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.constantFrom('[', '["signal",', '[]', '[1]', '[null]', '{"0":"join"}', '["join"]]', `[${'['.repeat(200)}`),
);

export function rawFrame(limits: SizeLimits): fc.Arbitrary<RawFrame> {
  const packet = fc.record(
    {
      type: fc.oneof(fc.constantFrom('2', '2', '2', '0', '1', '3', '4', '5', '6'), fc.string({ maxLength: 1 })),
      attachments: fc.nat(3),
      nsp: fc.constantFrom('/', '/admin', 'x', ''),
      withId: fc.boolean(),
      body: fc.oneof({ weight: 3, arbitrary: eventBody(limits) }, { weight: 1, arbitrary: brokenBody }),
    },
    { requiredKeys: ['type', 'withId', 'body'] },
  );
  // A binary event whose placeholder points at an attachment that may not exist.
  const forged = fc.nat(3).map((num) => ({
    kind: 'packet' as const,
    type: '5',
    attachments: 1,
    withId: true,
    body: JSON.stringify(['signal', { _placeholder: true, num }]),
  }));
  return fc.oneof(
    { weight: 6, arbitrary: packet.map((p) => ({ kind: 'packet' as const, ...p })) },
    { weight: 1, arbitrary: forged },
    { weight: 1, arbitrary: fc.string({ maxLength: 32 }).map((text) => ({ kind: 'text' as const, text })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 32 }).map((bytes) => ({ kind: 'binary' as const, bytes })) },
  );
}

/** The CONNECT packet: none, or any JSON as the auth payload, including session claims of every shape. */
export const connectPacket: fc.Arbitrary<string> = fc.oneof(
  fc.constant('40'),
  fc.jsonValue({ maxDepth: 2 }).map((auth) => `40${JSON.stringify(auth)}`),
  fc
    .oneof(fc.jsonValue({ maxDepth: 1 }), fc.string(), fc.stringMatching(/^[A-Za-z0-9_-]{22}$/))
    .map((session) => `40${JSON.stringify({ session })}`),
);
