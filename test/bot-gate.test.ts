/**
 * The bot gate over socket.io, with real clients on a real port (docs/protocol.md, "Bot gate"):
 * no pairing before a valid proof, a proof answers once and only for its own session, a verified
 * session stays verified when it resumes, and with the gate off nothing changes. The SDK solves
 * its challenges in a worker thread by itself.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/protocol/errors.js';
import type { Ack } from '../src/protocol/messages.js';
import { solveChallenge } from './helpers/proof.js';
import { type RecordingClient, startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The gate on, at a difficulty that solves in a moment. */
const GATE_ON = { botGate: 'pow', powDifficulty: 8 } as const;

/** Sends `proof` by hand (clients here solve nothing by themselves). */
function prove(client: RecordingClient, challenge: string, nonce = solveChallenge(challenge)): Promise<Ack> {
  return client.socket.timeout(5000).emitWithAck('proof', { challenge, nonce });
}

async function challengeOf(client: RecordingClient): Promise<string> {
  const { challenge } = await client.first('session');
  if (challenge === undefined) throw new Error('no challenge in the session event');
  return challenge;
}

describe('bot gate on (socket.io)', () => {
  it('refuses join, next and block with PROOF_REQUIRED and a challenge, and makes no automatic join', async () => {
    server = await startServer(GATE_ON);
    const client = await server.connect({ solveProof: false });
    await challengeOf(client);
    for (const command of ['join', 'next', 'block'] as const) {
      const ack = await client[command]();
      expect(ack.ok).toBe(false);
      if (ack.ok) continue;
      expect(ack.error.code).toBe(ErrorCode.PROOF_REQUIRED);
      expect(ack.error.challenge).toEqual(expect.any(String));
    }
    expect(await server.app.store.stats()).toMatchObject({ waiting: 0 });
    expect(client.all('waiting')).toEqual([]);
  });

  it('after a valid proof, makes the automatic join it held back, and pairs two such clients', async () => {
    server = await startServer(GATE_ON);
    const [a, b] = [await server.connect({ solveProof: false }), await server.connect({ solveProof: false })];
    expect(await prove(a, await challengeOf(a))).toEqual({ ok: true });
    await a.first('waiting');
    expect(await prove(b, await challengeOf(b))).toEqual({ ok: true });
    const [pa, pb] = [await a.first('paired'), await b.first('paired')];
    expect(pa.room).toBe(pb.room);
  });

  it('a client that connected idle joins once it proved itself', async () => {
    server = await startServer({ ...GATE_ON, autoJoin: false });
    const client = await server.connect({ solveProof: false });
    const challenge = await challengeOf(client);
    expect(await prove(client, challenge)).toEqual({ ok: true });
    expect(client.all('waiting')).toEqual([]);
    expect(await client.join()).toEqual({ ok: true, status: 'waiting' });
  });

  it('refuses a replayed proof', async () => {
    server = await startServer({ ...GATE_ON, autoJoin: false });
    const client = await server.connect({ solveProof: false });
    const challenge = await challengeOf(client);
    const nonce = solveChallenge(challenge);
    expect(await prove(client, challenge, nonce)).toEqual({ ok: true });
    const replay = await prove(client, challenge, nonce);
    expect(replay).toMatchObject({
      ok: false,
      error: { code: ErrorCode.PROOF_INVALID, challenge: expect.any(String) },
    });
  });

  it('refuses a proof made for another session, which then still cannot join', async () => {
    server = await startServer(GATE_ON);
    const [a, b] = [await server.connect({ solveProof: false }), await server.connect({ solveProof: false })];
    const ofA = await challengeOf(a);
    expect(await prove(b, ofA)).toMatchObject({ ok: false, error: { code: ErrorCode.PROOF_INVALID } });
    expect(await b.join()).toMatchObject({ ok: false, error: { code: ErrorCode.PROOF_REQUIRED } });
    // Refused for b, and not spent by that: a still proves with it.
    expect(await prove(a, ofA)).toEqual({ ok: true });
  });

  it('keeps a session verified when it resumes after a drop', async () => {
    server = await startServer({ ...GATE_ON, autoJoin: false });
    const client = await server.connect({ solveProof: false, socket: { reconnection: true, reconnectionDelay: 50 } });
    expect(await prove(client, await challengeOf(client))).toEqual({ ok: true });
    client.drop();
    const resumed = await client.nth('session', 1);
    expect(resumed).toEqual({ id: client.sessionId, resumed: true });
    expect(await client.join()).toEqual({ ok: true, status: 'waiting' });
  });

  it('the SDK solves the challenge in a worker thread by itself, and two clients pair', async () => {
    server = await startServer({ ...GATE_ON, powDifficulty: 12 });
    const [a, b] = [await server.connect(), await server.connect()];
    const [pa, pb] = [await a.first('paired', 15_000), await b.first('paired', 15_000)];
    expect(pa.room).toBe(pb.room);
    expect((await a.first('session')).challenge).toEqual(expect.any(String));
  });

  it('the SDK answers PROOF_REQUIRED on its own and runs the command again', async () => {
    server = await startServer({ ...GATE_ON, autoJoin: false });
    const client = await server.connect();
    // However the race with the session's own challenge goes, the join gets through.
    expect(await client.join()).toEqual({ ok: true, status: 'waiting' });
  });
});

describe('bot gate off (the default)', () => {
  it('sends no challenge, joins on connect, and acknowledges a proof without changing anything', async () => {
    server = await startServer();
    const client = await server.connect({ solveProof: false });
    expect(await client.first('session')).toEqual({ id: client.sessionId, resumed: false });
    await client.first('waiting');
    expect(await client.socket.timeout(5000).emitWithAck('proof', { challenge: 'x', nonce: '1' })).toEqual({
      ok: true,
    });
    expect(client.received.map((r) => r.event)).toEqual(['session', 'waiting']);
  });
});

describe('bot gate with a human-verification service (BOT_GATE=siteverify)', () => {
  it('a client whose solveProof hands over the widget token pairs; one with a bad token does not', async () => {
    // A stand-in for Turnstile's siteverify on 127.0.0.1: accepts one token for the site's secret.
    const service = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        const form = new URLSearchParams(body);
        const success = form.get('secret') === 'site-secret' && form.get('response') === 'a-person';
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ success }));
      });
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = service.address() as AddressInfo;
      server = await startServer({
        botGate: 'siteverify',
        siteverifyUrl: `http://127.0.0.1:${port}/siteverify`,
        siteverifySecret: 'site-secret',
      });
      const script = await server.connect({ solveProof: async () => 'a-script' });
      expect(await script.join()).toMatchObject({ ok: false, error: { code: ErrorCode.PROOF_REQUIRED } });
      const [a, b] = [
        await server.connect({ solveProof: async () => 'a-person' }),
        await server.connect({ solveProof: async () => 'a-person' }),
      ];
      const [pa, pb] = [await a.first('paired'), await b.first('paired')];
      expect(pa.room).toBe(pb.room);
      expect(script.all('paired')).toEqual([]);
    } finally {
      await new Promise((resolve) => service.close(resolve));
    }
  });
});
