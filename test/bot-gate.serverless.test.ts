/**
 * The bot gate on the API Gateway deployment, end to end: a real `serverless offline` (the built
 * Lambda handlers) over a real Redis, BOT_GATE=pow. WebSocketSignalingClient solves its
 * challenge in a worker thread by itself and pairs; one that answers nothing cannot join.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type WebSocketConstructor, WebSocketSignalingClient } from '../src/client/index.js';
import { ErrorCode } from '../src/protocol/errors.js';
import type { JoinPreferences } from '../src/protocol/messages.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { type ServerlessOffline, startServerlessOffline } from './helpers/serverless-offline.js';

let redis: RedisServer;
let sls: ServerlessOffline;
let clients: WebSocketSignalingClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  sls = await startServerlessOffline({
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'botgate:',
    ICE_SERVERS: '[]',
    BOT_GATE: 'pow',
    BOT_GATE_SECRET: 'a secret every Lambda container shares',
    POW_DIFFICULTY: '10',
  });
}, 60_000);

afterAll(async () => {
  await sls?.stop();
  await redis?.stop();
}, 30_000);

afterEach(() => {
  for (const client of clients) client.close();
  clients = [];
});

function client(options: { solveProof?: false; preferences?: JoinPreferences } = {}): WebSocketSignalingClient {
  const made = new WebSocketSignalingClient(sls.wsUrl, {
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    ackTimeoutMs: 10_000,
    ...options,
  });
  made.queueOnConnect(() => true);
  clients.push(made);
  return made;
}

describe('bot gate on API Gateway (serverless offline, Redis)', () => {
  it('a client that answers no challenge is never queued, and its join is refused', async () => {
    const idle = client({ solveProof: false });
    const { challenge } = await idle.once('session');
    expect(challenge).toEqual(expect.any(String));
    expect(await idle.join()).toMatchObject({ ok: false, error: { code: ErrorCode.PROOF_REQUIRED } });
  });

  it('two SDK clients solve their challenges in worker threads and pair', async () => {
    const [a, b] = [client(), client()];
    const [pa, pb] = await Promise.all([a.once('paired', 20_000), b.once('paired', 20_000)]);
    expect(pa.room).toBe(pb.room);
  });

  it("keeps a client's preferences through its proof: matched on its interest, not with the stranger who waited first", async () => {
    const stranger = client();
    await stranger.once('waiting', 20_000);
    const a = client({ preferences: { interests: ['jazz'], fallbackMs: null } });
    await a.once('waiting', 20_000);
    const b = client({ preferences: { interests: ['Jazz'] } });
    const [pa, pb] = await Promise.all([a.once('paired', 20_000), b.once('paired', 20_000)]);
    expect(pa).toMatchObject({ room: pb.room, commonInterests: ['jazz'] });
  });
});
