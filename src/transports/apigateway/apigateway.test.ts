import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { configWith } from '../../config.js';
import { ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { createServerlessApp } from '../../serverless-app.js';
import { MemoryPairingStore } from '../../store/memory-store.js';
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

function lambda(overrides = {}, logger = pino({ level: 'silent' })) {
  const post = new RecordingPost();
  const store = new MemoryPairingStore();
  const app = createServerlessApp(configWith(overrides), {
    store,
    connections: post.factory,
    logger,
    env: {},
  });
  const connect = (id: string, headers: Record<string, string> = {}) =>
    app.websocket.connect({ requestContext: requestContext(id), headers });
  const send = (id: string, frame: object | string) =>
    app.websocket.message(message(id, typeof frame === 'string' ? frame : JSON.stringify(frame)));
  return { app, post, store, connect, send };
}

describe('API Gateway event parsing', () => {
  it('reads the connection, the API location, the address and lower-cased headers', () => {
    const event = parseWebSocketEvent({
      requestContext: requestContext('c1'),
      headers: { Origin: 'https://chat.example', Host: 'abc' },
      body: '{"action":"join"}',
      somethingElse: true,
    });
    expect(event).toEqual({
      connectionId: 'c1',
      api: { domainName: 'abc123.execute-api.eu-west-1.amazonaws.com', stage: 'prod' },
      sourceIp: '198.51.100.7',
      headers: { origin: 'https://chat.example', host: 'abc' },
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

  it('posts each event as a numbered JSON frame to its session, in order', async () => {
    const { sent, api } = connections();
    const delivery = apiGatewayDelivery(
      api,
      () => [{ urls: 'stun:s' }],
      async () => {},
    );
    await delivery.deliver([
      { to: 'a', seq: 1, event: { name: 'waiting' } },
      { to: 'b', seq: 4, event: { name: 'signal', room: 'r', signal: { type: 'offer', sdp: 'v=0' } } },
      { to: 'a', seq: 2, event: { name: 'paired', room: 'r', initiator: true, commonInterests: [] } },
    ]);
    expect(sent).toEqual([
      ['a', '{"type":"waiting","payload":{},"seq":1}'],
      ['b', '{"type":"signal","room":"r","payload":{"type":"offer","sdp":"v=0"},"seq":4}'],
      [
        'a',
        '{"type":"paired","payload":{"room":"r","initiator":true,"iceServers":[{"urls":"stun:s"}],"commonInterests":[]},"seq":2}',
      ],
    ]);
  });

  it('reports a vanished (410) connection as gone, and only that one', async () => {
    const gone: string[] = [];
    const { api } = connections(new Set(['b']));
    const delivery = apiGatewayDelivery(
      api,
      () => [],
      async (session) => {
        gone.push(session);
      },
    );
    await delivery.deliver([
      { to: 'b', seq: 1, event: { name: 'waiting' } },
      { to: 'a', seq: 1, event: { name: 'waiting' } },
    ]);
    expect(gone).toEqual(['b']);
  });

  it('tells a lost session why, then closes its connection', async () => {
    const { sent, dropped, api } = connections();
    await apiGatewayDelivery(
      api,
      () => [],
      async () => {},
    ).lost(['a']);
    expect(sent).toEqual([['a', expect.stringContaining('"code":"SESSION_LOST"')]]);
    expect(dropped).toEqual(['a']);
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

  it('refuses a page from an origin that is not allowed', async () => {
    const { connect, store } = lambda({ corsOrigins: ['https://chat.example'] });
    expect((await connect('a', { Origin: 'https://evil.example', Host: 'api.example' })).statusCode).toBe(403);
    expect(await store.attach('a', { resume: true })).toBeNull();
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

  it('pairs, relays to the partner only, and ends the pair on $disconnect', async () => {
    const { app, post, connect, send } = lambda();
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
    await app.websocket.disconnect({ requestContext: requestContext('b') });
    expect(post.of('a').at(-1)).toEqual({ type: 'partner-left', payload: { room, reason: 'disconnect' }, seq: 3 });
    expect(post.of('c')).toEqual([{ type: 'waiting', payload: {}, seq: 1 }]);
  });

  it('a 410 for the partner ends that session only: the sender is told its partner left and stays', async () => {
    const { post, connect, send, store } = lambda();
    await connect('a');
    await connect('ghost');
    await send('ghost', { action: 'join' });
    post.gone.add('ghost');
    await send('a', { action: 'join', id: 1 });
    const frames = post.of('a') as { type: string; payload: { reason?: string; status?: string } }[];
    expect(frames.map((f) => f.type)).toEqual(['paired', 'partner-left', 'ack']);
    expect(frames[1]?.payload.reason).toBe('disconnect');
    expect(await store.pairOf('a')).toBeNull();
    expect(await store.attach('ghost', { resume: true })).toBeNull();
    // The sender goes on: it can join again and is paired with the next arrival.
    await connect('c');
    await send('a', { action: 'join', id: 2 });
    await send('c', { action: 'join' });
    expect((await store.pairOf('a'))?.polite).toBe('c');
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
    const { post, connect, send, store } = lambda();
    for (const id of ['a', 'b']) await connect(id);
    await send('a', { action: 'join' });
    await send('b', { action: 'join' });
    await send('a', { action: 'ping', id: 1 });
    expect(post.of('a').at(-1)).toEqual({ type: 'ack', id: 1, payload: { ok: true } });
    // b's session ends with no $disconnect (its lease ran out): a learns it at its next ping.
    await store.release('b');
    await send('a', { action: 'ping', id: 2 });
    const [left, ack] = post.of('a').slice(-2) as { type: string; payload: { reason?: string } }[];
    expect(left).toMatchObject({ type: 'partner-left', payload: { reason: 'disconnect' } });
    expect(ack).toEqual({ type: 'ack', id: 2, payload: { ok: true } });
    expect(await store.pairOf('a')).toBeNull();
  });

  it('requires Redis when no store is given', () => {
    expect(() => createServerlessApp(configWith(), { logger: pino({ level: 'silent' }) })).toThrow(/REDIS_URL/);
  });
});
