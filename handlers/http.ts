/**
 * Lambda entrypoint of the HTTP API (serverless.yml: /healthz, /readyz, /ice-servers, /admin): the
 * same Express routes as every deployment, /readyz checking the Redis that signaling uses. It
 * builds no signaling core; of the management API it takes the two signed requests that close a
 * banned subject's WebSocket connections when the operator bans it (banned-connections.ts).
 */
import serverless from 'serverless-http';
import { ConfigError, loadConfig } from '../src/config.js';
import { createHttpApp } from '../src/http/http-app.js';
import { createRedisStore } from '../src/store/redis-store.js';
import { banCloserFor } from '../src/transports/apigateway/banned-connections.js';

const config = loadConfig();
if (!config.redisUrl) {
  throw new ConfigError('REDIS_URL', 'is required on Lambda: /readyz reports the Redis that signaling uses');
}
const store = createRedisStore(config.redisUrl, { prefix: config.redisPrefix });
// Lambda sends what a function writes to the console to CloudWatch; this bundle carries no logger.
const onBan = banCloserFor(config.websocketManagementEndpoint, process.env, store, (err) =>
  console.warn("a banned subject's connection not closed:", err instanceof Error ? err.message : err),
);
if (!onBan && config.adminToken) {
  console.warn(
    'no WebSocket API named (WEBSOCKET_API_ID and WEBSOCKET_STAGE, or WEBSOCKET_MANAGEMENT_ENDPOINT): ' +
      "a ban closes its subject's open connections only at their next ping",
  );
}

export const handler = serverless(createHttpApp(config, { store, ...(onBan ? { onBan } : {}) }));
