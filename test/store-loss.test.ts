/**
 * The store is the only truth about pairs: when Redis loses its records (restarted without data,
 * or stalled past their lifetime), nothing an instance remembers may relay for the lost pair, and
 * both sides learn their session is over instead of waiting for events that cannot come.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../src/protocol/errors.js';
import { createRedisStore } from '../src/store/redis-store.js';
import { candidate, offer } from './fixtures/webrtc.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { startServer, type TestServer } from './helpers/server.js';

const GRACE_MS = 1500;

describe('Redis loses its pairs', () => {
  let redis: RedisServer;
  let server: TestServer | undefined;
  let prefixes = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const losses = {
    'restarted without its data': async () => {
      await redis.stop();
      await redis.start();
    },
    'stalled past the lifetime of its records': async () => {
      const probe = new Redis(redis.url);
      // A script runs alone: Redis answers nobody else for its length. Longer than a lease plus a
      // grace, so every record has expired by the time Redis answers again.
      await probe.eval(
        "local t = redis.call('TIME'); local stop = t[1] * 1e6 + t[2] + ARGV[1] * 1000; repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop",
        0,
        3 * GRACE_MS,
      );
      probe.disconnect();
    },
  };

  for (const [how, lose] of Object.entries(losses)) {
    it(`${how}: next reaches no stranger, and both sides are told their session is over`, async () => {
      const store = createRedisStore(redis.url, { prefix: `loss${++prefixes}:`, leaseMs: GRACE_MS });
      server = await startServer({ autoJoin: false, resumeGraceMs: GRACE_MS }, { store });
      const [a, b] = [await server.connect(), await server.connect()];
      await a.join();
      await b.join();
      await b.first('paired');
      expect(await b.signal(offer)).toEqual({ ok: true });
      await a.first('signal');

      await lose();
      await vi.waitFor(() => expect(store.ready()).resolves.toBeUndefined(), { timeout: 10_000, interval: 100 });

      const c = await server.connect();
      expect(await c.join()).toEqual({ ok: true, status: 'waiting' });
      // b signals its old partner: no pair in the store, so nobody gets it, least of all c.
      if (b.socket.connected) {
        expect(await b.signal(candidate(1)).catch(() => ({ ok: false }))).toMatchObject({ ok: false });
      }
      // Both are told their session is over: by the heartbeat, or by the next command they send
      // (a's next, if it gets there first, is refused rather than served from a forgotten state).
      if (a.socket.connected) {
        const next = await a.next().catch(() => ({ ok: false, error: { code: ErrorCode.SESSION_LOST } }));
        if (!next.ok) expect(next).toMatchObject({ error: { code: ErrorCode.SESSION_LOST } });
      }
      const lost = expect.objectContaining({ code: ErrorCode.SESSION_LOST });
      for (const client of [a, b]) {
        await vi.waitFor(() => expect(client.all('error')).toContainEqual(lost), {
          timeout: 3 * GRACE_MS,
          interval: 50,
        });
        // Its client starts anew by itself.
        expect(await client.nth('session', 1, 5000)).toMatchObject({ resumed: false });
      }
      expect(c.all('signal')).toEqual([]);
      // New sessions pair and relay as usual.
      const d = await server.connect();
      const paired = c.all('paired').length === 0 ? await d.join() : { ok: true };
      expect(paired).toMatchObject({ ok: true });
      const partner = (await c.first('paired')).room;
      expect(
        [...a.all('paired'), ...b.all('paired'), ...d.all('paired')].filter((p) => p.room === partner),
      ).toHaveLength(1);
      expect(b.all('signal')).toEqual([]);
    }, 30_000);
  }
});

describe('a join while Redis stalls', () => {
  let redis: RedisServer;
  let server: TestServer | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('makes a pair that both sides hear about exactly once, whatever the joiner is answered', async () => {
    const store = createRedisStore(redis.url, { prefix: 'stall:' });
    server = await startServer({ autoJoin: false, resumeGraceMs: 3000 }, { store });
    // 2.5 s: the join's reply is lost, the kept one is read back. 4.5 s: that read is lost too.
    for (const stallMs of [2500, 4500]) {
      const [w, j] = [await server.connect(), await server.connect()];
      expect(await w.join()).toEqual({ ok: true, status: 'waiting' });
      // Redis answers nobody for longer than a store command may wait (2 s); j joins meanwhile.
      const probe = new Redis(redis.url);
      const stall = probe.eval(
        "local t = redis.call('TIME'); local stop = t[1] * 1e6 + t[2] + ARGV[1] * 1000; repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop",
        0,
        stallMs,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const joined = await j.join();
      await stall;
      probe.disconnect();
      // The pair was made, and the joiner is told so, or (when even the kept answer could not be
      // read in time) told to retry; either way both sides hear of the pair, once.
      if (stallMs < 4000) expect(joined).toEqual({ ok: true, status: 'paired' });
      else expect([true, 'UNAVAILABLE']).toContain(joined.ok || joined.error.code);
      const [pw, pj] = await Promise.all([w.first('paired', 8000), j.first('paired', 8000)]);
      expect(pw.room).toBe(pj.room);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect([w.all('paired').length, j.all('paired').length]).toEqual([1, 1]);
      expect(await j.signal(offer)).toEqual({ ok: true });
      expect(await w.first('signal')).toEqual(offer);
      w.close();
      j.close();
    }
  }, 30_000);
});
