import { describe, expect, it } from 'vitest';
import { banDelay } from './ban-delay.js';

describe('banDelay', () => {
  it('never comes before the ban ends, and spreads a crowd over at most 10 % more', () => {
    for (const retryAfterMs of [0, 1, 999, 60_000, 3_600_000]) {
      for (let i = 0; i < 50; i++) {
        const delay = banDelay(retryAfterMs) ?? Number.NaN;
        expect(delay).toBeGreaterThan(retryAfterMs);
        expect(delay).toBeLessThanOrEqual(Math.ceil(retryAfterMs * 1.1) + 1);
      }
    }
  });

  it('gives up (undefined) when the end is unknown, nonsense, or past what a timer can wait', () => {
    for (const retryAfterMs of [undefined, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(banDelay(retryAfterMs)).toBeUndefined();
    }
  });
});
