/**
 * WebSocketSignalingClient, the plain-WebSocket transport of the API Gateway deployment, against
 * a real `serverless offline` (the built Lambda handlers) and a real Redis: pairing, relaying,
 * commands in order (signals back to back), resume after a drop with nothing lost, and the chat
 * SDK on top of it, up to an open DataChannel between two werift peers. Transport mechanics that
 * need a misbehaving server (silence, events out of order, a dropped connection at a chosen
 * moment) use a plain `ws` server started here.
 */

import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { weriftPeerConnection } from '../src/cli/werift-peer.js';
import { ChatClient, type ChatEvents } from '../src/client/chat/index.js';
import {
  type Signaling,
  type SignalingClient,
  type WebSocketConstructor,
  WebSocketSignalingClient,
  type WebSocketSignalingClientOptions,
} from '../src/client/index.js';
import type { JoinPreferences, Signal } from '../src/protocol/messages.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { type ServerlessOffline, startServerlessOffline } from './helpers/serverless-offline.js';

const PREFIX = 'wsclient:';
/** RESUME_GRACE_MS here: longer than the 2-second drop the resume test makes, short enough to wait out. */
const GRACE_MS = 6000;

let redis: RedisServer;
let sls: ServerlessOffline;
let store: Redis;
let clients: WebSocketSignalingClient[] = [];
let chats: ChatClient<WebSocketSignalingClient>[] = [];
let servers: WebSocketServer[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // No STUN server: the werift peers find each other on host candidates, with no network lookup.
  sls = await startServerlessOffline({
    REDIS_URL: redis.url,
    REDIS_PREFIX: PREFIX,
    ICE_SERVERS: '[]',
    RESUME_GRACE_MS: String(GRACE_MS),
  });
  store = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await store.connect();
}, 60_000);

afterAll(async () => {
  store?.disconnect();
  await sls?.stop();
  await redis?.stop();
}, 30_000);

afterEach(async () => {
  for (const chat of chats) chat.close();
  for (const client of clients) client.close();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  chats = [];
  clients = [];
  servers = [];
  // The Lambdas run $disconnect after the fact, and a session that dropped lasts its grace: wait
  // until no session is left, so the next test cannot be paired with a leftover from this one.
  await until(async () => (await sessions()).length === 0, 'the sessions of the last test to end', GRACE_MS * 2);
}, GRACE_MS * 3);

function client(options: WebSocketSignalingClientOptions = {}, url = sls.wsUrl): WebSocketSignalingClient {
  const created = new WebSocketSignalingClient(url, { WebSocket, ackTimeoutMs: 5000, ...options });
  clients.push(created);
  return created;
}

/** Two connected clients in one pair: `a` waited first, so it is the initiator. */
async function pair(): Promise<[WebSocketSignalingClient, WebSocketSignalingClient, string]> {
  const a = client();
  const b = client();
  await Promise.all([a.connected(), b.connected()]);
  expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
  const [pairedA, pairedB, ack] = await Promise.all([a.once('paired'), b.once('paired'), b.join()]);
  expect(ack).toEqual({ ok: true, status: 'paired' });
  expect(pairedA.room).toBe(pairedB.room);
  return [a, b, pairedA.room];
}

/** The ids of the sessions the server knows, from Redis itself. */
async function sessions(): Promise<string[]> {
  const keys = await store.keys(`${PREFIX}s:*`);
  return keys.map((key) => key.slice(`${PREFIX}s:`.length)).sort();
}

function queue(): Promise<string[]> {
  return store.zrange(`${PREFIX}q`, '0', '-1');
}

/** The API Gateway connection that carries a session now, from Redis itself. */
async function connectionOf(session: string | undefined): Promise<string | null> {
  return store.get(`${PREFIX}at:${session}`);
}

/** Drops a connection from the server side, as API Gateway does (the management API's DELETE). */
async function drop(connectionId: string | null): Promise<void> {
  if (!connectionId) throw new Error('no connection to drop');
  const response = await fetch(`${sls.managementUrl}/@connections/${encodeURIComponent(connectionId)}`, {
    method: 'DELETE',
    signal: AbortSignal.timeout(5000),
  });
  expect(response.status).toBeLessThan(300);
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `ws`'s WebSocket, writing down every frame it sends and receives, in order (received ones
 * before the client sees them).
 */
function recordingWebSocket(log: string[]): WebSocketConstructor {
  return class RecordingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      this.addEventListener('message', (event) => log.push(`in ${String(event.data)}`));
    }

    override send(data: string): void {
      log.push(`out ${data}`);
      super.send(data);
    }
  };
}

/**
 * `count` frames at once start as many invocations, each a worker thread under serverless offline:
 * this starts them (pings from a connection of its own), as a busy Lambda fleet is warm, so that
 * a test's frames do not wait for cold starts.
 */
async function warmWorkers(count: number): Promise<void> {
  const ws = new WebSocket(sls.wsUrl);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let acks = 0;
  const acked = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      if (String(data).includes('"type":"ack"') && ++acks === count) resolve();
    });
  });
  for (let id = 1; id <= count; id++) ws.send(JSON.stringify({ action: 'ping', id }));
  await acked;
  ws.send(JSON.stringify({ action: 'bye' }));
  ws.close();
}

/** `ws`'s WebSocket, counting the connections it attempts. */
function countingWebSocket(counter: { attempts: number }): WebSocketConstructor {
  return class CountingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      counter.attempts++;
    }
  };
}

interface DoubleFrame {
  action: string;
  id: number;
  payload?: unknown;
  cseq?: number;
}

/** `ws`'s WebSocket behind a switch: off, it cuts every open socket (no goodbye) and fails new ones, as a lost network does. */
function switchableNetwork() {
  const sockets = new Set<WebSocket>();
  let up = true;
  class SwitchedWebSocket extends WebSocket {
    constructor(url: string) {
      // Port 1: nothing listens there, so the attempt fails at once.
      super(up ? url : 'ws://127.0.0.1:1');
      sockets.add(this);
      this.addEventListener('close', () => sockets.delete(this));
    }
  }
  return {
    WebSocket: SwitchedWebSocket as WebSocketConstructor,
    down() {
      up = false;
      for (const socket of sockets) socket.terminate();
    },
    up() {
      up = true;
    },
  };
}

/** Answers a `resume` as the server does: `session` (the claimed one, resumed, or a new one), then the ack. */
function answerResume(frame: DoubleFrame, socket: WebSocket, resumed = true): void {
  const claimed = (frame.payload as { session?: string } | undefined)?.session;
  const id = claimed !== undefined && resumed ? claimed : `double-session-${Math.random().toString(36).slice(2)}`;
  socket.send(JSON.stringify({ type: 'session', payload: { id, resumed: claimed !== undefined && resumed } }));
  if (frame.id !== undefined) socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true } }));
}

/**
 * A `ws` server on 127.0.0.1 whose behaviour the test decides, with every frame it received. It
 * answers `resume` frames as the server would (`onResume` to do otherwise); they are kept apart.
 */
async function testDouble(
  onFrame: (frame: DoubleFrame, socket: WebSocket, nth: number) => void,
  onResume: (frame: DoubleFrame, socket: WebSocket, nth: number) => void = (frame, socket) =>
    answerResume(frame, socket),
) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const frames: DoubleFrame[] = [];
  const resumes: DoubleFrame[] = [];
  let connections = 0;
  server.on('connection', (socket) => {
    const nth = ++connections;
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as DoubleFrame;
      if (frame.action === 'resume') {
        resumes.push(frame);
        onResume(frame, socket, nth);
        return;
      }
      frames.push(frame);
      onFrame(frame, socket, nth);
    });
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    frames,
    resumes,
    connections: () => connections,
  };
}

const candidate: Signal = {
  type: 'candidate',
  candidate: {
    candidate: 'candidate:1 1 udp 2122260223 192.0.2.7 54400 typ host generation 0',
    sdpMid: '0',
    sdpMLineIndex: 0,
    usernameFragment: 'aBcD',
  },
};

/** Candidate number `n`, told apart by its foundation and port. */
const numbered = (n: number): Signal => ({
  type: 'candidate',
  candidate: { candidate: `candidate:${n} 1 udp 2122260223 192.0.2.7 ${54400 + n} typ host`, sdpMid: '0' },
});

describe('WebSocketSignalingClient against serverless offline', () => {
  it('connects, joins and pairs: acks of the documented shape, exactly one initiator', async () => {
    const a = client();
    const b = client();
    await Promise.all([a.connected(), b.connected()]);
    // A session of its own, a secret that is not the API Gateway connection's id, and resumable.
    expect(a.sessionId).toMatch(/^[\w-]{22}$/);
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(await connectionOf(a.sessionId)).not.toBe(a.sessionId);
    expect(a.resumes).toBe(true);

    const waiting = a.once('waiting');
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    expect(await waiting).toEqual({});

    const [pairedA, pairedB, ack] = await Promise.all([a.once('paired'), b.once('paired'), b.join()]);
    expect(ack).toEqual({ ok: true, status: 'paired' });
    expect(pairedA).toEqual({ room: expect.any(String), initiator: true, iceServers: [], commonInterests: [] });
    expect(pairedB).toEqual({ room: pairedA.room, initiator: false, iceServers: [], commonInterests: [] });

    // A refusal is an ack too, with the error body.
    expect(await b.join()).toEqual({ ok: false, error: { code: 'ALREADY_PAIRED', message: expect.any(String) } });
  });

  it('relays a signal to the partner unchanged, both ways', async () => {
    const [a, b] = await pair();
    const atB = b.once('signal');
    expect(await a.signal(candidate)).toEqual({ ok: true });
    expect(await atB).toEqual(candidate);

    const answer: Signal = { type: 'answer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
    const atA = a.once('signal');
    expect(await b.signal(answer)).toEqual({ ok: true });
    expect(await atA).toEqual(answer);
  });

  it('sends commands in order: each after the ack of the one before (signals aside)', async () => {
    const a = client();
    await a.connected();
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });

    // Fired without awaiting, before b is even connected. Had `signal` overtaken `join` on the
    // concurrent Lambdas it would be NOT_PAIRED; had `leave` overtaken `next`, b would end up queued.
    const log: string[] = [];
    const b = client({ WebSocket: recordingWebSocket(log) });
    const settled: string[] = [];
    const track = <T>(name: string, ack: Promise<T>) => ack.finally(() => settled.push(name));
    const offerAtA = a.once('signal');
    const offer: Signal = { type: 'offer', sdp: 'v=0\r\ns=ordering\r\n' };
    const acks = await Promise.all([
      track('join', b.join()),
      track('signal', b.signal(offer)),
      track('next', b.next()),
      track('leave', b.leave()),
    ]);

    expect(acks).toEqual([
      { ok: true, status: 'paired' },
      { ok: true },
      // `next` ended the pair (a is told, and not queued again) and queued b alone.
      { ok: true, status: 'waiting' },
      { ok: true, status: 'idle' },
    ]);
    expect(settled).toEqual(['join', 'signal', 'next', 'leave']);
    expect(await offerAtA).toEqual(offer);
    // The end state: both connected, neither queued.
    expect(await queue()).toEqual([]);
    expect(await sessions()).toHaveLength(2);

    // On the wire: the connection's resume first, then each frame only after the ack of the one
    // before it came in (a signal after a join waits too: it needs the pair the join makes).
    // The client's own event acknowledgements (every ~500 ms) are no commands: when they fall in
    // depends on the machine's speed.
    const wire = log.filter(
      (line) => (line.startsWith('out ') && !line.includes('"action":"ack"')) || line.includes('"type":"ack"'),
    );
    expect(wire.map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)) as unknown)).toEqual([
      { action: 'resume', id: 1, payload: {} },
      { type: 'ack', id: 1, payload: { ok: true } },
      { action: 'join', id: 2 },
      { type: 'ack', id: 2, payload: acks[0] },
      { action: 'signal', id: 3, payload: offer, cseq: 1 },
      { type: 'ack', id: 3, payload: acks[1] },
      { action: 'next', id: 4 },
      { type: 'ack', id: 4, payload: acks[2] },
      { action: 'leave', id: 5 },
      { type: 'ack', id: 5, payload: acks[3] },
    ]);
  });

  it('leave: the partner hears partner-left with reason "leave"', async () => {
    const [a, b, room] = await pair();
    const left = a.once('partner-left');
    expect(await b.leave()).toEqual({ ok: true, status: 'idle' });
    expect(await left).toEqual({ room, reason: 'leave' });
    expect(await a.signal(candidate)).toEqual({
      ok: false,
      error: { code: 'NOT_PAIRED', message: expect.any(String) },
    });
  });

  it('pings on the keep-alive interval, through the same queue, acked {ok: true}', async () => {
    const log: string[] = [];
    const a = client({ keepAliveMs: 100, WebSocket: recordingWebSocket(log) });
    await a.connected();
    const before = a.sessionId;
    await until(() => log.filter((line) => line.includes('"type":"ack"')).length >= 4, 'three ping acks');
    // Commands still get through between pings, on the same session.
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    expect(await queue()).toEqual([before]);
    const frames = log.map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)) as { id: number });
    expect(frames.slice(0, 7)).toEqual([
      { action: 'resume', id: 1, payload: {} },
      { type: 'session', payload: { id: before, resumed: false } },
      { type: 'ack', id: 1, payload: { ok: true } },
      { action: 'ping', id: 2 },
      { type: 'ack', id: 2, payload: { ok: true } },
      { action: 'ping', id: 3 },
      { type: 'ack', id: 3, payload: { ok: true } },
    ]);
  });

  it('reconnects after the server drops the connection and resumes its session: still queued, onConnect again', async () => {
    const a = client({ reconnectDelayMs: 50 });
    let connects = 0;
    a.onConnect(() => connects++);
    await a.connected();
    const session = a.sessionId;
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    const first = await connectionOf(session);

    await drop(first);
    await until(() => connects === 2, 'the reconnection');
    // The same session, carried by the new connection, in its place in the queue.
    expect(a.sessionId).toBe(session);
    expect(await connectionOf(session)).not.toBe(first);
    expect(await queue()).toEqual([session]);
    expect(await sessions()).toEqual([session]);
    expect(await a.join()).toMatchObject({ ok: false, error: { code: 'ALREADY_WAITING' } });
  });

  it('a client that drops for 2 s while its partner sends 4 signals resumes with all 4, once, in order, and the pair goes on', async () => {
    const network = switchableNetwork();
    const a = client({ WebSocket: network.WebSocket, reconnectDelayMs: 100, maxReconnectDelayMs: 200 });
    const b = client();
    await Promise.all([a.connected(), b.connected()]);
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    const [, , ack] = await Promise.all([a.once('paired'), b.once('paired'), b.join()]);
    expect(ack).toEqual({ ok: true, status: 'paired' });
    const got: Signal[] = [];
    a.on('signal', (signal) => got.push(signal));
    let connects = 0;
    a.onConnect(() => connects++);
    await until(() => connects === 1, 'the first onConnect');
    const session = a.sessionId;

    // The network goes: no goodbye. Once the server noticed, the partner sends four signals.
    network.down();
    await until(async () => (await connectionOf(session)) === null, 'the server to notice the drop');
    const sent = [1, 2, 3, 4].map(numbered);
    for (const signal of sent) expect(await b.signal(signal)).toEqual({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    network.up();

    await until(() => got.length >= 4 && connects === 2, 'the resume and the four signals');
    expect(a.sessionId).toBe(session);
    expect(got).toEqual(sent);
    // The pair goes on, both ways; nothing came twice.
    const answer: Signal = { type: 'answer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
    const atB = b.once('signal');
    expect(await a.signal(answer)).toEqual({ ok: true });
    expect(await atB).toEqual(answer);
    expect(await b.signal(numbered(5))).toEqual({ ok: true });
    await until(() => got.length >= 5, 'the fifth signal');
    expect(got).toEqual([...sent, numbered(5)]);
  });

  it('sends signals back to back without waiting for acks; the partner gets them in the order sent', async () => {
    const log: string[] = [];
    const a = client({ WebSocket: recordingWebSocket(log) });
    const b = client();
    await Promise.all([a.connected(), b.connected()]);
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    await Promise.all([a.once('paired'), b.once('paired'), b.join()]);
    await warmWorkers(10);
    const got: Signal[] = [];
    b.on('signal', (signal) => got.push(signal));

    const sent = Array.from({ length: 10 }, (_, i) => numbered(i + 1));
    const acks = await Promise.all(sent.map((signal) => a.signal(signal)));
    expect(acks).toEqual(Array(10).fill({ ok: true }));
    await until(() => got.length >= 10, 'ten signals');
    expect(got).toEqual(sent);
    // On the wire: all ten left before the first of their acks came back, numbered in order.
    const frames = log.map((line) => ({ line, frame: JSON.parse(line.slice(line.indexOf(' ') + 1)) }));
    const signals = frames.filter(({ frame }) => frame.action === 'signal');
    expect(signals.map(({ frame }) => frame.cseq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const signalIds = new Set(signals.map(({ frame }) => frame.id));
    const firstAck = frames.findIndex(({ frame }) => frame.type === 'ack' && signalIds.has(frame.id));
    const lastSent = frames.indexOf(signals.at(-1) as (typeof frames)[number]);
    expect(lastSent).toBeLessThan(firstAck);
  });

  it('a client that never comes back: its partner hears partner-left once the grace is over', async () => {
    const a = client({ reconnect: false });
    const b = client();
    await Promise.all([a.connected(), b.connected()]);
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    const [paired] = await Promise.all([b.once('paired'), a.once('paired'), b.join()]);
    const left = b.once('partner-left', GRACE_MS * 3);
    await drop(await connectionOf(a.sessionId));
    // $disconnect waits for nothing: once the grace is over, the next invocation or the scheduled
    // sweep (every minute on AWS) tells the partner. Here nobody else calls in: run the sweep.
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));
    await sls.invoke('sweep');
    expect(await left).toEqual({ room: paired.room, reason: 'disconnect' });
  }, 30_000);

  it('a waiting client whose fallback passes pings, and is paired with anyone then, with nobody else joining', async () => {
    const log: string[] = [];
    // No keep-alive to speak of (5 min): the only pings are the ones the fallbacks call for.
    const a = client({ WebSocket: recordingWebSocket(log) });
    const b = client();
    await Promise.all([a.connected(), b.connected()]);
    const paired = Promise.all([a.once('paired', 8000), b.once('paired', 8000)]);
    expect(await a.join({ interests: ['chess'], fallbackMs: 1000 })).toEqual({ ok: true, status: 'waiting' });
    expect(await b.join({ interests: ['go'], fallbackMs: 1000 })).toEqual({ ok: true, status: 'waiting' });
    const [pa, pb] = await paired;
    expect(pa).toMatchObject({ room: pb.room, initiator: true, commonInterests: [] });
    expect(pb).toMatchObject({ initiator: false, commonInterests: [] });
    // One ping for the one fallback that passed while a was waiting.
    expect(log.filter((line) => line.startsWith('out {"action":"ping"'))).toHaveLength(1);
  });

  it('close() says goodbye: the partner hears partner-left at once, not after the grace', async () => {
    const [a, b, room] = await pair();
    // Well within the grace: a drop would only be told after it.
    const left = b.once('partner-left', GRACE_MS / 2);
    a.close();
    expect(await left).toEqual({ room, reason: 'disconnect' });
  });
});

describe('WebSocketSignalingClient transport mechanics (a ws test double)', () => {
  it('frames commands with increasing ids after its resume; a missing ack times out with a clear error', async () => {
    const silent = await testDouble(() => {});
    const c = client({ ackTimeoutMs: 150, reconnect: false }, silent.url);
    await c.connected();
    expect(silent.resumes).toEqual([{ action: 'resume', id: 1, payload: {} }]);
    const started = Date.now();
    await expect(c.join()).rejects.toThrow(/no "join" ack within 150 ms \(timed out after it was sent\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    // The queue moves on after a timeout.
    await expect(c.signal(candidate)).rejects.toThrow(/no "signal" ack within 150 ms/);
    expect(silent.frames).toEqual([
      { action: 'join', id: 2 },
      { action: 'signal', id: 3, payload: candidate, cseq: 1 },
    ]);
  });

  it('sends its preferences in every resume: the option, then those of a join, then setPreferences', async () => {
    const double = await testDouble((frame, socket) => {
      socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true, status: 'waiting' } }));
      // Cut after each join, so the next resume shows what the client would send now.
      if (frame.action === 'join') socket.terminate();
    });
    const jazz = { interests: ['jazz'], fallbackMs: null };
    const c = client({ preferences: jazz, reconnectDelayMs: 10, maxReconnectDelayMs: 20 }, double.url);
    c.queueOnConnect(() => true);
    await c.connected();
    expect(double.resumes[0]?.payload).toEqual({ join: true, interests: ['jazz'], fallbackMs: null });
    expect(await c.join({ interests: ['go'], lang: 'en' })).toMatchObject({ ok: true });
    await until(() => double.resumes.length === 2, 'the second resume');
    expect(double.resumes[1]?.payload).toEqual({
      session: expect.any(String),
      lastSeq: 0,
      join: true,
      interests: ['go'],
      lang: 'en',
    });
    // A join without preferences sends the current ones.
    expect(await c.join()).toMatchObject({ ok: true });
    expect(double.frames.map((frame) => frame.payload)).toEqual([
      { interests: ['go'], lang: 'en' },
      { interests: ['go'], lang: 'en' },
    ]);
    await until(() => double.resumes.length === 3, 'the third resume');
    c.setPreferences(undefined);
    expect(await c.join()).toMatchObject({ ok: true });
    await until(() => double.resumes.length === 4, 'the fourth resume');
    expect(double.resumes[3]?.payload).toEqual({ session: expect.any(String), lastSeq: 0, join: true });
  });

  it('pings once when its fallback passes while it still waits; not once paired, nor when it never falls back', async () => {
    // Who pinged, by the interests its connection joined with.
    const joinedWith = new Map<number, string>();
    const pinged: string[] = [];
    const double = await testDouble((frame, socket, nth) => {
      if (frame.action === 'ping') pinged.push(joinedWith.get(nth) ?? 'no join');
      if (frame.action === 'join') {
        const { interests } = frame.payload as { interests: string[] };
        joinedWith.set(nth, interests.join());
        socket.send(JSON.stringify({ type: 'waiting', payload: {}, seq: 1 }));
        // Someone shares "go" at once.
        if (interests.includes('go')) {
          const paired = { room: 'r', initiator: false, iceServers: [], commonInterests: ['go'] };
          socket.send(JSON.stringify({ type: 'paired', payload: paired, seq: 2 }));
        }
      }
      socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true } }));
    });
    const [waits, pairs, patient] = [client({}, double.url), client({}, double.url), client({}, double.url)];
    await Promise.all([waits.connected(), pairs.connected(), patient.connected()]);
    await waits.join({ interests: ['chess'], fallbackMs: 50 });
    await pairs.join({ interests: ['go'], fallbackMs: 50 });
    await patient.join({ interests: ['jazz'], fallbackMs: null });
    await until(() => pinged.length === 1, 'the fallback ping');
    // Well past every fallback: that ping was the only one, from the one still waiting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pinged).toEqual(['chess']);
  });

  it('is not connected until its resume is answered, and starts over when it is not', async () => {
    const deaf = await testDouble(
      () => {},
      () => {},
    );
    const c = client({ ackTimeoutMs: 150, reconnectDelayMs: 20, maxReconnectDelayMs: 40 }, deaf.url);
    await expect(c.connected(100)).rejects.toThrow(/not connected within 100 ms/);
    await until(() => deaf.connections() >= 2, 'a second connection');
    expect(deaf.frames).toEqual([]);
  });

  it('ignores junk, unknown event types and acks for nobody; emits known events', async () => {
    const double = await testDouble((frame, socket) => {
      socket.send('not json');
      socket.send(JSON.stringify({ type: 'mystery', payload: 1 }));
      socket.send(JSON.stringify(42));
      socket.send(JSON.stringify({ type: 'ack', id: 999, payload: { ok: true } }));
      socket.send(JSON.stringify({ type: 'waiting', payload: {} }));
      socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true, status: 'waiting' } }));
    });
    const c = client({ reconnect: false }, double.url);
    const waiting = c.once('waiting', 2000);
    expect(await c.join()).toEqual({ ok: true, status: 'waiting' });
    expect(await waiting).toEqual({});
  });

  it('drops a relayed signal of a pair that is over or not its own (API Gateway relays without rooms)', async () => {
    const signal = (room: string, n: number) =>
      JSON.stringify({ type: 'signal', room, payload: { type: 'offer', sdp: `v=${n}` } });
    const paired = (room: string) =>
      JSON.stringify({ type: 'paired', payload: { room, initiator: false, iceServers: [], commonInterests: [] } });
    let nexts = 0;
    const double = await testDouble((frame, socket) => {
      if (frame.action === 'next' && nexts++ === 0) {
        // Refused (clicked too quickly): the pair goes on, and so do its signals.
        socket.send(signal('r2', 6));
        const refused = { ok: false, error: { code: 'RATE_LIMITED', message: 'too many messages', retryAfterMs: 500 } };
        socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: refused }));
        return;
      }
      if (frame.action === 'join') {
        socket.send(signal('r1', 0)); // before its pair is announced: not this client's yet
        socket.send(paired('r1'));
        socket.send(signal('r1', 1));
        socket.send(JSON.stringify({ type: 'partner-left', payload: { room: 'r1', reason: 'next' } }));
        socket.send(signal('r1', 2)); // raced the partner's next
        socket.send(paired('r2'));
        socket.send(signal('r1', 3)); // arrived after the new pair
        socket.send(signal('r2', 4));
        socket.send(JSON.stringify({ type: 'signal', payload: { type: 'offer', sdp: 'v=5' } })); // no room: kept
      } else if (frame.action === 'next') {
        // As the server does: the `waiting` that `next` led to comes before its ack.
        socket.send(JSON.stringify({ type: 'waiting', payload: {} }));
        socket.send(signal('r2', 7)); // after this client's own next
      }
      socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true, status: 'waiting' } }));
    });
    const c = client({ reconnect: false }, double.url);
    const got: string[] = [];
    c.on('signal', (s) => got.push(s.type === 'offer' ? s.sdp : s.type));
    await c.join();
    expect(await c.next()).toMatchObject({ ok: false });
    expect(await c.next()).toMatchObject({ ok: true });
    await c.leave();
    expect(got).toEqual(['v=1', 'v=4', 'v=5', 'v=6']);
  });

  it('refuses a message too big for one API Gateway frame with PAYLOAD_TOO_LARGE, and sends nothing', async () => {
    const double = await testDouble((frame, socket) => {
      socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true } }));
    });
    const c = client({ reconnect: false }, double.url);
    await c.connected();
    const ack = await c.signal({ type: 'offer', sdp: 'a'.repeat(33_000) });
    expect(ack).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(await c.signal({ type: 'offer', sdp: 'a'.repeat(30_000) })).toEqual({ ok: true });
    expect(double.frames.map((f) => f.action)).toEqual(['signal']);
  });

  it('close() rejects the command in flight and the queued ones at once, and never reconnects', async () => {
    const silent = await testDouble(() => {});
    const c = client({ ackTimeoutMs: 5000, reconnectDelayMs: 20 }, silent.url);
    await c.connected();
    const inFlight = c.join();
    const queued = c.next();
    await until(() => silent.frames.length === 1, 'the first frame');
    const started = Date.now();
    c.close();
    await expect(inFlight).rejects.toThrow(/closed/);
    await expect(queued).rejects.toThrow(/closed/);
    expect(Date.now() - started).toBeLessThan(100);
    await expect(c.leave()).rejects.toThrow(/closed/);
    await expect(c.connected()).rejects.toThrow(/closed/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(silent.connections()).toBe(1);
    // Only the first command was sent (the second never left the queue), then the goodbye.
    expect(silent.frames).toEqual([{ action: 'join', id: 2 }, { action: 'bye' }]);
  });

  it('after a drop: the command in flight rejects, queued ones wait and go through after the reconnection', async () => {
    const double = await testDouble((frame, socket, nth) => {
      // The first connection dies on its first frame, unanswered; later ones echo acks.
      if (nth === 1) socket.terminate();
      else socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true, status: 'waiting' } }));
    });
    const c = client({ reconnectDelayMs: 50 }, double.url);
    let connects = 0;
    c.onConnect(() => connects++);
    await c.connected();

    const inFlight = c.join();
    const queued = c.next();
    let duringGap: Promise<unknown> | undefined;
    await expect(
      inFlight.catch((error: Error) => {
        // Issued while disconnected: it waits for the next connection.
        expect(connects).toBe(1);
        duringGap = c.leave();
        throw error;
      }),
    ).rejects.toThrow(/connection closed before the "join" ack/);

    expect(await queued).toEqual({ ok: true, status: 'waiting' });
    expect(await duringGap).toEqual({ ok: true, status: 'waiting' });
    expect(connects).toBe(2);
    expect(double.connections()).toBe(2);
    expect(double.frames.map(({ action, id }) => [action, id])).toEqual([
      ['join', 2],
      ['next', 4],
      ['leave', 5],
    ]);
    // The second connection claimed the session the first was told about.
    const [first, second] = double.resumes;
    expect(first).toEqual({ action: 'resume', id: 1, payload: {} });
    expect(second).toEqual({ action: 'resume', id: 3, payload: { session: c.sessionId, lastSeq: 0 } });
  });

  it('puts events back in seq order, drops duplicates, and asks for a replay when a gap does not fill', async () => {
    const event = (type: string, payload: unknown, seq: number, room?: string) =>
      JSON.stringify(room === undefined ? { type, payload, seq } : { type, room, payload, seq });
    const offer = (n: number) => ({ type: 'offer', sdp: `v=${n}` });
    const double = await testDouble(
      (frame, socket) => {
        if (frame.action !== 'join') return;
        // Posts that overtook each other: 3 before 2, and 5 with 4 missing for good.
        socket.send(event('paired', { room: 'r', initiator: false, iceServers: [] }, 1));
        socket.send(event('signal', offer(3), 3, 'r'));
        socket.send(event('signal', offer(2), 2, 'r'));
        socket.send(event('signal', offer(2), 2, 'r'));
        socket.send(event('signal', offer(5), 5, 'r'));
        socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true, status: 'paired' } }));
      },
      (frame, socket) => {
        answerResume(frame, socket);
        // The replay the client asks for: everything after what it has in order.
        if ((frame.payload as { lastSeq?: number }).lastSeq === 3) {
          for (const n of [4, 5]) socket.send(event('signal', offer(n), n, 'r'));
        }
      },
    );
    const c = client({ reconnect: false, gapTimeoutMs: 50 }, double.url);
    const got: string[] = [];
    c.on('signal', (signal) => got.push(signal.type === 'offer' ? signal.sdp : signal.type));
    await c.join();
    await until(() => got.length === 4, 'four signals');
    expect(got).toEqual(['v=2', 'v=3', 'v=4', 'v=5']);
    expect(double.resumes.slice(1)).toEqual([{ action: 'resume', payload: { session: c.sessionId, lastSeq: 3 } }]);
  });

  it('signals in flight when the connection drops go again after the resume, with the same numbers', async () => {
    const double = await testDouble((frame, socket, nth) => {
      // The first connection takes three signals without answering, then dies.
      if (nth === 1) {
        if (frame.cseq === 3) socket.terminate();
        return;
      }
      socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true } }));
    });
    const c = client({ reconnectDelayMs: 20 }, double.url);
    await c.connected();
    const acks = await Promise.all([1, 2, 3].map((n) => c.signal(numbered(n))));
    expect(acks).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(double.frames.map(({ id, cseq }) => [id, cseq])).toEqual([
      // Back to back on the first connection; the same numbers again, first thing after the resume.
      [2, 1],
      [3, 2],
      [4, 3],
      [6, 1],
      [7, 2],
      [8, 3],
    ]);
  });

  it('signals in flight when the connection drops reject when the session did not survive', async () => {
    const double = await testDouble(
      (frame, socket, nth) => {
        if (nth === 1) socket.terminate();
        else socket.send(JSON.stringify({ type: 'ack', id: frame.id, payload: { ok: true } }));
      },
      // The second connection's claim is refused: a new session.
      (frame, socket, nth) => answerResume(frame, socket, nth === 1),
    );
    const c = client({ reconnectDelayMs: 20 }, double.url);
    await c.connected();
    const first = c.sessionId;
    const lost = c.signal(numbered(1));
    await expect(lost).rejects.toThrow(/the session ended before the "signal" ack/);
    await c.connected();
    expect(c.sessionId).not.toBe(first);
    // The new session numbers its signals from 1 again.
    expect(await c.signal(numbered(2))).toEqual({ ok: true });
    expect(double.frames.at(-1)).toMatchObject({ action: 'signal', cseq: 1 });
  });

  it('retries with capped exponential backoff while the server is unreachable, and stops when closed', async () => {
    // A port with nothing listening any more: every attempt fails at once.
    const gone = await testDouble(() => {});
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const counter = { attempts: 0 };
    const c = client(
      { WebSocket: countingWebSocket(counter), reconnectDelayMs: 20, maxReconnectDelayMs: 80, ackTimeoutMs: 1000 },
      gone.url,
    );
    await expect(c.connected(300)).rejects.toThrow(/not connected within 300 ms/);
    await expect(c.join()).rejects.toThrow(
      /no "join" ack within 1000 ms \(timed out while waiting for the connection\)/,
    );
    // Delays of 10-20, 20-40, then 40-80 ms each (half to all of the doubling, capped): in 1.3 s
    // somewhere between 18 and 34 attempts; with no backoff (20 ms) about 65, with no cap about 7.
    expect(counter.attempts).toBeGreaterThanOrEqual(12);
    expect(counter.attempts).toBeLessThanOrEqual(45);
    c.close();
    const after = counter.attempts;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(counter.attempts).toBe(after);
  });
});

describe('ChatClient over WebSocketSignalingClient (serverless offline)', () => {
  function chatter(
    options: WebSocketSignalingClientOptions = {},
    preferences?: JoinPreferences,
  ): ChatClient<WebSocketSignalingClient> {
    const transport = new WebSocketSignalingClient(sls.wsUrl, { WebSocket, ackTimeoutMs: 5000, ...options });
    const chat = new ChatClient(sls.wsUrl, {
      transport,
      createPeerConnection: weriftPeerConnection,
      openTimeoutMs: 10_000,
      ...(preferences ? { preferences } : {}),
    });
    chats.push(chat);
    return chat;
  }

  /** The next `event` of `chat`, or a rejection after `timeoutMs`. */
  function next<E extends keyof ChatEvents>(
    chat: ChatClient<Signaling>,
    event: E,
    timeoutMs = 10_000,
  ): Promise<ChatEvents[E]> {
    return chat.once(event, timeoutMs);
  }

  it('report: sent with a device token on the URL, filed with its evidence, the partner told; a repeat refused', async () => {
    const a = client({ device: 'plain-websocket-device-01' });
    const b = client({ device: 'plain-websocket-device-02' });
    await Promise.all([a.connected(), b.connected()]);
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    const [{ room }] = await Promise.all([a.once('paired'), b.join()]);
    const evidence = [{ from: 'partner' as const, text: 'über rude 👎', at: Date.now() }];
    const left = b.once('partner-left');

    const ack = await a.report({ room, reason: 'harassment', details: 'see evidence', evidence });

    expect(ack).toEqual({ ok: true, reportId: expect.any(String) });
    expect(await left).toEqual({ room, reason: 'next' });
    const entries = await store.xrange(`${PREFIX}reports`, '-', '+');
    expect(entries).toHaveLength(1);
    expect(JSON.stringify(entries[0])).toContain('über rude 👎');
    expect(await a.report({ room, reason: 'spam' })).toMatchObject({ ok: false, error: { code: 'ALREADY_REPORTED' } });
  });

  it('joins on connect, pairs, opens a DataChannel between werift peers and chats', async () => {
    const alice = chatter();
    expectTypeOf(alice.signaling).toEqualTypeOf<WebSocketSignalingClient>();
    await next(alice, 'waiting');
    const bob = chatter();
    const [pairedA, pairedB] = await Promise.all([next(alice, 'paired'), next(bob, 'paired')]);
    expect(pairedA.initiator).toBe(true);
    expect(pairedB.initiator).toBe(false);
    await Promise.all([next(alice, 'open'), next(bob, 'open')]);
    const heard = next(bob, 'message');
    alice.send('hello over API Gateway');
    expect((await heard).text).toBe('hello over API Gateway');
    expect(alice.state).toBe('open');
  }, 30_000);

  it('joins on connect with its preferences: an interest match, told to both, and never the waiting stranger', async () => {
    // Someone who takes anyone waits first: without its preferences, alice's automatic join would take it.
    const stranger = client();
    await stranger.connected();
    expect(await stranger.join()).toEqual({ ok: true, status: 'waiting' });
    const alice = chatter({}, { interests: ['Jazz', 'chess'], fallbackMs: null });
    await next(alice, 'waiting');
    const bob = chatter({}, { interests: ['go', 'JAZZ'], fallbackMs: null });
    const [pairedA, pairedB] = await Promise.all([next(alice, 'paired'), next(bob, 'paired')]);
    expect(pairedA).toMatchObject({ room: pairedB.room, initiator: true, commonInterests: ['jazz'] });
    expect(pairedB).toMatchObject({ initiator: false, commonInterests: ['jazz'] });
    expect(await queue()).toEqual([stranger.sessionId]);
  });

  it('a waiting chat dropped by the server resumes its place in the queue', async () => {
    const chat = chatter({ reconnectDelayMs: 50 });
    await next(chat, 'waiting');
    const session = chat.signaling.sessionId;
    let connects = 0;
    chat.signaling.onConnect(() => connects++);
    await until(() => connects === 1, 'the first onConnect');
    await drop(await connectionOf(session));
    await until(() => connects === 2, 'the reconnection');
    expect(chat.signaling.sessionId).toBe(session);
    expect(await queue()).toEqual([session]);
    expect(chat.state).toBe('waiting');
  });

  it('a chat whose connection the server drops resumes its pair: the partner hears nothing of it', async () => {
    const alice = chatter({ reconnectDelayMs: 50 });
    await next(alice, 'waiting');
    const bob = chatter();
    await Promise.all([next(alice, 'open'), next(bob, 'open')]);
    const left: string[] = [];
    alice.on('partner-left', () => left.push('alice'));
    bob.on('partner-left', () => left.push('bob'));
    let connects = 0;
    alice.signaling.onConnect(() => connects++);
    await until(() => connects === 1, 'the first onConnect');

    await drop(await connectionOf(alice.signaling.sessionId));
    await until(() => connects === 2, 'the reconnection');
    expect([alice.state, bob.state]).toEqual(['open', 'open']);
    // Still the same pair on the server: leaving it tells bob.
    const leftBob = next(bob, 'partner-left');
    expect(await alice.leave()).toEqual({ ok: true, status: 'idle' });
    expect((await leftBob).reason).toBe('leave');
    expect(left).toEqual(['bob']);
  });
});

describe('types', () => {
  it('the browser WebSocket and ws both fit WebSocketConstructor; both clients are Signaling', () => {
    expectTypeOf<typeof globalThis.WebSocket>().toExtend<WebSocketConstructor>();
    expectTypeOf<typeof WebSocket>().toExtend<WebSocketConstructor>();
    expectTypeOf<WebSocketSignalingClient>().toExtend<Signaling>();
    expectTypeOf<SignalingClient>().toExtend<Signaling>();
    // Never called: only its type matters (the socket.io default keeps `.socket` reachable).
    const socketIoChat = () => new ChatClient('http://127.0.0.1:1');
    expectTypeOf<ReturnType<typeof socketIoChat>['signaling']>().toEqualTypeOf<SignalingClient>();
  });
});
