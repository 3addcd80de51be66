import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisServer, startRedis } from '../../test/helpers/redis.js';
import { describePairingStoreContract } from './pairing-store.contract.js';
import { createRedisStore, createStoreClient, RedisPairingStore } from './redis-store.js';

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

  describe('an enqueue whose reply is lost to a timeout, though Redis ran it', () => {
    const TIMEOUT_MS = 300;
    /** Keeps redis-server busy for `ms` (a script runs alone), so commands sent meanwhile wait. */
    const busy = (probe: Redis, ms: number) =>
      probe.eval(
        "local t = redis.call('TIME'); local stop = t[1] * 1e6 + t[2] + ARGV[1] * 1000; repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop",
        0,
        ms,
      );

    async function withSlowRedis(test: (store: RedisPairingStore, stall: () => Promise<unknown>) => Promise<void>) {
      const probe = new Redis(server.url);
      const prefix = `lost${Date.now()}:`;
      const store = new RedisPairingStore({
        redis: createStoreClient(server.url, TIMEOUT_MS),
        prefix,
        ownsClient: true,
      });
      try {
        // The enqueue is sent 50 ms into a 500 ms stall: it times out at 350 ms, runs at 500 ms,
        // and the reads sent after the timeout are answered right after it, within their own.
        await test(store, async () => {
          const stalled = busy(probe, 500);
          await new Promise((resolve) => setTimeout(resolve, 50));
          return stalled;
        });
      } finally {
        await store.close();
        probe.disconnect();
      }
    }

    it('answers paired with the pair it made, so the pair is announced', async () => {
      await withSlowRedis(async (store, stall) => {
        await store.attach('a', { resume: false });
        await store.attach('b', { resume: false });
        expect(await store.enqueue('a')).toEqual({ status: 'waiting' });
        const stalled = stall();
        const result = await store.enqueue('b');
        await stalled;
        expect(result).toMatchObject({ status: 'paired', pair: { initiator: 'a', polite: 'b' } });
        expect(await store.pairOf('a')).toEqual(result.status === 'paired' ? result.pair : undefined);
      });
    });

    it('answers waiting when it queued the session', async () => {
      await withSlowRedis(async (store, stall) => {
        await store.attach('a', { resume: false });
        const stalled = stall();
        expect(await store.enqueue('a')).toEqual({ status: 'waiting' });
        await stalled;
        expect(await store.queueLength()).toBe(1);
      });
    });

    it('answers already paired when the session was paired before', async () => {
      await withSlowRedis(async (store, stall) => {
        await store.attach('a', { resume: false });
        await store.attach('b', { resume: false });
        await store.enqueue('a');
        const made = await store.enqueue('b');
        const stalled = stall();
        expect(await store.enqueue('b')).toEqual({
          status: 'already-paired',
          pair: made.status === 'paired' ? made.pair : undefined,
        });
        await stalled;
      });
    });
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
