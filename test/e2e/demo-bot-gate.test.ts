/**
 * The demo page in real Chromium with the bot gate on: each page solves its challenge in a Web
 * Worker (the page's own thread stays free) and two pages pair and chat as without the gate.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoUrl, launchChromium } from '../helpers/browser.js';
import { connected, heard, say } from '../helpers/demo-page.js';
import { startServer, type TestServer } from '../helpers/server.js';

let browser: Browser;
let server: TestServer | undefined;
let pages: Page[] = [];

beforeAll(async () => {
  if (!existsSync('public/build/demo.js')) throw new Error('no public/build/demo.js: run `npm run build` first');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await Promise.all(pages.map((page) => page.context().close()));
  pages = [];
  await server?.close();
  server = undefined;
});

describe('demo page in Chromium, bot gate on', () => {
  it('solves the challenge in a Web Worker, then pairs and chats', { timeout: 40_000 }, async () => {
    server = await startServer({ iceServers: [], resumeGraceMs: 60_000, botGate: 'pow', powDifficulty: 14 });
    const proofs: string[] = [];
    server.app.io.on('connection', (socket) => {
      socket.onAny((event: string) => {
        if (event === 'proof') proofs.push(socket.id);
      });
    });
    const workers: string[] = [];
    // As openDemo does, but watching for workers from before the page loads.
    const person = async () => {
      const context = await browser.newContext({ viewport: { width: 480, height: 640 } });
      const page = await context.newPage();
      pages.push(page);
      page.on('worker', (worker) => workers.push(worker.url()));
      await page.goto(demoUrl((server as TestServer).url));
      return page;
    };
    const [alice, bob] = [await person(), await person()];
    await connected(alice, bob);
    await say(alice, 'Proved my work, and here I am.');
    expect(await heard(bob, 'Proved my work, and here I am.')).toBe('Proved my work, and here I am.');
    expect(proofs).toHaveLength(2);
    expect(workers.length).toBeGreaterThanOrEqual(2);
    expect(workers.every((url) => url.startsWith('blob:'))).toBe(true);
  });
});
