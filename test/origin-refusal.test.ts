/**
 * A page of a refused origin (issue 13, item 2): no connection is ever made for it (the WebSocket
 * and polling handshakes are refused before engine.io opens anything), yet it can learn why, and
 * the operator sees which origin was turned away, never from which address.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
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

/** A raw WebSocket handshake on socket.io's path: 'open', or 'refused' (engine.io answers 400 to any refused upgrade). */
function websocketHandshake(url: string, origin: string): Promise<'open' | 'refused'> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, { origin });
  return new Promise((resolve) => {
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', () => resolve('refused'));
    ws.on('error', () => {});
  });
}

describe('a page of a refused origin', () => {
  it('gets no connection: the WebSocket and polling handshakes are refused before engine.io opens one', async () => {
    const { s } = await start([APP]);
    expect(await websocketHandshake(s.url, EVIL)).toBe('refused');
    const polling = await fetch(`${s.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: EVIL } });
    expect(polling.status).toBe(403);
    expect(s.app.io.engine.clientsCount).toBe(0);
    expect(await websocketHandshake(s.url, APP)).toBe('open');
  });

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
    for (let i = 0; i < 3; i++) expect(await websocketHandshake(s.url, EVIL)).toBe('refused');
    expect(await websocketHandshake(s.url, APP)).toBe('refused');

    const refusals = lines.filter((line) => line.msg === 'connection refused: origin not allowed');
    expect(refusals.map((line) => line.origin)).toEqual([EVIL, APP]);
    const logged = JSON.stringify(refusals);
    expect(logged).not.toContain('127.0.0.1');
    expect(logged).not.toMatch(/"(ip|address|remoteAddress)"/);
  });
});
