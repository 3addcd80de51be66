/**
 * The serverless deployment for real: `serverless offline` runs the built Lambda handlers behind
 * its API Gateway WebSocket emulation, against a real redis-server. Clients are plain `ws`
 * sockets speaking the JSON frames of docs/protocol.md.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { Ack, ServerEvents } from '../src/protocol/messages.js';
import { SERVERLESS_LEASE_MS } from '../src/serverless-app.js';
import { RedisPairingStore } from '../src/store/redis-store.js';
import { docSnippet } from './helpers/doc-snippets.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { type ServerlessOffline, startServerlessOffline } from './helpers/serverless-offline.js';

const PREFIX = 'offline-test:';
const WAIT_MS = 10_000;
/** The operator API's bearer token in this deployment. */
const ADMIN_TOKEN = 'operator-token-of-32-characters!';
/** RESUME_GRACE_MS here: longer than the 2-second drop the resume test makes, short enough to wait out. */
const GRACE_MS = 4000;

type Event = { [E in keyof ServerEvents]: { type: E; payload: ServerEvents[E]; seq?: number } }[keyof ServerEvents];

/** A bare WebSocket client of the JSON frame protocol: one command in flight at a time, as the SDK does. */
class FrameClient {
  readonly events: Event[] = [];
  readonly #acks = new Map<number, (ack: Ack<Record<string, unknown>>) => void>();
  readonly #waiters: (() => void)[] = [];
  #nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; id?: number; payload: unknown };
      if (frame.type === 'ack' && frame.id !== undefined) {
        this.#acks.get(frame.id)?.(frame.payload as Ack<Record<string, unknown>>);
        this.#acks.delete(frame.id);
      } else {
        this.events.push(frame as Event);
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new FrameClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_, response) => reject(new Error(`refused: HTTP ${response.statusCode}`)));
    });
  }

  command(action: string, payload?: unknown): Promise<Ack<Record<string, unknown>>> {
    const id = this.#nextId++;
    return this.raw(JSON.stringify(payload === undefined ? { action, id } : { action, id, payload }), id);
  }

  /** Sends any text; resolves with the ack of `id` (when the frame carries one). */
  raw(text: string, id?: number): Promise<Ack<Record<string, unknown>>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for ${text.slice(0, 80)}`)), WAIT_MS);
      if (id !== undefined) {
        this.#acks.set(id, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
      }
      this.ws.send(text);
      if (id === undefined) {
        clearTimeout(timer);
        resolve({ ok: true });
      }
    });
  }

  /** Resolves with the first event of `type` after `skip` earlier ones of that type. */
  async event<E extends keyof ServerEvents>(type: E, skip = 0): Promise<ServerEvents[E]> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.events.filter((e) => e.type === type)[skip];
      if (found) return found.payload as ServerEvents[E];
      if (Date.now() > deadline) throw new Error(`no ${type} event; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((wake) => {
        this.#waiters.push(wake);
        setTimeout(wake, 200);
      });
    }
  }

  count(type: Event['type']): number {
    return this.events.filter((e) => e.type === type).length;
  }

  /** The signals received, in seq order as a client puts them (posts to one connection may overtake each other). */
  signals(): { seq: number; payload: unknown }[] {
    return this.events
      .filter((e) => e.type === 'signal')
      .map((e) => ({ seq: e.seq ?? 0, payload: e.payload }))
      .sort((x, y) => x.seq - y.seq);
  }

  /** The highest seq received with every one before it: what a resume presents. */
  lastSeq(): number {
    const seqs = new Set(this.events.flatMap((e) => (e.seq === undefined ? [] : [e.seq])));
    let last = 0;
    while (seqs.has(last + 1)) last++;
    return last;
  }

  /** Waits until `check` holds for the events received. */
  async until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((wake) => {
        this.#waiters.push(wake);
        setTimeout(wake, 200);
      });
    }
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

let redis: RedisServer;
let offline: ServerlessOffline;
const clients: FrameClient[] = [];

async function client(headers?: Record<string, string>): Promise<FrameClient> {
  const c = await FrameClient.open(offline.wsUrl, headers);
  clients.push(c);
  return c;
}

/** Waits for a Lambda's log line: worker threads' output reaches the parent process a little later. */
async function logged(line: string): Promise<void> {
  await vi.waitFor(() => expect(offline.output()).toContain(line), { timeout: WAIT_MS, interval: 50 });
}

/** Two clients joined one after the other: paired, the first as initiator. */
async function pair(): Promise<[FrameClient, FrameClient]> {
  const [a, b] = [await client(), await client()];
  expect(await a.command('join')).toEqual({ ok: true, status: 'waiting' });
  expect(await b.command('join')).toEqual({ ok: true, status: 'paired' });
  await Promise.all([a.event('paired'), b.event('paired')]);
  return [a, b];
}

beforeAll(async () => {
  redis = await startRedis();
  offline = await startServerlessOffline({
    REDIS_URL: redis.url,
    REDIS_PREFIX: PREFIX,
    CORS_ORIGINS: '',
    RESUME_GRACE_MS: String(GRACE_MS),
    // Small budgets, so the flood test needs a few frames, not hundreds of invocations.
    CANDIDATES_PER_SECOND: '5',
    ABUSE_STRIKES: '5',
    ADMIN_TOKEN,
    SUBJECT_SALT: 'the-salt-of-every-lambda',
    // Two distinct reporters ban (the automatic-ban test); every other test has one at most.
    AUTO_BAN_REPORTERS: '2',
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await offline?.stop();
  await redis?.stop();
});

describe('serverless offline: API Gateway WebSocket + Lambda + Redis', { timeout: 30_000 }, () => {
  it('serves the HTTP routes from the same app factory', async () => {
    const health = await fetch(`${offline.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${offline.httpUrl}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const ice = (await (await fetch(`${offline.httpUrl}/ice-servers`)).json()) as { iceServers: unknown[] };
    expect(ice.iceServers.length).toBeGreaterThan(0);
  });

  it('pairs two clients with exactly one initiator and relays a full handshake unchanged, in order', async () => {
    const [a, b] = await pair();
    const [pa, pb] = [await a.event('paired'), await b.event('paired')];
    expect(pa.room).toBe(pb.room);
    expect([pa.initiator, pb.initiator]).toEqual([true, false]);

    const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\na=ice-ufrag:é✓\r\n' } as const;
    const answer = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\n' } as const;
    const candidate = (i: number) =>
      ({
        type: 'candidate',
        candidate: {
          candidate: `candidate:${i} 1 udp 2122260223 192.0.2.${i} 5${i}000 typ host`,
          sdpMid: '0',
          sdpMLineIndex: 0,
          usernameFragment: 'abcd',
        },
      }) as const;

    expect(await a.command('signal', offer)).toEqual({ ok: true });
    for (let i = 1; i <= 3; i++) expect(await a.command('signal', candidate(i))).toEqual({ ok: true });
    expect(await b.command('signal', answer)).toEqual({ ok: true });
    for (let i = 4; i <= 5; i++) expect(await b.command('signal', candidate(i))).toEqual({ ok: true });
    await a.command('signal', { type: 'end-of-candidates' });

    await b.event('signal', 4);
    await a.event('signal', 2);
    const got = (c: FrameClient) => c.events.filter((e) => e.type === 'signal').map((e) => e.payload);
    expect(got(b)).toEqual([offer, candidate(1), candidate(2), candidate(3), { type: 'end-of-candidates' }]);
    expect(got(a)).toEqual([answer, candidate(4), candidate(5)]);
    // Each relayed frame names its pair beside the untouched payload, so a late one can be dropped.
    const rooms = b.events.filter((e) => e.type === 'signal').map((e) => (e as { room?: string }).room);
    expect(new Set(rooms)).toEqual(new Set([pa.room]));
  });

  it('next, leave and a goodbye each tell the partner at once, with the reason; a drop once the grace is over', async () => {
    const [a, b] = await pair();
    const [c, d] = await pair();
    const room = (await a.event('paired')).room;
    expect(await a.command('next')).toEqual({ ok: true, status: 'waiting' });
    expect(await b.event('partner-left')).toEqual({ room, reason: 'next' });
    expect(b.count('paired')).toBe(1);

    expect(await d.command('leave')).toEqual({ ok: true, status: 'idle' });
    expect(await c.event('partner-left')).toEqual({ room: (await c.event('paired')).room, reason: 'leave' });
    // Left means not queued: a later arrival is not paired with d.
    expect(await d.command('signal', { type: 'end-of-candidates' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_PAIRED' },
    });

    // `a` is still waiting from its next: the next arrival pairs with it; then that one says goodbye.
    const e = await client();
    expect(await e.command('join')).toEqual({ ok: true, status: 'paired' });
    const room2 = (await a.event('paired', 1)).room;
    expect(await e.command('bye')).toEqual({ ok: true });
    expect(await a.event('partner-left')).toEqual({ room: room2, reason: 'disconnect' });

    // A drop (a closed connection, no goodbye) keeps the pair for the grace, then ends it.
    const f = await client();
    expect(await a.command('join')).toEqual({ ok: true, status: 'waiting' });
    expect(await f.command('join')).toEqual({ ok: true, status: 'paired' });
    const room3 = (await a.event('paired', 2)).room;
    await f.close();
    await logged('connection dropped; its session stays resumable for the grace');
    expect(a.count('partner-left')).toBe(1);
    // No invocation waits the grace out: the scheduled sweep (invoked here as the schedule would)
    // keeps watch while the drop is pending and tells the partner once it lapses.
    await offline.invoke('sweep');
    expect(await a.event('partner-left', 1)).toEqual({ room: room3, reason: 'disconnect' });
    await Promise.all([a.command('leave'), c.command('leave')]);
  });

  it('a 410 for a vanished connection detaches that session only; the client that met it goes on', async () => {
    // A session whose connection is gone without a $disconnect (API Gateway delivers it only
    // on a best-effort basis): seeded waiting in Redis, carried by a connection id nobody holds.
    const storeClient = new Redis(redis.url);
    const store = new RedisPairingStore({
      redis: storeClient,
      prefix: PREFIX,
      owner: 'apigateway',
      leaseMs: SERVERLESS_LEASE_MS,
    });
    try {
      const bystanders = await pair();
      await store.attach('vanished-session', { resume: false });
      await store.bindConnection('vanished-session', 'vanished-connection');
      expect(await store.enqueue('vanished-session')).toMatchObject({ status: 'waiting' });

      const a = await client();
      expect(await a.command('join')).toEqual({ ok: true, status: 'paired' });
      const paired = await a.event('paired');
      // Told by the 410 of the management API, not by a $disconnect (there was none): the session
      // is detached for the grace, as after a drop, so its client could still resume it.
      await logged('connection gone; its session stays resumable for the grace');
      expect(await store.connectionsOf(['vanished-session'])).toEqual(new Map());
      expect(await store.pairOf('vanished-session')).toMatchObject({ id: paired.room });
      // It never comes back: once its grace is over, `a` hears it at its next ping.
      await vi.waitFor(async () => expect(await storeClient.exists(`${PREFIX}s:vanished-session`)).toBe(0), {
        timeout: GRACE_MS * 2,
        interval: 200,
      });
      expect(await a.command('ping')).toEqual({ ok: true });
      expect(await a.event('partner-left')).toEqual({ room: paired.room, reason: 'disconnect' });
      expect(await store.queueLength()).toBe(0);

      // The sender is untouched: still connected, pairs with the next arrival, relays.
      const b = await client();
      expect(await a.command('join')).toEqual({ ok: true, status: 'waiting' });
      expect(await b.command('join')).toEqual({ ok: true, status: 'paired' });
      expect(await b.command('signal', { type: 'end-of-candidates' })).toEqual({ ok: true });
      expect(await a.event('signal')).toEqual({ type: 'end-of-candidates' });
      // And the pair beside it never heard of any of this.
      for (const c of bystanders) expect(c.count('partner-left')).toBe(0);
      await Promise.all([a.command('leave'), bystanders[0].command('leave')]);
    } finally {
      await store.close();
      storeClient.disconnect();
    }
  });

  it('answers invalid and oversized frames with their error codes and changes nothing', async () => {
    const [a, b] = await pair();
    expect(await a.raw('{"action":"signal","id":1,"payload":{"type":"offer"}}', 1)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD' },
    });
    expect(await a.command('teleport', { to: 'someone' })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_EVENT' },
    });
    expect(await a.raw('{"action":"join","id":50,"to":"b"}', 50)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD' },
    });
    await a.raw('this is not json');
    expect(await a.event('error')).toMatchObject({ code: 'INVALID_PAYLOAD' });
    // An SDP over MAX_SDP_BYTES (64 KiB), and a message over API Gateway's 128 KiB.
    expect(await a.command('signal', { type: 'offer', sdp: 'a'.repeat(70_000) })).toMatchObject({
      ok: false,
      error: { code: 'PAYLOAD_TOO_LARGE' },
    });
    expect(await a.command('signal', { type: 'offer', sdp: '\u0001'.repeat(30_000) })).toMatchObject({
      ok: false,
      error: { code: 'PAYLOAD_TOO_LARGE' },
    });
    // Nothing reached the partner, and the pair still works.
    expect(b.count('signal')).toBe(0);
    expect(await a.command('signal', { type: 'end-of-candidates' })).toEqual({ ok: true });
    expect(await b.event('signal')).toEqual({ type: 'end-of-candidates' });
    expect(b.count('signal')).toBe(1);
    await a.command('leave');
  });

  it('limits a flooding connection through Redis and closes it when it persists; others go on', async () => {
    const [a, b] = await pair();
    const flooder = await client();
    const closed = new Promise<void>((resolve) => flooder.ws.once('close', () => resolve()));
    // 10 junk frames per 2 s window, then 5 refusals tolerated. One frame at a time (each
    // answered by an error event): serverless offline starts a worker thread per concurrent
    // invocation, and many at once would time out on two cores.
    for (let i = 0; i < 100 && flooder.ws.readyState === WebSocket.OPEN; i++) {
      flooder.ws.send('junk');
      await Promise.race([flooder.event('error', i), closed]);
    }
    await closed;
    expect(flooder.events.some((e) => e.type === 'error' && e.payload.code === 'RATE_LIMITED')).toBe(true);
    await logged('disconnecting an abusive client');
    expect(await a.command('signal', { type: 'end-of-candidates' })).toEqual({ ok: true });
    expect(await b.event('signal')).toEqual({ type: 'end-of-candidates' });
    await a.command('leave');
  });

  it('refuses a WebSocket from a page of another origin at $connect', async () => {
    await expect(client({ Origin: 'https://evil.example' })).rejects.toThrow(/refused|403|Unexpected/);
  });
});

describe('serverless offline: reports and bans', { timeout: 30_000 }, () => {
  const device = (name: string) => `${offline.wsUrl}?device=${name.padEnd(20, '0')}`;
  const headers = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };

  /** `offender` paired with a new client of device `reporter`, which reports it; resolves once the pair ended. */
  async function reportedBy(offender: FrameClient, reporter: string): Promise<string> {
    const by = await FrameClient.open(device(reporter));
    clients.push(by);
    const pairs = offender.count('paired');
    expect(await offender.command('join')).toMatchObject({ ok: true, status: 'waiting' });
    expect(await by.command('join')).toMatchObject({ ok: true, status: 'paired' });
    const { room } = await offender.event('paired', pairs);
    expect(await by.command('report', { room, reason: 'harassment' })).toMatchObject({ ok: true });
    expect(await offender.event('partner-left', pairs)).toEqual({ room, reason: 'next' });
    return room;
  }

  /** Resolves with the close code once the server closed the client's WebSocket. */
  const closedByServer = (c: FrameClient) => new Promise<number>((resolve) => c.ws.once('close', resolve));

  it('a report is kept for the operator; a ban through the HTTP function closes its subject and refuses it at $connect', async () => {
    const offender = await FrameClient.open(device('offender'));
    const reporter = await FrameClient.open(device('reporter'));
    clients.push(offender, reporter);
    expect(await offender.command('join')).toMatchObject({ ok: true });
    expect(await reporter.command('join')).toMatchObject({ ok: true, status: 'paired' });
    const { room } = await offender.event('paired');
    const ack = await reporter.command('report', { room, reason: 'harassment', details: 'insults' });
    expect(ack).toEqual({ ok: true, reportId: expect.any(String) });
    expect(await offender.event('partner-left')).toEqual({ room, reason: 'next' });

    const listed = await fetch(`${offline.httpUrl}/admin/reports?reason=harassment`, { headers });
    expect(listed.status).toBe(200);
    const { reports } = (await listed.json()) as {
      reports: { id: string; room: string; reported: string; reporter: string }[];
    };
    const report = reports.find((r) => r.room === room);
    expect(report).toMatchObject({ id: ack.ok ? ack.reportId : '', reported: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(report?.reported).not.toBe(report?.reporter);
    expect((await fetch(`${offline.httpUrl}/admin/reports`)).status).toBe(401);

    const closed = closedByServer(offender);
    const banned = await fetch(`${offline.httpUrl}/admin/bans`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ subject: report?.reported, reason: 'insults', durationMs: 600_000 }),
    });
    expect(banned.status).toBe(201);
    expect(await offender.event('error')).toMatchObject({ code: 'BANNED' });
    await closed;
    await expect(FrameClient.open(device('offender'))).rejects.toThrow(/refused: HTTP 403/);
    expect(await reporter.command('join')).toMatchObject({ ok: true });
    await reporter.command('leave');
  });

  it("an operator's ban through the HTTP function closes the subject's open WebSocket at once: BANNED, then closed, and its partner hears", async () => {
    const target = await FrameClient.open(device('ban-target'));
    clients.push(target);
    const room = await reportedBy(target, 'ban-reporter');
    const listed = await fetch(`${offline.httpUrl}/admin/reports?reason=harassment`, { headers });
    const { reports } = (await listed.json()) as { reports: { room: string; reported: string }[] };
    const subject = reports.find((r) => r.room === room)?.reported;
    // Paired again, and banned while connected: the client sends nothing more (no ping: the SDK's
    // comes every 5 minutes), yet it is told and closed at once, and its partner hears now.
    const partner = await FrameClient.open(device('ban-partner'));
    clients.push(partner);
    expect(await target.command('join')).toMatchObject({ ok: true, status: 'waiting' });
    expect(await partner.command('join')).toMatchObject({ ok: true, status: 'paired' });
    const { room: room2 } = await partner.event('paired');
    const closed = closedByServer(target);
    const banned = await fetch(`${offline.httpUrl}/admin/bans`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ subject, reason: 'insults', durationMs: 600_000 }),
    });
    expect(banned.status).toBe(201);
    expect(await target.event('error')).toMatchObject({ code: 'BANNED', retryAfterMs: expect.any(Number) });
    await closed;
    expect(await partner.event('partner-left')).toEqual({ room: room2, reason: 'disconnect' });
    await logged('a banned client disconnected; its session ended');
    await partner.command('leave');
  });

  it("an automatic ban (AUTO_BAN_REPORTERS distinct reporters) closes the offender's open WebSocket at once", async () => {
    const offender = await FrameClient.open(device('auto-offender'));
    clients.push(offender);
    await reportedBy(offender, 'auto-reporter-1');
    expect(offender.count('error')).toBe(0);
    const closed = closedByServer(offender);
    await reportedBy(offender, 'auto-reporter-2');
    expect(await offender.event('error')).toMatchObject({ code: 'BANNED', retryAfterMs: expect.any(Number) });
    await closed;
    await expect(FrameClient.open(device('auto-offender'))).rejects.toThrow(/refused: HTTP 403/);
  });
});

describe('serverless offline: matching', { timeout: 30_000 }, () => {
  const patient = (interests: string[], lang?: string) => ({ interests, fallbackMs: null, ...(lang ? { lang } : {}) });

  it('an interest match beats a longer wait (both hear what they share), lang separates, and nobody meets a recent or blocked partner again', async () => {
    // Interests: c skips a, who waited longer, for b, with whom it shares "jazz".
    const [a, b, c] = [await client(), await client(), await client()];
    expect(await a.command('join')).toEqual({ ok: true, status: 'waiting' });
    expect(await b.command('join', patient(['chess', 'Jazz']))).toEqual({ ok: true, status: 'waiting' });
    expect(await c.command('join', patient([' JAZZ ', 'go']))).toEqual({ ok: true, status: 'paired' });
    const [pb, pc] = [await b.event('paired'), await c.event('paired')];
    expect(pb).toMatchObject({ room: pc.room, initiator: true, commonInterests: ['jazz'] });
    expect(pc).toMatchObject({ initiator: false, commonInterests: ['jazz'] });
    expect(a.count('paired')).toBe(0);
    expect(await a.command('leave')).toEqual({ ok: true, status: 'idle' });

    // Language: "en" and "fr" wait side by side; another "fr" meets the "fr".
    const [en, fr, fr2] = [await client(), await client(), await client()];
    expect(await en.command('join', { lang: 'en' })).toEqual({ ok: true, status: 'waiting' });
    expect(await fr.command('join', { lang: 'fr' })).toEqual({ ok: true, status: 'waiting' });
    expect(await fr2.command('join', { lang: 'FR' })).toEqual({ ok: true, status: 'paired' });
    expect((await fr2.event('paired')).room).toBe((await fr.event('paired')).room);
    expect(await en.command('leave')).toEqual({ ok: true, status: 'idle' });

    // Recent partners: b skips c; c queues again and is not paired straight back with b.
    expect(await b.command('next')).toEqual({ ok: true, status: 'waiting' });
    expect(await c.event('partner-left')).toEqual({ room: pc.room, reason: 'next' });
    expect(await c.command('join')).toEqual({ ok: true, status: 'waiting' });
    expect(c.count('paired')).toBe(1);
    // Someone new meets b (the longer waiter), the next one c.
    const [d, e] = [await client(), await client()];
    expect(await d.command('join')).toEqual({ ok: true, status: 'paired' });
    expect((await d.event('paired')).room).toBe((await b.event('paired', 1)).room);
    expect(await e.command('join')).toEqual({ ok: true, status: 'paired' });
    const pe = await e.event('paired');
    expect((await c.event('paired', 1)).room).toBe(pe.room);

    // Block: e blocks c, and the two wait side by side rather than meet again.
    expect(await e.command('block')).toEqual({ ok: true, status: 'waiting' });
    expect(await c.event('partner-left', 1)).toEqual({ room: pe.room, reason: 'next' });
    expect(await c.command('join')).toEqual({ ok: true, status: 'waiting' });
    expect(c.count('paired')).toBe(2);
    expect(e.count('paired')).toBe(1);
    await Promise.all([b, c, d, e, fr, fr2].map((x) => x.command('leave')));
  });

  it('two clients whose fallbacks pass while both wait are paired by the scheduled sweep, with nobody joining and no frame from either', async () => {
    const [a, b] = [await client(), await client()];
    const hurried = (interests: string[]) => ({ interests, fallbackMs: 1000 });
    expect(await a.command('join', hurried(['chess']))).toEqual({ ok: true, status: 'waiting' });
    expect(await b.command('join', hurried(['go']))).toEqual({ ok: true, status: 'waiting' });
    // Neither client sends anything more: the sweep (invoked as the schedule would, before the
    // fallbacks pass) keeps watch while they come due within its run, and pairs them.
    await offline.invoke('sweep');
    const [pa, pb] = [await a.event('paired'), await b.event('paired')];
    expect(pa).toMatchObject({ room: pb.room, initiator: true, commonInterests: [] });
    expect(pb).toMatchObject({ initiator: false, commonInterests: [] });
    await Promise.all([a.command('leave'), b.command('leave')]);
  });
});

describe('serverless offline: a $disconnect that meets a stalled Redis', { timeout: 40_000 }, () => {
  it('the partner hears partner-left within seconds of the grace once Redis is back', async () => {
    const [a, b] = [await client(), await client()];
    expect(await a.command('resume', { join: true })).toEqual({ ok: true });
    expect(await b.command('resume', { join: true })).toEqual({ ok: true });
    const room = (await a.event('paired')).room;
    const dropped = (await b.event('session')).id;
    const admin = new Redis(redis.url);
    try {
      // Every client stalls for 3 s, longer than the store client's 2 s command timeout: the
      // $disconnect's first detach times out, and Redis runs it when the pause ends.
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
      b.ws.terminate();
      // Recorded with the detach, whichever try ran it.
      await vi.waitFor(async () => expect(await admin.zscore(`${PREFIX}lapse`, dropped)).not.toBeNull(), {
        timeout: WAIT_MS,
        interval: 200,
      });
      expect(a.count('partner-left')).toBe(0);
      await offline.invoke('sweep');
      expect(await a.event('partner-left')).toEqual({ room, reason: 'disconnect' });
      expect(await admin.zscore(`${PREFIX}lapse`, dropped)).toBeNull();
      await a.command('leave');
    } finally {
      admin.disconnect();
    }
  });
});

describe('serverless offline: resume and ordered signals', { timeout: 30_000 }, () => {
  const candidate = (n: number) => ({
    type: 'candidate' as const,
    candidate: { candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 5${n}000 typ host`, sdpMid: '0' },
  });

  /** Asks a new connection for its session (queued at once with `join`); returns the `session` payload. */
  async function open(c: FrameClient, payload: object = { join: true }) {
    expect(await c.command('resume', payload)).toEqual({ ok: true });
    return c.event('session');
  }

  it('a client that drops for 2 s while its partner sends 4 signals resumes with all 4, once, in order; the pair goes on', async () => {
    const [a, b] = [await client(), await client()];
    const session = await open(a);
    expect(session).toEqual({ id: expect.stringMatching(/^[\w-]{22}$/), resumed: false });
    await open(b);
    const room = (await a.event('paired')).room;
    await b.event('paired');

    // Gone without a goodbye: the TCP connection is cut.
    const lastSeq = a.lastSeq();
    a.ws.terminate();
    await logged('connection dropped; its session stays resumable for the grace');
    for (let i = 1; i <= 4; i++) expect(await b.command('signal', candidate(i))).toEqual({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const again = await client();
    expect(await again.command('resume', { session: session.id, lastSeq })).toEqual({ ok: true });
    expect(again.events[0]).toEqual({ type: 'session', payload: { id: session.id, resumed: true } });
    await again.until(() => again.count('signal') >= 4, 'the four signals');
    expect(again.signals()).toEqual([1, 2, 3, 4].map((i) => ({ seq: lastSeq + i, payload: candidate(i) })));
    expect(again.count('signal')).toBe(4);
    expect(again.count('partner-left') + b.count('partner-left')).toBe(0);

    // The pair goes on, both ways, on the same room.
    const answer = { type: 'answer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
    expect(await again.command('signal', answer)).toEqual({ ok: true });
    expect(await b.event('signal')).toEqual(answer);
    expect(await b.command('signal', candidate(5))).toEqual({ ok: true });
    await again.until(() => again.count('signal') === 5, 'the fifth signal');
    expect(again.signals().at(-1)).toEqual({ seq: lastSeq + 5, payload: candidate(5) });
    expect(again.events.filter((e) => e.type === 'signal').map((e) => (e as { room?: string }).room)).toEqual(
      Array(5).fill(room),
    );
    await Promise.all([again.command('bye'), b.command('bye')]);
  });

  it('a resume of a session the server does not know answers resumed: false, with a new session', async () => {
    const c = await client();
    expect(await c.command('resume', { session: 'AAAAAAAAAAAAAAAAAAAAAA', lastSeq: 7 })).toEqual({ ok: true });
    const session = await c.event('session');
    expect(session).toEqual({ id: expect.stringMatching(/^[\w-]{22}$/), resumed: false });
    expect(session.id).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
    // Numbered from 1, like any new session.
    expect(await c.command('join')).toEqual({ ok: true, status: 'waiting' });
    expect(c.events.find((e) => e.type === 'waiting')?.seq).toBe(1);
    await c.command('bye');
  });

  it('10 candidates sent back to back, without waiting for acks, reach the partner in the order sent', async () => {
    const [a, b] = await pair();
    // Ten frames at once start ten invocations: warm ten workers first, as a busy Lambda fleet is
    // (from another connection: the ten signals take all of a's candidate budget, 2 × 5 a window).
    const warmer = await client();
    await Promise.all(Array.from({ length: 10 }, () => warmer.command('ping')));
    const sent = Array.from({ length: 10 }, (_, i) => candidate(i + 1));
    const acks = sent.map((signal, i) =>
      a.raw(JSON.stringify({ action: 'signal', id: 100 + i, payload: signal, cseq: i + 1 }), 100 + i),
    );
    expect(await Promise.all(acks)).toEqual(Array(10).fill({ ok: true }));
    await b.until(() => b.count('signal') >= 10, 'ten signals');
    expect(b.signals().map((s) => s.payload)).toEqual(sent);
    await Promise.all([a.command('leave'), b.command('leave')]);
  });
});

/** A documented command run as written, from the repository's folder; its output read as it comes. */
function runDocumented(command: string, args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(command, args, {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: 'pipe',
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  return {
    child,
    exited,
    printed: (pattern: RegExp) =>
      vi.waitFor(() => expect(output).toMatch(pattern), { timeout: WAIT_MS, interval: 50 }).then(() => output),
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

describe('serverless offline: the client code of the docs, as written', { timeout: 30_000 }, () => {
  it('docs/deploy.md: the by-hand client joins, and a refused command without an id gets an error event', async () => {
    const script = docSnippet('docs/deploy.md', 'offline-by-hand').replaceAll('ws://127.0.0.1:3001', offline.wsUrl);
    const run = runDocumented('sh', ['-c', script]);
    try {
      run.child.stdin.write('{"action":"join","id":1}\n');
      // Waiting, or paired with a client another test left in the queue.
      await run.printed(/^< \{"type":"ack","id":1,"payload":\{"ok":true,"status":"(waiting|paired)"\}\}$/m);
      run.child.stdin.write('{"action":"join"}\n');
      await run.printed(/^< \{"type":"error","payload":\{"code":"ALREADY_(WAITING|PAIRED)","message":"[^"]+"\}\}$/m);
      run.child.stdin.end();
      const [code] = await run.exited;
      expect(code).toBe(0);
    } finally {
      await run.stop();
    }
  });

  it('docs/protocol.md: the plain-WebSocket example sends one command at a time, each after the last ack', async () => {
    const example = docSnippet('docs/protocol.md', 'plain-websocket-client').replaceAll(
      'wss://abc123.execute-api.eu-west-1.amazonaws.com/prod',
      offline.wsUrl,
    );
    // Node 20 has no global WebSocket (browsers and Node 22 have). Two more commands fired at once
    // after the example's join: in order only if each waits for the previous ack.
    const script = `import WebSocket from 'ws';\nglobalThis.WebSocket = WebSocket;\n${example}
ws.addEventListener('open', async () => {
  console.log('then:', JSON.stringify(await Promise.all([command('leave'), command('join')])));
  ws.close();
});`;
    const run = runDocumented(process.execPath, ['--input-type=module', '-e', script]);
    try {
      await run.printed(/^join: \{ ok: true, status: '(waiting|paired)' \}$/m);
      await run.printed(/^then: \[\{"ok":true,"status":"idle"\},\{"ok":true,"status":"(waiting|paired)"\}\]$/m);
    } finally {
      await run.stop();
    }
  });
});
