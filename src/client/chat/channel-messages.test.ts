import { describe, expect, it } from 'vitest';
import { encodeChannelMessage, MAX_TEXT_LENGTH, parseChannelMessage } from './channel-messages.js';

describe('channel messages', () => {
  it('round-trips every message type', () => {
    for (const message of [
      { type: 'hello', id: 0 },
      { type: 'text', id: 7, text: '<img src=x onerror=alert(1)> stays a string' },
      { type: 'receipt', id: 7 },
      { type: 'typing', active: true },
    ] as const) {
      expect(parseChannelMessage(encodeChannelMessage(message))).toEqual(message);
    }
  });

  it('drops what is not a message, keeping only known fields', () => {
    for (const junk of [
      new Uint8Array([1, 2]),
      'not json',
      'null',
      '[]',
      '{"type":"html","html":"<b>"}',
      '{"type":"text","id":-1,"text":"x"}',
      '{"type":"text","id":1.5,"text":"x"}',
      '{"type":"text","id":1,"text":42}',
      '{"type":"typing","active":"yes"}',
      JSON.stringify({ type: 'text', id: 1, text: 'x'.repeat(MAX_TEXT_LENGTH + 1) }),
    ]) {
      expect(parseChannelMessage(junk)).toBeUndefined();
    }
    expect(parseChannelMessage('{"type":"text","id":1,"text":"hi","html":"<b>"}')).toEqual({
      type: 'text',
      id: 1,
      text: 'hi',
    });
  });
});
