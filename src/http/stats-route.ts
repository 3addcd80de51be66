import { Router } from 'express';
import type { LiveStats, PairingStore } from '../store/pairing-store.js';

/** How long one answer is reused: every page may poll, and the counts need not be fresher. */
export const STATS_CACHE_MS = 2000;

/**
 * GET /stats: `{ online, waiting, pairs }`, cluster-wide with Redis (docs/protocol.md, "Live
 * counts"). The store is asked at most once per STATS_CACHE_MS per process, however many pages
 * poll: requests meanwhile share the answer (or the one question in flight). 503 while the store
 * is unreachable.
 */
export function statsRoute(store: PairingStore, cacheMs = STATS_CACHE_MS): Router {
  const router = Router();
  const stats = cachedStats(store, cacheMs);
  router.get('/stats', async (_req, res) => {
    try {
      const counts = await stats();
      res.set('Cache-Control', `public, max-age=${Math.floor(cacheMs / 1000)}`);
      res.json(counts);
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  return router;
}

/**
 * The store's live counts, asked at most once per `cacheMs` (GET /stats, GET /admin/stats):
 * callers meanwhile share the answer, or the one question in flight.
 */
export function cachedStats(store: PairingStore, cacheMs = STATS_CACHE_MS): () => Promise<LiveStats> {
  let cached: { at: number; answer: Promise<LiveStats> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) {
      const answer = store.stats();
      cached = { at: now, answer };
      // A failure is not kept: the next request asks again.
      answer.catch(() => {
        if (cached?.answer === answer) cached = undefined;
      });
    }
    return cached.answer;
  };
}
