/**
 * The store is the only truth about pairs: when Redis loses its records (restarted without
 * data), whatever an instance still has bound must end, and no signal may reach someone who is
 * no longer its sender's partner.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../src/protocol/errors.js';
import { createRedisStore } from '../src/store/redis-store.js';
import { candidate, offer } from './fixtures/webrtc.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('Redis loses its pairs', () => {
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

  it('a next after a restart without data tells the old partner, and its signals never reach the new pair', async () => {
    const store = createRedisStore(redis.url, { prefix: 'loss:' });
    server = await startServer({ autoJoin: false }, { store });
    const [a, b] = [await server.connect(), await server.connect()];
    await a.join();
    await b.join();
    const { room: oldRoom } = await b.first('paired');
    expect(await b.signal(offer)).toEqual({ ok: true });
    await a.first('signal');

    // A restart without data: every pair record is gone, the sockets stay connected.
    await redis.stop();
    await redis.start();
    await vi.waitFor(() => expect(store.ready()).resolves.toBeUndefined(), { timeout: 10_000, interval: 100 });

    const c = await server.connect();
    expect(await c.join()).toEqual({ ok: true, status: 'waiting' });
    expect(await a.next()).toEqual({ ok: true, status: 'paired' });
    const { room: newRoom } = await a.nth('paired', 1);
    expect(newRoom).not.toBe(oldRoom);

    // The old partner is told its pair is over, and may no longer signal anyone.
    expect(await b.first('partner-left')).toEqual({ room: oldRoom, reason: 'next' });
    for (let i = 0; i < 5; i++) {
      expect(await b.signal(candidate(i))).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_PAIRED } });
    }
    // A's new partner's signal arrives; none of B's after the restart ever did.
    expect(await c.signal(offer)).toEqual({ ok: true });
    await a.nth('signal', 1);
    expect(a.all('signal')).toHaveLength(2);
  });
});
