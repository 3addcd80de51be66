import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedis } from '../../test/helpers/redis.js';
import { createStoreClient } from '../store/redis-store.js';
import { ConnectionGate, FULL_RETRY_MS } from './connection-gate.js';

const LIMITS = { maxConnectionsPerIp: 2, connectionsPerMinutePerIp: 100 };
const ALIVE = { leaseMs: 10_000, renew: true };

describe('ConnectionGate in memory', () => {
  it('admits up to the cap per address, refuses with a short hint, and admits again after a release', async () => {
    const gate = new ConnectionGate(LIMITS, undefined, ALIVE);
    expect(await gate.admit('198.51.100.1', 'a')).toEqual({ admitted: true });
    expect(await gate.admit('198.51.100.1', 'b')).toEqual({ admitted: true });
    expect(await gate.admit('198.51.100.2', 'c')).toEqual({ admitted: true });
    expect(await gate.admit('198.51.100.1', 'd')).toEqual({
      admitted: false,
      retryAfterMs: FULL_RETRY_MS,
      reason: 'too many open connections from this address',
    });
    gate.release('198.51.100.1', 'a');
    gate.release('198.51.100.1', 'a');
    expect(await gate.admit('198.51.100.1', 'e')).toEqual({ admitted: true });
    expect(await gate.admit('198.51.100.1', 'f')).toMatchObject({ admitted: false });
  });

  it('counts an address from its first connection to its last, however many it holds between', async () => {
    const gate = new ConnectionGate({ ...LIMITS, maxConnectionsPerIp: 1 }, undefined, ALIVE);
    expect(await gate.admit('198.51.100.1', 'a')).toEqual({ admitted: true });
    gate.release('198.51.100.1', 'not-admitted');
    expect(await gate.admit('198.51.100.1', 'b')).toMatchObject({ admitted: false });
    gate.release('198.51.100.1', 'a');
    expect(await gate.admit('198.51.100.1', 'c')).toEqual({ admitted: true });

    const three = new ConnectionGate({ ...LIMITS, maxConnectionsPerIp: 3 }, undefined, ALIVE);
    for (const id of ['a', 'b', 'c']) expect(await three.admit('198.51.100.1', id)).toEqual({ admitted: true });
    expect(await three.admit('198.51.100.1', 'd')).toMatchObject({ admitted: false });
    for (const id of ['b', 'a', 'c']) three.release('198.51.100.1', id);
    for (const id of ['e', 'f', 'g']) expect(await three.admit('198.51.100.1', id)).toEqual({ admitted: true });
    expect(await three.admit('198.51.100.1', 'h')).toMatchObject({ admitted: false });
  });

  it('refuses past the per-minute budget with the time left in the window', async () => {
    const gate = new ConnectionGate({ maxConnectionsPerIp: 100, connectionsPerMinutePerIp: 2 }, undefined, ALIVE);
    await gate.admit('198.51.100.1', 'a');
    await gate.admit('198.51.100.1', 'b');
    const refused = await gate.admit('198.51.100.1', 'c');
    expect(refused).toMatchObject({ admitted: false, reason: 'too many new connections from this address' });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(50_000);
  });
});

describe('ConnectionGate with Redis', () => {
  let redis: RedisServer;
  let prefix = 0;
  const clients: Redis[] = [];
  const gates: ConnectionGate[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(() => {
    for (const gate of gates.splice(0)) gate.close();
    for (const client of clients.splice(0)) client.disconnect();
  });

  function gate(options = ALIVE, url = redis.url): ConnectionGate {
    const client = createStoreClient(url, 300);
    client.on('error', () => {});
    clients.push(client);
    const made = new ConnectionGate(LIMITS, { redis: client, prefix: `gate${prefix}:` }, options);
    gates.push(made);
    return made;
  }

  it('counts the connections of every instance in one place', async () => {
    prefix++;
    const [one, two] = [gate(), gate()];
    expect(await one.admit('198.51.100.1', 'a')).toEqual({ admitted: true });
    expect(await two.admit('198.51.100.1', 'b')).toEqual({ admitted: true });
    expect(await one.admit('198.51.100.1', 'c')).toMatchObject({ admitted: false, retryAfterMs: FULL_RETRY_MS });
    two.release('198.51.100.1', 'b');
    await expect
      .poll(() => one.admit('198.51.100.1', 'd'), { timeout: 2000, interval: 20 })
      .toEqual({ admitted: true });
  });

  it('keeps renewed connections counted past their lease; stops counting those nobody renews', async () => {
    prefix++;
    const lease = { leaseMs: 300, renew: true };
    const owner = gate(lease);
    const crashed = gate(lease);
    await owner.admit('198.51.100.1', 'alive');
    await crashed.admit('198.51.100.1', 'ghost');
    crashed.close();
    const other = gate(lease);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // The ghost's lease ran out; the live one was renewed: one slot free, not two.
    expect(await other.admit('198.51.100.1', 'new')).toEqual({ admitted: true });
    expect(await other.admit('198.51.100.1', 'one more')).toMatchObject({ admitted: false });
  });

  it('on Lambda: released by whichever container gets $disconnect', async () => {
    prefix++;
    const lambda = { leaseMs: 60_000, renew: false };
    const [connect, disconnect] = [gate(lambda), gate(lambda)];
    await connect.admit('198.51.100.1', 'conn-1');
    await connect.admit('198.51.100.1', 'conn-2');
    expect(await connect.admit('198.51.100.1', 'conn-3')).toMatchObject({ admitted: false });
    disconnect.release('198.51.100.1', 'conn-1');
    await expect
      .poll(() => connect.admit('198.51.100.1', 'conn-4'), { timeout: 2000, interval: 20 })
      .toEqual({
        admitted: true,
      });
  });

  it('without Redis, each instance applies the limit to its own connections', async () => {
    prefix++;
    const outage = gate(ALIVE, `redis://127.0.0.1:${await freePort()}`);
    expect(await outage.admit('198.51.100.1', 'a')).toEqual({ admitted: true });
    expect(await outage.admit('198.51.100.1', 'b')).toEqual({ admitted: true });
    expect(await outage.admit('198.51.100.1', 'c')).toMatchObject({ admitted: false });
    outage.release('198.51.100.1', 'a');
    expect(await outage.admit('198.51.100.1', 'd')).toEqual({ admitted: true });
  });
});
