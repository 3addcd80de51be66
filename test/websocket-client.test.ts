/**
 * WebSocketSignalingClient, the plain-WebSocket transport of the API Gateway deployment, against
 * a real `serverless offline` (the built Lambda handlers) and a real Redis: pairing, relaying,
 * one command in flight at a time, reconnection after the server drops the connection, and the
 * chat SDK on top of it, up to an open DataChannel between two werift peers. Transport mechanics
 * that need a misbehaving server (silence, a dropped connection at a chosen moment) use a plain
 * `ws` server started here.
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
import type { Signal } from '../src/protocol/messages.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { type ServerlessOffline, startServerlessOffline } from './helpers/serverless-offline.js';

const PREFIX = 'wsclient:';

let redis: RedisServer;
let sls: ServerlessOffline;
let store: Redis;
let clients: WebSocketSignalingClient[] = [];
let chats: ChatClient<WebSocketSignalingClient>[] = [];
let servers: WebSocketServer[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // No STUN server: the werift peers find each other on host candidates, with no network lookup.
  sls = await startServerlessOffline({ REDIS_URL: redis.url, REDIS_PREFIX: PREFIX, ICE_SERVERS: '[]' });
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
  // The Lambdas run $disconnect after the fact: wait until no session is left, so the next test
  // cannot be paired with a leftover from this one.
  await until(async () => (await sessions()).length === 0, 'the sessions of the last test to end');
});

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

/** The ids (API Gateway connection ids) of the sessions the server knows, from Redis itself. */
async function sessions(): Promise<string[]> {
  const keys = await store.keys(`${PREFIX}s:*`);
  return keys.map((key) => key.slice(`${PREFIX}s:`.length)).sort();
}

function queue(): Promise<string[]> {
  return store.zrange(`${PREFIX}q`, '0', '-1');
}

/** Drops a connection from the server side, as API Gateway does (the management API's DELETE). */
async function drop(connectionId: string): Promise<void> {
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

/** `ws`'s WebSocket, counting the connections it attempts. */
function countingWebSocket(counter: { attempts: number }): WebSocketConstructor {
  return class CountingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      counter.attempts++;
    }
  };
}

/** A `ws` server on 127.0.0.1 whose behaviour the test decides, with every frame it received. */
async function testDouble(onFrame: (frame: { action: string; id: number }, socket: WebSocket, nth: number) => void) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const frames: { action: string; id: number; payload?: unknown }[] = [];
  let connections = 0;
  server.on('connection', (socket) => {
    const nth = ++connections;
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { action: string; id: number };
      frames.push(frame);
      onFrame(frame, socket, nth);
    });
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    frames,
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

describe('WebSocketSignalingClient against serverless offline', () => {
  it('connects, joins and pairs: acks of the documented shape, exactly one initiator', async () => {
    const a = client();
    const b = client();
    await Promise.all([a.connected(), b.connected()]);
    expect(a.sessionId).toBeUndefined();
    expect(a.resumes).toBe(false);

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

  it('sends one command at a time: commands fired back to back are handled in order', async () => {
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

    // On the wire: each frame left only after the ack of the one before it came in.
    const wire = log.filter((line) => line.startsWith('out ') || line.includes('"type":"ack"'));
    expect(wire.map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)) as unknown)).toEqual([
      { action: 'join', id: 1 },
      { type: 'ack', id: 1, payload: acks[0] },
      { action: 'signal', id: 2, payload: offer },
      { type: 'ack', id: 2, payload: acks[1] },
      { action: 'next', id: 3 },
      { type: 'ack', id: 3, payload: acks[2] },
      { action: 'leave', id: 4 },
      { type: 'ack', id: 4, payload: acks[3] },
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
    const [before] = await sessions();
    await until(() => log.filter((line) => line.startsWith('in ')).length >= 3, 'three ping acks');
    // Commands still get through between pings, on the same session.
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    expect(await queue()).toEqual([before]);
    const frames = log.map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)) as { id: number });
    expect(frames.slice(0, 4)).toEqual([
      { action: 'ping', id: 1 },
      { type: 'ack', id: 1, payload: { ok: true } },
      { action: 'ping', id: 2 },
      { type: 'ack', id: 2, payload: { ok: true } },
    ]);
  });

  it('reconnects after the server drops the connection: a new session, onConnect again', async () => {
    const a = client({ reconnectDelayMs: 50 });
    let connects = 0;
    a.onConnect(() => connects++);
    await a.connected();
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    const [first] = await queue();
    expect(first).toBeDefined();

    await drop(first as string);
    await until(() => connects === 2, 'the reconnection');
    // The server ended the old session ($disconnect); the new connection is a new, idle session.
    await until(
      async () => (await sessions()).length === 1 && !(await sessions()).includes(first as string),
      '$disconnect',
    );
    expect(await queue()).toEqual([]);
    expect(await a.join()).toEqual({ ok: true, status: 'waiting' });
    const [second] = await queue();
    expect(second).not.toBe(first);
  });
});

describe('WebSocketSignalingClient transport mechanics (a ws test double)', () => {
  it('frames commands with increasing ids from 1; a missing ack times out with a clear error', async () => {
    const silent = await testDouble(() => {});
    const c = client({ ackTimeoutMs: 150, reconnect: false }, silent.url);
    await c.connected();
    const started = Date.now();
    await expect(c.join()).rejects.toThrow(/no "join" ack within 150 ms \(timed out after it was sent\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    // The queue moves on after a timeout.
    await expect(c.signal(candidate)).rejects.toThrow(/no "signal" ack within 150 ms/);
    expect(silent.frames).toEqual([
      { action: 'join', id: 1 },
      { action: 'signal', id: 2, payload: candidate },
    ]);
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
    // Only the first frame was sent: the second command never left the queue.
    expect(silent.frames).toEqual([{ action: 'join', id: 1 }]);
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
      ['join', 1],
      ['next', 2],
      ['leave', 3],
    ]);
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
  function chatter(options: WebSocketSignalingClientOptions = {}): ChatClient<WebSocketSignalingClient> {
    const transport = new WebSocketSignalingClient(sls.wsUrl, { WebSocket, ackTimeoutMs: 5000, ...options });
    const chat = new ChatClient(sls.wsUrl, {
      transport,
      createPeerConnection: weriftPeerConnection,
      openTimeoutMs: 10_000,
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

  it('a waiting chat dropped by the server reconnects and joins again by itself', async () => {
    const chat = chatter({ reconnectDelayMs: 50 });
    await next(chat, 'waiting');
    const [first] = await queue();
    const again = next(chat, 'waiting');
    await drop(first as string);
    await again;
    const now = await queue();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(first);
  });

  it('a pair broken by a dropped connection ends on both sides with partner-left "disconnect"', async () => {
    const alice = chatter({ reconnectDelayMs: 50 });
    await next(alice, 'waiting');
    const [aliceId] = await queue();
    const bob = chatter();
    await Promise.all([next(alice, 'paired'), next(bob, 'paired')]);

    const leftA = next(alice, 'partner-left');
    const leftB = next(bob, 'partner-left');
    await drop(aliceId as string);
    expect((await leftB).reason).toBe('disconnect');
    expect((await leftA).reason).toBe('disconnect');
    expect([alice.state, bob.state]).toEqual(['idle', 'idle']);
    // Like any client after partner-left, neither is queued again until it asks.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await queue()).toEqual([]);
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
