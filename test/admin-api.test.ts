/**
 * The operator API (docs/openapi.yaml) on a real server: the document is valid OpenAPI 3.1 and
 * every path it names answers as it says; nobody without ADMIN_TOKEN reads a report or bans
 * anyone; a ban disconnects its subject.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Ack, PairedPayload } from '../src/protocol/messages.js';
import { startServer, type TestServer } from './helpers/server.js';

const TOKEN = 'operator-token-of-32-characters!';
const SPEC = new URL('../docs/openapi.yaml', import.meta.url).pathname;

let server: TestServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.close();
  server = undefined;
});

/** A plain socket.io client with its own device token (so its own subject). */
function connect(url: string, device: string): Socket {
  const socket = io(url, { transports: ['websocket'], reconnection: false, auth: { device: device.padEnd(16, '-') } });
  sockets.push(socket);
  return socket;
}
const command = (socket: Socket, event: string, ...payload: unknown[]) =>
  socket.timeout(5000).emitWithAck(event, ...payload) as Promise<Ack<object>>;
const once = <T>(socket: Socket, event: string) => new Promise<T>((resolve) => socket.once(event, resolve));

/** Two clients paired, then the second reports the first; resolves with the report's id and the pair. */
async function reported(url: string, details = 'sent links') {
  const [a, b] = [
    connect(url, `a-${Math.random().toString(36).slice(2)}`),
    connect(url, `b-${Math.random().toString(36).slice(2)}`),
  ];
  const paired = once<PairedPayload>(a, 'paired');
  await command(a, 'join');
  await command(b, 'join');
  const { room } = await paired;
  const evidence = [{ from: 'partner', text: 'visit example.org', at: 1_700_000_000_000 }];
  const ack = (await command(b, 'report', { room, reason: 'spam', details, evidence })) as { reportId?: string };
  return { reportId: ack.reportId ?? '', room, a, b, evidence };
}

function admin(path: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set('Authorization', `Bearer ${token}`);
  if (rest.body) headers.set('Content-Type', 'application/json');
  return fetch(`${server?.url}${path}`, { ...rest, headers });
}

type Operations = Record<string, Record<string, { responses: Record<string, unknown> }>>;

describe('operator API', () => {
  it('is valid OpenAPI 3.1, and every documented path and method answers with a documented status', async () => {
    const api = (await SwaggerParser.validate(SPEC)) as unknown as { openapi: string; paths: Operations };
    expect(api.openapi).toBe('3.1.0');
    server = await startServer({ adminToken: TOKEN });
    const subject = 'a'.repeat(64);
    const bodies: Record<string, unknown> = { 'post /admin/bans': { subject, reason: 'test', durationMs: 60_000 } };
    const operations = Object.entries(api.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(5);
    for (const { path, method, operation } of operations) {
      const body = bodies[`${method} ${path}`];
      const response = await admin(path.replace('{subject}', subject), {
        method: method.toUpperCase(),
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const documented = Object.keys(operation.responses);
      expect(documented, `${method} ${path} answered ${response.status}`).toContain(String(response.status));
      expect(response.status, `${method} ${path}`).toBeLessThan(400);
      // And without the token, every one of them is refused.
      expect(
        (await admin(path.replace('{subject}', subject), { method: method.toUpperCase(), token: null })).status,
      ).toBe(401);
    }
  });

  it('lists reports with their subjects, reason, details, evidence, time and room, filtered', async () => {
    server = await startServer({ adminToken: TOKEN, autoJoin: false });
    const first = await reported(server.url, 'first');
    const response = await admin('/admin/reports');
    expect(response.status).toBe(200);
    const { reports } = (await response.json()) as { reports: Record<string, unknown>[] };
    expect(reports).toEqual([
      {
        id: first.reportId,
        at: expect.any(Number),
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        room: first.room,
        reason: 'spam',
        details: 'first',
        evidence: first.evidence,
        reporter: expect.stringMatching(/^[0-9a-f]{64}$/),
        reported: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    expect(reports[0]?.reporter).not.toBe(reports[0]?.reported);
    const at = reports[0]?.at as number;
    const count = async (query: string) =>
      ((await (await admin(`/admin/reports?${query}`)).json()) as { reports: unknown[] }).reports.length;
    expect(await count('reason=spam')).toBe(1);
    expect(await count('reason=harassment')).toBe(0);
    expect(await count(`since=${at + 1}`)).toBe(0);
    expect(await count(`until=${new Date(at - 1000).toISOString()}`)).toBe(0);
    expect(await count(`since=${new Date(at - 1000).toISOString()}&limit=1`)).toBe(1);
    for (const bad of ['reason=rude', 'limit=0', 'limit=5000', 'since=yesterday']) {
      const refused = await admin(`/admin/reports?${bad}`);
      expect(refused.status, bad).toBe(400);
      expect(await refused.json()).toMatchObject({ error: { code: 'INVALID_PAYLOAD' } });
    }
  });

  it('lets nobody without the token read a report or ban anyone, and does not exist without ADMIN_TOKEN', async () => {
    server = await startServer({ adminToken: TOKEN, autoJoin: false });
    await reported(server.url);
    const ban = JSON.stringify({ subject: 'b'.repeat(64), reason: 'x', durationMs: 60_000 });
    for (const token of [null, '', 'wrong', `${TOKEN}x`, TOKEN.slice(1)]) {
      for (const [path, init] of [
        ['/admin/reports', {}],
        ['/admin/bans', {}],
        ['/admin/stats', {}],
        ['/admin/bans', { method: 'POST', body: ban }],
        [`/admin/bans/${'b'.repeat(64)}`, { method: 'DELETE' }],
      ] as const) {
        const response = await admin(path, { ...init, token });
        expect(response.status, `${path} with ${token}`).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect(await server.app.store.bans()).toEqual([]);
    await server.close();

    server = await startServer({ autoJoin: false });
    for (const path of ['/admin/reports', '/admin/bans', '/admin/stats']) {
      expect((await admin(path)).status).toBe(404);
    }
    expect((await admin('/admin/bans', { method: 'POST', body: ban })).status).toBe(404);
    expect(await server.app.store.bans()).toEqual([]);
  });

  it('bans a reported subject: its connections close, it cannot connect until the ban is lifted', async () => {
    server = await startServer({ adminToken: TOKEN, autoJoin: false });
    const { a } = await reported(server.url);
    const [{ reported: subject }] = (
      (await (await admin('/admin/reports')).json()) as { reports: { reported: string }[] }
    ).reports as [{ reported: string }];
    const told = once<unknown>(a, 'error');
    const gone = once(a, 'disconnect');
    const made = await admin('/admin/bans', {
      method: 'POST',
      body: JSON.stringify({ subject, reason: 'spam bot', durationMs: 3_600_000 }),
    });
    expect(made.status).toBe(201);
    expect(await made.json()).toMatchObject({ ban: { subject, reason: 'spam bot', by: 'operator' } });
    expect(await told).toMatchObject({ code: 'BANNED' });
    await gone;
    const listed = (await (await admin('/admin/bans')).json()) as { bans: { subject: string }[] };
    expect(listed.bans.map((ban) => ban.subject)).toEqual([subject]);
    expect(await (await admin('/admin/stats')).json()).toMatchObject({ bans: 1, online: expect.any(Number) });

    // a's device again: refused.
    const again = io(server.url, { transports: ['websocket'], reconnection: false, auth: a.auth });
    sockets.push(again);
    expect((await once<{ data?: unknown }>(again, 'connect_error')).data).toMatchObject({ code: 'BANNED' });

    for (const bad of [
      { subject: 'not-a-subject', reason: 'x', durationMs: 1000 },
      { subject, reason: '', durationMs: 1000 },
      { subject, reason: 'x', durationMs: 0 },
      { subject, reason: 'x', durationMs: 1000, extra: true },
    ]) {
      expect((await admin('/admin/bans', { method: 'POST', body: JSON.stringify(bad) })).status).toBe(400);
    }
    expect((await admin('/admin/bans', { method: 'POST', body: '{' })).status).toBe(400);

    expect((await admin(`/admin/bans/${subject}`, { method: 'DELETE' })).status).toBe(204);
    expect((await admin(`/admin/bans/${subject}`, { method: 'DELETE' })).status).toBe(404);
    const back = io(server.url, { transports: ['websocket'], reconnection: false, auth: a.auth });
    sockets.push(back);
    await once(back, 'session');
  });
});
