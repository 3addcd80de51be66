import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { commandCalls, type RedisServer, startRedis } from '../../test/helpers/redis.js';
import { describePairingStoreContract } from './pairing-store.contract.js';
import { EVENT_OVERHEAD_BYTES, eventBytes, type OutboxLimits, type Outgoing } from './pairing-store.js';
import { createRedisStore, createStoreClient, RedisPairingStore } from './redis-store.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

/** Some contract tests replace the store they were given: every store made is closed at the end. */
const made: RedisPairingStore[] = [];
afterAll(async () => {
  await Promise.all(made.map((store) => store.close()));
});

describePairingStoreContract('redis', async (options) => {
  const store = createRedisStore(server.url, { prefix: `t${Date.now()}:`, ...options });
  made.push(store);
  return store;
});

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
      expect(await alive.enqueue('newcomer')).toMatchObject({ status: 'waiting' });
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
      expect((await alive.heartbeat(['lives'])).orphans).toEqual([]);
      await vi.waitFor(async () => expect((await alive.heartbeat(['lives'])).orphans).toEqual(['lives']), {
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
      // The shared structures live on; their entries are removed, or pruned by their scores.
      const shared = ['mine:seq', 'mine:q', 'mine:qa', 'mine:qf', 'mine:live', 'mine:pairs'];
      for (const key of keys)
        if (!shared.includes(key) && !key.startsWith('mine:qt:')) expect(await probe.pttl(key)).toBeGreaterThan(0);
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
      expect(await store.attach('a', { resume: false })).toEqual({ state: { status: 'idle' }, replay: [] });
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

    async function withSlowRedis(
      test: (store: RedisPairingStore, stall: () => Promise<unknown>) => Promise<void>,
      outbox?: OutboxLimits,
    ) {
      const probe = new Redis(server.url);
      const prefix = `lost${Date.now()}:`;
      const store = new RedisPairingStore({
        redis: createStoreClient(server.url, TIMEOUT_MS),
        prefix,
        outbox,
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

    it('answers paired with the pair it made and its events, so the pair is announced', async () => {
      await withSlowRedis(async (store, stall) => {
        await store.attach('a', { resume: false });
        await store.attach('b', { resume: false });
        expect(await store.enqueue('a')).toMatchObject({ status: 'waiting' });
        const stalled = stall();
        const result = await store.enqueue('b');
        await stalled;
        if (result.status !== 'paired') throw new Error(`expected paired, got ${result.status}`);
        expect(result.pair).toMatchObject({ initiator: 'a', polite: 'b' });
        const room = result.pair.id;
        expect(result.events).toEqual([
          { to: 'b', seq: 1, event: { name: 'paired', room, initiator: false, commonInterests: [] } },
          { to: 'a', seq: 2, event: { name: 'paired', room, initiator: true, commonInterests: [] } },
        ]);
        expect(await store.pairOf('a')).toEqual(result.pair);
      });
    });

    it('answers waiting, with the waiting event, when it queued the session', async () => {
      await withSlowRedis(async (store, stall) => {
        await store.attach('a', { resume: false });
        const stalled = stall();
        expect(await store.enqueue('a')).toEqual({
          status: 'waiting',
          events: [{ to: 'a', seq: 1, event: { name: 'waiting' } }],
        });
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

    it('answers already waiting when the session was queued before', async () => {
      await withSlowRedis(async (store, stall) => {
        await store.attach('a', { resume: false });
        await store.enqueue('a');
        const stalled = stall();
        expect(await store.enqueue('a')).toEqual({ status: 'already-waiting' });
        await stalled;
      });
    });

    it("answers lost when it found the caller's own outbox full", async () => {
      await withSlowRedis(
        async (store, stall) => {
          await store.attach('a', { resume: false });
          await store.enqueue('a'); // holds `waiting`: full
          await store.dequeue('a');
          const stalled = stall();
          expect(await store.enqueue('a')).toEqual({ status: 'lost' });
          await stalled;
          expect(await store.attach('a', { resume: true })).toBeNull();
        },
        { maxEvents: 1, maxBytes: 64 * 1024 },
      );
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

describe('RedisPairingStore routing and outbox keys', () => {
  const offer = { type: 'offer' as const, sdp: 'v=0' };
  let n = 0;
  const prefix = (label: string) => `${label}${Date.now()}-${++n}:`;

  /** Two instances' stores on one Redis, with what each one's watch hears. */
  function instances(url: string, keyPrefix: string) {
    const a = createRedisStore(url, { prefix: keyPrefix, owner: 'instance-a' });
    const b = createRedisStore(url, { prefix: keyPrefix, owner: 'instance-b' });
    const heard = { a: [] as Outgoing[], b: [] as Outgoing[] };
    return {
      a,
      b,
      heard,
      watch() {
        a.watch((events) => heard.a.push(...events));
        b.watch((events) => heard.b.push(...events));
      },
      close: () => Promise.all([a.close(), b.close()]),
    };
  }

  /** x waits on A's instance, y joins on B's: returns the pair's id. */
  async function pairAcross(a: RedisPairingStore, b: RedisPairingStore, x: string, y: string): Promise<string> {
    await a.attach(x, { resume: false });
    await b.attach(y, { resume: false });
    await a.enqueue(x);
    const joined = await b.enqueue(y);
    if (joined.status !== 'paired') throw new Error(`expected a pair, got ${joined.status}`);
    return joined.pair.id;
  }

  /** What an inbox stream holds, as events. */
  async function inbox(probe: Redis, key: string) {
    const entries = await probe.xrange(key, '-', '+');
    return entries.map(([, fields]) => ({ to: fields[1], entry: fields[3] }));
  }

  it("writes an event to its recipient's owner's inbox only: never the caller's own, never a detached session's", async () => {
    const p = prefix('route');
    const two = instances(server.url, p);
    const probe = new Redis(server.url);
    try {
      const room = await pairAcross(two.a, two.b, 'x', 'y');
      // B made the pair: y's `paired` is B's own to deliver; x's goes to A's inbox.
      expect(await inbox(probe, `${p}i:instance-a`)).toEqual([
        {
          to: 'x',
          entry: `2\t${EVENT_OVERHEAD_BYTES}\t{"name":"paired","room":"${room}","initiator":true,"commonInterests":[]}`,
        },
      ]);
      expect(await inbox(probe, `${p}i:instance-b`)).toEqual([]);

      const relayed = await two.a.relay('x', offer);
      expect(relayed).toEqual({
        status: 'relayed',
        event: { to: 'y', seq: 2, event: { name: 'signal', room, signal: offer } },
      });
      expect(await inbox(probe, `${p}i:instance-b`)).toEqual([
        {
          to: 'y',
          entry: `2\t${eventBytes({ name: 'signal', room, signal: offer })}\t${JSON.stringify({ name: 'signal', room, signal: offer })}`,
        },
      ]);

      // y drops: what it is sent meanwhile waits in its outbox, for its resume, in nobody's inbox.
      await two.b.detach('y', 60_000);
      expect(await two.a.relay('x', offer)).toMatchObject({ status: 'relayed', event: { to: 'y', seq: 3 } });
      expect(await inbox(probe, `${p}i:instance-b`)).toHaveLength(1);
      expect(await inbox(probe, `${p}i:instance-a`)).toHaveLength(1);
      expect((await two.a.attach('y', { resume: true, after: 2 }))?.replay.map((e) => e.seq)).toEqual([3]);
      // y now lives on A: A's own relay to it goes to no inbox, B's unpair tells it through A's.
      expect(await two.a.relay('x', offer)).toMatchObject({ status: 'relayed', event: { to: 'y', seq: 4 } });
      expect(await inbox(probe, `${p}i:instance-a`)).toHaveLength(1);
      expect(await inbox(probe, `${p}i:instance-b`)).toHaveLength(1);
      expect(await probe.pttl(`${p}i:instance-b`)).toBeGreaterThan(0);
      expect((await probe.keys(`${p}i:*`)).sort()).toEqual([`${p}i:instance-a`, `${p}i:instance-b`]);
    } finally {
      await two.close();
      probe.disconnect();
    }
  });

  it("hands each event to its owner's watch exactly once and in order, and to no other instance", async () => {
    const two = instances(server.url, prefix('watch'));
    two.watch();
    try {
      const room = await pairAcross(two.a, two.b, 'x', 'y');
      const sent: Outgoing[] = [];
      // Enough to span several reads.
      for (let i = 0; i < 1200; i++) {
        const relayed = await two.a.relay('x', { type: 'candidate', candidate: { candidate: `c${i}` } });
        if (relayed.status !== 'relayed') throw new Error(relayed.status);
        sent.push(relayed.event);
        // y reads as it goes, so its outbox never fills.
        if (i % 100 === 99) await two.b.acknowledge('y', relayed.event.seq);
      }
      await vi.waitFor(() => expect(two.heard.b).toHaveLength(sent.length), { timeout: 10_000, interval: 20 });
      expect(two.heard.b).toEqual(sent);
      expect(two.heard.b.map((e) => e.seq)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 2));
      // A heard only x's `paired`, which B's join appended.
      expect(two.heard.a).toEqual([
        { to: 'x', seq: 2, event: { name: 'paired', room, initiator: true, commonInterests: [] } },
      ]);
    } finally {
      await two.close();
    }
  });

  it('reads its inbox from where it stood when watched, and trims what it read', async () => {
    const p = prefix('start');
    const probe = new Redis(server.url);
    // An earlier process under the same owner id left an entry behind.
    await probe.xadd(`${p}i:instance-b`, '*', 'to', 'old', 'e', '1\t128\t{"name":"waiting"}');
    const two = instances(server.url, p);
    two.watch();
    try {
      await pairAcross(two.a, two.b, 'x', 'y');
      const relayed = await two.a.relay('x', offer);
      await vi.waitFor(() => expect(two.heard.b).toEqual([relayed.status === 'relayed' && relayed.event]), {
        timeout: 5000,
        interval: 20,
      });
      await vi.waitFor(async () => expect(await probe.xlen(`${p}i:instance-b`)).toBe(0), {
        timeout: 5000,
        interval: 20,
      });
    } finally {
      await two.close();
      probe.disconnect();
    }
  });

  it('trims its inbox a few times a second, not once per read', async () => {
    const p = prefix('trim');
    const probe = new Redis(server.url);
    const trims = () => commandCalls(probe, 'xtrim');
    const two = instances(server.url, p);
    two.watch();
    try {
      await pairAcross(two.a, two.b, 'x', 'y');
      const before = await trims();
      const started = Date.now();
      // One at a time, so that nearly every read finds a single entry.
      for (let i = 0; i < 100; i++) {
        await two.a.relay('x', { type: 'candidate', candidate: { candidate: `c${i}` } });
        if (i % 50 === 49) await two.b.acknowledge('y', i + 2);
      }
      await vi.waitFor(() => expect(two.heard.b).toHaveLength(100), { timeout: 5000, interval: 20 });
      await vi.waitFor(async () => expect(await probe.xlen(`${p}i:instance-b`)).toBe(0), {
        timeout: 5000,
        interval: 20,
      });
      // At most one trim per 200 ms (a slow machine takes longer, and may trim a little more often).
      const trimmed = (await trims()) - before;
      expect(trimmed).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 200) + 1);
      expect(trimmed).toBeLessThan(100);
    } finally {
      await two.close();
      probe.disconnect();
    }
  });

  it('keeps watching through a Redis outage, and stops on its stop function and on close', async () => {
    const own = await startRedis();
    const p = prefix('outage');
    const two = instances(own.url, p);
    const probe = new Redis(own.url, { retryStrategy: () => 100 });
    probe.on('error', () => {});
    const readers = async () =>
      String(await probe.client('LIST'))
        .split('\n')
        .filter((line) => line.includes('name=pairwire-inbox')).length;
    try {
      const stopA = two.a.watch((events) => two.heard.a.push(...events));
      two.b.watch((events) => two.heard.b.push(...events));
      await vi.waitFor(async () => expect(await readers()).toBe(2), { timeout: 5000, interval: 20 });

      await own.stop();
      await own.start(); // empty: every session is gone, the scripts are unknown
      await vi.waitFor(() => two.a.ready(), { timeout: 10_000, interval: 100 });
      await pairAcross(two.a, two.b, 'x', 'y');
      const relayed = await two.a.relay('x', offer);
      await vi.waitFor(() => expect(two.heard.b).toEqual([relayed.status === 'relayed' && relayed.event]), {
        timeout: 10_000,
        interval: 20,
      });

      // A read that fails (here: the inbox is not a stream) is retried, and reading goes on.
      const wrongType = async () =>
        Number(/errorstat_WRONGTYPE:count=(\d+)/.exec(await probe.info('errorstats'))?.[1] ?? 0);
      await probe.set(`${p}i:instance-b`, 'not a stream');
      // Cut short the reads that are blocked (as their BLOCK timeout would), so the next ones see it.
      for (const line of String(await probe.client('LIST')).split('\n')) {
        const id = /^id=(\d+) .*name=pairwire-inbox/.exec(line)?.[1];
        if (id) await probe.client('UNBLOCK', id);
      }
      await vi.waitFor(async () => expect(await wrongType()).toBeGreaterThanOrEqual(2), {
        timeout: 5000,
        interval: 20,
      });
      await probe.del(`${p}i:instance-b`);
      const again = await two.a.relay('x', offer);
      await vi.waitFor(() => expect(two.heard.b.at(-1)).toEqual(again.status === 'relayed' && again.event), {
        timeout: 10_000,
        interval: 20,
      });
      expect(two.heard.b).toHaveLength(2);

      await vi.waitFor(async () => expect(await readers()).toBe(2), { timeout: 5000, interval: 20 });
      stopA();
      await vi.waitFor(async () => expect(await readers()).toBe(1), { timeout: 5000, interval: 20 });
      await two.b.close();
      await vi.waitFor(async () => expect(await readers()).toBe(0), { timeout: 5000, interval: 20 });
    } finally {
      await two.close();
      probe.disconnect();
      await own.stop();
    }
  });

  it('leaves a session that moved to another instance alone when its old instance notices the drop late', async () => {
    const p = prefix('moved');
    const two = instances(server.url, p);
    try {
      const room = await pairAcross(two.a, two.b, 'x', 'y');
      // y's client reconnects to A before B's transport notices its old connection is gone.
      expect((await two.a.attach('y', { resume: true, after: 1 }))?.state).toMatchObject({ status: 'paired' });
      await two.b.detach('y', 60_000);
      // Still A's: not renewed or reported by B's heartbeat, renewed by A's, its events routed to A.
      expect(await two.b.heartbeat(['y'])).toEqual({ orphans: [], lost: [], lastSeq: new Map(), due: [] });
      expect((await two.a.heartbeat(['y'])).lastSeq).toEqual(new Map([['y', 1]]));
      const probe = new Redis(server.url);
      try {
        expect(await probe.get(`${p}s:y`)).toBe('instance-a');
        await two.b.unpair('x', 'next'); // B's call for x: y's `partner-left` goes to A's inbox
        expect(await inbox(probe, `${p}i:instance-a`)).toContainEqual({
          to: 'y',
          entry: `2\t${EVENT_OVERHEAD_BYTES}\t{"name":"partner-left","room":"${room}","reason":"next"}`,
        });
      } finally {
        probe.disconnect();
      }
    } finally {
      await two.close();
    }
  });

  it("relays the signals of one event-loop turn in one script call, each in its sender's order, to its own partner, and acknowledges alike", async () => {
    const p = prefix('batch');
    const store = createRedisStore(server.url, { prefix: p, owner: 'instance-a' });
    const probe = new Redis(server.url);
    const evalCalls = () => commandCalls(probe, 'evalsha');
    const candidate = (n: number) => ({ type: 'candidate' as const, candidate: { candidate: `c${n}` } });
    try {
      const rooms: string[] = [];
      for (const [x, y] of [
        ['x1', 'y1'],
        ['x2', 'y2'],
      ]) {
        await store.attach(x as string, { resume: false });
        await store.attach(y as string, { resume: false });
        await store.enqueue(x as string);
        const joined = await store.enqueue(y as string);
        if (joined.status !== 'paired') throw new Error(joined.status);
        rooms.push(joined.pair.id);
      }
      await store.attach('alone', { resume: false });
      const before = await evalCalls();
      const results = await Promise.all([
        store.relay('x1', candidate(1), { cseq: 1 }),
        store.relay('x2', candidate(2)),
        store.relay('alone', candidate(3)),
        store.relay('x1', candidate(4), { cseq: 2 }),
        store.relay('y2', candidate(5), { cseq: 1 }),
        store.relay('x1', candidate(4), { cseq: 2 }), // a retry, in the same call
      ]);
      expect(await evalCalls()).toBe(before + 1);
      expect(results).toEqual([
        {
          status: 'relayed',
          event: { to: 'y1', seq: 2, event: { name: 'signal', room: rooms[0], signal: candidate(1) } },
        },
        {
          status: 'relayed',
          event: { to: 'y2', seq: 2, event: { name: 'signal', room: rooms[1], signal: candidate(2) } },
        },
        { status: 'not-paired' },
        {
          status: 'relayed',
          event: { to: 'y1', seq: 3, event: { name: 'signal', room: rooms[0], signal: candidate(4) } },
        },
        {
          status: 'relayed',
          event: { to: 'x2', seq: 3, event: { name: 'signal', room: rooms[1], signal: candidate(5) } },
        },
        { status: 'duplicate' },
      ]);
      // What a resume replays is what the replies said was relayed.
      expect(await store.replay('y1', 1)).toEqual(
        [results[0], results[3]].map((r) => r.status === 'relayed' && r.event),
      );
      // A signal whose predecessor comes later in the same turn is held for it, then goes after it.
      const held = await Promise.all([
        store.relay('x1', candidate(7), { cseq: 4 }),
        store.relay('x1', candidate(6), { cseq: 3 }),
      ]);
      expect(held.map((r) => (r.status === 'relayed' ? r.event.seq : r.status))).toEqual([5, 4]);

      // The acknowledgements of one turn go in one call too, each trimming its own outbox.
      const beforeAcks = await evalCalls();
      await Promise.all([store.acknowledge('y1', 4), store.acknowledge('y2', 1), store.acknowledge('x2', 3)]);
      expect(await evalCalls()).toBe(beforeAcks + 1);
      expect((await store.replay('y1', 0))?.map((e) => e.seq)).toEqual([5]);
      expect((await store.replay('y2', 0))?.map((e) => e.seq)).toEqual([2]);
      expect(await store.replay('x2', 0)).toEqual([]);
    } finally {
      await store.close();
      probe.disconnect();
    }
  });

  it("gives a session's outbox keys its lifetime, and deletes them when it is released or lost", async () => {
    const p = prefix('keys');
    const store = createRedisStore(server.url, {
      prefix: p,
      leaseMs: 5_000,
      outbox: { maxEvents: 2, maxBytes: 64 * 1024 },
    });
    const probe = new Redis(server.url);
    const keysOf = (session: string) => [`${p}s:${session}`, `${p}o:${session}`, `${p}c:${session}`];
    const ttls = async (session: string) => Promise.all(keysOf(session).map((key) => probe.pttl(key)));
    try {
      await store.attach('x', { resume: false });
      await store.attach('y', { resume: false });
      await store.enqueue('x');
      await store.enqueue('y');
      for (const ttl of await ttls('x')) expect(ttl).toBeGreaterThan(4_000);
      for (const ttl of await ttls('x')) expect(ttl).toBeLessThanOrEqual(5_000);
      await store.detach('x', 60_000);
      for (const ttl of await ttls('x')) expect(ttl).toBeGreaterThan(50_000);
      // An acknowledge that empties the outbox, then a new event: the list is made again, and expires too.
      await store.acknowledge('y', 1);
      expect(await probe.exists(`${p}o:y`)).toBe(0);
      // Bytes count as eventBytes counts them: UTF-8.
      const unicode = { type: 'offer' as const, sdp: 'v=0 s=é ✓ 😀' };
      const relayed = await store.relay('x', unicode);
      for (const ttl of await ttls('y')) expect(ttl).toBeGreaterThan(4_000);
      expect(await probe.hgetall(`${p}c:y`)).toEqual({
        seq: '2',
        bytes: String(eventBytes(relayed.status === 'relayed' ? relayed.event.event : { name: 'waiting' })),
      });
      expect(eventBytes({ name: 'signal', room: 'x', signal: unicode })).toBeGreaterThan(
        JSON.stringify({ name: 'signal', room: 'x', signal: unicode }).length,
      );

      await store.relay('x', offer); // y: two events, all it may hold
      await store.relay('x', offer); // a third: y is lost
      expect(await probe.exists(...keysOf('y'))).toBe(0);
      expect((await store.heartbeat(['y'])).lost).toEqual(['y']);
      expect(await probe.exists(...keysOf('y'))).toBe(0); // not recreated
      await store.release('x');
      expect(await probe.exists(...keysOf('x'))).toBe(0);
    } finally {
      await store.close();
      probe.disconnect();
    }
  });
});
