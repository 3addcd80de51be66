/**
 * A page of a refused origin (issue 13, item 2): it never gets a session, yet it learns why (typed
 * `connect_error` data, or GET /origin-check where a refusal cannot carry data), and the operator
 * sees which origin was turned away, never from which address.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ErrorCode } from '../src/protocol/errors.js';
import { ORIGIN_CHECK_PATH } from '../src/protocol/origin-check.js';
import { startServer, type TestServer } from './helpers/server.js';

const EVIL = 'https://evil.example';
const APP = 'https://app.example';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A server whose log lines are kept, parsed. */
async function start(corsOrigins: string[]): Promise<{ s: TestServer; lines: Array<Record<string, unknown>> }> {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  server = await startServer({ corsOrigins }, { logger: pino({ level: 'info' }, sink) });
  return { s: server, lines };
}

/**
 * A raw WebSocket handshake on socket.io's path: 'open', or 'refused' (engine.io answers 400 to any
 * refused upgrade, the admission 403 past its carriers). `hold` keeps an open one open.
 */
function websocketHandshake(url: string, origin: string, hold = false): Promise<'open' | 'refused'> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, { origin });
  return new Promise((resolve) => {
    ws.on('open', () => {
      if (!hold) ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', () => resolve('refused'));
    ws.on('error', () => {});
  });
}

describe('a page of a refused origin', () => {
  it('gets no session, and is told why as typed connect_error data; past ten at once, HTTP 403', async () => {
    const { s } = await start([APP]);
    const refused = io(s.url, { transports: ['websocket'], reconnection: false, extraHeaders: { origin: EVIL } });
    const error = await new Promise<Error & { data?: unknown }>((resolve) => refused.once('connect_error', resolve));
    refused.close();
    expect(error.data).toEqual({
      code: ErrorCode.ORIGIN_NOT_ALLOWED,
      message: expect.stringContaining('CORS_ORIGINS'),
    });
    expect(s.app.io.of('/').sockets.size).toBe(0);
    // Refusals carried at once from one address are bounded; beyond them the handshake gets 403.
    const carriers = await Promise.all(Array.from({ length: 10 }, () => websocketHandshake(s.url, EVIL, true)));
    expect(carriers.every((outcome) => outcome === 'open')).toBe(true);
    expect(await websocketHandshake(s.url, EVIL)).toBe('refused');
    const polling = await fetch(`${s.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: EVIL } });
    expect(polling.status).toBe(403);
    // Carriers close by themselves, and hold nothing: the page's own origin still gets in.
    await vi.waitFor(() => expect(s.app.io.engine.clientsCount).toBe(0), { timeout: 8000, interval: 100 });
    expect(await websocketHandshake(s.url, APP)).toBe('open');
  }, 15_000);

  it('learns why from GET /origin-check, which any page may read; allowed pages and non-browsers hear ok', async () => {
    const { s } = await start([APP]);
    const refused = await fetch(`${s.url}${ORIGIN_CHECK_PATH}`, { headers: { origin: EVIL } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(await refused.json()).toEqual({
      ok: false,
      error: { code: ErrorCode.ORIGIN_NOT_ALLOWED, message: expect.stringContaining('CORS_ORIGINS') },
    });
    for (const headers of [{ origin: APP }, { origin: s.url }, {}] as Array<Record<string, string>>) {
      const allowed = await fetch(`${s.url}${ORIGIN_CHECK_PATH}`, { headers });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toEqual({ ok: true });
    }
  });

  it('is logged with its origin, never the client address, once a minute per origin however often it knocks', async () => {
    const { s, lines } = await start([]);
    // Each knock gets its refusal (a carrier connection), but only one log line per origin.
    for (let i = 0; i < 3; i++) await websocketHandshake(s.url, EVIL);
    await websocketHandshake(s.url, APP);

    const refusals = lines.filter((line) => line.msg === 'connection refused: origin not allowed');
    expect(refusals.map((line) => line.origin)).toEqual([EVIL, APP]);
    const logged = JSON.stringify(refusals);
    expect(logged).not.toContain('127.0.0.1');
    expect(logged).not.toMatch(/"(ip|address|remoteAddress)"/);
  });
});
