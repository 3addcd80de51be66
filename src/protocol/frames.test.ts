import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from './errors.js';
import { parseClientFrame, parseResume, salvageAckId } from './frame-parsing.js';
import { ackFrame, commandFrame, eventFrame, parseServerFrame, signalFrame } from './frames.js';

function refusal(text: string): ProtocolError {
  try {
    parseClientFrame(text);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error(`accepted ${text}`);
}

describe('client frames', () => {
  it('reads action, id and payload', () => {
    expect(parseClientFrame('{"action":"signal","id":7,"payload":{"type":"end-of-candidates"}}')).toEqual({
      action: 'signal',
      id: 7,
      payload: { type: 'end-of-candidates' },
    });
    expect(parseClientFrame('{"action":"join"}')).toEqual({ action: 'join' });
    expect(parseClientFrame('{"action":"signal","id":8,"payload":{"type":"end-of-candidates"},"cseq":3}')).toEqual({
      action: 'signal',
      id: 8,
      payload: { type: 'end-of-candidates' },
      cseq: 3,
    });
  });

  it.each([
    ['not JSON', 'join'],
    ['an array', '[1]'],
    ['null', 'null'],
    ['no action', '{"id":1}'],
    ['an empty action', '{"action":""}'],
    ['an unknown key', '{"action":"join","to":"someone-else"}'],
    ['a fractional id', '{"action":"join","id":1.5}'],
    ['a negative id', '{"action":"join","id":-1}'],
    ['a huge id', '{"action":"join","id":4294967296}'],
    ['a string id', '{"action":"join","id":"1"}'],
    ['a __proto__ key', '{"action":"join","__proto__":{"polluted":true}}'],
    ['a cseq of 0', '{"action":"signal","cseq":0}'],
    ['a fractional cseq', '{"action":"signal","cseq":1.5}'],
    ['a cseq past 2^53', '{"action":"signal","cseq":9007199254740992}'],
  ])('refuses %s with INVALID_PAYLOAD', (_, text) => {
    expect(refusal(text).code).toBe(ErrorCode.INVALID_PAYLOAD);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('salvages a usable ack id from a refused frame, and only a usable one', () => {
    expect(salvageAckId('{"action":"join","id":3,"extra":1}')).toBe(3);
    expect(salvageAckId('{"id":-3}')).toBeUndefined();
    expect(salvageAckId('{"id":"3"}')).toBeUndefined();
    expect(salvageAckId('not json')).toBeUndefined();
    expect(salvageAckId('null')).toBeUndefined();
  });
});

describe('resume claims', () => {
  it('reads a claim, and no payload as a new session that is not queued', () => {
    expect(parseResume({ session: 's', lastSeq: 4, join: true })).toEqual({
      session: 's',
      lastSeq: 4,
      join: true,
      preferences: undefined,
    });
    expect(parseResume({ session: 's' })).toEqual({ session: 's', lastSeq: 0, join: false, preferences: undefined });
    expect(parseResume(undefined)).toEqual({ session: undefined, lastSeq: 0, join: false, preferences: undefined });
  });

  it('passes the preferences on as sent, for the join made with them to check', () => {
    expect(parseResume({ join: true, interests: [' Jazz'], fallbackMs: null, lang: 'EN' })).toEqual({
      session: undefined,
      lastSeq: 0,
      join: true,
      preferences: { interests: [' Jazz'], fallbackMs: null, lang: 'EN' },
    });
    // A bad one does not fail the resume: the join made with it is refused (an error event).
    expect(parseResume({ join: true, fallbackMs: -1 }).preferences).toEqual({ fallbackMs: -1 });
  });

  it.each([
    ['a number session', { session: 1 }],
    ['an empty session', { session: '' }],
    ['a long session', { session: 'x'.repeat(65) }],
    ['a negative lastSeq', { session: 's', lastSeq: -1 }],
    ['an unknown key', { session: 's', to: 'b' }],
    ['a string', 'resume'],
  ])('refuses %s with INVALID_PAYLOAD', (_, payload) => {
    expect(() => parseResume(payload)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_PAYLOAD }));
  });
});

describe('server frames', () => {
  it('wraps events and acks in the documented envelope', () => {
    expect(JSON.parse(eventFrame('partner-left', { room: 'r', reason: 'next' }))).toEqual({
      type: 'partner-left',
      payload: { room: 'r', reason: 'next' },
    });
    expect(JSON.parse(ackFrame(9, { ok: false, error: { code: 'NOT_PAIRED', message: 'm' } }))).toEqual({
      type: 'ack',
      id: 9,
      payload: { ok: false, error: { code: 'NOT_PAIRED', message: 'm' } },
    });
  });
});

describe('both halves agree', () => {
  it("the client's commandFrame is what the server's parseClientFrame reads back", () => {
    const signal = { type: 'offer', sdp: 'v=0' };
    expect(parseClientFrame(commandFrame('signal', 3, signal, 2))).toEqual({
      action: 'signal',
      id: 3,
      payload: signal,
      cseq: 2,
    });
    expect(parseClientFrame(commandFrame('bye', undefined))).toEqual({ action: 'bye' });
    expect(parseClientFrame(commandFrame('ack', undefined, { seq: 4 }))).toEqual({
      action: 'ack',
      payload: { seq: 4 },
    });
  });

  it("the server's event, signal and ack frames are what the client's parseServerFrame reads", () => {
    expect(parseServerFrame(eventFrame('waiting', {}, 2))).toEqual({
      type: 'waiting',
      id: undefined,
      room: undefined,
      seq: 2,
      payload: {},
    });
    expect(parseServerFrame(signalFrame('r1', { type: 'end-of-candidates' }, 5))).toEqual({
      type: 'signal',
      id: undefined,
      room: 'r1',
      seq: 5,
      payload: { type: 'end-of-candidates' },
    });
    expect(parseServerFrame(new TextEncoder().encode(ackFrame(7, { ok: true })))).toEqual({
      type: 'ack',
      id: 7,
      room: undefined,
      seq: undefined,
      payload: { ok: true },
    });
  });

  it('parseServerFrame ignores what is not a frame instead of throwing', () => {
    for (const junk of ['', 'null', '[]', '{"payload":1}', '{"type":"ack"}', '{"type":"ack","id":"7"}', 42]) {
      expect(parseServerFrame(junk)).toBeUndefined();
    }
  });
});
