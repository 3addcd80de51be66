/**
 * Several rounds of the same scenarios, merged into one result of the same shape. On a shared
 * 2-vCPU VM one run's figures move by tens of percent with whatever else the host runs, in
 * stretches of minutes; rounds in alternating target order, merged by median, keep one slow
 * stretch from deciding a target.
 */

/** Counts where one bad round is the verdict: never the median. */
const WORST_IS_MAX = new Set(['lost', 'misrouted', 'outOfOrder', 'failed']);
const WORST_IS_MIN = new Set(['paired']);

/**
 * Merges same-shaped samples: numbers by median (the worst round for the counts above), objects
 * and arrays field by field, anything else as the first sample has it. A field some rounds lack
 * (a Redis command that ran in one round only) counts as 0 in those rounds.
 */
export function mergeRounds<T>(samples: readonly T[], key = ''): T {
  const first = samples.find((s) => s !== undefined);
  if (samples.length <= 1 || first === undefined) return samples[0] as T;
  if (typeof first === 'number') {
    const numbers = samples.map((s) => (typeof s === 'number' ? s : 0));
    if (WORST_IS_MAX.has(key)) return Math.max(...numbers) as T;
    if (WORST_IS_MIN.has(key)) return Math.min(...numbers) as T;
    return median(numbers) as T;
  }
  if (Array.isArray(first)) {
    const length = Math.min(...samples.map((s) => (s as unknown[]).length));
    return Array.from({ length }, (_, i) =>
      mergeRounds(
        samples.map((s) => (s as unknown[])[i]),
        key,
      ),
    ) as T;
  }
  if (first !== null && typeof first === 'object') {
    const merged: Record<string, unknown> = {};
    const fields = new Set(samples.flatMap((s) => (s === undefined ? [] : Object.keys(s as object))));
    for (const field of fields) {
      merged[field] = mergeRounds(
        samples.map((s) => (s as Record<string, unknown> | undefined)?.[field]),
        field,
      );
    }
    return merged as T;
  }
  return first;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The target order for round `round` (0-based): forward, then backward, and so on. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}
