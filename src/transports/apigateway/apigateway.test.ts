import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { solveChallenge } from '../../../test/helpers/proof.js';
import { startRedis } from '../../../test/helpers/redis.js';
import { startTcpBalancer } from '../../../test/helpers/tcp-balancer.js';
import { type Config, configWith } from '../../config.js';
import { ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { subjectOf } from '../../safety/subject.js';
import { createServerlessApp } from '../../serverless-app.js';
import { MemoryPairingStore } from '../../store/memory-store.js';
import { closeBannedConnections } from './banned-connections.js';
import { apiGatewayDelivery, checkSignalFrame, MAX_MESSAGE_BYTES } from './delivery.js';
import { managementEndpoint, type PostOutcome } from './management-api.js';
import { parseWebSocketEvent } from './websocket-event.js';

/** API Gateway's management API as the handlers see it: frames per connection, and vanished ones. */
class RecordingPost {
  readonly frames = new Map<string, unknown[]>();
  readonly endpoints: string[] = [];
  readonly gone = new Set<string>();

  readonly dropped: string[] = [];

  readonly factory = (endpoint: string) => {
    this.endpoints.push(endpoint);
    return {
      post: async (connectionId: string, data: string): Promise<PostOutcome> => {
        if (this.gone.has(connectionId)) return 'gone';
        const list = this.frames.get(connectionId) ?? [];
        list.push(JSON.parse(data));
        this.frames.set(connectionId, list);
        return 'sent';
      },
      drop: async (connectionId: string) => {
        this.dropped.push(connectionId);
        this.gone.add(connectionId);
      },
    };
  };

  of(connectionId: string): unknown[] {
    return this.frames.get(connectionId) ?? [];
  }
}

const requestContext = (connectionId: string) => ({
  connectionId,
  routeKey: '$default',
  domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
  stage: 'prod',
  identity: { sourceIp: '198.51.100.7' },
});

const message = (connectionId: string, body: string) => ({ requestContext: requestContext(connectionId), body });

function lambda(overrides: Partial<Config> = {}, logger = pino({ level: 'silent' }), signalHoldMs?: number) {
  const post = new RecordingPost();
  const store = new MemoryPairingStore(signalHoldMs === undefined ? {} : { signalHoldMs });
  const app = createServerlessApp(configWith(overrides), {
    store,
    connections: post.factory,
    logger,
    // What serverless.yml gives the scheduled sweep: the API of requestContext below.
    env: { WEBSOCKET_API_ID: 'abc123', WEBSOCKET_STAGE: 'prod', AWS_REGION: 'eu-west-1' },
  });
  const connect = (id: string, headers: Record<string, string> = {}, query?: Record<string, string>) =>
    app.websocket.connect({ requestContext: requestContext(id), headers, queryStringParameters: query });
  const send = (id: string, frame: object | string) =>
    app.websocket.message(message(id, typeof frame === 'string' ? frame : JSON.stringify(frame)));
  /** $disconnect; `remainingMs` is what the Lambda has left (a stalled store is tried again within it). */
  const disconnect = (id: string, remainingMs = 0) =>
    app.websocket.disconnect({ requestContext: requestContext(id) }, { getRemainingTimeInMillis: () => remainingMs });
  /** The scheduled sweep, with no time to keep watch: one pass. */
  const sweep = () => app.websocket.sweep({}, { getRemainingTimeInMillis: () => 0 });
  /** The session a connection carries, as the store says. */
  const sessionOf = async (id: string) => {
    const session = await store.sessionOfConnection(id);
    if (!session) throw new Error(`connection ${id} carries no session`);
    return session;
  };
  return { app, post, store, connect, send, disconnect, sweep, sessionOf };
}

type Frame = { type: string; id?: number; seq?: number; room?: string; payload: Record<string, unknown> };

/** The frames posted to a connection that are of `type`. */
const framesOf = (post: RecordingPost, id: string, type: string) =>
  (post.of(id) as Frame[]).filter((frame) => frame.type === type);

/** The candidates relayed to a connection, by number, in seq order (as a client orders them). */
const candidatesAt = (post: RecordingPost, id: string) =>
  framesOf(post, id, 'signal')
    .sort((x, y) => (x.seq ?? 0) - (y.seq ?? 0))
    .map((frame) => (frame.payload as { candidate: { candidate: string } }).candidate.candidate);

const candidate = (n: number) => ({ type: 'candidate', candidate: { candidate: `candidate:${n}` } });

describe('API Gateway event parsing', () => {
  it('reads the connection, the API location, the address, lower-cased headers and the query', () => {
    const event = parseWebSocketEvent({
      requestContext: requestContext('c1'),
      headers: { Origin: 'https://chat.example', Host: 'abc' },
      queryStringParameters: { device: 'abc-def-ghi-jkl-mno' },
      body: '{"action":"join"}',
      somethingElse: true,
    });
    expect(event).toEqual({
      connectionId: 'c1',
      api: { domainName: 'abc123.execute-api.eu-west-1.amazonaws.com', stage: 'prod' },
      sourceIp: '198.51.100.7',
      headers: { origin: 'https://chat.example', host: 'abc' },
      query: { device: 'abc-def-ghi-jkl-mno' },
      body: '{"action":"join"}',
    });
  });

  it('decodes a base64 (binary) body and tolerates a missing one', () => {
    const body = Buffer.from('{"action":"leave"}').toString('base64');
    expect(parseWebSocketEvent({ requestContext: { connectionId: 'c' }, body, isBase64Encoded: true }).body).toBe(
      '{"action":"leave"}',
    );
    expect(parseWebSocketEvent({ requestContext: { connectionId: 'c' }, body: null }).body).toBe('');
  });

  it('throws on something that is not a WebSocket event', () => {
    expect(() => parseWebSocketEvent({})).toThrow(/not an API Gateway WebSocket event/);
    expect(() => parseWebSocketEvent({ requestContext: { connectionId: '' } })).toThrow(TypeError);
  });
});

describe('management endpoint', () => {
  const api = { domainName: 'abc.execute-api.us-east-1.amazonaws.com', stage: 'dev' };
  it('is the explicit setting, else the local one offline, else the API of the event', () => {
    expect(managementEndpoint('https://ws.example/prod', { IS_OFFLINE: 'true' }, api)).toBe('https://ws.example/prod');
    expect(managementEndpoint(undefined, { IS_OFFLINE: 'true' }, api)).toBe('http://127.0.0.1:3001');
    expect(managementEndpoint(undefined, {}, api)).toBe('https://abc.execute-api.us-east-1.amazonaws.com/dev');
    expect(() => managementEndpoint(undefined, {}, {})).toThrow(/WEBSOCKET_MANAGEMENT_ENDPOINT/);
  });
});

describe('API Gateway delivery port', () => {
  const connections = (gone: Set<string> = new Set()) => {
    const sent: [string, string][] = [];
    const dropped: string[] = [];
    return {
      sent,
      dropped,
      api: {
        async post(to: string, data: string) {
          sent.push([to, data]);
          return gone.has(to) ? ('gone' as const) : ('sent' as const);
        },
        async drop(to: string) {
          dropped.push(to);
        },
      },
    };
  };

  /** Sessions `a` and `b` carried by connections `ca` and `cb`; others by none (detached). */
  const carriers = async (sessions: readonly string[]) =>
    new Map(sessions.filter((s) => s === 'a' || s === 'b').map((s) => [s, `c${s}`] as const));

  it("posts each event as a numbered JSON frame to its session's connection, in order", async () => {
    const { sent, api } = connections();
    const delivery = apiGatewayDelivery(
      api,
      carriers,
      () => [{ urls: 'stun:s' }],
      async () => {},
    );
    await delivery.deliver([
      { to: 'a', seq: 1, event: { name: 'waiting' } },
      { to: 'b', seq: 4, event: { name: 'signal', room: 'r', signal: { type: 'offer', sdp: 'v=0' } } },
      { to: 'a', seq: 2, event: { name: 'paired', room: 'r', initiator: true, commonInterests: [] } },
    ]);
    expect(sent).toEqual([
      ['ca', '{"type":"waiting","payload":{},"seq":1}'],
      ['cb', '{"type":"signal","room":"r","payload":{"type":"offer","sdp":"v=0"},"seq":4}'],
      [
        'ca',
        '{"type":"paired","payload":{"room":"r","initiator":true,"iceServers":[{"urls":"stun:s"}],"commonInterests":[]},"seq":2}',
      ],
    ]);
  });

  it('posts nothing for a session no connection carries: its outbox keeps the events for its resume', async () => {
    const { sent, api } = connections();
    await apiGatewayDelivery(
      api,
      carriers,
      () => [],
      async () => {},
    ).deliver([{ to: 'detached', seq: 1, event: { name: 'waiting' } }]);
    expect(sent).toEqual([]);
  });

  it('reports a vanished (410) connection as gone, once, and only that one', async () => {
    const gone: string[] = [];
    const { sent, api } = connections(new Set(['cb']));
    const delivery = apiGatewayDelivery(
      api,
      carriers,
      () => [],
      async (connection) => {
        gone.push(connection);
      },
    );
    await delivery.deliver([
      { to: 'b', seq: 1, event: { name: 'waiting' } },
      { to: 'b', seq: 2, event: { name: 'partner-left', room: 'r', reason: 'next' } },
      { to: 'a', seq: 1, event: { name: 'waiting' } },
    ]);
    expect(gone).toEqual(['cb']);
    expect(sent.map(([to]) => to)).toEqual(['cb', 'ca']);
  });

  it('tells a lost session why, then closes its connection', async () => {
    const { sent, dropped, api } = connections();
    await apiGatewayDelivery(
      api,
      carriers,
      () => [],
      async () => {},
    ).lost(['a']);
    expect(sent).toEqual([['ca', expect.stringContaining('"code":"SESSION_LOST"')]]);
    expect(dropped).toEqual(['ca']);
  });

  it('refuses a signal whose frame would exceed an API Gateway message, before it is relayed', () => {
    // 30,000 control characters: a small SDP that JSON escaping makes six times larger.
    const error = (() => {
      try {
        checkSignalFrame({ type: 'offer', sdp: '\u0001'.repeat(30_000) });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    expect(() => checkSignalFrame({ type: 'offer', sdp: 'x'.repeat(MAX_MESSAGE_BYTES - 200) })).not.toThrow();
  });
});

describe('WebSocket handlers', () => {
  it('never posts from $connect and acks commands by id', async () => {
    const { post, connect, send } = lambda();
    expect(await connect('a')).toEqual({ statusCode: 200 });
    expect(post.frames.size).toBe(0);
    await send('a', { action: 'join', id: 1 });
    expect(post.of('a')).toEqual([
      { type: 'waiting', payload: {}, seq: 1 },
      { type: 'ack', id: 1, payload: { ok: true, status: 'waiting' } },
    ]);
    expect(post.endpoints).toEqual(['https://abc123.execute-api.eu-west-1.amazonaws.com/prod']);
  });

  it('report works over frames; a banned subject is refused at $connect (403) and at join, another device is not', async () => {
    const { post, connect, send, store } = lambda({ subjectSalt: 'a-salt-for-this-test' });
    expect(await connect('a')).toEqual({ statusCode: 200 });
    expect(await connect('b')).toEqual({ statusCode: 200 });
    await send('a', { action: 'join', id: 1 });
    await send('b', { action: 'join', id: 1 });
    const room = String(framesOf(post, 'a', 'paired')[0]?.payload.room);
    await send('b', { action: 'report', id: 2, payload: { room, reason: 'spam', details: 'ads' } });
    const acked = post.of('b').find((f) => (f as Frame).type === 'ack' && (f as Frame).id === 2) as Frame;
    expect(acked.payload).toEqual({ ok: true, reportId: expect.any(String) });
    expect(framesOf(post, 'a', 'partner-left').map((f) => f.payload)).toEqual([{ room, reason: 'next' }]);
    const [report] = await store.reports({ limit: 1 });
    expect(report).toMatchObject({
      room,
      reason: 'spam',
      details: 'ads',
      reporter: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    await send('b', { action: 'report', id: 3, payload: { room, reason: 'spam' } });
    const again = post.of('b').find((f) => (f as Frame).type === 'ack' && (f as Frame).id === 3) as Frame;
    expect(again.payload).toMatchObject({ ok: false, error: { code: 'ALREADY_REPORTED' } });

    // Both come from one address without a device: one subject. Ban it.
    const subject = report?.reported ?? '';
    await store.ban({ subject, reason: 'test', by: 'operator', at: Date.now(), until: Date.now() + 60_000 });
    await send('a', { action: 'join', id: 4 });
    const refused = post.of('a').find((f) => (f as Frame).type === 'ack' && (f as Frame).id === 4) as Frame;
    expect(refused.payload).toMatchObject({ ok: false, error: { code: 'BANNED', retryAfterMs: expect.any(Number) } });
    const connectWith = (id: string, device?: string) => connect(id, {}, device ? { device } : undefined);
    expect((await connectWith('c')).statusCode).toBe(403);
    expect(JSON.parse((await connectWith('d')).body ?? '{}')).toMatchObject({ code: 'BANNED' });
    expect((await connectWith('e', 'a-device-token-0001')).statusCode).toBe(200);
    // A malformed token is ignored: the address alone, banned.
    expect((await connectWith('f', 'bad token!')).statusCode).toBe(403);
    // b is connected and banned too: its keep-alive finds the ban, ends its session and closes it.
    expect(post.dropped).toEqual([]);
    await send('b', { action: 'ping', id: 9 });
    expect(framesOf(post, 'b', 'error').map((f) => f.payload)).toMatchObject([{ code: 'BANNED' }]);
    expect(post.dropped).toEqual(['b']);
    // Its session is over, not waiting out a resume grace.
    expect(await store.sessionOfConnection('b')).toBeNull();
  });

  it('refuses a page from an origin that is not allowed', async () => {
    const { connect, store } = lambda({ corsOrigins: ['https://chat.example'] });
    expect((await connect('a', { Origin: 'https://evil.example', Host: 'api.example' })).statusCode).toBe(403);
    expect(await store.sessionOfConnection('a')).toBeNull();
    expect((await connect('b', { Origin: 'https://chat.example' })).statusCode).toBe(200);
  });

  it('refuses an address over its connection limit with 429', async () => {
    const { connect } = lambda({ maxConnectionsPerIp: 2 });
    expect((await connect('a')).statusCode).toBe(200);
    expect((await connect('b')).statusCode).toBe(200);
    expect((await connect('c')).statusCode).toBe(429);
  });

  it('logs refused and abusive connections with a tag, never their address', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
    const { connect, send } = lambda({ maxConnectionsPerIp: 1, candidatesPerSecond: 1, abuseStrikes: 1 }, logger);
    expect((await connect('a')).statusCode).toBe(200);
    expect((await connect('b')).statusCode).toBe(429);
    for (let i = 0; i < 4; i++) await send('a', 'junk');
    const logged = lines.map((line) => JSON.parse(line) as { msg: string; address?: string });
    const refusal = logged.find((line) => line.msg === 'connection refused');
    expect(refusal?.address).toMatch(/^[\w-]{16}$/);
    expect(logged.find((line) => line.msg === 'disconnecting an abusive client')?.address).toBe(refusal?.address);
    for (const line of lines) expect(line).not.toContain('198.51.100.7');
  });

  it('answers bad frames with codes, by ack when they carry an id and by error event when not', async () => {
    const { post, connect, send } = lambda();
    await connect('a');
    await send('a', 'not json');
    await send('a', { action: 'teleport', id: 2 });
    await send('a', { action: 'join', id: 3, payload: { to: 'b' } });
    await send('a', { action: 'signal', id: 4, payload: { type: 'offer', sdp: 'v=0' } });
    await send('a', { action: 'join', id: 5, extra: true });
    await send('a', `{"action":"join","id":6,"payload":"${'x'.repeat(MAX_MESSAGE_BYTES)}"}`);
    await send('a', { action: 'ping', id: 7 });
    const codes = post.of('a').map((frame) => {
      const f = frame as {
        type: string;
        id?: number;
        payload: { code?: string; ok?: boolean; error?: { code: string } };
      };
      return [f.type, f.id, f.payload.ok === true ? 'ok' : (f.payload.error?.code ?? f.payload.code)];
    });
    expect(codes).toEqual([
      ['error', undefined, 'INVALID_PAYLOAD'],
      ['ack', 2, 'UNKNOWN_EVENT'],
      ['ack', 3, 'INVALID_PAYLOAD'],
      ['ack', 4, 'NOT_PAIRED'],
      ['ack', 5, 'INVALID_PAYLOAD'],
      ['ack', 6, 'PAYLOAD_TOO_LARGE'],
      ['ack', 7, 'ok'],
    ]);
  });

  it('answers a refused command without an id by an error event, and an accepted one with nothing', async () => {
    const { post, connect, send } = lambda();
    await connect('a');
    await send('a', { action: 'join' });
    await send('a', { action: 'join' });
    await send('a', { action: 'signal', payload: { type: 'offer', sdp: 'v=0' } });
    await send('a', { action: 'ping' });
    expect(post.of('a')).toEqual([
      { type: 'waiting', payload: {}, seq: 1 },
      { type: 'error', payload: { code: 'ALREADY_WAITING', message: expect.any(String) } },
      { type: 'error', payload: { code: 'NOT_PAIRED', message: expect.any(String) } },
    ]);
  });

  it('pairs, relays to the partner only, and ends the pair at once on a goodbye', async () => {
    const { post, connect, send, store, sessionOf } = lambda();
    for (const id of ['a', 'b', 'c']) await connect(id);
    await send('a', { action: 'join' });
    await send('b', { action: 'join' });
    await send('c', { action: 'join' });
    await send('a', { action: 'signal', payload: { type: 'offer', sdp: 'v=0\r\n' } });
    const room = (post.of('a').find((f) => (f as { type: string }).type === 'paired') as { payload: { room: string } })
      .payload.room;
    // The signal as sent, with the pair it was sent in beside it (the client drops stale ones).
    expect(post.of('b')).toContainEqual({ type: 'signal', room, payload: { type: 'offer', sdp: 'v=0\r\n' }, seq: 2 });
    expect(post.of('c')).toEqual([{ type: 'waiting', payload: {}, seq: 1 }]);
    const b = await sessionOf('b');
    await send('b', { action: 'bye', id: 1 });
    expect(post.of('b').at(-1)).toEqual({ type: 'ack', id: 1, payload: { ok: true } });
    expect(post.of('a').at(-1)).toEqual({ type: 'partner-left', payload: { room, reason: 'disconnect' }, seq: 3 });
    expect(post.of('c')).toEqual([{ type: 'waiting', payload: {}, seq: 1 }]);
    expect(await store.attach(b, { resume: true })).toBeNull();
  });

  it('a 410 for the partner detaches it for the grace: the sender goes on, and the partner may resume', async () => {
    const { post, connect, send, store, sessionOf } = lambda();
    await connect('a');
    await connect('ghost');
    await send('ghost', { action: 'join' });
    const ghost = await sessionOf('ghost');
    post.gone.add('ghost');
    await send('a', { action: 'join', id: 1 });
    expect((post.of('a') as Frame[]).map((f) => f.type)).toEqual(['paired', 'ack']);
    // Not ended: detached, carried by no connection, still paired and resumable.
    expect(await store.connectionsOf([ghost])).toEqual(new Map());
    expect(await store.pairOf(ghost)).not.toBeNull();
    await send('a', { action: 'signal', id: 2, payload: candidate(1) });
    expect(post.of('a').at(-1)).toEqual({ type: 'ack', id: 2, payload: { ok: true } });
    await connect('ghost-again');
    await send('ghost-again', { action: 'resume', id: 1, payload: { session: ghost, lastSeq: 0 } });
    expect((post.of('ghost-again') as Frame[]).map((f) => [f.type, f.seq])).toEqual([
      ['session', undefined],
      ['waiting', 1],
      ['paired', 2],
      ['signal', 3],
      ['ack', undefined],
    ]);
  });

  it('limits each connection: RATE_LIMITED with a retry hint, its partner untouched, then a persistent abuser is dropped', async () => {
    const { post, connect, send } = lambda({ candidatesPerSecond: 2, abuseStrikes: 3 });
    for (const id of ['a', 'b']) await connect(id);
    await send('a', { action: 'join' });
    await send('b', { action: 'join' });
    const eoc = { action: 'signal', payload: { type: 'end-of-candidates' } };
    for (let i = 1; i <= 6; i++) await send('a', { ...eoc, id: i });
    const acks = post.of('a').filter((f) => (f as { type: string }).type === 'ack') as {
      payload: { ok: boolean; error?: { code: string; retryAfterMs?: number } };
    }[];
    // A burst of rate × 2 goes through; the rest is refused with a hint.
    expect(acks.map((a) => a.payload.ok)).toEqual([true, true, true, true, false, false]);
    expect(acks[4]?.payload.error?.code).toBe('RATE_LIMITED');
    expect(acks[4]?.payload.error?.retryAfterMs).toBeGreaterThan(0);
    expect(post.of('b').filter((f) => (f as { type: string }).type === 'signal')).toHaveLength(4);
    // Other budgets are separate: an answer still goes through after the candidates ran out.
    await send('b', { action: 'signal', id: 1, payload: { type: 'answer', sdp: 'v=0' } });
    expect(post.of('b').at(-1)).toEqual({ type: 'ack', id: 1, payload: { ok: true } });
    expect(post.dropped).toEqual([]);
    // Junk counts too; the refusal past ABUSE_STRIKES (3: two above, this one) closes the connection.
    await send('a', 'junk');
    expect(post.dropped).toEqual([]);
    await send('a', 'junk');
    expect(post.dropped).toEqual(['a']);
    expect(post.of('a').at(-1)).toMatchObject({ type: 'error', payload: { code: 'RATE_LIMITED' } });
  });

  it('a ping renews the session and tells it when its partner vanished without a goodbye', async () => {
    const { post, connect, send, store, sessionOf } = lambda();
    for (const id of ['a', 'b']) await connect(id);
    await send('a', { action: 'join' });
    await send('b', { action: 'join' });
    await send('a', { action: 'ping', id: 1 });
    expect(post.of('a').at(-1)).toEqual({ type: 'ack', id: 1, payload: { ok: true } });
    // b's session ends with no $disconnect (its lease ran out): a learns it at its next ping.
    await store.release(await sessionOf('b'));
    await send('a', { action: 'ping', id: 2 });
    const [left, ack] = post.of('a').slice(-2) as { type: string; payload: { reason?: string } }[];
    expect(left).toMatchObject({ type: 'partner-left', payload: { reason: 'disconnect' } });
    expect(ack).toEqual({ type: 'ack', id: 2, payload: { ok: true } });
    expect(await store.pairOf(await sessionOf('a'))).toBeNull();
  });

  it('a ping of a waiting client whose fallback passed pairs it with anyone who accepts anyone', async () => {
    const { post, connect, send } = lambda();
    for (const id of ['a', 'b']) await connect(id);
    await send('a', { action: 'join', payload: { interests: ['chess'], fallbackMs: 0 } });
    // Margins of half a second: on a loaded machine a join and a ping can be 20 ms apart.
    await send('b', { action: 'join', payload: { interests: ['go'], fallbackMs: 500 } });
    await send('b', { action: 'ping', id: 1 });
    expect(framesOf(post, 'b', 'paired')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 550));
    await send('b', { action: 'ping', id: 2 });
    const [pa, pb] = [framesOf(post, 'a', 'paired')[0], framesOf(post, 'b', 'paired')[0]];
    expect(pa?.payload).toMatchObject({ room: pb?.payload.room, initiator: true, commonInterests: [] });
    expect(pb?.payload).toMatchObject({ initiator: false, commonInterests: [] });
  });

  it('the scheduled sweep pairs waiting clients whose fallbacks passed, nobody else coming by, and keeps watch for those due within its run', async () => {
    const { app, post, connect, send, sweep } = lambda();
    for (const id of ['a', 'b', 'c', 'd']) await connect(id);
    const hurried = (interests: string[], fallbackMs: number) => ({
      action: 'join',
      payload: { interests, fallbackMs },
    });
    await send('a', hurried(['chess'], 500));
    await send('b', hurried(['go'], 500));
    await sweep();
    expect(framesOf(post, 'a', 'paired')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 550));
    await sweep();
    const [pa, pb] = [framesOf(post, 'a', 'paired')[0], framesOf(post, 'b', 'paired')[0]];
    expect(pa?.payload).toMatchObject({ room: pb?.payload.room, initiator: true, commonInterests: [] });
    expect(pb?.payload).toMatchObject({ initiator: false, commonInterests: [] });
    // With time left in its run, the sweep waits for fallbacks that pass meanwhile.
    await send('c', hurried(['jazz'], 200));
    await send('d', hurried(['folk'], 200));
    await app.websocket.sweep({}, { getRemainingTimeInMillis: () => 5000 });
    expect(framesOf(post, 'c', 'paired')[0]?.payload.room).toBe(framesOf(post, 'd', 'paired')[0]?.payload.room);
    expect(framesOf(post, 'c', 'paired')).toHaveLength(1);
  });

  it('bounds the outboxes of its Redis store by OUTBOX_MAX_EVENTS, as the long-lived server does', async () => {
    const redis = await startRedis();
    const post = new RecordingPost();
    const app = createServerlessApp(configWith({ redisUrl: redis.url, redisPrefix: 'outbox:', outboxMaxEvents: 3 }), {
      connections: post.factory,
      logger: pino({ level: 'silent' }),
      env: {},
    });
    try {
      for (const id of ['a', 'b']) {
        await app.websocket.connect({ requestContext: requestContext(id), headers: {} });
        await app.websocket.message(message(id, '{"action":"join"}'));
      }
      // a never acknowledges: it holds waiting and paired, then one signal; the next overflows it.
      const signal = (id: number) => message('b', JSON.stringify({ action: 'signal', id, payload: candidate(id) }));
      await app.websocket.message(signal(1));
      await app.websocket.message(signal(2));
      expect(framesOf(post, 'b', 'ack').map((f) => f.payload)).toEqual([
        { ok: true },
        { ok: false, error: { code: 'NOT_PAIRED', message: expect.any(String) } },
      ]);
    } finally {
      await app.close();
      await redis.stop();
    }
  });

  it('requires Redis when no store is given', () => {
    expect(() => createServerlessApp(configWith(), { logger: pino({ level: 'silent' }) })).toThrow(/REDIS_URL/);
  });
});

describe("a ban closes its subject's API Gateway connections at once", () => {
  const DAY = { max: 50, ttlMs: 24 * 60 * 60_000 };
  const banFor = (subject: string) => ({ subject, until: Date.now() + 60_000 });

  it('each open connection of the subject gets BANNED, then is closed; a vanished one or a failure stops nothing', async () => {
    const store = new MemoryPairingStore();
    const post = new RecordingPost();
    const api = post.factory('https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
    for (const id of ['x1', 'x2', 'x3', 'x4']) await store.addSubjectConnection('banned', id, DAY);
    await store.addSubjectConnection('bystander', 'y1', DAY);
    post.gone.add('x2');
    const failing = {
      post: async (id: string, data: string) => {
        if (id === 'x3') throw new Error('HTTP 500');
        return api.post(id, data);
      },
      drop: api.drop,
    };
    const errors: unknown[] = [];
    expect(await closeBannedConnections(store, failing, banFor('banned'), (e) => errors.push(e))).toBe(3);
    for (const id of ['x1', 'x4']) {
      expect(post.of(id)).toEqual([
        { type: 'error', payload: { code: 'BANNED', message: expect.any(String), retryAfterMs: expect.any(Number) } },
      ]);
    }
    // x2 was gone already; x3 could not be told, and is closed all the same.
    expect(post.dropped.sort()).toEqual(['x1', 'x3', 'x4']);
    expect(errors).toEqual([new Error('HTTP 500')]);
    expect(post.of('y1')).toEqual([]);
  });

  it('a store that does not answer closes nothing, and says so', async () => {
    const store = new MemoryPairingStore();
    const post = new RecordingPost();
    const unreachable = {
      subjectConnections: () => Promise.reject(new Error('store down')),
    };
    const errors: unknown[] = [];
    const api = post.factory('https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
    expect(await closeBannedConnections(unreachable, api, banFor('banned'), (e) => errors.push(e))).toBe(0);
    expect(errors).toEqual([new Error('store down')]);
    await store.close();
  });

  it("$connect records the subject's connection, and its $disconnect, once banned, ends the session at once: the partner hears now", async () => {
    const { post, connect, disconnect, send, store, sessionOf } = lambda({ subjectSalt: 'a-salt-for-this-test' });
    await connect('a', {}, { device: 'offender-device-0001' });
    await connect('b', {}, { device: 'partner-device-00001' });
    await send('a', { action: 'join' });
    await send('b', { action: 'join' });
    const room = framesOf(post, 'b', 'paired')[0]?.payload.room;
    const session = await sessionOf('a');
    // The subject, as the operator reads it from a report.
    await send('b', { action: 'report', id: 1, payload: { room, reason: 'spam' } });
    const [report] = await store.reports({ limit: 1 });
    const subject = report?.reported ?? '';
    expect(await store.subjectConnections(subject)).toEqual(['a']);
    // Paired again with someone else, then banned: the ban closes `a`, and its $disconnect follows.
    await connect('c', {}, { device: 'another-device-0001' });
    await send('a', { action: 'join' });
    await send('c', { action: 'join' });
    const room2 = framesOf(post, 'c', 'paired')[0]?.payload.room;
    await store.ban({ subject, reason: 'test', by: 'operator', at: Date.now(), until: Date.now() + 60_000 });
    await disconnect('a', 60_000);
    expect(framesOf(post, 'c', 'partner-left').map((f) => f.payload)).toEqual([{ room: room2, reason: 'disconnect' }]);
    expect(await store.attach(session, { resume: true })).toBeNull();
    expect(await store.subjectConnections(subject)).toEqual([]);
  });

  it("an unbanned subject's $disconnect is a drop as before: forgotten by the index, resumable for the grace", async () => {
    const { connect, disconnect, send, store, sessionOf } = lambda({ subjectSalt: 'a-salt-for-this-test' });
    await connect('a', {}, { device: 'offender-device-0001' });
    await send('a', { action: 'join' });
    const session = await sessionOf('a');
    const subject = subjectOf('a-salt-for-this-test', '198.51.100.7', 'offender-device-0001');
    expect(await store.subjectConnections(subject)).toEqual(['a']);
    await disconnect('a', 60_000);
    expect(await store.subjectConnections(subject)).toEqual([]);
    expect((await store.attach(session, { resume: true }))?.state).toEqual({ status: 'idle', requeue: true });
  });

  it("an automatic ban (AUTO_BAN_REPORTERS) closes the offender's connections before the invocation that made it returns (Redis)", async () => {
    const redis = await startRedis();
    const post = new RecordingPost();
    const app = createServerlessApp(
      configWith({ redisUrl: redis.url, subjectSalt: 'a-salt-for-this-test', autoBanReporters: 2 }),
      {
        connections: post.factory,
        logger: pino({ level: 'silent' }),
        env: { WEBSOCKET_API_ID: 'abc123', WEBSOCKET_STAGE: 'prod', AWS_REGION: 'eu-west-1' },
      },
    );
    const connect = (id: string, device: string) =>
      app.websocket.connect({ requestContext: requestContext(id), headers: {}, queryStringParameters: { device } });
    const send = (id: string, frame: object) => app.websocket.message(message(id, JSON.stringify(frame)));
    try {
      await connect('o', 'offender-device-0001');
      await connect('o2', 'offender-device-0001');
      for (const [i, reporter] of ['r1', 'r2'].entries()) {
        await connect(reporter, `reporter-device-000${i}`);
        await send('o', { action: 'join' });
        await send(reporter, { action: 'join' });
        const room = framesOf(post, reporter, 'paired')[0]?.payload.room;
        expect(post.dropped).toEqual([]);
        // Once this invocation returns, its container may be frozen: the ban and the closing are done by then.
        await send(reporter, { action: 'report', id: 1, payload: { room, reason: 'harassment' } });
      }
      // Both connections of the offender's subject; the reporters are untouched.
      expect(post.dropped.sort()).toEqual(['o', 'o2']);
      for (const id of ['o', 'o2']) expect(framesOf(post, id, 'error').map((f) => f.payload.code)).toEqual(['BANNED']);
      const [ban] = await app.store.bans();
      expect(ban).toMatchObject({ by: 'auto-reports' });
      for (const id of ['o', 'o2']) {
        await app.websocket.disconnect(
          { requestContext: requestContext(id) },
          { getRemainingTimeInMillis: () => 9000 },
        );
      }
      expect(await app.store.subjectConnections(ban?.subject ?? '')).toEqual([]);
    } finally {
      await app.close();
      await redis.stop();
    }
  }, 20_000);
});

describe('resume over API Gateway', () => {
  /** Connects `id` and asks for its session; returns its id. */
  async function open(app: ReturnType<typeof lambda>, id: string, payload: object = {}) {
    await app.connect(id);
    await app.send(id, { action: 'resume', id: 1, payload });
    return framesOf(app.post, id, 'session')[0]?.payload.id as string;
  }

  it('names a new session first, a secret unrelated to the connection, and queues it when asked', async () => {
    const app = lambda();
    await app.connect('a');
    await app.send('a', { action: 'resume', id: 1, payload: { join: true } });
    const [session, waiting, ack] = app.post.of('a') as Frame[];
    expect(session).toEqual({ type: 'session', payload: { id: expect.stringMatching(/^[\w-]{22}$/), resumed: false } });
    expect(session?.payload.id).not.toBe('a');
    expect(session?.payload.id).toBe(await app.sessionOf('a'));
    expect(waiting).toEqual({ type: 'waiting', payload: {}, seq: 1 });
    expect(ack).toEqual({ type: 'ack', id: 1, payload: { ok: true } });
    // Without `join` the new session stays idle.
    await app.connect('b');
    await app.send('b', { action: 'resume', id: 1 });
    expect((app.post.of('b') as Frame[]).map((f) => f.type)).toEqual(['session', 'ack']);
  });

  it('queues a new session with the preferences its resume carries; bad ones fail the join, not the resume', async () => {
    const app = lambda();
    await open(app, 'anyone', { join: true });
    await open(app, 'a', { join: true, interests: ['Jazz', 'chess'], fallbackMs: null });
    // Not the one who takes anyone: a wants a shared interest, and waits for it.
    expect(framesOf(app.post, 'a', 'waiting')).toHaveLength(1);
    await open(app, 'b', { join: true, interests: ['go', 'JAZZ'], fallbackMs: null, lang: 'EN' });
    const [pa, pb] = [framesOf(app.post, 'a', 'paired')[0], framesOf(app.post, 'b', 'paired')[0]];
    expect(pa?.payload).toMatchObject({ room: pb?.payload.room, initiator: true, commonInterests: ['jazz'] });
    expect(pb?.payload).toMatchObject({ initiator: false, commonInterests: ['jazz'] });
    expect(framesOf(app.post, 'anyone', 'paired')).toEqual([]);

    await open(app, 'c', { join: true, interests: ['x'], fallbackMs: -1 });
    expect((app.post.of('c') as Frame[]).map((f) => [f.type, f.payload.code])).toEqual([
      ['session', undefined],
      ['error', 'INVALID_PAYLOAD'],
      ['ack', undefined],
    ]);
    expect(await app.store.queueLength()).toBe(1);
  });

  it('a client that dropped while waiting takes its place again with the preferences of its resume', async () => {
    const app = lambda();
    const a = await open(app, 'a1', { join: true, interests: ['jazz'], fallbackMs: null });
    await app.disconnect('a1');
    await open(app, 'a2', { session: a, lastSeq: 1, interests: ['jazz'], fallbackMs: null });
    await open(app, 'anyone', { join: true });
    expect(framesOf(app.post, 'anyone', 'paired')).toEqual([]);
    await open(app, 'b', { join: true, interests: ['jazz'] });
    expect(framesOf(app.post, 'a2', 'paired')[0]?.payload).toMatchObject({
      initiator: true,
      commonInterests: ['jazz'],
    });
  });

  it('a dropped client resumes on a new connection: everything after lastSeq, once and in order, then live', async () => {
    const app = lambda();
    const a = await open(app, 'a1', { join: true });
    await open(app, 'b', { join: true });
    // a1 saw waiting (1) and paired (2), then drops without a goodbye.
    await app.disconnect('a1');
    expect(await app.store.connectionsOf([a])).toEqual(new Map());
    for (let i = 1; i <= 4; i++) await app.send('b', { action: 'signal', id: 1 + i, payload: candidate(i) });
    expect(framesOf(app.post, 'a1', 'signal')).toEqual([]);

    await app.connect('a2');
    expect(await app.sessionOf('a2')).not.toBe(a);
    await app.send('a2', { action: 'resume', id: 1, payload: { session: a, lastSeq: 2 } });
    expect((app.post.of('a2') as Frame[]).map((f) => [f.type, f.seq])).toEqual([
      ['session', undefined],
      ['signal', 3],
      ['signal', 4],
      ['signal', 5],
      ['signal', 6],
      ['ack', undefined],
    ]);
    expect(framesOf(app.post, 'a2', 'session')[0]?.payload).toEqual({ id: a, resumed: true });
    expect(candidatesAt(app.post, 'a2')).toEqual(['candidate:1', 'candidate:2', 'candidate:3', 'candidate:4']);
    // The connection carries the session now, both ways; the new session it came with is gone.
    expect(await app.sessionOf('a2')).toBe(a);
    expect(await app.store.connectionsOf([a])).toEqual(new Map([[a, 'a2']]));
    expect(app.store.size.sessions).toBe(2);
    // The pair goes on, live, both ways.
    await app.send('b', { action: 'signal', id: 9, payload: candidate(5) });
    expect(candidatesAt(app.post, 'a2').at(-1)).toBe('candidate:5');
    await app.send('a2', { action: 'signal', id: 2, payload: { type: 'answer', sdp: 'v=0' } });
    expect(framesOf(app.post, 'b', 'signal').at(-1)?.payload).toEqual({ type: 'answer', sdp: 'v=0' });
    // Resuming again on the same connection replays what came after the lastSeq given (a gap).
    await app.send('a2', { action: 'resume', payload: { session: a, lastSeq: 5 } });
    expect((app.post.of('a2') as Frame[]).slice(-3).map((f) => [f.type, f.seq])).toEqual([
      ['session', undefined],
      ['signal', 6],
      ['signal', 7],
    ]);
  });

  it('replays a long outbox in full, a few posts at a time', async () => {
    const app = lambda();
    const a = await open(app, 'a1', { join: true });
    await open(app, 'b', { join: true });
    await app.disconnect('a1');
    for (let i = 1; i <= 30; i++) await app.send('b', { action: 'signal', payload: candidate(i) });
    await open(app, 'a2', { session: a, lastSeq: 2 });
    expect(candidatesAt(app.post, 'a2')).toEqual(Array.from({ length: 30 }, (_, i) => `candidate:${i + 1}`));
    expect(framesOf(app.post, 'a2', 'signal').map((f) => f.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 3));
  });

  it('a resume of a session the store does not know gets the connection its own, resumed: false', async () => {
    const app = lambda();
    await app.connect('c');
    await app.send('c', { action: 'resume', id: 1, payload: { session: 'AAAAAAAAAAAAAAAAAAAAAA', lastSeq: 3 } });
    expect(framesOf(app.post, 'c', 'session')).toEqual([
      { type: 'session', payload: { id: await app.sessionOf('c'), resumed: false } },
    ]);
    expect(app.post.of('c').at(-1)).toEqual({ type: 'ack', id: 1, payload: { ok: true } });
  });

  it('a session that moved closes the connection it left, whose late close then changes nothing', async () => {
    const app = lambda();
    const a = await open(app, 'a1', { join: true });
    await open(app, 'a2', { session: a, lastSeq: 1 });
    expect(app.post.dropped).toEqual(['a1']);
    await app.disconnect('a1');
    expect(await app.store.connectionsOf([a])).toEqual(new Map([[a, 'a2']]));
    expect(await app.store.queueLength()).toBe(1);
  });

  it('a client that dropped while waiting takes its place in the queue again on resume', async () => {
    const app = lambda();
    const a = await open(app, 'a1', { join: true });
    await app.disconnect('a1');
    expect(await app.store.queueLength()).toBe(0);
    await open(app, 'a2', { session: a, lastSeq: 1 });
    expect(framesOf(app.post, 'a2', 'waiting')).toEqual([{ type: 'waiting', payload: {}, seq: 2 }]);
    expect(await app.store.queueLength()).toBe(1);
  });

  it('a drop keeps the pair for the grace; when the client does not come back the next sweep tells its partner', async () => {
    const app = lambda({ resumeGraceMs: 50 });
    const a = await open(app, 'a', { join: true });
    await open(app, 'b', { join: true });
    const room = framesOf(app.post, 'b', 'paired')[0]?.payload.room;
    // The $disconnect invocation returns at once (it has the time, and waits for nothing).
    await app.disconnect('a', 60_000);
    await app.sweep();
    expect(framesOf(app.post, 'b', 'partner-left')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await app.sweep();
    expect(framesOf(app.post, 'b', 'partner-left')).toEqual([
      { type: 'partner-left', payload: { room, reason: 'disconnect' }, seq: 2 },
    ]);
    expect(await app.store.attach(a, { resume: true })).toBeNull();
    // Told once: the drop was handed out to that sweep alone.
    await app.sweep();
    expect(framesOf(app.post, 'b', 'partner-left')).toHaveLength(1);
  });

  it("a lapsed drop is told by whichever invocation comes by: another client's $connect", async () => {
    const app = lambda({ resumeGraceMs: 50 });
    await open(app, 'a', { join: true });
    await open(app, 'b', { join: true });
    await app.disconnect('a', 60_000);
    // Past the container's once-a-second pass (the $disconnect above made one), and the grace.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await app.connect('c');
    expect(framesOf(app.post, 'b', 'partner-left')).toHaveLength(1);
  });

  it('a drop the client comes back from within the grace tells the partner nothing', async () => {
    const app = lambda({ resumeGraceMs: 50 });
    const a = await open(app, 'a1', { join: true });
    await open(app, 'b', { join: true });
    await app.disconnect('a1', 60_000);
    await open(app, 'a2', { session: a, lastSeq: 2 });
    await new Promise((resolve) => setTimeout(resolve, 80));
    await app.sweep();
    expect(framesOf(app.post, 'b', 'partner-left')).toEqual([]);
    await app.send('b', { action: 'signal', payload: candidate(1) });
    expect(candidatesAt(app.post, 'a2')).toEqual(['candidate:1']);
  });

  it('a frame from a connection that carries no session is answered SESSION_LOST and closed', async () => {
    const app = lambda();
    await app.send('stranger', { action: 'join', id: 1 });
    expect(app.post.of('stranger')).toEqual([
      { type: 'ack', id: 1, payload: { ok: false, error: { code: 'SESSION_LOST', message: expect.any(String) } } },
    ]);
    expect(app.post.dropped).toEqual(['stranger']);
  });

  it('refuses a malformed resume, and a cseq on anything but a signal', async () => {
    const app = lambda();
    await app.connect('a');
    await app.send('a', { action: 'resume', id: 1, payload: { session: 7 } });
    await app.send('a', { action: 'join', id: 2, cseq: 1 });
    expect((app.post.of('a') as Frame[]).map((f) => (f.payload as { error?: { code: string } }).error?.code)).toEqual([
      'INVALID_PAYLOAD',
      'INVALID_PAYLOAD',
    ]);
    expect(await app.store.queueLength()).toBe(0);
  });
});

describe("signals in their sender's order (cseq)", () => {
  async function paired(app: ReturnType<typeof lambda>) {
    for (const id of ['a', 'b']) {
      await app.connect(id);
      await app.send(id, { action: 'join' });
    }
  }

  it('relays signals sent back to back in their cseq order, whatever order their invocations run in', async () => {
    const app = lambda();
    await paired(app);
    const sent = [3, 2, 5, 1, 4].map((n) => app.send('a', { action: 'signal', id: n, payload: candidate(n), cseq: n }));
    await Promise.all(sent);
    expect(candidatesAt(app.post, 'b')).toEqual([1, 2, 3, 4, 5].map((n) => `candidate:${n}`));
    expect(framesOf(app.post, 'a', 'ack').map((f) => f.payload)).toEqual(Array(5).fill({ ok: true }));
    // A retry of one already relayed (its ack lost with a connection) is acked, not relayed again.
    await app.send('a', { action: 'signal', id: 6, payload: candidate(2), cseq: 2 });
    expect(app.post.of('a').at(-1)).toEqual({ type: 'ack', id: 6, payload: { ok: true } });
    expect(candidatesAt(app.post, 'b')).toHaveLength(5);
  });

  it('a signal refused before the store passes its turn: its successors are not held for it', async () => {
    // A hold longer than the test: without the turn passing, the second signal would wait for it.
    const app = lambda({}, pino({ level: 'silent' }), 600_000);
    await paired(app);
    const second = app.send('a', { action: 'signal', id: 2, payload: candidate(2), cseq: 2 });
    await app.send('a', { action: 'signal', id: 1, payload: { type: 'candidate' }, cseq: 1 });
    await second;
    expect(framesOf(app.post, 'a', 'ack').map((f) => [f.id, f.payload.ok])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(candidatesAt(app.post, 'b')).toEqual(['candidate:2']);
  });

  it('a signal over its budget passes its turn too', async () => {
    const app = lambda({ candidatesPerSecond: 1 }, pino({ level: 'silent' }), 600_000);
    await paired(app);
    // The budget: 2 per 2-second window (the join draws from another): signal 4, sent first, and 1
    // pass; 2 and 3 are refused, and 4 goes once their turns have passed.
    const later = app.send('a', { action: 'signal', id: 4, payload: candidate(4), cseq: 4 });
    for (const n of [1, 2, 3]) await app.send('a', { action: 'signal', id: n, payload: candidate(n), cseq: n });
    await later;
    const acks = framesOf(app.post, 'a', 'ack').map((f) => [
      f.id,
      f.payload.ok ? 'ok' : (f.payload.error as { code: string }).code,
    ]);
    expect(acks).toEqual([
      [1, 'ok'],
      [2, 'RATE_LIMITED'],
      [3, 'RATE_LIMITED'],
      [4, 'ok'],
    ]);
    expect(candidatesAt(app.post, 'b')).toEqual(['candidate:1', 'candidate:4']);
  });
});

describe('bot gate over API Gateway', () => {
  const GATE_ON = { botGate: 'pow', powDifficulty: 8 } as const;

  /** Connects `id`, asks for a new session to be queued, and returns the challenge of its `session` event. */
  async function openGated(app: ReturnType<typeof lambda>, id: string, preferences: object = {}): Promise<string> {
    await app.connect(id);
    await app.send(id, { action: 'resume', id: 1, payload: { join: true, ...preferences } });
    const challenge = framesOf(app.post, id, 'session')[0]?.payload.challenge;
    if (typeof challenge !== 'string') throw new Error('no challenge in the session event');
    return challenge;
  }

  it('holds the join `resume` asked for until a valid proof, then makes it after the ack', async () => {
    const app = lambda(GATE_ON);
    const challenge = await openGated(app, 'a');
    expect((app.post.of('a') as Frame[]).map((f) => f.type)).toEqual(['session', 'ack']);
    await app.send('a', { action: 'join', id: 2 });
    expect(framesOf(app.post, 'a', 'ack').at(-1)?.payload).toMatchObject({
      ok: false,
      error: { code: ErrorCode.PROOF_REQUIRED, challenge: expect.any(String) },
    });
    await app.send('a', { action: 'proof', id: 3, payload: { challenge, nonce: solveChallenge(challenge) } });
    expect((app.post.of('a') as Frame[]).slice(-2)).toEqual([
      { type: 'ack', id: 3, payload: { ok: true } },
      { type: 'waiting', payload: {}, seq: 1 },
    ]);
  });

  it('refuses a replayed proof and a proof for another session', async () => {
    const app = lambda(GATE_ON);
    const ofA = await openGated(app, 'a');
    await openGated(app, 'b');
    const proof = { challenge: ofA, nonce: solveChallenge(ofA) };
    await app.send('b', { action: 'proof', id: 2, payload: proof });
    expect(framesOf(app.post, 'b', 'ack').at(-1)?.payload).toMatchObject({
      ok: false,
      error: { code: ErrorCode.PROOF_INVALID },
    });
    await app.send('a', { action: 'proof', id: 2, payload: proof });
    await app.send('a', { action: 'proof', id: 3, payload: proof });
    expect(framesOf(app.post, 'a', 'ack').map((f) => f.payload)).toMatchObject([
      { ok: true },
      { ok: true },
      { ok: false, error: { code: ErrorCode.PROOF_INVALID } },
    ]);
    // b proved nothing: no join for it, a waits alone.
    expect(framesOf(app.post, 'b', 'waiting')).toEqual([]);
    expect(await app.store.queueLength()).toBe(1);
  });

  it("makes that join with the resume's preferences, which the proof brings back to another invocation", async () => {
    const app = lambda(GATE_ON);
    // A stranger who takes anyone waits first: a join for anyone would take it.
    const ofStranger = await openGated(app, 'stranger');
    await app.send('stranger', {
      action: 'proof',
      id: 2,
      payload: { challenge: ofStranger, nonce: solveChallenge(ofStranger) },
    });
    const ofA = await openGated(app, 'a', { interests: ['  Jazz '], fallbackMs: null });
    await app.send('a', { action: 'proof', id: 2, payload: { challenge: ofA, nonce: solveChallenge(ofA) } });
    expect(framesOf(app.post, 'a', 'waiting')).toHaveLength(1);
    expect(framesOf(app.post, 'a', 'paired')).toEqual([]);
    const ofB = await openGated(app, 'b', { interests: ['jazz'] });
    await app.send('b', { action: 'proof', id: 2, payload: { challenge: ofB, nonce: solveChallenge(ofB) } });
    expect(framesOf(app.post, 'a', 'paired')[0]?.payload).toMatchObject({ initiator: true, commonInterests: ['jazz'] });
    // Preferences the join refuses are refused as without the gate: an error event, the client left idle.
    const ofC = await openGated(app, 'c', { interests: 'jazz' });
    await app.send('c', { action: 'proof', id: 2, payload: { challenge: ofC, nonce: solveChallenge(ofC) } });
    expect(framesOf(app.post, 'c', 'error')[0]?.payload).toMatchObject({ code: ErrorCode.INVALID_PAYLOAD });
    expect(framesOf(app.post, 'c', 'waiting')).toEqual([]);
  });

  it('with the gate off, names no challenge and queues at once', async () => {
    const app = lambda();
    await app.connect('a');
    await app.send('a', { action: 'resume', id: 1, payload: { join: true } });
    expect(framesOf(app.post, 'a', 'session')[0]?.payload).not.toHaveProperty('challenge');
    expect(framesOf(app.post, 'a', 'waiting')).toHaveLength(1);
  });
});

describe('a $disconnect that meets a stalled Redis', () => {
  const GRACE_MS = 300;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A Lambda app on a real Redis at `url`; `a` and `b` paired. */
  async function pairedOn(url: string) {
    const post = new RecordingPost();
    const app = createServerlessApp(configWith({ redisUrl: url, redisPrefix: 'stall:', resumeGraceMs: GRACE_MS }), {
      connections: post.factory,
      logger: pino({ level: 'silent' }),
      env: { WEBSOCKET_API_ID: 'abc123', WEBSOCKET_STAGE: 'prod', AWS_REGION: 'eu-west-1' },
    });
    for (const id of ['a', 'b']) {
      await app.websocket.connect({ requestContext: requestContext(id), headers: {} });
      await app.websocket.message(message(id, JSON.stringify({ action: 'resume', id: 1, payload: { join: true } })));
    }
    expect(framesOf(post, 'b', 'paired')).toHaveLength(1);
    const disconnect = (id: string, remainingMs = 9000) =>
      app.websocket.disconnect({ requestContext: requestContext(id) }, { getRemainingTimeInMillis: () => remainingMs });
    const sweep = () => app.websocket.sweep({}, { getRemainingTimeInMillis: () => 0 });
    return { app, post, disconnect, sweep };
  }

  it('a stall longer than a command timeout: the detach that timed out ran later, and its drop still lapses', async () => {
    const redis = await startRedis();
    const admin = new Redis(redis.url);
    const { app, post, disconnect, sweep } = await pairedOn(redis.url);
    try {
      // The store's client gives up on a command after 2 s (createStoreClient); Redis runs it at 2.5 s.
      await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
      await disconnect('a');
      await sleep(GRACE_MS + 100);
      expect(framesOf(post, 'b', 'partner-left')).toEqual([]);
      await sweep();
      expect(framesOf(post, 'b', 'partner-left')).toHaveLength(1);
    } finally {
      admin.disconnect();
      await app.close();
      await redis.stop();
    }
  }, 20_000);

  it('an outage that the detach never reached: tried again within the time budget until Redis is back', async () => {
    const redis = await startRedis();
    const proxy = await startTcpBalancer([redis.port]);
    const { app, post, disconnect, sweep } = await pairedOn(`redis://127.0.0.1:${proxy.port}`);
    try {
      proxy.setTargets([]);
      proxy.cutAll();
      const disconnected = disconnect('a');
      await sleep(1500);
      proxy.setTargets([redis.port]);
      await disconnected;
      await sleep(GRACE_MS + 100);
      await sweep();
      expect(framesOf(post, 'b', 'partner-left')).toHaveLength(1);
    } finally {
      await app.close();
      await proxy.close();
      await redis.stop();
    }
  }, 20_000);

  it('an outage longer than the time budget: the next invocation of the container detaches it', async () => {
    const redis = await startRedis();
    const proxy = await startTcpBalancer([redis.port]);
    const { app, post, disconnect, sweep } = await pairedOn(`redis://127.0.0.1:${proxy.port}`);
    try {
      proxy.setTargets([]);
      proxy.cutAll();
      // 1.5 s left: half a second to try in, then the invocation gives up and remembers the connection.
      await disconnect('a', 1500);
      proxy.setTargets([redis.port]);
      // Not detached yet: the store never heard of the drop.
      const a = (await app.store.sessionOfConnection('a')) ?? '';
      expect(await app.store.connectionsOf([a])).toEqual(new Map([[a, 'a']]));
      // The next invocation here (a new client's $connect) records that drop first; its grace runs from then.
      await app.websocket.connect({ requestContext: requestContext('c'), headers: {} });
      expect(framesOf(post, 'b', 'partner-left')).toEqual([]);
      await sleep(GRACE_MS + 100);
      await sweep();
      expect(framesOf(post, 'b', 'partner-left')).toHaveLength(1);
    } finally {
      await app.close();
      await proxy.close();
      await redis.stop();
    }
  }, 20_000);
});
