import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from './errors.js';
import { parseEmpty, parsePreferences, parseSignal } from './validate.js';

const limits = { maxSdpBytes: 1024, maxCandidateBytes: 256 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ProtocolError ? error.code : 'NOT_A_PROTOCOL_ERROR';
  }
  return undefined;
}

describe('parseSignal', () => {
  it('returns every valid signal as it is', () => {
    const signals = [
      { type: 'offer', sdp: 'v=0' },
      { type: 'answer', sdp: 'v=0' },
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host' } },
      { type: 'candidate', candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null, usernameFragment: null } },
      { type: 'end-of-candidates' },
    ];
    for (const signal of signals) expect(parseSignal(signal, limits)).toEqual(signal);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(codeOf(() => parseSignal({ type: 'offer', sdp: 'é'.repeat(512) }, limits))).toBeUndefined();
    expect(codeOf(() => parseSignal({ type: 'offer', sdp: 'é'.repeat(513) }, limits))).toBe(
      ErrorCode.PAYLOAD_TOO_LARGE,
    );
    expect(codeOf(() => parseSignal({ type: 'offer', sdp: 'a'.repeat(1024) }, limits))).toBeUndefined();
  });

  it('bounds every candidate field', () => {
    const long = 'x'.repeat(257);
    for (const field of ['candidate', 'sdpMid', 'usernameFragment']) {
      const candidate = { candidate: 'c', [field]: long };
      expect(codeOf(() => parseSignal({ type: 'candidate', candidate }, limits))).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    }
  });

  it('names the offending field', () => {
    expect(() => parseSignal({ type: 'offer', sdp: 1 }, limits)).toThrow(/^sdp: /);
  });

  it.each([
    undefined,
    null,
    1,
    'offer',
    [],
    {},
    { type: 'offer', sdp: 'v=0', extra: 1 },
    { type: 'OFFER', sdp: 'v=0' },
  ])('refuses %j as INVALID_PAYLOAD', (raw) => {
    expect(codeOf(() => parseSignal(raw, limits))).toBe(ErrorCode.INVALID_PAYLOAD);
  });
});

describe('parseEmpty', () => {
  it('accepts nothing or an empty object, and refuses anything else', () => {
    expect(codeOf(() => parseEmpty(undefined, 'join'))).toBeUndefined();
    expect(codeOf(() => parseEmpty({}, 'join'))).toBeUndefined();
    for (const raw of [null, 0, '', [], { a: 1 }]) {
      expect(codeOf(() => parseEmpty(raw, 'join'))).toBe(ErrorCode.INVALID_PAYLOAD);
    }
  });
});

describe('parsePreferences', () => {
  it('takes nothing or {} as "anyone", leaving the fallback to the server', () => {
    expect(parsePreferences(undefined, 'join')).toEqual({ interests: [], lang: null });
    expect(parsePreferences({}, 'next')).toEqual({ interests: [], lang: null });
  });

  it('normalises interests (NFKC, trimmed, lower-cased) and drops duplicates, keeping the first order', () => {
    expect(parsePreferences({ interests: ['  Jazz ', 'ｊａｚｚ', 'Go', 'JAZZ', 'ﬁlm'] }, 'join').interests).toEqual([
      'jazz',
      'go',
      'film',
    ]);
  });

  it('takes fallbackMs (null: never) and a primary language subtag, lower-cased', () => {
    expect(parsePreferences({ fallbackMs: null, lang: 'EN' }, 'join')).toEqual({
      interests: [],
      fallbackMs: null,
      lang: 'en',
    });
    expect(parsePreferences({ fallbackMs: 0 }, 'join').fallbackMs).toBe(0);
  });

  it.each([
    ['a payload that is not an object', 'jazz'],
    ['an unknown key', { interests: [], mood: 'happy' }],
    ['eleven interests', { interests: Array.from({ length: 11 }, (_, i) => `t${i}`) }],
    ['an empty interest', { interests: ['   '] }],
    ['a 33-character interest', { interests: ['x'.repeat(33)] }],
    ['an interest with a control character', { interests: ['a\u0000b'] }],
    ['an interest that is not a string', { interests: [7] }],
    ['a negative fallbackMs', { fallbackMs: -1 }],
    ['a fractional fallbackMs', { fallbackMs: 1.5 }],
    ['a region with the language', { lang: 'en-US' }],
    ['a one-letter lang', { lang: 'e' }],
  ])('refuses %s with INVALID_PAYLOAD', (_label, payload) => {
    expect(codeOf(() => parsePreferences(payload, 'join'))).toBe(ErrorCode.INVALID_PAYLOAD);
  });

  it('counts characters as code points: 32 emoji are one interest', () => {
    expect(parsePreferences({ interests: ['😀'.repeat(32)] }, 'join').interests).toHaveLength(1);
  });
});
