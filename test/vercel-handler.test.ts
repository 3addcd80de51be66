import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VercelRequest, VercelResponse } from '@vercel/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import handler, { signalingLocation, type VercelHandler, vercelRoute } from '../handlers/vercel.js';

const servers: Server[] = [];

/** Vercel hands a function Node's request and response, with helpers this app does not use. */
async function serve(fn: VercelHandler): Promise<string> {
  const server = createServer((req, res) => fn(req as VercelRequest, res as VercelResponse));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let url: string;
const signalingUrl = process.env.SIGNALING_URL;

beforeAll(async () => {
  url = await serve(handler);
});

afterEach(() => {
  if (signalingUrl === undefined) delete process.env.SIGNALING_URL;
  else process.env.SIGNALING_URL = signalingUrl;
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('Vercel function entry', () => {
  it('serves the same HTTP routes as the other deployments', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });
    const ice = (await (await fetch(`${url}/ice-servers`)).json()) as { iceServers: unknown[] };
    expect(ice.iceServers.length).toBeGreaterThan(0);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
  });

  it('a route function answers its route at whatever path it is reached, keeping the query', async () => {
    const readyz = await serve(vercelRoute('/readyz'));
    // Called directly (/api/readyz) or after a rewrite that kept the browser's path.
    for (const path of ['/api/readyz', '/readyz', '/anything?x=1']) {
      expect(await (await fetch(`${readyz}${path}`)).json(), path).toEqual({ status: 'ready' });
    }
  });

  it('/signaling.json tells the page the SIGNALING_URL it should use, uncached', async () => {
    process.env.SIGNALING_URL = 'https://pairwire.fly.dev';
    const response = await fetch(`${url}/signaling.json`);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ url: 'https://pairwire.fly.dev' });

    delete process.env.SIGNALING_URL;
    const unset = await fetch(`${url}/signaling.json`);
    expect(unset.status).toBe(500);
    expect(((await unset.json()) as { error: string }).error).toMatch(/^SIGNALING_URL is not set/);
  });
});

describe('SIGNALING_URL', () => {
  it('names a socket.io server by its origin, an API Gateway WebSocket API with its stage', () => {
    expect(signalingLocation('https://pairwire.fly.dev/')).toEqual({ url: 'https://pairwire.fly.dev' });
    expect(signalingLocation('http://127.0.0.1:3000')).toEqual({ url: 'http://127.0.0.1:3000' });
    expect(signalingLocation('wss://abc123.execute-api.eu-west-1.amazonaws.com/prod')).toEqual({
      url: 'wss://abc123.execute-api.eu-west-1.amazonaws.com/prod',
    });
  });

  it('refuses what the page could not use, naming the variable', () => {
    for (const bad of [
      undefined,
      '',
      'pairwire.fly.dev',
      'https://pairwire.fly.dev/chat',
      'ftp://x',
      'wss://a/b?c=d',
    ]) {
      const location = signalingLocation(bad);
      expect('error' in location && location.error, String(bad)).toMatch(/^SIGNALING_URL /);
    }
  });
});
