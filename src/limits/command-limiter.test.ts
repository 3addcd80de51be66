import { describe, expect, it } from 'vitest';
import { CommandLimiter } from './command-limiter.js';

describe('CommandLimiter', () => {
  const limits = { sdpPerSecond: 1, candidatesPerSecond: 2, pairingPerSecond: 1, abuseStrikes: 3 };

  it('grants a burst of twice the rate, then one token per 1/rate, and says how long to wait', () => {
    const limiter = new CommandLimiter({ ...limits, sdpPerSecond: 10, abuseStrikes: 100 }, 0);
    const offer = (now: number) => limiter.check('signal', { type: 'offer' }, now);
    for (let i = 0; i < 20; i++) expect(offer(0)).toEqual({ allowed: true });
    expect(offer(0)).toMatchObject({ allowed: false, retryAfterMs: 100 });
    expect(offer(50)).toMatchObject({ allowed: false, retryAfterMs: 50 });
    expect(offer(100)).toEqual({ allowed: true });
  });

  it('never stores more than the burst, however long it was idle', () => {
    const limiter = new CommandLimiter({ ...limits, abuseStrikes: 100 }, 0);
    const joins = Array.from({ length: 3 }, () => limiter.check('join', {}, 60_000).allowed);
    expect(joins).toEqual([true, true, false]);
  });

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

  it('gives strikes back one a second, and refills every budget while another is used', () => {
    const limiter = new CommandLimiter(limits, 0);
    for (let i = 0; i < 4; i++) limiter.check('junk', 'x', 0);
    // Three refusals use up the strikes; the fourth is abusive.
    for (let i = 0; i < 3; i++) expect(limiter.check('junk', 'x', 0)).toMatchObject({ abusive: false });
    expect(limiter.check('junk', 'x', 0)).toMatchObject({ abusive: true });
    // Offers meanwhile, one a second: the candidate budget and the strikes refill all along.
    for (let s = 1; s <= 2; s++)
      expect(limiter.check('signal', { type: 'offer' }, s * 1000)).toEqual({ allowed: true });
    for (let i = 0; i < 4; i++) expect(limiter.check('junk', 'x', 2000)).toEqual({ allowed: true });
    for (let i = 0; i < 2; i++) expect(limiter.check('junk', 'x', 2000)).toMatchObject({ abusive: false });
    expect(limiter.check('junk', 'x', 2000)).toMatchObject({ abusive: true });
  });
});
