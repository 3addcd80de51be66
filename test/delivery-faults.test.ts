/**
 * Delivery under faults: 40 pairs stream signals across three real instances on one real Redis,
 * behind a plain TCP balancer, while instances are stopped (SIGTERM) or killed (SIGKILL) and
 * connections drop. Whatever happens, no signal acknowledged to its sender is lost, duplicated
 * or reordered on its way to the partner, and nobody is left stuck.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Signal } from '../src/protocol/messages.js';
import { type ServerProcess, spawnServer } from './helpers/process.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { RecordingClient } from './helpers/server.js';
import { startTcpBalancer, type TcpBalancer } from './helpers/tcp-balancer.js';

const PAIRS = 40;
/**
 * The server's default grace. A client of a killed instance must be back within it; on a loaded
 * machine (load average 10) that has taken more than 4 s, and a shorter grace then made the test
 * measure the machine, not the delivery.
 */
const GRACE_MS = 10_000;
/** Signals each client sends per second while streaming. */
const RATE = 8;

interface Side {
  client: RecordingClient;
  /** What it sent, in order, and whether the server acknowledged each. */
  sent: { signal: Signal; acked: boolean }[];
}

/** A candidate that names its sender and its number, so the receiver's list can be checked. */
const tagged = (sender: number, n: number): Signal => ({
  type: 'candidate',
  candidate: { candidate: `candidate:${sender} 1 udp 1 127.0.0.1 ${10_000 + n} typ host`, sdpMid: '0' },
});

describe('delivery under faults (40 pairs, three instances, one Redis)', () => {
  let redis: RedisServer;
  let prefix = 0;
  let instances: ServerProcess[] = [];
  let balancer: TcpBalancer | undefined;
  const clients: RecordingClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await balancer?.close();
    balancer = undefined;
    await Promise.all(instances.splice(0).map((instance) => instance.stop('SIGKILL')));
  });

  /** Three instances behind a balancer, and 40 pairs whose two sides sit on different instances. */
  async function setUp(): Promise<Side[][]> {
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: `faults${++prefix}:`,
      RESUME_GRACE_MS: String(GRACE_MS),
      AUTO_JOIN: 'false',
      MAX_CONNECTIONS_PER_IP: '100000',
      CONNECTIONS_PER_MINUTE_PER_IP: '100000',
      SHUTDOWN_TIMEOUT_MS: '3000',
    };
    instances = await Promise.all([0, 1, 2].map(() => spawnServer(env)));
    balancer = await startTcpBalancer(instances.map((instance) => instance.port));
    const url = balancer.url;
    const pairs: Side[][] = [];
    for (let i = 0; i < PAIRS; i++) {
      const pair: Side[] = [];
      for (let j = 0; j < 2; j++) {
        const client = new RecordingClient(url, {
          ackTimeoutMs: 20_000,
          socket: { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 },
        });
        clients.push(client);
        await client.connected(10_000);
        pair.push({ client, sent: [] });
      }
      const [a, b] = pair as [Side, Side];
      expect(await a.client.join()).toMatchObject({ ok: true, status: 'waiting' });
      expect(await b.client.join()).toMatchObject({ ok: true, status: 'paired' });
      pairs.push(pair);
    }
    await Promise.all(clients.map((client) => client.first('paired', 10_000)));
    return pairs;
  }

  /** Every side sends RATE signals a second until `until`, each without waiting for the last ack. */
  function stream(pairs: Side[][], until: number): Promise<unknown> {
    let sender = 0;
    return Promise.all(
      pairs.flat().map(async (side) => {
        const me = sender++;
        let n = 0;
        const pending: Promise<unknown>[] = [];
        while (Date.now() < until) {
          const record = { signal: tagged(me, n++), acked: false };
          side.sent.push(record);
          pending.push(
            side.client.signal(record.signal).then(
              (ack) => {
                record.acked = ack.ok;
              },
              () => {}, // no ack in time: may or may not have been relayed
            ),
          );
          await new Promise((resolve) => setTimeout(resolve, 1000 / RATE));
        }
        await Promise.all(pending);
      }),
    );
  }

  /** What each receiver got is what its partner sent, in order, once, with every acked one there. */
  async function expectDelivered(pairs: Side[][]): Promise<void> {
    // Give replays and the last live events time to land.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    let acked = 0;
    for (const [a, b] of pairs as [Side, Side][]) {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as [Side, Side][]) {
        const order = new Map(from.sent.map((record, index) => [JSON.stringify(record.signal), index]));
        const received = to.client.all('signal').map((signal) => order.get(JSON.stringify(signal)));
        expect(received, "only its partner's signals").not.toContain(undefined);
        expect(new Set(received).size, 'no duplicates').toBe(received.length);
        expect(
          [...received].sort((x = 0, y = 0) => x - y),
          'in the order sent',
        ).toEqual(received);
        const got = new Set(received);
        from.sent.forEach((record, index) => {
          if (!record.acked) return;
          acked++;
          expect(got.has(index), `acknowledged signal #${index} delivered`).toBe(true);
        });
      }
      // Nobody stuck: both still in their one pair, connected.
      for (const side of [a, b]) {
        expect(side.client.all('partner-left')).toEqual([]);
        expect(side.client.all('paired')).toHaveLength(1);
        expect(side.client.socket.connected).toBe(true);
      }
    }
    expect(acked).toBeGreaterThan(PAIRS * 2 * RATE);
  }

  /** Streams for a while, applies `fault` a second in, streams on after it, then checks. */
  async function survive(fault: (pairs: Side[][]) => Promise<void>): Promise<void> {
    const pairs = await setUp();
    const streaming = stream(pairs, Date.now() + 4000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await fault(pairs);
    await streaming;
    await expectDelivered(pairs);
  }

  /** Stops or kills these instances; reconnections land on the others. */
  async function stopInstances(which: number[], signal: NodeJS.Signals): Promise<void> {
    balancer?.setTargets(instances.filter((_, i) => !which.includes(i)).map((instance) => instance.port));
    await Promise.all(which.map((i) => instances[i]?.stop(signal)));
  }

  it('SIGTERM of one of three instances', () => survive(() => stopInstances([0], 'SIGTERM')), 60_000);

  it(
    'SIGKILL of one instance: senders and receivers on it alike',
    () => survive(() => stopInstances([1], 'SIGKILL')),
    60_000,
  );

  it(
    'SIGKILL of two instances: both sides of many pairs at once',
    () => survive(() => stopInstances([0, 2], 'SIGKILL')),
    60_000,
  );

  it(
    'network drops: a third of the connections cut under their clients',
    () =>
      survive(async (pairs) => {
        pairs.flat().forEach((side, i) => {
          if (i % 3 === 0) side.client.drop();
        });
      }),
    60_000,
  );
});
