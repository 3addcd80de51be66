/**
 * The README's "Build your own client" snippet, as written (placeholders such as `show` and `form`
 * defined around it), in Chromium: two such pages chat, and submitting the form neither reloads
 * the page nor throws before the chat is open. The page comes from a server of its own on
 * 127.0.0.1, with the SDK bundle beside it, so the signaling server allows it by CORS_ORIGINS.
 * (A page made up by Playwright on the server's origin has no address, and Chromium's local
 * network access checks would keep it from the server.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOOPBACK_MODE, launchChromium } from '../helpers/browser.js';
import { docSnippet } from '../helpers/doc-snippets.js';
import { startServer, type TestServer } from '../helpers/server.js';

const WAIT = { timeout: 15_000 };
const BUNDLE = new URL('../../public/build/pairwire-chat.js', import.meta.url);

/** What the snippet leaves to the page: its elements, and the functions it calls. */
const PLACEHOLDERS = `<!doctype html><meta charset="utf-8"><title>README client</title>
<form id="form"><input id="input" aria-label="Message"><button>Send</button></form>
<button id="nextButton">New partner</button>
<p role="status" id="status"></p>
<ul role="log" id="log"></ul>
<script>
  const byId = (id) => document.getElementById(id);
  window.sent = [];
  window.delivered = [];
  window.show = (text) => { byId('status').textContent = text; };
  window.addLine = (text) => { const li = document.createElement('li'); li.textContent = text; byId('log').append(li); };
  window.markSent = (id) => window.sent.push(id);
  window.markDelivered = (id) => window.delivered.push(id);
  window.showTyping = () => {};
  window.disableInput = () => {};
</script>`;

let browser: Browser;
let server: TestServer;
let pages: Page[] = [];
let page: string;
let pageServer: Server;
let pageOrigin: string;

beforeAll(async () => {
  if (!existsSync('public/build/pairwire-chat.js')) throw new Error('no public/build: run `npm run build` first');
  browser = await launchChromium();
  let snippet = docSnippet('README.md', 'build-your-own-client');
  expect(snippet).toContain("new ChatClient('https://chat.example.com')");
  // This machine's only way to a candidate, as the demo's ?loopback (see README: Tests).
  if (LOOPBACK_MODE) {
    snippet = snippet.replace(
      "new ChatClient('https://chat.example.com')",
      "new ChatClient('https://chat.example.com', { beforePeerConnection: () => navigator.mediaDevices.getUserMedia({ audio: true }) })",
    );
  }
  page = `${PLACEHOLDERS}\n<script type="module">\n${snippet}</script>`;
  pageServer = createServer((req, res) => {
    if (req.url === '/build/pairwire-chat.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(BUNDLE));
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page.replaceAll('https://chat.example.com', server.url));
    }
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

beforeEach(async () => {
  server = await startServer({ iceServers: [], resumeGraceMs: 60_000, corsOrigins: [pageOrigin] });
  pages = [];
});

afterEach(async () => {
  await Promise.all(pages.map((p) => p.context().close()));
  await server?.close();
});

interface Person {
  page: Page;
  /** Navigations of the page after it first loaded (a submitted form reloads it). */
  reloads(): number;
  errors: string[];
}

async function person(): Promise<Person> {
  const p = await (await browser.newContext()).newPage();
  pages.push(p);
  const errors: string[] = [];
  p.on('pageerror', (error) => errors.push(error.message));
  await p.goto(`${pageOrigin}/`);
  let navigations = 0;
  p.on('framenavigated', (frame) => {
    if (frame === p.mainFrame()) navigations++;
  });
  return { page: p, reloads: () => navigations, errors };
}

const status = (p: Page, text: string) => p.getByRole('status').filter({ hasText: text }).waitFor(WAIT);

async function submit(p: Page, text: string): Promise<void> {
  await p.getByLabel('Message').fill(text);
  await p.getByLabel('Message').press('Enter');
}

describe('README: Build your own client', () => {
  it('a submit before `open` does nothing: no error, no reload', async () => {
    const alone = await person();
    await status(alone.page, 'Waiting for a partner');
    await submit(alone.page, 'too early');
    // The form's submit event has run once this evaluation (queued after it) returns.
    expect(await alone.page.evaluate(() => (window as unknown as { sent: number[] }).sent)).toEqual([]);
    expect(alone.errors).toEqual([]);
    expect(alone.reloads()).toBe(0);
    expect(await alone.page.getByLabel('Message').inputValue()).toBe('too early');
  }, 30_000);

  it('two pages pair and chat; sending does not reload the page', async () => {
    const a = await person();
    await status(a.page, 'Waiting for a partner');
    const b = await person();
    await Promise.all([status(a.page, 'Connected'), status(b.page, 'Connected')]);

    await submit(a.page, 'hello from the README');
    await b.page.getByRole('log').getByText('hello from the README').waitFor(WAIT);
    await a.page.waitForFunction(
      () => (window as unknown as { delivered: number[] }).delivered.length === 1,
      undefined,
      WAIT,
    );
    expect(await a.page.getByLabel('Message').inputValue()).toBe('');
    expect([a.reloads(), b.reloads()]).toEqual([0, 0]);
    expect([...a.errors, ...b.errors]).toEqual([]);
  }, 40_000);
});
