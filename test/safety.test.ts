/**
 * Reports reach the operator's webhook, signed and retried; automatic bans trigger at their
 * thresholds and expire. A real server, real socket.io clients, a real HTTP receiver.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import type { Ack, PairedPayload } from '../src/protocol/messages.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
let receiver: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.close();
  server = undefined;
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  receiver = undefined;
});

const start = async (overrides: Partial<Config>) => {
  server = await startServer({ autoJoin: false, pairingPerSecond: 100, ...overrides });
  return server;
};
const connect = (device: string) => {
  const socket = io(server?.url, { transports: ['websocket'], reconnection: false, auth: { device } });
  sockets.push(socket);
  return socket;
};
const command = (socket: Socket, event: string, ...payload: unknown[]) =>
  socket.timeout(5000).emitWithAck(event, ...payload) as Promise<Ack<object>>;
const once = <T>(socket: Socket, event: string) => new Promise<T>((resolve) => socket.once(event, resolve));

/** Pairs two connected sockets (the first waits) and resolves with their room. */
async function pair(first: Socket, second: Socket): Promise<string> {
  const paired = once<PairedPayload>(first, 'paired');
  expect(await command(first, 'join')).toMatchObject({ ok: true, status: 'waiting' });
  expect(await command(second, 'join')).toMatchObject({ ok: true, status: 'paired' });
  return (await paired).room;
}

const body = (request: IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
  });

describe('report webhook', () => {
  it('POSTs each report signed with REPORT_WEBHOOK_SECRET, retrying when the receiver fails', async () => {
    const secret = 'webhook-secret-0123456789';
    const received: { status: number; raw: Buffer; signature: string | undefined }[] = [];
    let delivered: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      delivered = resolve;
    });
    receiver = createServer(async (request, response) => {
      const raw = await body(request);
      // The first attempt fails, as a receiver that is restarting would.
      const status = received.length === 0 ? 503 : 204;
      received.push({ status, raw, signature: request.headers['x-pairwire-signature'] as string | undefined });
      response.writeHead(status).end();
      if (status === 204) delivered();
    });
    await new Promise<void>((resolve) => receiver?.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    await start({ reportWebhookUrl: `http://127.0.0.1:${port}/reports`, reportWebhookSecret: secret });

    const [offender, reporter] = [connect('offender-device-0001'), connect('reporter-device-001')];
    const room = await pair(offender, reporter);
    const evidence = [{ from: 'partner', text: 'send me your photos', at: 1_700_000_000_000 }];
    const ack = await command(reporter, 'report', {
      room,
      reason: 'sexual-content',
      details: 'asked for photos',
      evidence,
    });
    // The ack does not wait for the webhook.
    expect(ack).toMatchObject({ ok: true });
    expect(received).toHaveLength(0);
    await done;

    expect(received.map((r) => r.status)).toEqual([503, 204]);
    for (const { raw, signature } of received) {
      const expected = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
      expect(signature).toBe(expected);
      // A receiver checking with another key would refuse it.
      expect(signature).not.toBe(`sha256=${createHmac('sha256', 'another-secret-000000').update(raw).digest('hex')}`);
    }
    const payload = JSON.parse(received[1]?.raw.toString() ?? '{}');
    expect(payload).toEqual({
      type: 'report',
      report: {
        id: (ack as { reportId?: string }).reportId,
        at: expect.any(Number),
        time: expect.any(String),
        room,
        reason: 'sexual-content',
        details: 'asked for photos',
        evidence,
        reporter: expect.stringMatching(/^[0-9a-f]{64}$/),
        reported: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
  });
});

describe('automatic bans', () => {
  it('bans a subject reported by AUTO_BAN_REPORTERS distinct subjects, for AUTO_BAN_MS', async () => {
    await start({ autoBanReporters: 2, autoBanMs: 1500 });
    const offender = connect('offender-device-0001');
    // Two reports by one subject (two sessions of one device) count once.
    for (const device of ['first-reporter-0001', 'first-reporter-0001']) {
      const reporter = connect(device);
      const room = await pair(offender, reporter);
      expect(await command(reporter, 'report', { room, reason: 'spam' })).toMatchObject({ ok: true });
    }
    expect(offender.connected).toBe(true);
    expect(await server?.app.store.bans()).toEqual([]);

    // A second distinct reporter: the ban.
    const reporter = connect('second-reporter-001');
    const room = await pair(offender, reporter);
    const told = once<{ code: string; retryAfterMs: number }>(offender, 'error');
    const gone = once(offender, 'disconnect');
    expect(await command(reporter, 'report', { room, reason: 'spam' })).toMatchObject({ ok: true });
    expect(await told).toMatchObject({ code: 'BANNED', retryAfterMs: expect.any(Number) });
    await gone;
    expect(await server?.app.store.bans()).toMatchObject([{ by: 'auto-reports' }]);
    const refused = await once<{ data?: { retryAfterMs: number } }>(connect('offender-device-0001'), 'connect_error');
    expect(refused.data).toMatchObject({ code: 'BANNED' });

    // It expires: after retryAfterMs the device connects and joins again.
    await new Promise((resolve) => setTimeout(resolve, (refused.data?.retryAfterMs ?? 0) + 50));
    const back = connect('offender-device-0001');
    await once(back, 'session');
    expect(await command(back, 'join')).toMatchObject({ ok: true });
  });

  it('bans a subject past AUTO_BAN_SKIPS_PER_MINUTE next/block, and spares one below it', async () => {
    await start({ autoBanSkipsPerMinute: 3, autoBanMs: 60_000 });
    const person = connect('a-person-device-001');
    const script = connect('a-script-device-001');
    for (let i = 0; i < 3; i++) expect(await command(person, 'next')).toMatchObject({ ok: true });
    const told = once<{ code: string }>(script, 'error');
    const gone = once(script, 'disconnect');
    // Eight in a row: past three within one fixed minute, wherever the minute's edge falls.
    for (let i = 0; i < 8 && script.connected; i++) {
      const answer = await command(script, 'next').catch(() => undefined);
      if (answer && !answer.ok) expect(answer.error.code).toBe('BANNED');
    }
    expect(await told).toMatchObject({ code: 'BANNED' });
    await gone;
    expect(await server?.app.store.bans()).toMatchObject([{ by: 'auto-skips', reason: expect.stringContaining('3') }]);
    expect(person.connected).toBe(true);
    expect(await command(person, 'join')).toMatchObject({ ok: true });
  });
});
