import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { type Logger, pino } from 'pino';
import { Server } from 'socket.io';
import { createRedisCluster, type RedisCluster } from './cluster/redis-cluster.js';
import type { Config } from './config.js';
import { SignalingCore } from './core/signaling-core.js';
import { healthRoutes } from './http/health.js';
import { MemoryPairingStore } from './store/memory-store.js';
import type { PairingStore } from './store/pairing-store.js';
import { bindSocketIo } from './transports/socketio/connection.js';
import { socketIoDelivery } from './transports/socketio/delivery.js';
import type { SignalingServer } from './transports/socketio/types.js';

/** What the composition root may be handed instead of building it from config. */
export interface AppDeps {
  store?: PairingStore;
  logger?: Logger;
}

export interface PairwireApp {
  readonly express: Express;
  readonly http: HttpServer;
  readonly io: SignalingServer;
  readonly core: SignalingCore;
  readonly store: PairingStore;
  readonly logger: Logger;
  /** Starts listening (defaults: config.port and config.host); resolves with the bound address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Disconnects every client, stops the HTTP server and closes the store; safe to call twice. */
  close(): Promise<void>;
}

/** The composition root: builds every service from config and wires them together. */
export function createApp(config: Config, deps: AppDeps = {}): PairwireApp {
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const { redisUrl } = config;
  const cluster: RedisCluster | undefined = redisUrl ? createRedisCluster({ ...config, redisUrl }, logger) : undefined;
  const store = deps.store ?? cluster?.store ?? new MemoryPairingStore();

  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(store));

  const http = createServer(app);
  const io: SignalingServer = new Server(http, {
    serveClient: false,
    maxHttpBufferSize: config.maxFrameBytes,
    // Several instances: WebSocket only. Long-polling would need every request of a session to
    // reach the same instance (sticky routing), which a plain proxy does not do (docs/scaling.md).
    transports: cluster ? ['websocket'] : ['polling', 'websocket'],
    // A dropped client (or, with Redis, one whose server restarted gracefully) gets its session,
    // rooms and missed packets back within the grace period.
    connectionStateRecovery: { maxDisconnectionDuration: config.resumeGraceMs, skipMiddlewares: true },
    ...(cluster ? { adapter: cluster.adapter } : {}),
  });

  const core = new SignalingCore({
    store,
    delivery: socketIoDelivery(io),
    limits: { maxSdpBytes: config.maxSdpBytes, maxCandidateBytes: config.maxCandidateBytes },
    iceServers: () => config.iceServers,
    resumeGraceMs: config.resumeGraceMs,
    onInternalError: (err, context) => logger.error({ err, ...context }, 'command failed'),
  });
  const binding = bindSocketIo(io, core, {
    autoJoin: config.autoJoin,
    maxInFlight: config.maxInFlight,
    heartbeatMs: Math.floor(config.resumeGraceMs / 3),
    onError: (err, context) => logger.warn({ err, ...context }, 'background task failed'),
  });

  let closing: Promise<void> | undefined;

  return {
    express: app,
    http,
    io,
    core,
    store,
    logger,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve(http.address() as AddressInfo);
        });
      });
    },
    close() {
      closing ??= (async () => {
        // Past the drain budget, cut whatever is still open rather than hang the shutdown.
        const deadline = setTimeout(() => http.closeAllConnections(), config.shutdownTimeoutMs);
        deadline.unref();
        try {
          // Disconnecting every socket detaches its session (with Redis, another instance resumes
          // it); the store must stay open until those detaches are written.
          await io.close();
          await binding.drain();
        } finally {
          clearTimeout(deadline);
          if (store !== cluster?.store) await store.close();
          await cluster?.close();
        }
      })();
      return closing;
    },
  };
}
