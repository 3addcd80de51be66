import { describe, expect, it } from 'vitest';
import { interestsOf, ownLanguage, seededRandom, zipfSampler } from './population.js';

describe('matchmaking population', () => {
  it('draws tag ranks with Zipf frequencies: rank 0 about twice rank 1, ten times rank 9', () => {
    const draw = zipfSampler(1000, 1, seededRandom(1));
    const counts = new Map<number, number>();
    for (let i = 0; i < 200_000; i++) {
      const rank = draw();
      counts.set(rank, (counts.get(rank) ?? 0) + 1);
    }
    const at = (rank: number) => counts.get(rank) ?? 0;
    expect(at(0) / at(1)).toBeGreaterThan(1.8);
    expect(at(0) / at(1)).toBeLessThan(2.2);
    expect(at(0) / at(9)).toBeGreaterThan(8);
    expect(at(0) / at(9)).toBeLessThan(12);
    expect(Math.max(...counts.keys())).toBeLessThan(1000);
  });

  it('gives every waiting client its own language, and distinct interests', () => {
    const languages = new Set(Array.from({ length: 10_000 }, (_, i) => ownLanguage(i)));
    expect(languages.size).toBe(10_000);
    for (const lang of languages) expect(lang).toMatch(/^[a-z]{3}$/);
    const random = seededRandom(2);
    const draw = zipfSampler(1000, 1, random);
    for (let i = 0; i < 100; i++) {
      const interests = interestsOf(draw, random);
      expect(new Set(interests).size).toBe(interests.length);
      expect(interests.length).toBeGreaterThanOrEqual(1);
      expect(interests.length).toBeLessThanOrEqual(3);
    }
  });

  it('is the same for the same seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    for (let i = 0; i < 10; i++) expect(a()).toBe(b());
  });
});
