/**
 * Several real instances (child processes, so they can be killed) on one real redis-server,
 * behind a plain TCP balancer where a test needs clients to move between instances.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PairedPayload, Signal } from '../src/protocol/messages.js';
import { answer, candidate, endOfCandidates, offer } from './fixtures/webrtc.js';
import { type ServerProcess, spawnServer } from './helpers/process.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { RecordingClient } from './helpers/server.js';
import { startTcpBalancer, type TcpBalancer } from './helpers/tcp-balancer.js';

const GRACE_MS = 2000;

describe('several instances on one Redis', () => {
  let redis: RedisServer;
  let prefix = 0;
  const instances: ServerProcess[] = [];
  const clients: RecordingClient[] = [];
  let balancer: TcpBalancer | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await balancer?.close();
    balancer = undefined;
    await Promise.all(instances.splice(0).map((i) => i.stop('SIGKILL')));
  });

  /** Starts `count` instances sharing one fresh key prefix (so tests never see each other's queues). */
  async function cluster(count: number, env: Record<string, string> = {}): Promise<ServerProcess[]> {
    const shared = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: `mi${++prefix}:`,
      RESUME_GRACE_MS: String(GRACE_MS),
      // Every test client comes from 127.0.0.1.
      MAX_CONNECTIONS_PER_IP: '100000',
      CONNECTIONS_PER_MINUTE_PER_IP: '100000',
      ...env,
    };
    const started = await Promise.all(Array.from({ length: count }, () => spawnServer(shared)));
    instances.push(...started);
    return started;
  }

  async function client(url: string, options: ConstructorParameters<typeof RecordingClient>[1] = {}) {
    const c = new RecordingClient(url, options);
    clients.push(c);
    await c.connected();
    return c;
  }

  it('pairs a client on one instance with a client on another and relays between them', async () => {
    const [one, two] = await cluster(2, { AUTO_JOIN: 'false' });
    const a = await client(one?.url ?? '');
    const b = await client(two?.url ?? '');
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    expect(await b.join()).toEqual({ ok: true, status: 'paired' });
    const [pa, pb] = await Promise.all([a.first('paired'), b.first('paired')]);
    expect(pa.room).toBe(pb.room);
    expect([pa.initiator, pb.initiator].sort()).toEqual([false, true]);

    const fromA: Signal[] = [offer, candidate(1), candidate(2), endOfCandidates];
    const fromB: Signal[] = [answer, candidate(3, 'p9Qe'), endOfCandidates];
    for (const s of fromA) expect(await a.signal(s)).toEqual({ ok: true });
    for (const s of fromB) expect(await b.signal(s)).toEqual({ ok: true });
    await b.nth('signal', fromA.length - 1);
    await a.nth('signal', fromB.length - 1);
    expect(b.all('signal')).toEqual(fromA);
    expect(a.all('signal')).toEqual(fromB);

    expect(await b.next()).toEqual({ ok: true, status: 'waiting' });
    expect(await a.first('partner-left')).toEqual({ room: pa.room, reason: 'next' });
  });

  it('1,000 clients joining at once over 3 instances end in 500 disjoint pairs', async () => {
    // The default grace, not the short one the restart tests use: three instances taking 1,000
    // connections on a loaded 2-core machine stall for seconds, and a 2 s lease would expire
    // under them (a stalled instance looks dead, by design), ending pairs this test counts.
    const servers = await cluster(3, { RESUME_GRACE_MS: '10000' });
    const all = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => client(servers[i % 3]?.url ?? '', { ackTimeoutMs: 30_000 })),
    );
    const paired: PairedPayload[] = await Promise.all(all.map((c) => c.first('paired', 30_000)));
    const rooms = new Map<string, PairedPayload[]>();
    for (const p of paired) rooms.set(p.room, [...(rooms.get(p.room) ?? []), p]);
    expect(rooms.size).toBe(500);
    for (const members of rooms.values()) {
      expect(members).toHaveLength(2);
      expect(members.filter((m) => m.initiator)).toHaveLength(1);
    }
    for (const c of all) expect(c.all('paired')).toHaveLength(1);
  }, 60_000);

  /**
   * Mid-handshake across instances: a reaches instance one through the balancer, b is on instance
   * two, the offer has gone through. The balancer already sends new connections to instance two.
   */
  /** Two instances; a reaches the first through the balancer (and reconnects through it), b the second; paired. */
  async function pairAcrossInstances(env: Record<string, string> = {}) {
    const [one, two] = await cluster(2, { AUTO_JOIN: 'false', ...env });
    balancer = await startTcpBalancer([one?.port ?? 0]);
    const a = await client(balancer.url, {
      socket: { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 },
    });
    const b = await client(two?.url ?? '');
    await a.join();
    await b.join();
    const [pa, pb] = await Promise.all([a.first('paired'), b.first('paired')]);
    return { a, b, pa, pb, one, two, balancer };
  }

  async function midHandshake() {
    const { a, b, pa, pb, one, two, balancer } = await pairAcrossInstances();
    await a.signal(offer);
    await b.first('signal');
    balancer.setTargets([two?.port ?? 0]);
    return { a, b, pa, pb, instanceOfA: one as ServerProcess };
  }

  it('a graceful restart mid-handshake loses no signal and duplicates none', async () => {
    const { a, b, pa, instanceOfA } = await midHandshake();
    const room = pa.room;
    expect(await instanceOfA.stop('SIGTERM')).toBe(0);
    const meanwhile: Signal[] = [answer, candidate(4, 'p9Qe'), candidate(5, 'p9Qe'), endOfCandidates];
    for (const s of meanwhile) expect(await b.signal(s)).toEqual({ ok: true });

    expect(await a.nth('session', 1, 10_000)).toMatchObject({ resumed: true });
    await a.nth('signal', meanwhile.length - 1, 10_000);
    expect(a.all('signal')).toEqual(meanwhile);
    expect(a.all('paired').map((p) => p.room)).toEqual([room]);
    expect(b.all('partner-left')).toEqual([]);
    expect(await a.signal(candidate(6))).toEqual({ ok: true });
    expect(await b.nth('signal', 1)).toEqual(candidate(6));
  }, 30_000);

  it('SIGKILL mid-handshake: the client resumes elsewhere and the handshake goes on, nothing lost or repeated', async () => {
    const { a, b, pa, instanceOfA } = await midHandshake();
    await instanceOfA.stop('SIGKILL');
    // Acked while a's instance is dead and a has not come back yet: kept in a's outbox.
    const meanwhile: Signal[] = [answer, candidate(4, 'p9Qe'), candidate(5, 'p9Qe'), endOfCandidates];
    for (const s of meanwhile) expect(await b.signal(s)).toEqual({ ok: true });

    expect(await a.nth('session', 1, 10_000)).toMatchObject({ resumed: true });
    await a.nth('signal', meanwhile.length - 1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a.all('signal')).toEqual(meanwhile);
    expect(a.all('paired').map((p) => p.room)).toEqual([pa.room]);
    expect(b.all('paired')).toHaveLength(1);
    expect(b.all('partner-left')).toEqual([]);
    expect(await a.signal(candidate(6))).toEqual({ ok: true });
    expect(await b.nth('signal', 1)).toEqual(candidate(6));
  }, 30_000);

  it('SIGKILL just before a lease renewal: a client back within the grace of the crash still resumes', async () => {
    // A longer grace than the others here, so that "within the grace" leaves room for reconnecting.
    const grace = 6000;
    const { a, b, pa, one, two, balancer } = await pairAcrossInstances({ RESUME_GRACE_MS: String(grace) });
    const probe = new Redis(redis.url);
    try {
      // The crash comes when a's lease is at its shortest: just before its instance renews it
      // (every third of the grace). What is left of the lease then is what a has to come back in.
      const lease = `mi${prefix}:s:${a.sessionId}`;
      let longest = 0;
      const until = Date.now() + 3 * grace;
      for (;;) {
        const left = await probe.pttl(lease);
        longest = Math.max(longest, left);
        if (longest > 0 && left <= longest - grace / 3 + 150) break;
        if (Date.now() > until) throw new Error(`no renewal of ${lease} seen`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      balancer.setTargets([]);
      await one?.stop('SIGKILL');
      expect(await b.signal(answer)).toEqual({ ok: true });
      // a is away for most of the grace: before, its lease (the grace, from the last renewal) had
      // run out by then.
      await new Promise((resolve) => setTimeout(resolve, grace - 1000));
      balancer.setTargets([two?.port ?? 0]);
      expect(await a.nth('session', 1, 10_000)).toMatchObject({ resumed: true });
      await a.first('signal', 5000);
      expect(a.all('signal')).toEqual([answer]);
      expect(a.all('paired').map((p) => p.room)).toEqual([pa.room]);
      expect(b.all('partner-left')).toEqual([]);
    } finally {
      probe.disconnect();
    }
  }, 40_000);

  it('SIGKILL of a client that never comes back: its partner is told "disconnect" within the grace', async () => {
    const [one, two] = await cluster(2, { AUTO_JOIN: 'false' });
    const a = await client(one?.url ?? '');
    const b = await client(two?.url ?? '');
    await a.join();
    await b.join();
    const room = (await b.first('paired')).room;
    const killedAt = Date.now();
    await one?.stop('SIGKILL');
    expect(await b.first('partner-left', 4 * GRACE_MS)).toEqual({ room, reason: 'disconnect' });
    // Bounded: lease (the grace) plus one heartbeat (a third of it) plus scheduling slack.
    expect(Date.now() - killedAt).toBeLessThan(4 * GRACE_MS);
    expect(await b.join()).toEqual({ ok: true, status: 'waiting' });
  }, 30_000);

  it('shares per-address connection limits across instances', async () => {
    const [one, two] = await cluster(2, { MAX_CONNECTIONS_PER_IP: '2' });
    await client(one?.url ?? '');
    await client(two?.url ?? '');
    const refused = new RecordingClient(one?.url ?? '');
    clients.push(refused);
    const error = await new Promise<Error & { data?: unknown }>((resolve) =>
      refused.socket.once('connect_error', resolve),
    );
    expect(error.data).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('a Redis outage: instances stay up, report not ready, refuse with UNAVAILABLE, and recover by themselves', async () => {
    const [one] = await cluster(1, { AUTO_JOIN: 'false' });
    const url = one?.url ?? '';
    const a = await client(url, { socket: { reconnection: true, reconnectionDelay: 100 } });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    await redis.stop();
    try {
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await a.join()).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await redis.start();
    }
    await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 10_000, interval: 100 }).toBe(200);
    expect(one?.child.exitCode).toBeNull();

    // This Redis kept nothing: a's session went with it. a is told, and its client starts anew.
    await vi.waitFor(() => expect(a.all('error')).toContainEqual(expect.objectContaining({ code: 'SESSION_LOST' })), {
      timeout: 10_000,
      interval: 50,
    });
    expect(await a.nth('session', 1, 10_000)).toMatchObject({ resumed: false });
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    const b = await client(url);
    expect(await b.join()).toEqual({ ok: true, status: 'paired' });
    await a.first('paired');
    expect(await a.signal(offer)).toEqual({ ok: true });
    expect(await b.first('signal', 10_000)).toEqual(offer);
  }, 40_000);
});
