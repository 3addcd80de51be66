import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import { LiveStatsCache } from '../core/live-stats.js';
import { turnSettings } from '../ice/turn-credentials.js';
import type { Ban, PairingStore } from '../store/pairing-store.js';
import { adminRoutes } from './admin-routes.js';
import { demoPage } from './demo-page.js';
import { healthRoutes } from './health.js';
import { iceServersRoute } from './ice-servers-route.js';
import { metricsRoute } from './metrics-route.js';
import { originCheckRoute } from './origin-check-route.js';
import { securityHeaders } from './security.js';
import { statsRoute } from './stats-route.js';

export interface HttpAppParts {
  store: PairingStore;
  /** Prometheus registry for /metrics; without one the route does not exist (Lambda: use CloudWatch). */
  metrics?: Registry;
  /** The process's live counts, shared with the `stats` event; by default one of the route's own. */
  stats?: LiveStatsCache;
  /** Serve the demo page at `/` (it talks socket.io, so only the long-lived server offers it). */
  demo?: boolean;
  /**
   * Closes a banned subject's open connections, before POST /admin/bans answers (the Lambda HTTP
   * function: no process holds API Gateway's connections). Elsewhere the store's watchBans does.
   */
  onBan?: (ban: Ban) => Promise<void>;
}

/**
 * The HTTP routes, one factory for every deployment: the long-lived server mounts it under
 * socket.io, Lambda wraps it with serverless-http, Vercel calls it as a request handler.
 */
export function createHttpApp(config: Config, parts: HttpAppParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders(config.corsOrigins));
  app.use(healthRoutes(parts.store));
  app.use(iceServersRoute(config.iceServers, turnSettings(config)));
  app.use(originCheckRoute(config.corsOrigins));
  app.use(statsRoute(parts.stats ?? new LiveStatsCache(parts.store)));
  if (parts.metrics) app.use(metricsRoute(parts.metrics, config.metricsToken));
  app.use(adminRoutes(parts.store, config.adminToken, parts.onBan));
  if (parts.demo) app.use(demoPage());
  return app;
}
