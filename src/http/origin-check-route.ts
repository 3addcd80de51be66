import { Router } from 'express';
import { ORIGIN_CHECK_PATH, ORIGIN_REFUSAL, type OriginCheckAnswer } from '../protocol/origin-check.js';
import { originAllowed } from './origins.js';

/** GET /origin-check: whether a page of the request's origin may connect (src/protocol/origin-check.ts). */
export function originCheckRoute(allowedOrigins: readonly string[]): Router {
  const router = Router();
  router.get(ORIGIN_CHECK_PATH, (req, res) => {
    // Readable by every page, refused ones above all: they are the ones that need the answer.
    res.set({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' });
    const answer: OriginCheckAnswer = originAllowed(req, allowedOrigins)
      ? { ok: true }
      : { ok: false, error: ORIGIN_REFUSAL };
    res.status(answer.ok ? 200 : 403).json(answer);
  });
  return router;
}
