/**
 * Limits that must be true of what is really open (issue 13, items 12–15): the per-address
 * connection limit counts every engine.io connection from its handshake to its close, a client
 * that does not read cannot make the server hold its partner's signals, a packet announcing binary
 * attachments is not held, and one connection carries one session. Real server, raw clients.
 */
import { io as connectRaw, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import type { SignalingSocket } from '../src/transports/socketio/types.js';
import { offer, offerSdp } from './fixtures/webrtc.js';
import { RawConnection } from './fuzz/raw-client.js';
import { spawnServer } from './helpers/process.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
const raws: RawConnection[] = [];
const clients: Socket[] = [];

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.ws.terminate();
  for (const client of clients.splice(0)) client.disconnect();
  await server?.close();
  server = undefined;
});

async function start(overrides: Partial<Config> = {}): Promise<TestServer> {
  server = await startServer({ autoJoin: false, ...overrides });
  return server;
}

/** A raw Engine.IO WebSocket handshake: the connection (kept for cleanup) or the HTTP refusal. */
async function rawAttempt(url: string): Promise<RawConnection | { status: number; body: string }> {
  const attempt = await RawConnection.attempt(url);
  if (attempt instanceof RawConnection) raws.push(attempt);
  return attempt;
}

async function rawOpen(url: string): Promise<RawConnection> {
  const raw = await RawConnection.open(url);
  raws.push(raw);
  return raw;
}

/** A socket.io-client connection attempt: 'connected', or what its connect_error said. */
function attempt(url: string): Promise<'connected' | { message: string; data?: unknown }> {
  const socket = connectRaw(url, { transports: ['websocket'], reconnection: false });
  clients.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err: Error & { data?: unknown }) =>
      resolve({ message: err.message, data: err.data }),
    );
  });
}

/** Resolves once the raw connection is closed; rejects if it is still open after `timeoutMs`. */
async function closedWithin(raw: RawConnection, timeoutMs: number): Promise<void> {
  const result = await raw.waitFor(() => false, timeoutMs).catch(() => 'open');
  if (result !== 'closed') throw new Error(`the connection is still open after ${timeoutMs} ms`);
}

/** A connected raw client with its session id. */
async function rawSession(url: string): Promise<{ raw: RawConnection; session: string }> {
  const raw = await rawOpen(url);
  raw.send('40');
  await raw.waitFor((frame) => frame.startsWith('42["session"'));
  const [payload] = raw.events('session') as [{ id: string }];
  return { raw, session: payload.id };
}

function serverSocketOf(s: TestServer, session: string): SignalingSocket {
  const socket = [...s.app.io.of('/').sockets.values()].find((candidate) => candidate.data.session === session);
  if (!socket) throw new Error(`no server socket carries session ${session}`);
  return socket;
}

describe('per-address connection limit: every open engine.io connection counts', () => {
  const CAP = 5;
  const limits = { maxConnectionsPerIp: CAP, connectionsPerMinutePerIp: 10_000 };

  it('WebSockets that never send CONNECT hold slots; beyond the cap a few typed refusals, then HTTP 429 with a JSON body', async () => {
    const s = await start(limits);
    for (let i = 0; i < CAP; i++) await rawOpen(s.url);
    // A socket.io client is refused with the typed error, and told to retry soon: any close frees a slot.
    const refused = await attempt(s.url);
    expect(refused).toMatchObject({ data: { code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) } });
    const { retryAfterMs } = (refused as { data: { retryAfterMs: number } }).data;
    expect(retryAfterMs).toBeLessThanOrEqual(5000);

    const attempts = await Promise.all(Array.from({ length: 60 }, () => rawAttempt(s.url)));
    const refusals = attempts.filter((a): a is { status: number; body: string } => !(a instanceof RawConnection));
    // The cap, plus refusals carried on short-lived connections of their own: never 60 more.
    expect(s.app.io.engine.clientsCount).toBeLessThanOrEqual(CAP + 10);
    expect(refusals.length).toBeGreaterThanOrEqual(60 - 10);
    for (const refusal of refusals) {
      expect(refusal.status).toBe(429);
      expect(JSON.parse(refusal.body)).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    }
    // Carriers that never send CONNECT do not linger: only the admitted connections stay.
    await expect.poll(() => s.app.io.engine.clientsCount, { timeout: 8000, interval: 100 }).toBe(CAP);

    // Any close frees a slot at once.
    raws[0]?.close();
    await expect.poll(() => attempt(s.url), { timeout: 5000, interval: 50 }).toBe('connected');
  });

  it('long-polling sessions hold slots too', async () => {
    const s = await start(limits);
    const handshake = () => fetch(`${s.url}/socket.io/?EIO=4&transport=polling`);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await handshake();
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(await response.json()).toMatchObject({ code: 'RATE_LIMITED' });
      } else {
        await response.text();
      }
    }
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(CAP + 10);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(30 - CAP - 10);
    expect(s.app.io.engine.clientsCount).toBeLessThanOrEqual(CAP + 10);
  });

  it('a connection closed before it is through admission gives its slot back', async () => {
    const s = await start({ ...limits, maxConnectionsPerIp: 1 });
    for (let i = 0; i < 5; i++) {
      // Leave in the middle of the WebSocket handshake, while the server is admitting it.
      await RawConnection.abandonHandshake(s.url);
      // CONNECT and leave at once.
      const raw = await rawOpen(s.url);
      raw.send('40');
      raw.ws.terminate();
    }
    await expect.poll(() => attempt(s.url), { timeout: 5000, interval: 100 }).toBe('connected');
  });
});

describe('with Redis: the count is shared, lives as long as the connections, and survives a drop during admission', () => {
  let redis: RedisServer | undefined;
  let prefix = 0;
  const others: TestServer[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const other of others.splice(0)) await other.close();
  });

  /** An instance on the shared Redis; instances of one test share its key prefix. */
  async function instance(overrides: Partial<Config>): Promise<TestServer> {
    const s = await startServer({
      autoJoin: false,
      redisUrl: redis?.url,
      redisPrefix: `limits${prefix}:`,
      ...overrides,
    });
    others.push(s);
    return s;
  }

  it('a client that drops while its admission is in Redis leaves no slot behind', async () => {
    prefix++;
    const s = await instance({ maxConnectionsPerIp: 1, connectionsPerMinutePerIp: 10_000 });
    for (let i = 0; i < 5; i++) {
      await RawConnection.abandonHandshake(s.url);
      const raw = await rawOpen(s.url);
      raw.send('40');
      raw.ws.terminate();
    }
    await expect.poll(() => attempt(s.url), { timeout: 5000, interval: 100 }).toBe('connected');
  });

  it('two instances share one count, which holds across many leases and frees at each close', async () => {
    prefix++;
    // The lease is the resume grace: 1 s, renewed every third of it.
    const settings = { maxConnectionsPerIp: 2, connectionsPerMinutePerIp: 10_000, resumeGraceMs: 1000 };
    const one = await instance(settings);
    const two = await instance(settings);
    expect(await attempt(one.url)).toBe('connected');
    const held = await rawOpen(two.url);
    for (let round = 0; round < 4; round++) {
      expect(await attempt(one.url)).toMatchObject({ data: { code: 'RATE_LIMITED' } });
      expect(await attempt(two.url)).toMatchObject({ data: { code: 'RATE_LIMITED' } });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    held.close();
    await expect.poll(() => attempt(one.url), { timeout: 5000, interval: 100 }).toBe('connected');
  });

  it("a crashed instance's connections stop counting after one lease (the resume grace)", async () => {
    prefix++;
    const crashing = await spawnServer({
      REDIS_URL: redis?.url ?? '',
      REDIS_PREFIX: `limits${prefix}:`,
      RESUME_GRACE_MS: '1000',
      MAX_CONNECTIONS_PER_IP: '2',
      CONNECTIONS_PER_MINUTE_PER_IP: '10000',
    });
    try {
      await rawOpen(crashing.url);
      await rawOpen(crashing.url);
      const survivor = await instance({
        maxConnectionsPerIp: 2,
        connectionsPerMinutePerIp: 10_000,
        resumeGraceMs: 1000,
      });
      expect(await attempt(survivor.url)).toMatchObject({ data: { code: 'RATE_LIMITED' } });
      await crashing.stop('SIGKILL');
      await expect.poll(() => attempt(survivor.url), { timeout: 5000, interval: 200 }).toBe('connected');
    } finally {
      await crashing.stop('SIGKILL');
    }
  });
});

describe('a client that does not read', () => {
  it('is disconnected once its send buffer passes MAX_SEND_BUFFER_BYTES, which bounds what the server holds; its partner is told at once', async () => {
    const maxSendBufferBytes = 256 * 1024;
    const s = await start({ maxSendBufferBytes, sdpPerSecond: 1000, resumeGraceMs: 60_000 });
    const { raw: slow, session } = await rawSession(s.url);
    expect(await slow.command('join')).toEqual([{ ok: true, status: 'waiting' }]);
    const partner = await s.connect();
    expect(await partner.join()).toEqual({ ok: true, status: 'paired' });
    const room = (await partner.first('paired')).room;
    await slow.waitFor((frame) => frame.startsWith('42["paired"'));

    const connection = serverSocketOf(s, session).conn;
    let mostHeld = 0;
    // Measured at every packet queued for it, from engine.io's and Node's own buffers, not from the code under test.
    connection.on('packetCreate', (packet: { data?: string }) => {
      const queued = (connection as unknown as { writeBuffer: Array<{ data?: string }> }).writeBuffer;
      const bytes = queued.reduce((sum, p) => sum + (p.data?.length ?? 0), packet.data?.length ?? 0);
      mostHeld = Math.max(mostHeld, bytes + connection.request.socket.writableLength);
    });

    slow.pauseReading();
    const big = { type: 'offer' as const, sdp: `${offerSdp}a=x-pad:${'x'.repeat(60_000)}\r\n` };
    let sent = 0;
    // Well within the budgets: 1,000 offers a second. Stops when the partner is told, or past 64 MB.
    while (partner.all('partner-left').length === 0 && sent < 64 * 1024 * 1024) {
      const acks = await Promise.all(Array.from({ length: 16 }, () => partner.signal(big)));
      sent += acks.length * big.sdp.length;
      if (acks.some((ack) => !ack.ok)) break;
    }
    expect(await partner.first('partner-left', 1000)).toEqual({ room, reason: 'disconnect' });
    expect(connection.readyState).toBe('closed');
    // The cap, plus what was queued in the turn that crossed it (at most a read's worth of relays).
    expect(mostHeld).toBeLessThanOrEqual(maxSendBufferBytes + 2 * (big.sdp.length + 100));
    expect(await partner.signal(offer)).toMatchObject({ ok: false, error: { code: 'NOT_PAIRED' } });
    slow.resumeReading();
    await closedWithin(slow, 5000);
  }, 30_000);
});

describe('binary attachments', () => {
  const announcements = [
    ['a binary event', '451-["signal",{"_placeholder":true,"num":0}]'],
    ['a binary ack', '461-7[{"_placeholder":true,"num":0}]'],
  ];

  it.each(announcements)('%s closes its connection at once, before CONNECT', async (_name, packet) => {
    const s = await start();
    const raw = await rawOpen(s.url);
    raw.send(packet);
    await closedWithin(raw, 1000);
    await expect.poll(() => s.app.io.engine.clientsCount, { timeout: 1000, interval: 20 }).toBe(0);
  });

  it.each(announcements)(
    '%s closes its connection at once after CONNECT; nothing is held; the partner is told',
    async (_name, packet) => {
      const s = await start({ resumeGraceMs: 1000 });
      const { raw, session } = await rawSession(s.url);
      expect(await raw.command('join')).toEqual([{ ok: true, status: 'waiting' }]);
      const partner = await s.connect();
      await partner.join();
      const room = (await partner.first('paired')).room;
      const client = (serverSocketOf(s, session) as unknown as { client: { decoder: { reconstructor?: unknown } } })
        .client;
      raw.send(packet);
      await closedWithin(raw, 1000);
      expect(client.decoder.reconstructor ?? null).toBeNull();
      expect(await partner.first('partner-left', 5000)).toEqual({ room, reason: 'disconnect' });
    },
  );

  it('a client without binary goes on untouched next to it', async () => {
    const s = await start();
    const a = await s.connect();
    const b = await s.connect();
    await a.join();
    await b.join();
    await b.first('paired');
    const raw = await rawOpen(s.url);
    raw.send('451-["signal",{"_placeholder":true,"num":0}]');
    await closedWithin(raw, 1000);
    expect(await a.signal(offer)).toEqual({ ok: true });
    expect(await b.first('signal')).toEqual(offer);
  });
});

describe('one session per connection', () => {
  it('refuses a second CONNECT with a typed error; the first session alone is queued, paired and driven', async () => {
    const s = await start();
    const raw = await rawOpen(s.url);
    raw.send('40');
    raw.send('40');
    await raw.waitFor((frame) => frame.startsWith('44'));
    const refusal = raw.frames.find((frame) => frame.startsWith('44')) ?? '';
    expect(JSON.parse(refusal.slice(2))).toMatchObject({ data: { code: 'INVALID_PAYLOAD' } });
    expect(raw.frames.filter((frame) => frame.startsWith('40{'))).toHaveLength(1);
    await raw.waitFor((frame) => frame.startsWith('42["session"'));
    expect(s.app.io.of('/').sockets.size).toBe(1);

    expect(await raw.command('join')).toEqual([{ ok: true, status: 'waiting' }]);
    const partner = await s.connect();
    expect(await partner.join()).toEqual({ ok: true, status: 'paired' });
    expect(await raw.command('signal', offer)).toEqual([{ ok: true }]);
    expect(await partner.first('signal')).toEqual(offer);
    expect(raw.events('session')).toHaveLength(1);
    expect(s.app.io.of('/').sockets.size).toBe(2);
  });
});
