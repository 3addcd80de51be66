/**
 * The built entrypoint as `npm start` and the Dockerfile run it: a real process on a real port.
 * (npm test builds dist/ before vitest runs.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignalingClient } from '../src/client/index.js';
import { runServerExpectingFailure, type ServerProcess, spawnServer } from './helpers/process.js';

describe('the server process', () => {
  let server: ServerProcess | undefined;
  const clients: SignalingClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.stop('SIGKILL');
    server = undefined;
  });

  it('serves health, pairs two clients, and exits 0 on SIGTERM after disconnecting them', async () => {
    server = await spawnServer();
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready' });

    const a = new SignalingClient(server.url, { socket: { reconnection: false } });
    const b = new SignalingClient(server.url, { socket: { reconnection: false } });
    clients.push(a, b);
    const [pa, pb] = await Promise.all([a.once('paired'), b.once('paired')]);
    expect(pa.room).toBe(pb.room);
    expect(pa.initiator).not.toBe(pb.initiator);

    const gone = new Promise((resolve) => a.socket.once('disconnect', resolve));
    expect(await server.stop('SIGTERM')).toBe(0);
    await gone;
    expect(server.output()).toContain('shutting down');
  });

  it('refuses to start on a bad setting, naming the variable', async () => {
    const { code, output } = await runServerExpectingFailure({ PORT: 'abc' });
    expect(code).toBe(78);
    expect(output).toContain('PORT: "abc" is not an integer');
  });
});
