/**
 * Lambda entrypoint of the HTTP API (serverless.yml: /healthz, /readyz, /ice-servers): the same
 * Express routes as every deployment, /readyz checking the Redis that signaling uses. It builds no
 * signaling core, so its bundle carries neither the core nor the management API.
 */
import serverless from 'serverless-http';
import { ConfigError, loadConfig } from '../src/config.js';
import { createHttpApp } from '../src/http/http-app.js';
import { createRedisStore } from '../src/store/redis-store.js';

const config = loadConfig();
if (!config.redisUrl) {
  throw new ConfigError('REDIS_URL', 'is required on Lambda: /readyz reports the Redis that signaling uses');
}
const store = createRedisStore(config.redisUrl, { prefix: config.redisPrefix });

export const handler = serverless(createHttpApp(config, { store }));
