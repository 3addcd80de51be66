import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../src/protocol/errors.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';
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

  it('does not advertise the framework', async () => {
    server = await startServer();
    expect((await fetch(`${server.url}/healthz`)).headers.get('x-powered-by')).toBeNull();
  });
});
