import { Writable } from 'node:stream';
import { pino } from 'pino';
import { io as connectRaw, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';
import { answer, candidate, offer } from './fixtures/webrtc.js';
import { type RecordingClient, startServer, type TestServer } from './helpers/server.js';

describe('hardening', () => {
  let server: TestServer | undefined;
  const raw: Socket[] = [];
  afterEach(async () => {
    for (const s of raw.splice(0)) s.disconnect();
    await server?.close();
    server = undefined;
  });

  async function start(overrides: Partial<Config> = {}, logger?: pino.Logger) {
    server = await startServer(
      { autoJoin: false, ...overrides },
      logger ? { logger, store: new MemoryPairingStore() } : {},
    );
    return server;
  }

  async function pair(s: TestServer): Promise<[RecordingClient, RecordingClient, string]> {
    const a = await s.connect();
    const b = await s.connect();
    await a.join();
    await b.join();
    const room = (await a.first('paired')).room;
    await b.first('paired');
    return [a, b, room];
  }

  /** A raw socket.io connection attempt: resolves 'connected' or the refusal's data. */
  function attempt(
    url: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<'connected' | { message: string; data?: unknown }> {
    const socket = connectRaw(url, { transports: ['websocket'], reconnection: false, extraHeaders });
    raw.push(socket);
    return new Promise((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (err: Error & { data?: unknown }) =>
        resolve({ message: err.message, data: err.data }),
      );
    });
  }

  describe('per-connection limits', () => {
    it('refuses signals beyond the budget with RATE_LIMITED and a retry hint; the partner gets exactly the accepted ones', async () => {
      const s = await start({ candidatesPerSecond: 10 });
      const [a, b] = await pair(s);
      const [c, d] = await pair(s);
      const sent = Array.from({ length: 60 }, (_, i) => candidate(i));
      const acks = await Promise.all(sent.map((m) => a.signal(m)));
      const accepted = sent.filter((_, i) => acks[i]?.ok);
      const refused = acks.filter((ack) => !ack.ok);
      expect(accepted.length).toBeGreaterThanOrEqual(20);
      expect(accepted.length).toBeLessThan(30);
      for (const ack of refused) {
        expect(ack).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) } });
      }
      // An answer has its own budget, and another pair is not slowed at all.
      expect(await a.signal(answer)).toEqual({ ok: true });
      await b.nth('signal', accepted.length);
      expect(b.all('signal')).toEqual([...accepted, answer]);
      expect(await c.signal(offer)).toEqual({ ok: true });
      expect(await d.first('signal')).toEqual(offer);
    });

    it('limits next so a client cannot churn pairings', async () => {
      const s = await start({ pairingPerSecond: 1 });
      const [a] = await pair(s);
      const acks = await Promise.all(Array.from({ length: 6 }, () => a.next()));
      expect(acks.filter((ack) => !ack.ok)).not.toHaveLength(0);
      for (const ack of acks.filter((x) => !x.ok)) expect(ack).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    });

    it('disconnects a client that keeps flooding; its partner is told at once, other pairs go on', async () => {
      const s = await start({ candidatesPerSecond: 5, abuseStrikes: 5 });
      const [a, b, room] = await pair(s);
      const [c, d] = await pair(s);
      const gone = new Promise<string>((resolve) => a.socket.once('disconnect', resolve));
      for (let i = 0; i < 40; i++) a.socket.emit('junk', i);
      expect(await gone).toBe('io server disconnect');
      expect(await b.first('partner-left')).toEqual({ room, reason: 'disconnect' });
      expect(await c.signal(offer)).toEqual({ ok: true });
      expect(await d.first('signal')).toEqual(offer);
    });
  });

  describe('per-address limits', () => {
    it('refuses connections over MAX_CONNECTIONS_PER_IP with RATE_LIMITED, and admits again once one closes', async () => {
      const s = await start({ maxConnectionsPerIp: 2, connectionsPerMinutePerIp: 100 });
      expect(await attempt(s.url)).toBe('connected');
      expect(await attempt(s.url)).toBe('connected');
      const refused = await attempt(s.url);
      expect(refused).toMatchObject({ data: { code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) } });
      raw[0]?.disconnect();
      await expect.poll(() => attempt(s.url), { timeout: 5000, interval: 50 }).toBe('connected');
    });

    it('refuses connections over CONNECTIONS_PER_MINUTE_PER_IP', async () => {
      const s = await start({ maxConnectionsPerIp: 100, connectionsPerMinutePerIp: 3 });
      for (let i = 0; i < 3; i++) expect(await attempt(s.url)).toBe('connected');
      expect(await attempt(s.url)).toMatchObject({ data: { code: 'RATE_LIMITED' } });
    });

    it('trusts X-Forwarded-For only with TRUST_PROXY', async () => {
      const limited = { maxConnectionsPerIp: 1, connectionsPerMinutePerIp: 100 };
      let s = await start({ ...limited, trustProxy: 1 });
      expect(await attempt(s.url, { 'x-forwarded-for': '203.0.113.1' })).toBe('connected');
      expect(await attempt(s.url, { 'x-forwarded-for': '203.0.113.2' })).toBe('connected');
      expect(await attempt(s.url, { 'x-forwarded-for': '198.51.100.7, 203.0.113.2' })).toMatchObject({
        data: { code: 'RATE_LIMITED' },
      });
      for (const r of raw.splice(0)) r.disconnect();
      await s.close();
      s = await start({ ...limited, trustProxy: 0 });
      expect(await attempt(s.url, { 'x-forwarded-for': '203.0.113.1' })).toBe('connected');
      expect(await attempt(s.url, { 'x-forwarded-for': '203.0.113.2' })).toMatchObject({
        data: { code: 'RATE_LIMITED' },
      });
    });
  });

  describe('origins and headers', () => {
    it('lets only the server page and CORS_ORIGINS connect from a browser; clients without Origin are not browsers', async () => {
      const s = await start({ corsOrigins: ['https://app.example'] });
      expect(await attempt(s.url)).toBe('connected');
      expect(await attempt(s.url, { origin: s.url })).toBe('connected');
      expect(await attempt(s.url, { origin: 'https://app.example' })).toBe('connected');
      expect(await attempt(s.url, { origin: 'https://evil.example' })).not.toBe('connected');
    });

    it('answers CORS for allowed origins only, and sends security headers', async () => {
      const s = await start({ corsOrigins: ['https://app.example'] });
      const allowed = await fetch(`${s.url}/ice-servers`, { headers: { origin: 'https://app.example' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const denied = await fetch(`${s.url}/ice-servers`, { headers: { origin: 'https://evil.example' } });
      expect(denied.headers.get('access-control-allow-origin')).toBeNull();
      expect(denied.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(denied.headers.get('x-content-type-options')).toBe('nosniff');
      expect(denied.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    });
  });

  describe('TURN credentials', () => {
    const turn = {
      turnUrls: ['turn:turn.example.org:3478', 'turns:turn.example.org:5349'],
      turnSecret: 'do-not-leak-me',
      turnTtlSeconds: 900,
    };

    it('paired carries STUN plus TURN with time-limited credentials; the secret never leaves', async () => {
      const s = await start({ ...turn, iceServers: [{ urls: 'stun:stun.example.org' }] });
      const [a, b] = await pair(s);
      const [pa, pb] = [await a.first('paired'), await b.first('paired')];
      for (const p of [pa, pb]) {
        expect(p.iceServers[0]).toEqual({ urls: 'stun:stun.example.org' });
        expect(p.iceServers[1]).toMatchObject({
          urls: turn.turnUrls,
          username: expect.stringMatching(/^\d+:/),
          credential: expect.any(String),
        });
      }
      expect(pa.iceServers[1]?.username).not.toBe(pb.iceServers[1]?.username);
      expect(JSON.stringify([...a.received, ...b.received])).not.toContain('do-not-leak-me');
    });

    it('GET /ice-servers gives fresh credentials, uncached', async () => {
      const s = await start(turn);
      const res = await fetch(`${s.url}/ice-servers`);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as { iceServers: { username?: string }[]; ttl: number };
      expect(body.ttl).toBe(900);
      const expiry = Number(body.iceServers.at(-1)?.username?.split(':')[0]);
      expect(expiry - Date.now() / 1000).toBeGreaterThan(880);
      expect(JSON.stringify(body)).not.toContain('do-not-leak-me');
    });
  });

  describe('observability', () => {
    it('/metrics exists only with METRICS_TOKEN, needs it, and counts what happened', async () => {
      let s = await start();
      expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
      await s.close();
      s = await start({ metricsToken: 'scrape-token' });
      expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer wrong-token!' } })).status).toBe(401);

      const [a, b] = await pair(s);
      await a.signal(offer);
      await b.first('signal');
      const stray = await s.connect();
      await stray.signal(offer); // NOT_PAIRED
      const body = await (
        await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer scrape-token' } })
      ).text();
      expect(body).toMatch(/^pairwire_connected_clients 3$/m);
      expect(body).toMatch(/^pairwire_active_pairs 1$/m);
      expect(body).toMatch(/^pairwire_waiting_clients 0$/m);
      expect(body).toMatch(/^pairwire_pairs_total 1$/m);
      expect(body).toMatch(/^pairwire_signals_relayed_total\{type="offer"\} 1$/m);
      expect(body).toMatch(/^pairwire_errors_total\{code="NOT_PAIRED"\} 1$/m);
      expect(body).toMatch(/^pairwire_join_to_paired_seconds_count 1$/m);

      // Counted outside prom-client and read at each scrape: a second scrape neither doubles nor loses them.
      await b.signal(candidate(1));
      await a.first('signal');
      const again = await (
        await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer scrape-token' } })
      ).text();
      expect(again).toMatch(/^pairwire_signals_relayed_total\{type="offer"\} 1$/m);
      expect(again).toMatch(/^pairwire_signals_relayed_total\{type="candidate"\} 1$/m);
    });

    it('logs one line per lifecycle event and never an SDP or a candidate', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _encoding, done) {
          lines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      });
      const s = await start({}, pino({ level: 'info' }, sink));
      const [a, b] = await pair(s);
      await a.signal(offer);
      await b.signal(candidate(1));
      await b.first('signal');
      await a.first('signal');
      await a.next();
      await b.first('partner-left');
      b.close();
      await expect.poll(() => lines.filter((l) => l.includes('client disconnected')).length).toBe(1);
      const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(messages.filter((m) => m === 'client connected')).toHaveLength(2);
      expect(messages.filter((m) => m === 'paired')).toHaveLength(1);
      expect(messages.filter((m) => m === 'pair ended')).toHaveLength(1);
      const all = lines.join('\n');
      expect(all).not.toContain('a=fingerprint');
      expect(all).not.toContain('typ host');
    });
  });
});
