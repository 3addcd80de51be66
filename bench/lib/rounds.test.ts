import { describe, expect, it } from 'vitest';
import { mergeRounds, roundOrder } from './rounds.js';

describe('mergeRounds', () => {
  it('takes the median of every figure, field by field and element by element', () => {
    const rounds = [
      { rate: 100, latency: { p50: 1, p99: 30 }, phases: [{ cpu: 5 }, { cpu: 50 }] },
      { rate: 300, latency: { p50: 3, p99: 10 }, phases: [{ cpu: 7 }, { cpu: 70 }] },
      { rate: 200, latency: { p50: 2, p99: 20 }, phases: [{ cpu: 6 }, { cpu: 60 }] },
    ];
    expect(mergeRounds(rounds)).toEqual({ rate: 200, latency: { p50: 2, p99: 20 }, phases: [{ cpu: 6 }, { cpu: 60 }] });
    expect(mergeRounds([{ x: 1 }, { x: 4 }])).toEqual({ x: 2.5 });
  });

  it('keeps the worst round for losses and for how many were paired', () => {
    const rounds = [
      { lost: 0, misrouted: 0, outOfOrder: 2, failed: 0, paired: 10_000 },
      { lost: 7, misrouted: 1, outOfOrder: 0, failed: 3, paired: 9_990 },
      { lost: 0, misrouted: 0, outOfOrder: 0, failed: 0, paired: 10_000 },
    ];
    expect(mergeRounds(rounds)).toEqual({ lost: 7, misrouted: 1, outOfOrder: 2, failed: 3, paired: 9_990 });
  });

  it('passes a single round through, and keeps the first round’s labels', () => {
    const one = { kind: 'relay', rate: 1 };
    expect(mergeRounds([one])).toBe(one);
    expect(
      mergeRounds([
        { kind: 'burst', n: 1 },
        { kind: 'burst', n: 3 },
      ]),
    ).toEqual({ kind: 'burst', n: 2 });
  });
});

describe('roundOrder', () => {
  it('alternates forward and backward', () => {
    expect(roundOrder(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(roundOrder(['a', 'b', 'c'], 1)).toEqual(['c', 'b', 'a']);
    expect(roundOrder(['a', 'b', 'c'], 2)).toEqual(['a', 'b', 'c']);
  });
});

describe('mergeRounds with fields some rounds lack', () => {
  it('counts a missing field as 0 in that round (a Redis command seen in one round only)', () => {
    const rounds = [
      { calls: { evalsha: 10, get: 3 } },
      { calls: { evalsha: 30 } },
      { calls: { evalsha: 20, xadd: 9 } },
    ];
    expect(mergeRounds(rounds)).toEqual({ calls: { evalsha: 20, get: 0, xadd: 0 } });
    expect(mergeRounds([{ calls: { get: 2 } }, { calls: { get: 4, del: 6 } }])).toEqual({ calls: { get: 3, del: 3 } });
  });

  it('merges an optional object present in some rounds only, its counts 0 where it is missing', () => {
    const rounds = [{ x: 1 }, { x: 3, redis: { bytes: 8 } }, { x: 2, redis: { bytes: 6 } }];
    expect(mergeRounds(rounds)).toEqual({ x: 2, redis: { bytes: 6 } });
    expect(mergeRounds([{ x: 1 }, { x: 3, redis: { bytes: 8 } }])).toEqual({ x: 2, redis: { bytes: 4 } });
  });
});
