/**
 * Limits that must be true of what is really open (issue 13): a packet announcing binary
 * attachments is not held. Real server, raw clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import type { SignalingSocket } from '../src/transports/socketio/types.js';
import { offer } from './fixtures/webrtc.js';
import { RawConnection } from './fuzz/raw-client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
const raws: RawConnection[] = [];

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.ws.terminate();
  await server?.close();
  server = undefined;
});

async function start(overrides: Partial<Config> = {}): Promise<TestServer> {
  server = await startServer({ autoJoin: false, ...overrides });
  return server;
}

async function rawOpen(url: string): Promise<RawConnection> {
  const raw = await RawConnection.open(url);
  raws.push(raw);
  return raw;
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
