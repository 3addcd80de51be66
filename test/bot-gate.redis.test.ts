/**
 * The bot gate across two instances on one real redis-server (in-process servers, real socket.io
 * clients): a challenge one instance issued is checked by the other, a session verified on one
 * stays verified when it resumes on the other, and a proof spent on one is refused on the other.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/protocol/errors.js';
import type { Ack } from '../src/protocol/messages.js';
import { solveChallenge } from './helpers/proof.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { type RecordingClient, startServer, type TestServer } from './helpers/server.js';

let redis: RedisServer;
let servers: TestServer[] = [];
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

/** Two instances of one deployment: one Redis, one prefix, one BOT_GATE_SECRET. */
async function twoInstances(): Promise<[TestServer, TestServer]> {
  const config = {
    redisUrl: redis.url,
    redisPrefix: `botgate${++n}:`,
    botGate: 'pow',
    botGateSecret: 'the secret every instance shares',
    powDifficulty: 8,
    autoJoin: false,
    resumeGraceMs: 30_000,
  } as const;
  servers = [await startServer(config), await startServer(config)];
  return servers as [TestServer, TestServer];
}

function prove(client: RecordingClient, challenge: string, nonce = solveChallenge(challenge)): Promise<Ack> {
  return client.socket.timeout(5000).emitWithAck('proof', { challenge, nonce });
}

describe('bot gate across instances (Redis)', () => {
  it('a session verified on A resumes verified on B, where its spent proof is refused', async () => {
    const [a, b] = await twoInstances();
    const onA = await a.connect({ solveProof: false });
    const { id, challenge } = await onA.first('session');
    if (challenge === undefined) throw new Error('no challenge');
    const nonce = solveChallenge(challenge);
    expect(await prove(onA, challenge, nonce)).toEqual({ ok: true });
    onA.drop();

    const onB = await b.connect({ solveProof: false, session: id });
    expect(await onB.first('session')).toEqual({ id, resumed: true });
    expect(await prove(onB, challenge, nonce)).toMatchObject({ ok: false, error: { code: ErrorCode.PROOF_INVALID } });
    expect(await onB.join()).toEqual({ ok: true, status: 'waiting' });
  });

  it('B accepts the answer to a challenge A issued, for the same session', async () => {
    const [a, b] = await twoInstances();
    const onA = await a.connect({ solveProof: false });
    const { id, challenge } = await onA.first('session');
    if (challenge === undefined) throw new Error('no challenge');
    onA.drop();

    const onB = await b.connect({ solveProof: false, session: id });
    // Not verified yet: B names a challenge of its own, but A's is as good.
    expect((await onB.first('session')).challenge).toEqual(expect.any(String));
    expect(await onB.join()).toMatchObject({ ok: false, error: { code: ErrorCode.PROOF_REQUIRED } });
    expect(await prove(onB, challenge)).toEqual({ ok: true });
    expect(await onB.join()).toEqual({ ok: true, status: 'waiting' });
  });
});
