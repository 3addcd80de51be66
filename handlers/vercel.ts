/**
 * Vercel function entry: the same HTTP routes as the other deployments. Vercel functions hold no
 * WebSocket, so signaling runs elsewhere (Fly.io or API Gateway); /readyz checks the Redis that
 * REDIS_URL names, or reports the embedded store when it is unset.
 */
import type { VercelRequest, VercelResponse } from '@vercel/node';
import { loadConfig } from '../src/config.js';
import { createHttpApp } from '../src/http/http-app.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';
import { createRedisStore } from '../src/store/redis-store.js';

const config = loadConfig();
const store = config.redisUrl
  ? createRedisStore(config.redisUrl, { prefix: config.redisPrefix })
  : new MemoryPairingStore();
const app = createHttpApp(config, { store });

export default function handler(request: VercelRequest, response: VercelResponse): void {
  app(request, response);
}
