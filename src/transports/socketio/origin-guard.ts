import type { Logger } from 'pino';
import { originAllowed } from '../../http/origins.js';
import { ORIGIN_REFUSAL } from '../../protocol/origin-check.js';
import type { AllowRequest } from './types.js';

/** One refused origin is logged at most this often; the line counts the refusals left unlogged. */
const LOG_EVERY_MS = 60_000;
/** Origins remembered for that; past this many the memory starts afresh, so made-up origins cost nothing. */
const MAX_REMEMBERED = 1000;
/** An Origin header is logged up to this length: it is the client's own words. */
const MAX_LOGGED_LENGTH = 200;

/**
 * Refuses the handshake (the WebSocket upgrade or the first polling request) of a web page whose
 * origin is not allowed, so no connection ever exists for it: WebSockets ignore CORS, so this is
 * the only barrier. The refusal is logged with the origin, never the client's address, so an
 * operator sees which site was turned away (often a CORS_ORIGINS entry missing). A browser cannot
 * read a refused WebSocket handshake: the page learns why from GET /origin-check.
 */
export function originGuard(allowlist: readonly string[], logger: Logger): AllowRequest {
  const lastLogged = new Map<string, { at: number; unlogged: number }>();
  return (request, callback) => {
    if (originAllowed(request, allowlist)) {
      callback(null, true);
      return;
    }
    const origin = String(request.headers.origin).slice(0, MAX_LOGGED_LENGTH);
    const now = Date.now();
    const last = lastLogged.get(origin);
    if (last && now - last.at < LOG_EVERY_MS) {
      last.unlogged++;
    } else {
      if (lastLogged.size >= MAX_REMEMBERED) lastLogged.clear();
      lastLogged.set(origin, { at: now, unlogged: 0 });
      logger.warn({ origin, alsoRefusedSinceLastLine: last?.unlogged ?? 0 }, 'connection refused: origin not allowed');
    }
    callback(ORIGIN_REFUSAL.message, false);
  };
}
