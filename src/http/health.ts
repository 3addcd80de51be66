import { Router } from 'express';
import type { PairingStore } from '../store/pairing-store.js';

/** How long /readyz waits for the store before calling it unreachable. */
const READY_TIMEOUT_MS = 2000;

/**
 * /healthz: the process is up (liveness; a platform restarts us when it fails).
 * /readyz: the store answers (readiness; a balancer stops routing to us while it fails).
 */
export function healthRoutes(store: PairingStore): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await withTimeout(store.ready(), READY_TIMEOUT_MS);
      res.json({ status: 'ready' });
    } catch (error) {
      res.status(503).json({ status: 'unavailable', reason: error instanceof Error ? error.message : String(error) });
    }
  });
  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`store did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
