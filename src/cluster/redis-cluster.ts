import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { matchRules, reportRules } from '../store/pairing-store.js';
import { createStoreClient, RedisPairingStore } from '../store/redis-store.js';
import { sessionLeaseMs } from './session-lease.js';

export interface RedisCluster {
  store: RedisPairingStore;
  /** The fail-fast client, for other shared counters (connection limits). */
  redis: Redis;
  close(): Promise<void>;
}

/**
 * Everything an instance needs to act as one of many: the shared pairing store (which also routes
 * each event to the instance its session is connected to, see PairingStore.watch) and its client.
 * Store commands fail fast in an outage (UNAVAILABLE).
 */
export function createRedisCluster(
  config: Pick<
    Config,
    | 'redisPrefix'
    | 'resumeGraceMs'
    | 'outboxMaxEvents'
    | 'outboxMaxBytes'
    | 'matchRecentPartners'
    | 'matchRecentMs'
    | 'reportWindowMs'
    | 'reportsMax'
    | 'reportRetentionMs'
    | 'autoBanReportersWindowMs'
  > & { redisUrl: string },
  logger: Logger,
): RedisCluster {
  const storeClient = createStoreClient(config.redisUrl);
  let outage = false;
  for (const client of [storeClient]) {
    client.on('error', (err: Error) => {
      // One line per outage, not one per reconnect attempt.
      if (!outage) logger.warn({ err: err.message }, 'redis unreachable; retrying');
      outage = true;
    });
    client.on('ready', () => {
      if (outage) logger.info('redis reachable again');
      outage = false;
    });
  }

  const store = new RedisPairingStore({
    redis: storeClient,
    prefix: config.redisPrefix,
    // Unique per process start (in a container the pid is always 1): it names this process's inbox.
    owner: `${process.env.FLY_MACHINE_ID ?? hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    leaseMs: sessionLeaseMs(config.resumeGraceMs),
    outbox: { maxEvents: config.outboxMaxEvents, maxBytes: config.outboxMaxBytes },
    matching: matchRules(config),
    reports: reportRules(config),
    ownsClient: true,
  });

  return {
    store,
    redis: storeClient,
    async close() {
      await store.close();
    },
  };
}
