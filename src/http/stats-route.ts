import { Router } from 'express';
import type { LiveStatsCache } from '../core/live-stats.js';

/**
 * GET /stats: `{ online, waiting, pairs }`, cluster-wide with Redis (docs/protocol.md, "Live
 * counts"), from the process's one LiveStatsCache: however many pages poll, the store is asked at
 * most once per cache period. 503 while the store is unreachable.
 */
export function statsRoute(stats: LiveStatsCache): Router {
  const router = Router();
  router.get('/stats', async (_req, res) => {
    try {
      const answer = await stats.get();
      res.set('Cache-Control', `public, max-age=${Math.floor(stats.cacheMs / 1000)}`);
      res.json(answer);
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  return router;
}
