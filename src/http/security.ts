import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { originAllowed } from './origins.js';

/**
 * Security headers (helmet's defaults: a strict Content-Security-Policy, no sniffing, no framing,
 * HSTS) and CORS for the HTTP routes from the same allowlist as the socket.io origin check.
 */
export function securityHeaders(allowedOrigins: readonly string[]): RequestHandler[] {
  const cors: RequestHandler = (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && originAllowed(req, allowedOrigins)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET');
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
        res.status(204).end();
        return;
      }
    }
    next();
  };
  // No upgrade-insecure-requests: on plain HTTP away from localhost (`docker run -p 3000:3000`
  // reached by its LAN address) it sends the demo page's script and styles to an https:// that
  // does not exist. Behind TLS (Fly.io) every request is https already.
  // worker-src blob:: the chat SDK solves the bot gate's proof-of-work in a Web Worker made from a
  // Blob URL (src/client/proof), off the page's thread.
  return [
    helmet({
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null, workerSrc: ["'self'", 'blob:'] } },
    }),
    cors,
  ];
}
