import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { type Logger, pino } from 'pino';
import { Server } from 'socket.io';
import { createRedisCluster, type RedisCluster } from './cluster/redis-cluster.js';
import type { Config } from './config.js';
import { allOf } from './core/observer.js';
import { SignalingCore } from './core/signaling-core.js';
import { LocalDelivery } from './delivery/local-delivery.js';
import { createHttpApp } from './http/http-app.js';
import { iceServersFor, turnSettings } from './ice/turn-credentials.js';
import { ConnectionGate } from './limits/connection-gate.js';
import { SocketIoAdmission } from './limits/socketio-admission.js';
import { textOnlyParser } from './limits/text-only-parser.js';
import { type ResolveAddresses, watchFlyMachines } from './observability/fly-machines.js';
import { logObserver } from './observability/log-observer.js';
import { createMetrics } from './observability/metrics.js';
import { ORIGIN_REFUSAL } from './protocol/origin-check.js';
import { MemoryPairingStore } from './store/memory-store.js';
import { matchRules, type PairingStore } from './store/pairing-store.js';
import { bindSocketIo } from './transports/socketio/connection.js';
import { originGuard } from './transports/socketio/origin-guard.js';
import type { SignalingServer } from './transports/socketio/types.js';

/** What the composition root may be handed instead of building it from config. */
export interface AppDeps {
  store?: PairingStore;
  logger?: Logger;
  /** The platform's environment (default process.env) and DNS lookup, for the Fly.io machine check. */
  env?: Record<string, string | undefined>;
  resolveAddresses?: ResolveAddresses;
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
  const outbox = { maxEvents: config.outboxMaxEvents, maxBytes: config.outboxMaxBytes };
  const store = deps.store ?? cluster?.store ?? new MemoryPairingStore({ outbox, matching: matchRules(config) });

  const turn = turnSettings(config);
  const delivery = new LocalDelivery(store, {
    onError: (err, context) => logger.warn({ err, ...context }, 'background task failed'),
  });
  // Events other instances append for the sessions connected here (targeted routing).
  const stopWatching = store.watch((events) => delivery.deliver(events));
  // Assigned below, once socket.io exists: the gauges read its sockets at scrape time.
  let io: SignalingServer | undefined;
  const metrics = createMetrics({
    connected: () => io?.of('/').sockets.size ?? 0,
    pairedHere: () => delivery.pairedCount(),
    waiting: () => store.queueLength(),
  });

  const app = createHttpApp(config, { store, metrics: metrics.registry, demo: true });

  const http = createServer(app);
  const gate = new ConnectionGate(config, cluster ? { redis: cluster.redis, prefix: config.redisPrefix } : undefined, {
    // A crashed instance's connections stop counting when its sessions are given up.
    leaseMs: config.resumeGraceMs,
    renew: true,
  });
  const guardOrigin = originGuard(config.corsOrigins, logger);
  const admission = new SocketIoAdmission({
    gate,
    clientAddress: config,
    maxSendBufferBytes: config.maxSendBufferBytes,
    logger,
  });
  io = new Server(http, {
    serveClient: false,
    maxHttpBufferSize: config.maxFrameBytes,
    // Several instances: WebSocket only. Long-polling would need every request of a session to
    // reach the same instance (sticky routing), which a plain proxy does not do (docs/scaling.md).
    transports: cluster ? ['websocket'] : ['polling', 'websocket'],
    // WebSockets ignore CORS: the Origin header is checked here, for polling and upgrades alike.
    // Then the per-address limits, at the engine.io handshake: every open connection counts.
    // A refused origin is told why like any refusal (connect_error data), on a carrier connection
    // that holds nothing and gets no session.
    allowRequest: (req, callback) =>
      guardOrigin(req, (_message, allowed) =>
        allowed ? admission.allowRequest(req, callback) : admission.refuse(req, callback, 403, ORIGIN_REFUSAL),
      ),
    // No message has a binary form: a packet announcing attachments closes its connection.
    parser: textOnlyParser,
  });
  admission.attach(io);

  const core = new SignalingCore({
    store,
    delivery,
    limits: { maxSdpBytes: config.maxSdpBytes, maxCandidateBytes: config.maxCandidateBytes },
    resumeGraceMs: config.resumeGraceMs,
    matchFallbackMs: config.matchFallbackMs,
    observer: allOf(metrics.observer, logObserver(logger)),
    onInternalError: (err, context) => logger.error({ err, ...context }, 'command failed'),
  });
  const binding = bindSocketIo(io, core, {
    autoJoin: config.autoJoin,
    maxInFlight: config.maxInFlight,
    delivery,
    iceServers: (session) => iceServersFor(config.iceServers, turn, session),
    heartbeatMs: Math.floor(config.resumeGraceMs / 3),
    limits: config,
    logger,
    observeWait: metrics.observeWait,
    onError: (err, context) => logger.warn({ err, ...context }, 'background task failed'),
  });

  // A second machine on the memory store is a second queue nobody is paired across: say so loudly.
  const machines =
    store instanceof MemoryPairingStore
      ? watchFlyMachines({ env: deps.env ?? process.env, logger, resolve: deps.resolveAddresses })
      : undefined;

  let closing: Promise<void> | undefined;
  const server = io;

  return {
    express: app,
    http,
    io: server,
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
        machines?.stop();
        // Past the drain budget, cut whatever is still open rather than hang the shutdown.
        const deadline = setTimeout(() => http.closeAllConnections(), config.shutdownTimeoutMs);
        deadline.unref();
        try {
          // Disconnecting every socket detaches its session (with Redis, another instance resumes
          // it); the store must stay open until those detaches are written.
          await server.close();
          await binding.drain();
        } finally {
          clearTimeout(deadline);
          stopWatching();
          gate.close();
          if (store !== cluster?.store) await store.close();
          await cluster?.close();
        }
      })();
      return closing;
    },
  };
}
