import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { iceServersFor, type TurnSettings } from '../ice/turn-credentials.js';
import type { IceServer } from '../protocol/messages.js';

/** GET /ice-servers: the STUN/TURN list a page can use before it connects (`paired` carries it too). */
export function iceServersRoute(staticServers: IceServer[], turn: TurnSettings): Router {
  const router = Router();
  router.get('/ice-servers', (_req, res) => {
    // Credentials are per request and short-lived: never cache them.
    res
      .set('Cache-Control', 'no-store')
      .json({ iceServers: iceServersFor(staticServers, turn, randomUUID()), ttl: turn.ttlSeconds });
  });
  return router;
}
