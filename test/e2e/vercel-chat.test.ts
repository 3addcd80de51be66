/**
 * The Vercel layout as written (vercel.json, api/, the build in public/), served by the local
 * stand-in that routes as Vercel documents for a project without a framework
 * (test/helpers/vercel-stand-in.ts): the HTTP routes answer at their public paths, and two
 * Chromium pages loaded from it find signaling through /signaling.json (SIGNALING_URL) on another
 * origin, pair and chat: with a long-lived pairwire server (socket.io, as on Fly.io) and with
 * `serverless offline` (plain WebSocket, as on API Gateway). Each allows the page's origin in
 * CORS_ORIGINS, as docs/deploy.md tells.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openDemo } from '../helpers/browser.js';
import { connected, heard, say } from '../helpers/demo-page.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type ServerlessOffline, startServerlessOffline } from '../helpers/serverless-offline.js';
import { startVercelStandIn, type VercelStandIn } from '../helpers/vercel-stand-in.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WAIT = { timeout: 15_000 };

let vercel: VercelStandIn;
let browser: Browser;
let pages: Page[] = [];
const signalingUrl = process.env.SIGNALING_URL;

beforeAll(async () => {
  if (!existsSync('public/build/demo.js')) throw new Error('no public/build/demo.js: run `npm run build` first');
  vercel = await startVercelStandIn(ROOT);
  browser = await launchChromium();
}, 60_000);

afterEach(async () => {
  await Promise.all(pages.map((page) => page.context().close()));
  pages = [];
});

afterAll(async () => {
  await browser?.close();
  await vercel?.close();
  if (signalingUrl === undefined) delete process.env.SIGNALING_URL;
  else process.env.SIGNALING_URL = signalingUrl;
});

/** Opens the demo from the Vercel stand-in as a new person; waits until it reached the signaling server. */
async function person(): Promise<Page> {
  const page = await openDemo(browser, vercel.url);
  pages.push(page);
  await page.locator('[role=status]:not([data-state=connecting])').waitFor(WAIT);
  return page;
}

async function chatBothWays(): Promise<void> {
  const alice = await person();
  const bob = await person();
  await connected(alice, bob);
  await say(alice, 'Hello from a page Vercel served');
  expect(await heard(bob, 'Hello from a page Vercel served')).toBe('Hello from a page Vercel served');
  await say(bob, 'Signaling lives on another origin');
  expect(await heard(alice, 'Signaling lives on another origin')).toBe('Signaling lives on another origin');
}

describe('Vercel layout with signaling on a pairwire server (socket.io, as on Fly.io)', { timeout: 60_000 }, () => {
  let server: TestServer;
  const origins: Array<string | undefined> = [];

  beforeAll(async () => {
    server = await startServer({ iceServers: [], corsOrigins: [vercel.url], resumeGraceMs: 60_000 });
    server.app.io.engine.on('connection', (socket: { request: { headers: { origin?: string } } }) => {
      origins.push(socket.request.headers.origin);
    });
    process.env.SIGNALING_URL = server.url;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('answers the HTTP routes at their paths, the page and its bundles as static files', async () => {
    expect(await (await fetch(`${vercel.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${vercel.url}/readyz`)).json()).toEqual({ status: 'ready' });
    const ice = await fetch(`${vercel.url}/ice-servers`);
    expect(ice.headers.get('cache-control')).toBe('no-store');
    expect(((await ice.json()) as { iceServers: unknown[] }).iceServers.length).toBeGreaterThan(0);
    expect(await (await fetch(`${vercel.url}/signaling.json`)).json()).toEqual({ url: server.url });

    const page = await fetch(`${vercel.url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const script = /<script type="module" src="([^"]+)"/.exec(await page.text())?.[1];
    for (const path of [script, '/styles.css', '/build/pairwire-chat.js']) {
      expect((await fetch(`${vercel.url}${path}`)).status, path).toBe(200);
    }
  });

  it('two pages from the Vercel origin pair and chat through the server on another origin', async () => {
    await chatBothWays();
    expect(origins.length).toBeGreaterThanOrEqual(2);
    expect(new Set(origins)).toEqual(new Set([vercel.url]));
  });
});

describe('Vercel layout with signaling on API Gateway (serverless offline, plain WebSocket)', {
  timeout: 90_000,
}, () => {
  let redis: RedisServer;
  let offline: ServerlessOffline;

  beforeAll(async () => {
    redis = await startRedis();
    offline = await startServerlessOffline({
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'e2e-vercel:',
      ICE_SERVERS: '[]',
      CORS_ORIGINS: vercel.url,
    });
    process.env.SIGNALING_URL = offline.wsUrl;
  }, 90_000);

  afterAll(async () => {
    await offline?.stop();
    await redis?.stop();
  });

  it('two pages from the Vercel origin pair and chat through the WebSocket API', async () => {
    expect(await (await fetch(`${vercel.url}/signaling.json`)).json()).toEqual({ url: `${offline.wsUrl}/` });
    await chatBothWays();
  });
});
