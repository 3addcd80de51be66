/**
 * Who waits and who joins in the matchmaking scenario: interests drawn from a Zipf distribution
 * over a fixed set of tags (a few tags are very popular, most are rare, as on real services), from
 * a seeded generator so every run and every mode meets the same people.
 */

/** mulberry32: a small, fast, seeded PRNG; plenty for drawing a workload. Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws tag ranks 0..tags-1 with P(rank k) ∝ 1 / (k + 1)^exponent. */
export function zipfSampler(tags: number, exponent: number, random: () => number): () => number {
  const cumulative = new Float64Array(tags);
  let total = 0;
  for (let k = 0; k < tags; k++) {
    total += 1 / (k + 1) ** exponent;
    cumulative[k] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = tags - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] ?? 0) < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

/** The name of tag `rank`: what a client would send, already normalised (lower case, short). */
export const tagName = (rank: number): string => `tag${rank}`;

/**
 * A language subtag of its own for waiting client `index` (three letters, aaa…zzz): it makes the
 * waiting clients incompatible with each other, so all of them stay in the queue however many
 * share an interest, while a joiner without a language is compatible with every one of them.
 */
export function ownLanguage(index: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let code = '';
  let rest = index;
  for (let i = 0; i < 3; i++) {
    code = (letters[rest % 26] ?? 'a') + code;
    rest = Math.floor(rest / 26);
  }
  return code;
}

/** 1 to `max` distinct interests, each drawn by `draw`. */
export function interestsOf(draw: () => number, random: () => number, max = 3): string[] {
  const wanted = 1 + Math.floor(random() * max);
  const chosen = new Set<string>();
  // Popular tags repeat: a bounded number of draws, so a client may end with fewer.
  for (let tries = 0; chosen.size < wanted && tries < wanted * 8; tries++) chosen.add(tagName(draw()));
  return [...chosen];
}
