/**
 * Nobody stranded (issue 13): the demo page in real Chromium when things do not go as planned. A
 * refused click changes nothing and says why in plain words; the buttons offer only what makes
 * sense; a lone waiting page says what to do; a long paste is not cut silently; a refused
 * connection is explained instead of "Connecting…" forever; a page whose microphone is refused
 * in `?loopback` mode ends its attempt instead of hanging. Every page is its own browser context.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Config } from '../../src/config.js';
import { attachPairwire } from '../../src/embed/pairwire.js';
import { launchChromium, openDemo } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

const WAIT = { timeout: 10_000 };
const SDK_BUNDLE = 'public/build/pairwire-chat.js';
const APP = 'https://app.example';

let browser: Browser;
let server: TestServer | undefined;
let pages: Page[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(() => {
  pages = [];
});

afterEach(async () => {
  await Promise.all(pages.map((page) => page.context().close()));
  await server?.close();
  server = undefined;
});

async function start(overrides: Partial<Config> = {}): Promise<TestServer> {
  server = await startServer({ iceServers: [], resumeGraceMs: 60_000, ...overrides });
  return server;
}

/** Opens the demo as a new person; waits until the server has placed it (queued, or paired at once). */
async function person(s: TestServer): Promise<Page> {
  const page = await openDemo(browser, s.url);
  pages.push(page);
  await page.locator('[role=status]:not([data-state=connecting])').waitFor(WAIT);
  return page;
}

function statusSays(page: Page, text: string): Promise<void> {
  return page.getByRole('status').filter({ hasText: text }).waitFor(WAIT);
}

const button = (page: Page, name: string) => page.getByRole('button', { name });

describe('demo page, when things go wrong', () => {
  it('hints what to do while waiting alone', async () => {
    const alone = await person(await start());
    await statusSays(alone, 'Waiting for a partner');
    await alone.getByText('Open it in a second tab').waitFor(WAIT);
  }, 40_000);

  it('offers only the buttons that make sense: no Leave while idle, no New partner while waiting', async () => {
    const alone = await person(await start());
    await statusSays(alone, 'Waiting for a partner');
    await expect(button(alone, 'New partner').isDisabled()).resolves.toBe(true);
    await expect(button(alone, 'Leave').isEnabled()).resolves.toBe(true);

    await button(alone, 'Leave').click();
    await statusSays(alone, 'You left');
    await expect(button(alone, 'Leave').isDisabled()).resolves.toBe(true);
    await expect(button(alone, 'New partner').isEnabled()).resolves.toBe(true);
  }, 40_000);

  it('explains a refused click in plain words, and the refused click changes nothing', async () => {
    // A budget of one pairing click a second (burst 2): the third click in a row is refused.
    const alone = await person(await start({ pairingPerSecond: 1 }));
    await statusSays(alone, 'Waiting for a partner');
    // Each click waits for its button, that is for the previous answer: as quick as a user can be.
    await button(alone, 'Leave').click();
    await button(alone, 'New partner').click();
    await button(alone, 'Leave').click();
    const notice = alone.locator('.notice').filter({ hasText: 'too quick' });
    await notice.waitFor(WAIT);
    expect(await notice.textContent()).not.toContain('too many messages');
    // Leave, New partner, then a refused Leave: in the queue, as the server has it.
    await statusSays(alone, 'Waiting for a partner');
    await expect(button(alone, 'Leave').isEnabled()).resolves.toBe(true);
  }, 40_000);

  it('does not cut a long paste: it says how much is over and will not send it', async () => {
    const s = await start();
    const alice = await person(s);
    const bob = await person(s);
    await Promise.all([statusSays(alice, 'Connected'), statusSays(bob, 'Connected')]);

    const input = alice.getByLabel('Message', { exact: true });
    await input.focus();
    await alice.keyboard.insertText('x'.repeat(4500));
    expect((await input.inputValue()).length).toBe(4500);
    await alice.getByRole('alert').filter({ hasText: '4,500 characters' }).waitFor(WAIT);
    await expect(button(alice, 'Send').isDisabled()).resolves.toBe(true);

    await input.fill('short enough');
    await expect(alice.getByRole('alert').isHidden()).resolves.toBe(true);
    await button(alice, 'Send').click();
    await bob.getByRole('log').getByText('short enough').waitFor(WAIT);
  }, 40_000);

  it('says so when the server refuses the connection for too many from this address', async () => {
    const s = await start({ maxConnectionsPerIp: 1, connectionsPerMinutePerIp: 100 });
    await person(s);
    const second = await openDemo(browser, s.url);
    pages.push(second);
    await statusSays(second, 'Too many connections from your network');
    await expect(button(second, 'New partner').isDisabled()).resolves.toBe(true);
  }, 40_000);

  it('in ?loopback mode, a refused microphone ends the attempt on both pages instead of hanging', async () => {
    const s = await start();
    const refuseMicrophone = () => {
      navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));
    };
    const open = async () => {
      const context = await browser.newContext();
      await context.addInitScript(refuseMicrophone);
      const page = await context.newPage();
      pages.push(page);
      await page.goto(`${s.url}/?loopback`);
      return page;
    };
    const alice = await open();
    await statusSays(alice, 'Waiting for a partner');
    const bob = await open();
    for (const page of [alice, bob]) {
      await statusSays(page, 'Could not connect to your partner');
      await page.locator('.notice').filter({ hasText: 'needs the microphone' }).waitFor(WAIT);
      await expect(button(page, 'New partner').isEnabled()).resolves.toBe(true);
    }
  }, 40_000);
});

describe('the SDK on a page of another origin', () => {
  let site: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (site ? site.close(resolve) : resolve(undefined)));
    site = undefined;
  });

  /**
   * Another web site (another port: another origin) whose page uses the SDK against the server in
   * `?server=`, with these ChatClient options.
   */
  async function anotherSite(options: object = {}): Promise<string> {
    const bundle = readFileSync(SDK_BUNDLE);
    const page = `<!doctype html><meta charset="utf-8"><title>elsewhere</title>
<script type="module">
  import { ChatClient } from '/pairwire-chat.js';
  window.seen = [];
  window.chat = new ChatClient(new URLSearchParams(location.search).get('server'), ${JSON.stringify(options)});
  window.chat.on('error', (error) => window.seen.push(error.code));
  window.chat.on('waiting', () => window.seen.push('waiting'));
</script>`;
    const listening = createServer((request, response) => {
      if (request.url === '/pairwire-chat.js')
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else response.writeHead(200, { 'content-type': 'text/html' }).end(page);
    });
    site = listening;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  }

  async function visit(site: string, s: { url: string }): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    pages.push(page);
    await page.goto(`${site}/?server=${encodeURIComponent(s.url)}`);
    return page;
  }

  const seen = (page: Page) => page.evaluate(() => (window as unknown as { seen: string[] }).seen);

  it('reports ORIGIN_NOT_ALLOWED and stops trying when the server does not serve that origin', async () => {
    const site = await anotherSite();
    const page = await visit(site, await start());
    await page.waitForFunction(() => (window as unknown as { seen: string[] }).seen.length > 0, undefined, WAIT);
    expect(await seen(page)).toEqual(['ORIGIN_NOT_ALLOWED']);
    // socket.io-client would retry a refused handshake forever; the SDK gave up.
    const active = await page.evaluate(
      () =>
        (window as unknown as { chat: { signaling: { socket: { active: boolean } } } }).chat.signaling.socket.active,
    );
    expect(active).toBe(false);
  }, 40_000);

  /**
   * Keeps the server's refusal carriers for `origin` from this address all taken (the admission
   * carries at most ten refusals at once, each for a few seconds; docs/security.md), so a page's
   * refused handshake gets a bare 403 that a browser cannot read. Returns the stop function.
   */
  function takeEveryCarrier(url: string, path: string, origin: string): () => void {
    let stopped = false;
    const open = new Set<WebSocket>();
    const carry = () => {
      if (stopped) return;
      const ws = new WebSocket(`${url.replace('http', 'ws')}${path}/?EIO=4&transport=websocket`, { origin });
      open.add(ws);
      ws.on('error', () => {});
      ws.on('close', () => {
        open.delete(ws);
        carry();
      });
    };
    for (let i = 0; i < 10; i++) carry();
    return () => {
      stopped = true;
      for (const ws of open) ws.terminate();
    };
  }

  it('asks for the refusal under the prefix of an embedder that mounts pairwire at /chat', async () => {
    // The host's app has no /origin-check of its own: only pairwire's routes, under /chat, answer it.
    let cleanupCarriers: (() => void) | undefined;
    const app = express();
    const host = app.listen(0, '127.0.0.1');
    const pairwire = attachPairwire(host, { logLevel: 'silent', corsOrigins: [APP], path: '/chat/socket.io' });
    app.use('/chat', pairwire.routes);
    try {
      await new Promise((resolve) => host.once('listening', resolve));
      const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
      const site = await anotherSite({ signaling: { socket: { path: '/chat/socket.io' } } });
      cleanupCarriers = takeEveryCarrier(url, '/chat/socket.io', site);
      const page = await visit(site, { url });
      await page.waitForFunction(() => (window as unknown as { seen: string[] }).seen.length > 0, undefined, WAIT);
      expect(await seen(page)).toEqual(['ORIGIN_NOT_ALLOWED']);
    } finally {
      cleanupCarriers?.();
      await pages.pop()?.context().close();
      await pairwire.close();
      await new Promise((resolve) => host.close(resolve));
    }
  }, 40_000);

  it('connects when that origin is in CORS_ORIGINS', async () => {
    const site = await anotherSite();
    const page = await visit(site, await start({ corsOrigins: [site] }));
    await page.waitForFunction(() => (window as unknown as { seen: string[] }).seen.length > 0, undefined, WAIT);
    expect(await seen(page)).toEqual(['waiting']);
  }, 40_000);
});
