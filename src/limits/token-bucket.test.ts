import { describe, expect, it } from 'vitest';
import { CommandLimiter } from './command-limiter.js';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('grants a burst, then one token per 1/rate, and says how long to wait', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 0]);
    expect(bucket.take(0)).toBe(100);
    expect(bucket.take(50)).toBe(50);
    expect(bucket.take(100)).toBe(0);
  });

  it('never stores more than the burst', () => {
    const bucket = new TokenBucket(10, 2, 0);
    expect([bucket.take(60_000), bucket.take(60_000), bucket.take(60_000)]).toEqual([0, 0, 100]);
  });
});

describe('CommandLimiter', () => {
  const limits = { sdpPerSecond: 1, candidatesPerSecond: 2, pairingPerSecond: 1, abuseStrikes: 3 };

  it('keeps separate budgets, so candidates cannot starve an answer', () => {
    const limiter = new CommandLimiter(limits);
    for (let i = 0; i < 4; i++) expect(limiter.check('signal', { type: 'candidate' })).toEqual({ allowed: true });
    expect(limiter.check('signal', { type: 'candidate' })).toMatchObject({ allowed: false });
    expect(limiter.check('signal', { type: 'answer' })).toEqual({ allowed: true });
    expect(limiter.check('next', undefined)).toEqual({ allowed: true });
  });

  it('counts junk against the candidate budget and flags a client that keeps pushing', () => {
    const limiter = new CommandLimiter(limits);
    const verdicts = Array.from({ length: 9 }, () => limiter.check('junk', 'x'));
    expect(verdicts.slice(0, 4).every((v) => v.allowed)).toBe(true);
    expect(verdicts.slice(4, 7)).toEqual(Array(3).fill(expect.objectContaining({ allowed: false, abusive: false })));
    expect(verdicts[7]).toMatchObject({ allowed: false, abusive: true });
  });
});
