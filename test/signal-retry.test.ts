/**
 * A signal caught in a connection drop (issue 14, "outcomes are never lost"): the socket.io client
 * numbers its signals (cseq) and sends the unacknowledged ones again when its session resumes; the
 * server relays each number once. Before, a signal lost with its connection was never relayed (its
 * promise timed out), and one whose acknowledgement was lost could only be sent again blind.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Signal } from '../src/protocol/messages.js';
import { commandCalls, type RedisServer, startRedis } from './helpers/redis.js';
import { RecordingClient, startServer, type TestServer } from './helpers/server.js';
import { cutTogether, OpenSockets } from './helpers/socket-splice.js';

const OFFER: Signal = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };

/**
 * A TCP proxy in front of the server whose connections can silently swallow one direction (bytes
 * sent into a dead network path), then be cut; new connections pass everything.
 */
interface LossyProxy {
  url: string;
  swallow(direction: 'up' | 'down'): void;
  cut(): void;
  close(): Promise<void>;
}

async function startLossyProxy(targetPort: number): Promise<LossyProxy> {
  const open = new OpenSockets();
  const legs: Array<{ client: Socket; upstream: Socket; swallowed: Set<'up' | 'down'> }> = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    open.track(client);
    open.track(upstream);
    const leg = { client, upstream, swallowed: new Set<'up' | 'down'>() };
    legs.push(leg);
    client.on('data', (chunk) => leg.swallowed.has('up') || upstream.write(chunk));
    upstream.on('data', (chunk) => leg.swallowed.has('down') || client.write(chunk));
    cutTogether(client, upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    swallow(direction) {
      for (const leg of legs) leg.swallowed.add(direction);
    },
    cut() {
      legs.length = 0;
      open.destroyAll();
    },
    async close() {
      open.destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(['memory', 'redis'] as const)('a signal caught in a connection drop (%s store)', (storeKind) => {
  let redis: RedisServer | undefined;
  let server: TestServer;
  let proxy: LossyProxy;
  const clients: RecordingClient[] = [];

  beforeAll(async () => {
    if (storeKind === 'redis') redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await proxy?.close();
    await server?.close();
  });

  /** A (through the proxy, coming back by itself after a drop as the SDK's clients do) and B (direct), paired. */
  async function pairThroughProxy(): Promise<{ a: RecordingClient; b: RecordingClient }> {
    server = await startServer(redis ? { redisUrl: redis.url } : {});
    proxy = await startLossyProxy(Number(new URL(server.url).port));
    const a = new RecordingClient(proxy.url, {
      socket: { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 },
    });
    clients.push(a);
    await a.connected();
    const b = await server.connect();
    await a.join();
    await b.join();
    await Promise.all([a.first('paired'), b.first('paired')]);
    return { a, b };
  }

  it('one lost on its way to the server is relayed once, after the resume', async () => {
    const { a, b } = await pairThroughProxy();
    proxy.swallow('up');
    const sent = a.signal(OFFER);
    await new Promise((resolve) => setTimeout(resolve, 200));
    proxy.cut();

    await expect(sent).resolves.toEqual({ ok: true });
    await b.first('signal');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(b.all('signal')).toEqual([OFFER]);
    expect(a.all('session').at(-1)?.resumed).toBe(true);
  });

  it('one whose acknowledgement was lost is not relayed twice when sent again', async () => {
    const { a, b } = await pairThroughProxy();
    proxy.swallow('down');
    const sent = a.signal(OFFER);
    await b.first('signal');
    proxy.cut();

    await expect(sent).resolves.toEqual({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(b.all('signal')).toEqual([OFFER]);
    expect(a.all('session').at(-1)?.resumed).toBe(true);
  });

  it('signals that follow a lost one still arrive in the order sent', async () => {
    const { a, b } = await pairThroughProxy();
    proxy.swallow('up');
    const candidates: Signal[] = [1, 2, 3].map((n) => ({
      type: 'candidate',
      candidate: { candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host`, sdpMid: '0', sdpMLineIndex: 0 },
    }));
    const sent = [a.signal(OFFER), ...candidates.map((c) => a.signal(c))];
    await new Promise((resolve) => setTimeout(resolve, 200));
    proxy.cut();

    for (const ack of await Promise.all(sent)) expect(ack).toEqual({ ok: true });
    await b.nth('signal', 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(b.all('signal')).toEqual([OFFER, ...candidates]);
  });
});

describe('numbered signals sent back to back without acks', () => {
  // The bench and plain socket.io clients need not ask for acks; the first signal takes the hot
  // path and the rest queue behind it, where a refactor once skipped every relay without an ack.
  it.each(['memory', 'redis'] as const)('are all relayed, in order (%s store)', async (storeKind) => {
    const redis = storeKind === 'redis' ? await startRedis() : undefined;
    const server = await startServer(redis ? { redisUrl: redis.url } : {});
    const { io } = await import('socket.io-client');
    // Both are queued on connect (AUTO_JOIN): a first, so b's arrival pairs them.
    const a = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    const paired = new Promise((resolve) => a.once('paired', resolve));
    try {
      await new Promise((resolve) => a.once('waiting', resolve));
      const b = await server.connect();
      await paired;
      const candidates = Array.from({ length: 10 }, (_, n) => ({
        type: 'candidate' as const,
        candidate: {
          candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${6000 + n} typ host`,
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      }));
      for (const [n, candidate] of candidates.entries()) a.emit('signal', candidate, n + 1);
      await b.nth('signal', 9);
      expect(b.all('signal')).toEqual(candidates);
    } finally {
      a.close();
      await server.close();
      await redis?.stop();
    }
  });
});

describe("a client's numbered signals sent back to back, with Redis", () => {
  // Each one used to wait for the previous one's round trip to Redis (the client's queue held it),
  // so a handshake's trickled candidates cost one round trip each, one after another. The store
  // keeps numbered signals in their sender's order itself, so they now go to it together: one
  // script call for the lot, their acks still in the order sent.
  it('reach Redis in one script call, are acked in order and relayed in order', async () => {
    const redis = await startRedis();
    const server = await startServer({ redisUrl: redis.url, autoJoin: false });
    const [a, b] = [await server.connect(), await server.connect()];
    const probe = new Redis(redis.url);
    const scriptCalls = () => commandCalls(probe, 'evalsha');
    try {
      await a.join();
      await b.join();
      await Promise.all([a.first('paired'), b.first('paired')]);
      const candidates: Signal[] = Array.from({ length: 10 }, (_, n) => ({
        type: 'candidate',
        candidate: {
          candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${6000 + n} typ host`,
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      }));
      const before = await scriptCalls();
      const acked: number[] = [];
      await Promise.all(candidates.map((candidate, n) => a.signal(candidate).then(() => acked.push(n))));
      // One call for the ten (two or three if their frames reach the server in separate reads).
      expect((await scriptCalls()) - before).toBeLessThanOrEqual(3);
      expect(acked).toEqual(candidates.map((_, n) => n));
      await b.nth('signal', 9);
      expect(b.all('signal')).toEqual(candidates);
    } finally {
      probe.disconnect();
      await server.close();
      await redis.stop();
    }
  });
});

describe('a signal sent while Redis stalls', () => {
  // The store's command times out (2 s) and the client is answered UNAVAILABLE, though the relay
  // may still run once Redis answers (here it does not: on a fresh Redis the script is not loaded
  // yet, and EVALSHA's NOSCRIPT comes after the timeout). The SDK sends it again with its number
  // until another answer: `ok` (relayed, or a duplicate of a late run), never a second copy. Before,
  // the SDK handed the UNAVAILABLE to its caller, who could only send it again blind or give up on
  // it; and the server queued the retry behind the next signal, which it held for the retry's
  // turn, so both came late and out of order.
  it('is acknowledged ok once Redis answers, and relayed once, in order with the next one', async () => {
    const redis = await startRedis();
    const server = await startServer({ redisUrl: redis.url, autoJoin: false });
    const [a, b] = [await server.connect(), await server.connect()];
    const probe = new Redis(redis.url);
    try {
      await a.join();
      await b.join();
      await Promise.all([a.first('paired'), b.first('paired')]);
      const stall = probe.eval(
        "local t = redis.call('TIME'); local stop = t[1] * 1e6 + t[2] + ARGV[1] * 1000; repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop",
        0,
        2500,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const candidate: Signal = {
        type: 'candidate',
        candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5001 typ host', sdpMid: '0', sdpMLineIndex: 0 },
      };
      const sent = [a.signal(OFFER), a.signal(candidate)];
      await stall;
      expect(await Promise.all(sent)).toEqual([{ ok: true }, { ok: true }]);
      await b.nth('signal', 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(b.all('signal')).toEqual([OFFER, candidate]);
    } finally {
      probe.disconnect();
      a.close();
      b.close();
      await server.close();
      await redis.stop();
    }
  }, 20_000);
});
