import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../src/protocol/errors.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';
import { createRedisStore } from '../src/store/redis-store.js';
import { startRedis } from './helpers/redis.js';
import { startServer, type TestServer } from './helpers/server.js';

/** A real memory store whose backend can be made to stop answering, as a Redis outage would. */
class SwitchableStore extends MemoryPairingStore {
  down = false;
  override async ready(): Promise<void> {
    if (this.down) throw new StoreUnavailableError('store is down');
  }
  override async enqueue(session: string) {
    if (this.down) throw new StoreUnavailableError('store is down');
    return super.enqueue(session);
  }
}

describe('HTTP routes', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('GET /healthz and /readyz answer JSON', async () => {
    server = await startServer();
    const health = await fetch(`${server.url}/healthz`);
    expect(health.headers.get('content-type')).toMatch(/application\/json/);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('/readyz reports 503 while the store is unreachable, and commands get UNAVAILABLE', async () => {
    const store = new SwitchableStore();
    server = await startServer({ autoJoin: false }, { store });
    store.down = true;
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable', reason: 'store is down' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const client = await server.connect();
    expect(await client.join()).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    store.down = false;
    expect(await client.join()).toEqual({ ok: true, status: 'waiting' });
  });

  it('GET /stats counts who is online, waiting and paired, reusing one answer for a moment', async () => {
    const store = new MemoryPairingStore();
    server = await startServer({}, { store });
    const a = await server.connect();
    const b = await server.connect();
    await Promise.all([a.first('paired'), b.first('paired')]);
    const c = await server.connect();
    await c.first('waiting');
    const response = await fetch(`${server.url}/stats`);
    expect(response.headers.get('cache-control')).toBe('public, max-age=2');
    expect(await response.json()).toEqual({ online: 3, waiting: 1, pairs: 1, topInterests: [] });
    // Within the cache the store is not asked again, however many pages poll.
    let asked = 0;
    const stats = store.stats.bind(store);
    store.stats = () => {
      asked++;
      return stats();
    };
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${server?.url}/stats`).then((r) => r.json())));
    expect(asked).toBe(0);
  });

  it('GET /stats is cluster-wide with Redis: two instances count the same clients and interests', async () => {
    const redis = await startRedis();
    const one = await startServer({}, { store: createRedisStore(redis.url, { prefix: 'stats:' }) });
    const two = await startServer({}, { store: createRedisStore(redis.url, { prefix: 'stats:' }) });
    try {
      const a = await one.connect();
      await a.first('waiting');
      const b = await two.connect();
      await Promise.all([a.first('paired'), b.first('paired')]);
      const c = await two.connect({ preferences: { interests: ['Jazz', 'go'], lang: 'en', fallbackMs: null } });
      await c.first('waiting');
      // Another language: both wait, and the interests they wait with are counted once each.
      const d = await one.connect({ preferences: { interests: ['go'], lang: 'fr', fallbackMs: null } });
      await d.first('waiting');
      for (const s of [one, two]) {
        expect(await (await fetch(`${s.url}/stats`)).json()).toEqual({
          online: 4,
          waiting: 2,
          pairs: 1,
          topInterests: [
            { tag: 'go', waiting: 2 },
            { tag: 'jazz', waiting: 1 },
          ],
        });
      }
    } finally {
      await one.close();
      await two.close();
      await redis.stop();
    }
  });

  it('does not advertise the framework', async () => {
    server = await startServer();
    expect((await fetch(`${server.url}/healthz`)).headers.get('x-powered-by')).toBeNull();
  });
});
