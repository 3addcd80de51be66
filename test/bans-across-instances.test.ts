/**
 * Bans across instances: two real server processes on one real Redis. A ban made through the
 * operator API of instance A refuses and disconnects its subject on instance B within a second.
 * Needs dist/ (npm run build).
 */
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, PairedPayload } from '../src/protocol/messages.js';
import { type ServerProcess, spawnServer } from './helpers/process.js';
import { type RedisServer, startRedis } from './helpers/redis.js';

const TOKEN = 'operator-token-of-32-characters!';

describe('bans across instances', () => {
  let redis: RedisServer;
  let instances: ServerProcess[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'bans:',
      SUBJECT_SALT: 'the-same-salt-on-every-instance',
      ADMIN_TOKEN: TOKEN,
      AUTO_JOIN: 'false',
    };
    instances = await Promise.all([spawnServer(env), spawnServer(env)]);
    // Two processes starting on a busy machine: their start has its own budget (spawnServer's 30 s).
  }, 90_000);
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
    await redis?.stop();
  });

  const connect = (url: string, device: string) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false, auth: { device } });
    sockets.push(socket);
    return socket;
  };
  const command = (socket: Socket, event: string, ...payload: unknown[]) =>
    socket.timeout(5000).emitWithAck(event, ...payload) as Promise<Ack<object>>;
  const once = <T>(socket: Socket, event: string) => new Promise<T>((resolve) => socket.once(event, resolve));

  it('a ban made on instance A refuses and disconnects the subject on instance B within a second', async () => {
    const [a, b] = instances as [ServerProcess, ServerProcess];
    // The offender on B, paired with its victim on A, who reports it there.
    const offender = connect(b.url, 'offender-device-0001');
    const victim = connect(a.url, 'victim-device-000001');
    const paired = once<PairedPayload>(victim, 'paired');
    await command(offender, 'join');
    await command(victim, 'join');
    const { room } = await paired;
    expect(await command(victim, 'report', { room, reason: 'harassment', details: 'threats' })).toMatchObject({
      ok: true,
    });
    const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
    // The report is readable on either instance: it lives in Redis.
    const { reports } = (await (await fetch(`${b.url}/admin/reports`, { headers })).json()) as {
      reports: { reported: string; room: string }[];
    };
    expect(reports).toMatchObject([{ room }]);
    const subject = reports[0]?.reported as string;

    // Back in the queue on B, then banned through A.
    await command(offender, 'join');
    const told = once<unknown>(offender, 'error');
    const gone = once(offender, 'disconnect');
    const response = await fetch(`${a.url}/admin/bans`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ subject, reason: 'threats', durationMs: 3_600_000 }),
    });
    expect(response.status).toBe(201);
    const withinASecond = new Promise((_, reject) => setTimeout(() => reject(new Error('not within 1 s')), 1000));
    await Promise.race([Promise.all([told, gone]), withinASecond]);
    expect(await told).toMatchObject({ code: 'BANNED', retryAfterMs: expect.any(Number) });
    expect((await (await fetch(`${b.url}/stats`)).json()) as { waiting: number }).toMatchObject({ waiting: 0 });

    // Refused at connection on both instances; the victim's device is not.
    for (const url of [a.url, b.url]) {
      const error = await once<{ data?: unknown }>(connect(url, 'offender-device-0001'), 'connect_error');
      expect(error.data).toMatchObject({ code: 'BANNED' });
    }
    await once(connect(b.url, 'victim-device-000001'), 'session');
  });
});
