/** The longest delay a timer can wait (setTimeout fires at once for anything longer). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * How long a banned client waits before it tries to connect again: the ban's `retryAfterMs` and
 * up to 10 % more (a crowd banned together does not return together), never less. Undefined when
 * the end is not known or too far off for a timer: the client then stops and says so.
 */
export function banDelay(retryAfterMs: number | undefined): number | undefined {
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) return undefined;
  const delay = Math.ceil(retryAfterMs * (1 + Math.random() * 0.1)) + 1;
  return delay <= LONGEST_TIMER_MS ? delay : undefined;
}
