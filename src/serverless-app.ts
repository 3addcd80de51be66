import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { botGateFrom } from './botgate/from-config.js';
import { type Config, ConfigError } from './config.js';
import { SignalingCore } from './core/signaling-core.js';
import { iceServersFor, turnSettings } from './ice/turn-credentials.js';
import { ConnectionGate } from './limits/connection-gate.js';
import { SharedCommandLimiter } from './limits/shared-command-limiter.js';
import { logObserver } from './observability/log-observer.js';
import { createSafety } from './safety/safety.js';
import { subjectOf } from './safety/subject.js';
import { type Ban, matchRules, type PairingStore, reportRules, type SessionId } from './store/pairing-store.js';
import { createStoreClient, RedisPairingStore } from './store/redis-store.js';
import { closeBannedConnections } from './transports/apigateway/banned-connections.js';
import { apiGatewayDelivery, checkSignalFrame } from './transports/apigateway/delivery.js';
import {
  type ApiLocation,
  type ConnectionsApi,
  configuredApi,
  managementEndpoint,
  signedConnections,
} from './transports/apigateway/management-api.js';
import {
  createWebSocketHandlers,
  type StageBinding,
  type WebSocketHandlers,
} from './transports/apigateway/websocket-handlers.js';

/**
 * How long a Lambda-served session lives without a `ping`. API Gateway closes a connection idle
 * for 10 minutes, and the plain-WebSocket client pings every 5: a session whose $disconnect was
 * lost (API Gateway delivers it on a best-effort basis) expires within this bound, and its partner
 * hears `partner-left` at its next ping.
 */
export const SERVERLESS_LEASE_MS = 15 * 60_000;

/**
 * API Gateway closes every WebSocket after 2 hours: an address slot whose $disconnect was lost
 * (delivered on a best-effort basis) counts no longer than that.
 */
const API_GATEWAY_MAX_CONNECTION_MS = 2 * 60 * 60_000;

/** Every Lambda container renews any session: ownership is not tied to a process here. */
const SERVERLESS_OWNER = 'apigateway';

export interface ServerlessDeps {
  /** A store instead of the Redis one built from REDIS_URL (unit tests use the memory store). */
  store?: PairingStore;
  /** The management API of a stage's endpoint; default: signed HTTPS requests (PostToConnection, DeleteConnection). */
  connections?: (endpoint: string) => ConnectionsApi;
  logger?: Logger;
  env?: Record<string, string | undefined>;
}

export interface ServerlessApp {
  websocket: WebSocketHandlers;
  store: PairingStore;
  close(): Promise<void>;
}

/**
 * The composition root of the WebSocket functions on AWS Lambda: the same core as the long-lived
 * server, bound to API Gateway instead of socket.io. A Lambda keeps nothing between invocations,
 * so pairing state must live in Redis. The HTTP routes are the HTTP function's (handlers/http.ts),
 * so the WebSocket functions' bundle carries no Express (a cold start parses and runs less).
 */
export function createServerlessApp(config: Config, deps: ServerlessDeps = {}): ServerlessApp {
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const env = deps.env ?? process.env;
  let redis: Redis | undefined;
  let store: PairingStore;
  if (deps.store) {
    store = deps.store;
  } else {
    if (!config.redisUrl) {
      throw new ConfigError(
        'REDIS_URL',
        'is required on Lambda: invocations share no memory, pairing state lives in Redis',
      );
    }
    redis = createStoreClient(config.redisUrl);
    // Errors surface through commands as UNAVAILABLE; without a listener ioredis would log each one.
    redis.on('error', () => {});
    store = new RedisPairingStore({
      redis,
      prefix: config.redisPrefix,
      owner: SERVERLESS_OWNER,
      leaseMs: SERVERLESS_LEASE_MS,
      outbox: { maxEvents: config.outboxMaxEvents, maxBytes: config.outboxMaxBytes },
      matching: matchRules(config),
      reports: reportRules(config),
      ownsClient: true,
    });
  }
  // Per-address and per-connection counters live in Redis too: the next frame may run elsewhere.
  const counters = redis ? { redis, prefix: config.redisPrefix } : undefined;
  // No process outlives a connection here to renew its slot: $disconnect (or the 2 h cap) ends it.
  const gate = new ConnectionGate(config, counters, { leaseMs: API_GATEWAY_MAX_CONNECTION_MS, renew: false });
  const limiter = new SharedCommandLimiter(config, counters);
  const connectionsFor = deps.connections ?? ((endpoint: string) => signedConnections(endpoint, env));
  const turn = turnSettings(config);

  // One binding per management endpoint: in practice one per Lambda, built on its first event.
  const stages = new Map<string, StageBinding>();
  const stage = (api: ApiLocation): StageBinding => {
    const endpoint = managementEndpoint(config.websocketManagementEndpoint, env, api);
    let binding = stages.get(endpoint);
    if (!binding) {
      binding = bindStage(connectionsFor(endpoint));
      stages.set(endpoint, binding);
    }
    return binding;
  };

  const iceServers = (session: SessionId) => iceServersFor(config.iceServers, turn, session);
  // On Lambda a webhook retry waits in a container that may be frozen between invocations: it is
  // sent when the container next runs, or lost with it (docs/security.md says so).
  // An automatic ban closes its subject's open connections at once, as the operator's does from
  // the HTTP function: through the management API of each stage this container serves (one, in
  // practice; a connection id of another API is simply not found there).
  const closeBanned = async (ban: Ban) => {
    const onError = (err: unknown) => logger.warn({ err }, "a banned subject's connection not closed");
    for (const { connections } of stages.values()) {
      const closed = await closeBannedConnections(store, connections, ban, onError);
      if (closed > 0) logger.info({ closed }, "closed a banned subject's connections");
    }
  };
  const safety = createSafety(config, store, logger, closeBanned);
  // Every container must hash subjects alike, or a ban made in one would not hold in another.
  const salt = config.subjectSalt ?? randomBytes(32).toString('hex');
  if (config.subjectSalt === undefined) logger.warn('SUBJECT_SALT is unset: bans hold in this container only');

  // One gate (and one secret) for every stage this container serves.
  const botGate = botGateFrom(config, store);

  function bindStage(connections: ConnectionsApi): StageBinding {
    // A 410: the connection vanished without a $disconnect (yet), so its session is detached for
    // the grace, as a drop is; its client may resume it. Its partner is told if it never does
    // (by that connection's $disconnect, or at the partner's next signal or ping).
    const onGone = async (connection: string) => {
      if (await store.detachConnection(connection, config.resumeGraceMs)) {
        logger.info('connection gone; its session stays resumable for the grace');
      }
    };
    const carriers = (sessions: readonly SessionId[]) => store.connectionsOf(sessions);
    const core: SignalingCore = new SignalingCore({
      store,
      delivery: apiGatewayDelivery(connections, carriers, iceServers, onGone),
      limits: { maxSdpBytes: config.maxSdpBytes, maxCandidateBytes: config.maxCandidateBytes },
      checkSignal: checkSignalFrame,
      resumeGraceMs: config.resumeGraceMs,
      matchFallbackMs: config.matchFallbackMs,
      safety: safety.hooks,
      botGate,
      observer: logObserver(logger),
      onInternalError: (err, context) => logger.error({ err, ...context }, 'command failed'),
    });
    return { core, connections };
  }

  return {
    websocket: createWebSocketHandlers({
      stage,
      // The scheduled sweep's event names no API.
      scheduledApi: configuredApi(env),
      store,
      resumeGraceMs: config.resumeGraceMs,
      iceServers,
      subjectOf: (address, device) => subjectOf(salt, address, device),
      // An address holds at most MAX_CONNECTIONS_PER_IP connections, and a subject is one address
      // (and device); none outlives API Gateway's 2-hour cap, so a lost $disconnect leaks no longer.
      subjectConnections: { max: config.maxConnectionsPerIp, ttlMs: API_GATEWAY_MAX_CONNECTION_MS },
      settle: () => safety.settled(),
      corsOrigins: config.corsOrigins,
      gate,
      limiter,
      logger,
    }),
    store,
    close: () => store.close(),
  };
}
