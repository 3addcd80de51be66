/**
 * pairwire inside someone else's app: on their HTTP server (a socket.io server of its own, at a
 * path of the host's choosing) or in a namespace of their socket.io server. Each instance builds
 * everything it uses (store, metrics registry, limits, timers): two in one process share nothing.
 * The standalone server (src/app.ts) is one user of this.
 */
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Express } from 'express';
import { type Logger, pino } from 'pino';
import { Server, type Server as SocketIoServer } from 'socket.io';
import { botGateFrom } from '../botgate/from-config.js';
import { createRedisCluster, type RedisCluster } from '../cluster/redis-cluster.js';
import { heartbeatIntervalMs, sessionLeaseMs } from '../cluster/session-lease.js';
import type { Config } from '../config.js';
import { LiveStatsCache } from '../core/live-stats.js';
import { allOf } from '../core/observer.js';
import { SignalingCore } from '../core/signaling-core.js';
import { LocalDelivery } from '../delivery/local-delivery.js';
import { startStatsEvents } from '../delivery/stats-events.js';
import { createHttpApp } from '../http/http-app.js';
import { iceServersFor, turnSettings } from '../ice/turn-credentials.js';
import { ConnectionGate } from '../limits/connection-gate.js';
import { NamespaceAdmission } from '../limits/namespace-admission.js';
import { dropConnection } from '../limits/send-buffer.js';
import { SocketIoAdmission } from '../limits/socketio-admission.js';
import { textOnlyParser } from '../limits/text-only-parser.js';
import { type ResolveAddresses, watchFlyMachines } from '../observability/fly-machines.js';
import { logObserver } from '../observability/log-observer.js';
import { createMetrics } from '../observability/metrics.js';
import { ORIGIN_REFUSAL } from '../protocol/origin-check.js';
import { createSafety } from '../safety/safety.js';
import { subjectOf } from '../safety/subject.js';
import { MemoryPairingStore } from '../store/memory-store.js';
import { matchRules, type PairingStore, reportRules } from '../store/pairing-store.js';
import { bindSocketIo } from '../transports/socketio/connection.js';
import { originGuard } from '../transports/socketio/origin-guard.js';
import type { SignalingNamespace, SignalingServer } from '../transports/socketio/types.js';
import { type PairwireOptions, resolveOptions } from './options.js';

/** What the embedder may pass besides the settings. */
export interface EmbedOptions extends PairwireOptions {
  /** Where pairwire logs (a pino logger, e.g. a child of the host's). Default: pino at `logLevel` on stdout. */
  logger?: Logger;
}

/** Options of `attachPairwire`. */
export interface HttpEmbedOptions extends EmbedOptions {
  /** socket.io's request path on the host's server; clients pass the same `path`. Default `/socket.io`. */
  path?: string;
}

/** One embedded pairwire. */
export interface Pairwire {
  /** The settings in force (the options with their defaults). */
  readonly config: Config;
  /**
   * The HTTP routes (/healthz, /readyz, /ice-servers, /origin-check, and /metrics with a
   * metricsToken), as an Express app: mount it with `app.use('/pairwire', pairwire.routes)`.
   */
  readonly routes: Express;
  /** The socket.io namespace pairwire's clients connect to. */
  readonly namespace: SignalingNamespace;
  readonly logger: Logger;
  /**
   * Refuses new connections, drops the ones it holds (their sessions are detached, so with Redis
   * another instance resumes them; a namespace embedding disconnects them from its namespace
   * only, which ends their pairs), waits for every pending command, then closes its store.
   * Never closes the host's HTTP or socket.io server. Safe to call twice.
   */
  close(): Promise<void>;
}

/** `attachPairwire`'s result: also the socket.io server it made. */
export interface HttpPairwire extends Pairwire {
  readonly io: SignalingServer;
}

/** What the standalone server and tests may hand in instead of having it built from config. */
export interface PairwireDeps {
  store?: PairingStore;
  logger?: Logger;
  /** The platform's environment (default process.env) and DNS lookup, for the Fly.io machine check. */
  env?: Record<string, string | undefined>;
  resolveAddresses?: ResolveAddresses;
  /** Serve the demo page from the routes (the standalone server does). */
  demo?: boolean;
}

/** The internals the standalone server exposes too (src/app.ts). */
export interface AssembledPairwire extends HttpPairwire {
  readonly core: SignalingCore;
  readonly store: PairingStore;
}

/**
 * Adds pairwire to an existing HTTP(S) server, e.g. the one `app.listen()` returns: a socket.io
 * server of its own at `path`, with every limit the standalone server has. Its HTTP routes are
 * `routes`, for the host to mount. The host's server must already have its request handler
 * (socket.io passes every request outside `path` to the handlers present when it attaches).
 */
export function attachPairwire(server: HttpServer | HttpsServer, options: HttpEmbedOptions = {}): HttpPairwire {
  const { logger, path, ...settings } = options;
  return assembleOnHttpServer(server, resolveOptions(settings), { logger }, path);
}

/**
 * Adds pairwire to a namespace of an existing socket.io server (`io.of(namespace)`); clients
 * connect to `https://host/<namespace>`. The host's engine is shared: its transports, frame size
 * (maxHttpBufferSize), codec and engine-level checks apply, and pairwire's own limits (origin,
 * per-address, send buffer) are applied at the namespace's CONNECT. See README, "Add pairwire to
 * your app".
 */
export function attachPairwireNamespace(io: SocketIoServer, namespace: string, options: EmbedOptions = {}): Pairwire {
  const { logger, ...settings } = options;
  if (!namespace.startsWith('/')) throw new TypeError(`namespace "${namespace}" must start with "/"`);
  const config = resolveOptions(settings);
  const parts = assemble(config, { logger });
  const space = (io as unknown as SignalingServer).of(namespace);
  const admission = new NamespaceAdmission({
    gate: parts.gate,
    clientAddress: config,
    corsOrigins: config.corsOrigins,
    maxSendBufferBytes: config.maxSendBufferBytes,
    logger: parts.logger,
  });
  admission.attach(space);
  const pairwire = parts.bind(space, () => {
    admission.close();
    // A server's disconnect from one namespace: the host's other namespaces keep the connection.
    space.disconnectSockets(false);
  });
  return pairwire;
}

/** `attachPairwire` from a validated config, with the standalone server's extras. */
export function assembleOnHttpServer(
  server: HttpServer | HttpsServer,
  config: Config,
  deps: PairwireDeps = {},
  path?: string,
): AssembledPairwire {
  const parts = assemble(config, deps);
  const { logger, gate } = parts;
  const guardOrigin = originGuard(config.corsOrigins, logger);
  const admission = new SocketIoAdmission({
    gate,
    clientAddress: config,
    maxSendBufferBytes: config.maxSendBufferBytes,
    logger,
  });
  let closing = false;
  const io: SignalingServer = new Server(server, {
    ...(path === undefined ? {} : { path }),
    serveClient: false,
    maxHttpBufferSize: config.maxFrameBytes,
    // Several instances: WebSocket only. Long-polling would need every request of a session to
    // reach the same instance (sticky routing), which a plain proxy does not do (docs/scaling.md).
    transports: parts.cluster ? ['websocket'] : ['polling', 'websocket'],
    // WebSockets ignore CORS: the Origin header is checked here, for polling and upgrades alike.
    // Then the per-address limits, at the engine.io handshake: every open connection counts.
    // A refused origin is told why like any refusal (connect_error data), on a carrier connection
    // that holds nothing and gets no session. Once closing, handshakes are refused outright.
    allowRequest: (req, callback) => {
      if (closing) {
        callback('this server is shutting down', false);
        return;
      }
      guardOrigin(req, (_message, allowed) =>
        allowed ? admission.allowRequest(req, callback) : admission.refuse(req, callback, 403, ORIGIN_REFUSAL),
      );
    },
    // No message has a binary form: a packet announcing attachments closes its connection.
    parser: textOnlyParser,
  });
  admission.attach(io);
  // socket.io puts every socket in a room named by its id, at ~200 bytes per connection; pairwire
  // writes to each client through its own socket and uses no rooms. Only on a server of its own:
  // a host may address sockets of its namespace by id.
  io.on('connection', (socket) => {
    socket.leave(socket.id);
  });
  const pairwire = parts.bind(io.of('/'), () => {
    closing = true;
    // Every engine.io connection is closed (not a goodbye): sessions are detached, so their
    // clients come back and resume them (here or, with Redis, on another instance).
    io.engine.close();
  });
  return { ...pairwire, io };
}

/** Everything but the transport: store, delivery, metrics, HTTP routes, admission gate, core. */
function assemble(config: Config, deps: PairwireDeps) {
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const { redisUrl } = config;
  const cluster: RedisCluster | undefined = redisUrl ? createRedisCluster({ ...config, redisUrl }, logger) : undefined;
  const outbox = { maxEvents: config.outboxMaxEvents, maxBytes: config.outboxMaxBytes };
  const store =
    deps.store ??
    cluster?.store ??
    new MemoryPairingStore({ outbox, matching: matchRules(config), reports: reportRules(config) });

  // Without SUBJECT_SALT, subjects (and so bans) differ between instances and restarts: say so.
  const salt = config.subjectSalt ?? randomBytes(32).toString('hex');
  if (config.subjectSalt === undefined && cluster) {
    logger.warn('SUBJECT_SALT is unset: each instance hashes subjects its own way, so bans hold on one instance only');
  }

  const turn = turnSettings(config);
  const delivery = new LocalDelivery(store, {
    onError: (err, context) => logger.warn({ err, ...context }, 'background task failed'),
  });
  // Events other instances append for the sessions connected here (targeted routing).
  const stopWatching = store.watch((events) => delivery.deliver(events));
  // Set by bind(): the gauges read its sockets at scrape time.
  let served: SignalingNamespace | undefined;
  const metrics = createMetrics({
    connected: () => served?.sockets.size ?? 0,
    pairedHere: () => delivery.pairedCount(),
    waiting: () => store.queueLength(),
  });
  // One cache of the live counts per process, for GET /stats and the `stats` event alike.
  const stats = new LiveStatsCache(store);
  const routes = createHttpApp(config, { store, stats, metrics: metrics.registry, demo: deps.demo === true });
  const gate = new ConnectionGate(config, cluster ? { redis: cluster.redis, prefix: config.redisPrefix } : undefined, {
    // A crashed instance's connections stop counting when its sessions are given up.
    leaseMs: sessionLeaseMs(config.resumeGraceMs),
    renew: true,
  });
  const safety = createSafety(config, store, logger);
  const core = new SignalingCore({
    store,
    delivery,
    safety: safety.hooks,
    limits: { maxSdpBytes: config.maxSdpBytes, maxCandidateBytes: config.maxCandidateBytes },
    resumeGraceMs: config.resumeGraceMs,
    matchFallbackMs: config.matchFallbackMs,
    botGate: botGateFrom(config, store),
    observer: allOf(metrics.observer, logObserver(logger)),
    onInternalError: (err, context) => logger.error({ err, ...context }, 'command failed'),
  });
  // A second machine on the memory store is a second queue nobody is paired across: say so loudly.
  const machines =
    store instanceof MemoryPairingStore
      ? watchFlyMachines({ env: deps.env ?? process.env, logger, resolve: deps.resolveAddresses })
      : undefined;

  /** Serves `namespace`; `disconnectAll` refuses new clients and drops the connected ones, on close. */
  function bind(namespace: SignalingNamespace, disconnectAll: () => void): AssembledPairwire {
    served = namespace;
    const binding = bindSocketIo(namespace, core, {
      autoJoin: config.autoJoin,
      maxInFlight: config.maxInFlight,
      delivery,
      iceServers: (session) => iceServersFor(config.iceServers, turn, session),
      subjectOf: (address, device) => subjectOf(salt, address, device),
      heartbeatMs: heartbeatIntervalMs(config.resumeGraceMs),
      limits: config,
      logger,
      observeWait: metrics.observeWait,
      onError: (err, context) => logger.warn({ err, ...context }, 'background task failed'),
    });
    // Bans made anywhere (the admin API of any instance, an automatic ban) close the subject's connections here.
    const stopBans = store.watchBans((ban) => binding.disconnectBanned(ban));
    const stopStatsEvents = startStatsEvents(delivery, stats, {
      intervalMs: config.statsEventMs,
      onError: (err, context) => logger.warn({ err, ...context }, 'background task failed'),
    });
    let closing: Promise<void> | undefined;
    return {
      config,
      routes,
      namespace,
      // Only the HTTP variant has a server of its own; it puts its `io` over this.
      io: namespace.server,
      core,
      store,
      logger,
      close() {
        closing ??= (async () => {
          machines?.stop();
          stopStatsEvents();
          try {
            // Each disconnect detaches (or ends) its session; the store must stay open until
            // those are written, so the drain waits for every disconnect to be handled.
            const gone = everyDisconnect(namespace, config.shutdownTimeoutMs);
            disconnectAll();
            await gone;
            await binding.drain();
          } finally {
            stopWatching();
            stopBans();
            safety.close();
            gate.close();
            if (store !== cluster?.store) await store.close();
            await cluster?.close();
          }
        })();
        return closing;
      },
    };
  }

  return { logger, cluster, gate, bind };
}

/**
 * Resolves once every socket connected to `namespace` now has disconnected (and its handlers ran);
 * past `timeoutMs`, the connections of those still there are cut, so a close never hangs.
 */
async function everyDisconnect(namespace: SignalingNamespace, timeoutMs: number): Promise<void> {
  const sockets = [...namespace.sockets.values()].filter((socket) => socket.connected);
  const gone = Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('disconnect', resolve))));
  const deadline = setTimeout(() => {
    for (const socket of sockets) if (socket.connected) dropConnection(socket.conn);
  }, timeoutMs);
  deadline.unref();
  await gone;
  clearTimeout(deadline);
}
