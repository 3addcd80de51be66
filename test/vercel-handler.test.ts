import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VercelRequest, VercelResponse } from '@vercel/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import handler from '../handlers/vercel.js';

let server: Server;
let url: string;

beforeAll(async () => {
  // Vercel hands the function Node's request and response, with helpers this app does not use.
  server = createServer((req, res) => handler(req as VercelRequest, res as VercelResponse));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
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
});
