import { hostname } from 'node:os';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createStoreClient, RedisPairingStore } from '../store/redis-store.js';

export interface RedisCluster {
  store: RedisPairingStore;
  /** The fail-fast client, for other shared counters (connection limits). */
  redis: Redis;
  /** socket.io adapter: cross-instance delivery and connection state recovery through Redis Streams. */
  adapter: ReturnType<typeof createAdapter>;
  close(): Promise<void>;
}

/**
 * Everything an instance needs to act as one of many: the shared pairing store and the Redis
 * Streams adapter. Two clients, because they want opposite things: store commands must fail fast
 * in an outage (UNAVAILABLE), while the adapter's blocking XREAD loop must wait for Redis to return.
 */
export function createRedisCluster(
  config: Pick<Config, 'redisPrefix' | 'redisStreamMaxLen' | 'resumeGraceMs'> & { redisUrl: string },
  logger: Logger,
): RedisCluster {
  const storeClient = createStoreClient(config.redisUrl);
  const adapterClient = new Redis(config.redisUrl, { retryStrategy: (attempt) => Math.min(attempt * 100, 1000) });
  let outage = false;
  for (const client of [storeClient, adapterClient]) {
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
    owner: `${process.env.FLY_MACHINE_ID ?? hostname()}:${process.pid}`,
    leaseMs: config.resumeGraceMs,
    ownsClient: true,
  });

  const adapter = createAdapter(adapterClient, {
    streamName: `${config.redisPrefix}stream`,
    // Recovery replays from this stream: it must hold RESUME_GRACE_MS of traffic (docs/scaling.md).
    maxLen: config.redisStreamMaxLen,
    sessionKeyPrefix: `${config.redisPrefix}sio-session:`,
    channelPrefix: `${config.redisPrefix}sio`,
  });

  return {
    store,
    redis: storeClient,
    adapter,
    async close() {
      await store.close();
      await adapterClient.quit().catch(() => adapterClient.disconnect());
    },
  };
}
