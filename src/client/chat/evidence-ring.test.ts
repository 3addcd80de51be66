import { describe, expect, it } from 'vitest';
import { type EvidenceMessage, MAX_REPORT_EVIDENCE_BYTES } from '../../protocol/messages.js';
import { EvidenceRing } from './evidence-ring.js';

const utf8 = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

function message(text: string, at = 1, from: EvidenceMessage['from'] = 'partner'): EvidenceMessage {
  return { from, text, at };
}

describe('EvidenceRing', () => {
  it('keeps messages in order, oldest first, as plain copies', () => {
    const ring = new EvidenceRing();
    ring.add(message('hi', 1, 'self'));
    ring.add(message('hello', 2));
    const kept = ring.messages();
    expect(kept).toEqual([message('hi', 1, 'self'), message('hello', 2)]);
    kept[0] = message('changed');
    expect(ring.messages()[0]?.text).toBe('hi');
  });

  it('keeps at most maxMessages, dropping the oldest', () => {
    const ring = new EvidenceRing({ maxMessages: 20 });
    for (let i = 0; i < 25; i++) ring.add(message(`m${i}`, i));
    expect(ring.size).toBe(20);
    expect(ring.messages().map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 5}`));
  });

  it('keeps its JSON within maxBytes (UTF-8), dropping the oldest, and says its size exactly', () => {
    const ring = new EvidenceRing();
    for (let i = 0; i < 20; i++) ring.add(message(`${'é'.repeat(150)} ${i} 👋`, Date.now() + i));
    const kept = ring.messages();
    expect(utf8(kept)).toBeLessThanOrEqual(MAX_REPORT_EVIDENCE_BYTES);
    expect(ring.bytes).toBe(utf8(kept));
    expect(kept.length).toBeLessThan(20);
    expect(kept.at(-1)?.text).toContain(' 19 ');
    // Only as many were dropped as needed: one more would not have fitted.
    const withOneMore = [message(`${'é'.repeat(150)} ${19 - kept.length} 👋`, 0), ...kept];
    expect(utf8(withOneMore)).toBeGreaterThan(MAX_REPORT_EVIDENCE_BYTES);
  });

  it('counts characters JSON escapes at their escaped size', () => {
    const ring = new EvidenceRing({ maxBytes: 200 });
    for (let i = 0; i < 10; i++) ring.add(message('"\\\n\u0001'.repeat(5), i));
    expect(ring.bytes).toBe(utf8(ring.messages()));
    expect(ring.bytes).toBeLessThanOrEqual(200);
  });

  it('cuts a message too long to fit alone, on whole code points, and keeps it', () => {
    const ring = new EvidenceRing({ maxBytes: 100 });
    ring.add(message('old'));
    ring.add(message('😀'.repeat(100), 5, 'self'));
    const kept = ring.messages();
    expect(kept).toHaveLength(1);
    expect(kept[0]?.text).toMatch(/^(😀)+…$/u);
    expect(kept[0]).toMatchObject({ from: 'self', at: 5 });
    expect(ring.bytes).toBe(utf8(kept));
    expect(ring.bytes).toBeLessThanOrEqual(100);
  });

  it('keeps nothing but the known fields of a message', () => {
    const ring = new EvidenceRing();
    ring.add({ ...message('x'), secret: 'y' } as EvidenceMessage);
    expect(Object.keys(ring.messages()[0] ?? {})).toEqual(['from', 'text', 'at']);
  });

  it('clear empties it', () => {
    const ring = new EvidenceRing();
    ring.add(message('x'));
    ring.clear();
    expect(ring.messages()).toEqual([]);
    expect(ring.bytes).toBe(2);
  });

  it('refuses bounds it could not keep', () => {
    expect(() => new EvidenceRing({ maxMessages: -1 })).toThrow(RangeError);
    expect(() => new EvidenceRing({ maxBytes: 1 })).toThrow(RangeError);
  });
});
