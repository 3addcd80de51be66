import { afterAll, beforeAll } from 'vitest';
import { createRedisStore } from '../src/store/redis-store.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { describeSignalingSuite } from './suites/signaling.suite.js';

let redis: RedisServer;
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

// The same suite as the memory store, unchanged; a fresh key prefix keeps each test's queue its own.
describeSignalingSuite('redis', async (options) =>
  createRedisStore(redis.url, { prefix: `suite${++n}:`, leaseMs: 10_000, ...options }),
);
