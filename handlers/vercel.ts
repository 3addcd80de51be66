/**
 * Vercel functions: the same HTTP routes as the other deployments, plus /signaling.json, which
 * tells the demo page served from Vercel where signaling lives. Vercel functions hold no
 * WebSocket, so signaling runs elsewhere (Fly.io or API Gateway, named by SIGNALING_URL); /readyz
 * checks the Redis that REDIS_URL names, or reports the embedded store when it is unset.
 *
 * A project without a framework gets its functions from api/ (docs/deploy.md, "Vercel"): each
 * file there is one line, `export default vercelRoute('/healthz')`, and vercel.json rewrites the
 * public path to it. This module is the implementation they share.
 */
import type { VercelRequest, VercelResponse } from '@vercel/node';
import { loadConfig } from '../src/config.js';
import { createHttpApp } from '../src/http/http-app.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';
import { createRedisStore } from '../src/store/redis-store.js';

/** Where the demo page asks for its signaling location (src/demo/signaling-target.ts asks the same path). */
export const SIGNALING_CONFIG_PATH = '/signaling.json';

export type VercelHandler = (request: VercelRequest, response: VercelResponse) => void;

const config = loadConfig();
const store = config.redisUrl
  ? createRedisStore(config.redisUrl, { prefix: config.redisPrefix })
  : new MemoryPairingStore();
const app = createHttpApp(config, { store });
app.get(SIGNALING_CONFIG_PATH, (_req, res) => {
  // Read per request, so what the page hears is what the deployment's environment says now.
  const location = signalingLocation(process.env.SIGNALING_URL);
  res.set('Cache-Control', 'no-store');
  if ('error' in location) res.status(500).json(location);
  else res.json(location);
});

/** Every route, by the request's path. */
export default function handler(request: VercelRequest, response: VercelResponse): void {
  app(request, response);
}

/**
 * The function for one route. Whatever path the request arrives with (`/api/healthz` when called
 * directly, or the path the browser asked for when vercel.json rewrote it), the app answers
 * `path`; the query string is kept.
 */
export function vercelRoute(path: string): VercelHandler {
  return (request, response) => {
    const url = request.url ?? '';
    const query = url.indexOf('?');
    request.url = query === -1 ? path : path + url.slice(query);
    handler(request, response);
  };
}

/**
 * SIGNALING_URL, checked, as the page will use it: an http(s):// URL is a long-lived pairwire
 * server (Fly.io, Docker), spoken to over socket.io and named by its origin alone, since
 * socket.io would read a path as a namespace; a ws(s):// URL is an API Gateway WebSocket API
 * (plain WebSocket), whose path is its stage. A bad value is reported naming the variable, so a
 * misconfigured deployment says so instead of showing a page that never connects.
 */
export function signalingLocation(value: string | undefined): { url: string } | { error: string } {
  if (!value) return { error: 'SIGNALING_URL is not set: the page cannot know where signaling lives' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: `SIGNALING_URL is not a URL: ${JSON.stringify(value)}` };
  }
  if (url.hash || url.search) return { error: 'SIGNALING_URL takes no query string or fragment' };
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    if (url.pathname !== '/') {
      return {
        error: `SIGNALING_URL names a socket.io server by its origin alone (${url.origin}): socket.io reads a path as a namespace`,
      };
    }
    return { url: url.origin };
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return { url: url.href };
  return {
    error: 'SIGNALING_URL must be https:// (a pairwire server, socket.io) or wss:// (API Gateway, plain WebSocket)',
  };
}
