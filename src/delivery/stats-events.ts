import type { LiveStatsCache } from '../core/live-stats.js';
import type { LocalDelivery } from './local-delivery.js';

export interface StatsEventsOptions {
  /** How often the waiting sessions connected here are told (STATS_EVENT_MS); 0: never. */
  intervalMs: number;
  onError: (error: unknown, context: { command: string }) => void;
}

/**
 * Sends the live counts as a `stats` event to the sessions connected here that are waiting, every
 * `intervalMs`. The counts are asked once per tick for every client (from the process's one
 * LiveStatsCache, which GET /stats shares), and not at all while nobody here waits. The event is
 * not numbered or kept in outboxes: a count is stale by the next one, so a missed one is not
 * replayed (docs/protocol.md, "Live counts"). Returns the stop function.
 */
export function startStatsEvents(
  delivery: LocalDelivery,
  stats: LiveStatsCache,
  options: StatsEventsOptions,
): () => void {
  if (options.intervalMs <= 0) return () => {};
  let asking = false;
  const timer = setInterval(() => {
    // One question at a time: a slow store does not pile up ticks.
    if (asking || delivery.waitingCount() === 0) return;
    asking = true;
    stats
      .get()
      .then(
        // The counts alone: the top interests stay on GET /stats (a larger payload, for pages that show them).
        ({ online, waiting, pairs }) => delivery.writeStatsToWaiting({ online, waiting, pairs }),
        (error: unknown) => options.onError(error, { command: 'stats' }),
      )
      .finally(() => {
        asking = false;
      });
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
