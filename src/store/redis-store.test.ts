import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisServer, startRedis } from '../../test/helpers/redis.js';
import { describePairingStoreContract } from './pairing-store.contract.js';
import { createRedisStore, RedisPairingStore } from './redis-store.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

describePairingStoreContract('redis', async () => createRedisStore(server.url, { prefix: `t${Date.now()}:` }));

describe('RedisPairingStore', () => {
  it('never matches a session whose owner stopped renewing its lease (a crashed instance)', async () => {
    const crashed = createRedisStore(server.url, { prefix: 'crash:', leaseMs: 100 });
    const alive = createRedisStore(server.url, { prefix: 'crash:', leaseMs: 10_000 });
    const probe = new Redis(server.url);
    try {
      await crashed.attach('ghost', { resume: false });
      await crashed.enqueue('ghost');
      // Nobody renews the ghost: its lease runs out while it still sits in the queue.
      await vi.waitFor(async () => expect(await probe.exists('crash:s:ghost')).toBe(0), {
        timeout: 3000,
        interval: 25,
      });
      expect(await probe.zscore('crash:q', 'ghost')).not.toBeNull();
      await alive.attach('newcomer', { resume: false });
      expect(await alive.enqueue('newcomer')).toEqual({ status: 'waiting' });
      expect(await alive.attach('ghost', { resume: true })).toBeNull();
    } finally {
      await crashed.close();
      await alive.close();
      probe.disconnect();
    }
  });

  it('tells a survivor its partner is gone once the crashed side lease runs out', async () => {
    const crashed = createRedisStore(server.url, { prefix: 'crash2:', leaseMs: 100 });
    const alive = createRedisStore(server.url, { prefix: 'crash2:', leaseMs: 10_000 });
    try {
      await crashed.attach('dies', { resume: false });
      await alive.attach('lives', { resume: false });
      await crashed.enqueue('dies');
      expect((await alive.enqueue('lives')).status).toBe('paired');
      expect(await alive.heartbeat(['lives'])).toEqual([]);
      await vi.waitFor(async () => expect(await alive.heartbeat(['lives'])).toEqual(['lives']), {
        timeout: 3000,
        interval: 25,
      });
    } finally {
      await crashed.close();
      await alive.close();
    }
  });

  it('keeps every key under its prefix', async () => {
    const probe = new Redis(server.url);
    const store = createRedisStore(server.url, { prefix: 'mine:' });
    try {
      await store.attach('x', { resume: false });
      await store.attach('y', { resume: false });
      await store.enqueue('x');
      await store.enqueue('y');
      const keys = await probe.keys('mine:*');
      expect(keys.length).toBeGreaterThan(0);
      expect((await probe.keys('*')).filter((k) => !k.startsWith('mine:') && keys.includes(k))).toEqual([]);
      for (const key of keys)
        if (key !== 'mine:seq' && key !== 'mine:q') expect(await probe.pttl(key)).toBeGreaterThan(0);
    } finally {
      await store.close();
      probe.disconnect();
    }
  });

  it('answers StoreUnavailableError while Redis is down, and recovers by itself', async () => {
    const own = await startRedis();
    const store = createRedisStore(own.url, { prefix: 'outage:' });
    try {
      await store.ready();
      await own.stop();
      await expect(store.ready()).rejects.toMatchObject({ name: 'StoreUnavailableError' });
      await expect(store.enqueue('a')).rejects.toMatchObject({ name: 'StoreUnavailableError' });
      await own.start();
      await vi.waitFor(() => store.ready(), { timeout: 10_000, interval: 100 });
      expect(await store.attach('a', { resume: false })).toEqual({ status: 'idle' });
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it('is constructed around an existing client without taking ownership of it', async () => {
    const client = new Redis(server.url);
    const store = new RedisPairingStore({ redis: client });
    await store.ready();
    await store.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});
