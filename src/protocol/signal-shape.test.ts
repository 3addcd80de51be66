import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signalSchema } from './schemas.js';
import { isWellFormedSignal } from './signal-shape.js';

const text = fc.string({ maxLength: 8 });
const optionalText = fc.option(text, { nil: null });

const validSignal = fc.oneof(
  fc.record({ type: fc.constantFrom('offer', 'answer'), sdp: fc.string({ minLength: 1 }) }),
  fc.record({
    type: fc.constant('candidate'),
    candidate: fc.record(
      {
        candidate: fc.string(),
        sdpMid: optionalText,
        sdpMLineIndex: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }),
        usernameFragment: optionalText,
      },
      { requiredKeys: ['candidate'] },
    ),
  }),
  fc.constant({ type: 'end-of-candidates' }),
);

/** Values at the edges of every field's type: wrong types, out-of-range and non-integral numbers. */
const junk = fc.oneof(
  fc.constantFrom(null, undefined, true, '', 'OFFER', 'candidate', -1, 0, 0.5, 65535, 65536, Number.NaN),
  fc.constantFrom({}, [], { candidate: 'c' }),
  fc.integer(),
  text,
);
const FIELDS = [
  'type',
  'sdp',
  'candidate',
  'extra',
  'candidate.candidate',
  'candidate.sdpMid',
  'candidate.sdpMLineIndex',
  'candidate.usernameFragment',
  'candidate.extra',
] as const;

/** A valid signal with one field set to an edge value or removed: where a hand-written check slips. */
const nearlyValid = fc
  .tuple(validSignal, fc.constantFrom(...FIELDS), junk, fc.boolean())
  .map(([signal, field, value, remove]) => {
    const copy = structuredClone(signal) as Record<string, unknown>;
    const [head, tail] = field.split('.') as [string, string | undefined];
    const target = tail ? copy[head] : copy;
    if (typeof target !== 'object' || target === null) return copy;
    const key = tail ?? head;
    if (remove) delete (target as Record<string, unknown>)[key];
    else (target as Record<string, unknown>)[key] = value;
    return copy;
  });

describe('isWellFormedSignal', () => {
  it('says yes only to what signalSchema accepts', () => {
    fc.assert(
      fc.property(fc.oneof({ arbitrary: nearlyValid, weight: 4 }, fc.anything()), (raw) => {
        if (isWellFormedSignal(raw)) expect(signalSchema().safeParse(raw).success).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('says yes to every signal the schema accepts as sent over JSON, so the hot path is taken', () => {
    fc.assert(
      fc.property(validSignal, (signal) => {
        const sent = JSON.parse(JSON.stringify(signal)) as unknown;
        expect(signalSchema().safeParse(sent).success).toBe(true);
        expect(isWellFormedSignal(sent)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    null,
    [],
    { type: 'offer', sdp: '' },
    { type: 'offer', sdp: 'v=0', extra: 1 },
    { type: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: 1.5 } },
    { type: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: 65536 } },
    { type: 'candidate', candidate: { candidate: 'c', foo: 1 } },
    { type: 'candidate', candidate: [] },
    { type: 'end-of-candidates', sdp: 'x' },
  ])('says no to %j', (raw) => {
    expect(isWellFormedSignal(raw)).toBe(false);
  });
});
