/**
 * The demo page in real Chromium against a real server: pairing, a DataChannel that opens, chat
 * both ways that never passes through the server, New partner, closing a page, and text that
 * stays text. Every page is its own browser context (another person).
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PairwireApp } from '../../src/app.js';
import { launchChromium, openDemo } from '../helpers/browser.js';
import { connected, heard, say } from '../helpers/demo-page.js';
import { startServer, type TestServer } from '../helpers/server.js';

const WAIT = { timeout: 10_000 };

let browser: Browser;
let server: TestServer;
let pages: Page[] = [];
let wire: () => string;

beforeAll(async () => {
  if (!existsSync('public/build/demo.js')) throw new Error('no public/build/demo.js: run `npm run build` first');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  // A dropped connection would keep its pair for a minute: only an explicit goodbye from a
  // closing page can tell its partner within a test's time.
  server = await startServer({ iceServers: [], resumeGraceMs: 60_000 });
  wire = recordEngineTraffic(server.app);
  pages = [];
});

afterEach(async () => {
  await Promise.all(pages.map((page) => page.context().close()));
  await server?.close();
});

/** Opens the demo as a new person; waits until the server has it (queued, or paired at once), so pairing order is opening order. */
async function person(): Promise<Page> {
  const page = await openDemo(browser, server.url);
  pages.push(page);
  await page.locator('[role=status]:not([data-state=connecting])').waitFor(WAIT);
  return page;
}

function statusSays(page: Page, text: string): Promise<void> {
  return page.getByRole('status').filter({ hasText: text }).waitFor(WAIT);
}

/** Every engine.io packet payload in both directions, as the server handled it: the server's whole view. */
function recordEngineTraffic(app: PairwireApp): () => string {
  const payloads: string[] = [];
  app.io.engine.on('connection', (socket: NodeJS.EventEmitter) => {
    const record = (packet: { data?: unknown }) => payloads.push(String(packet.data ?? ''));
    socket.on('packet', record);
    socket.on('packetCreate', record);
  });
  return () => payloads.join('\n');
}

describe('demo page in Chromium', () => {
  it('pairs two pages, opens a DataChannel and chats both ways without the server seeing the text', async () => {
    const alice = await person();
    const bob = await person();
    await connected(alice, bob);

    // Plain sentences: nothing in SDP or ICE could contain them by chance.
    const fromAlice = 'Hi! Is this really peer to peer?';
    const fromBob = 'It is: the server only introduced us. Our text goes over a DataChannel.';
    const afterTyping = 'Try the New partner button to meet someone else.';
    await say(alice, fromAlice);
    expect(await heard(bob, fromAlice)).toBe(fromAlice);
    await alice.getByRole('log').locator('.message.mine .receipt').filter({ hasText: 'delivered' }).waitFor(WAIT);
    await say(bob, fromBob);
    expect(await heard(alice, fromBob)).toBe(fromBob);

    // The typing hint travels over the DataChannel too, and the message it announced clears it.
    await bob.getByLabel('Message', { exact: true }).pressSequentially('Try');
    await alice.getByText('Partner is typing…').waitFor(WAIT);
    mkdirSync('test-results', { recursive: true });
    await alice.screenshot({ path: 'test-results/demo-chat.png' });
    await bob.getByLabel('Message', { exact: true }).fill(afterTyping);
    await bob.getByRole('button', { name: 'Send' }).click();
    expect(await heard(alice, afterTyping)).toBe(afterTyping);
    await alice.getByText('Partner is typing…').waitFor({ state: 'hidden', ...WAIT });

    const seen = wire();
    expect(seen).toContain('"offer"'); // the probe does see the traffic: signaling went through it
    expect(seen).toContain('"candidate"');
    for (const text of [fromAlice, fromBob, afterTyping]) expect(seen).not.toContain(text);
  }, 40_000);

  it('shows markup from the partner as text, never as HTML', async () => {
    const alice = await person();
    const bob = await person();
    await connected(alice, bob);

    const markup = '<img src=x onerror="document.title=\'pwned\'"> <b>bold?</b>';
    await say(alice, markup);
    expect(await heard(bob, 'bold?')).toBe(markup);
    expect(await bob.getByRole('log').locator('img, b').count()).toBe(0);
    expect(await bob.title()).not.toBe('pwned');
  }, 40_000);

  it('New partner pairs with the next person in the queue; the old partner is told', async () => {
    const alice = await person();
    const bob = await person();
    await connected(alice, bob);
    const carol = await person();

    await bob.getByRole('button', { name: 'New partner' }).click();
    await statusSays(alice, 'Your partner left');
    await connected(bob, carol);

    const text = `carol meets bob ${crypto.randomUUID()}`;
    await say(carol, text);
    expect(await heard(bob, text)).toBe(text);
    // The conversation with alice was cleared for the new partner.
    expect(await bob.getByRole('log').locator('.message').count()).toBe(1);
    expect(await alice.getByRole('log').getByText(text).count()).toBe(0);
  }, 40_000);

  it('two people who enter a shared interest are paired on it, and see it and how many are online', async () => {
    const alice = await person();
    await statusSays(alice, 'Waiting');
    // Interests entered while waiting apply at once (and, by default, hold out 10 s for a match).
    await alice.getByLabel('Interests').fill('Jazz, chess');
    await alice.getByLabel('Interests').press('Tab');
    await expect.poll(() => server.app.store.queueLength(), WAIT).toBe(1);
    const bob = await person();
    await statusSays(bob, 'Waiting'); // alice wants jazz or chess for now
    await bob.getByLabel('Interests').fill('jazz');
    await bob.getByLabel('Interests').press('Tab');
    await connected(alice, bob);
    for (const page of [alice, bob]) {
      await page.getByText('You both like jazz.').waitFor(WAIT);
      await page.getByText('2 online').waitFor({ timeout: 15_000 });
    }
  }, 40_000);

  it('closing a page tells its partner at once', async () => {
    const alice = await person();
    const bob = await person();
    await connected(alice, bob);

    await bob.close();
    await statusSays(alice, 'Your partner left');
    await expect(alice.getByLabel('Message', { exact: true }).isDisabled()).resolves.toBe(true);
  }, 40_000);

  it('Leave ends the chat for both; New partner queues again, for someone new', async () => {
    const alice = await person();
    const bob = await person();
    await connected(alice, bob);

    await alice.getByRole('button', { name: 'Leave' }).click();
    await statusSays(alice, 'You left');
    await statusSays(bob, 'Your partner left');

    await bob.getByRole('button', { name: 'New partner' }).click();
    await statusSays(bob, 'Waiting for a partner');
    await alice.getByRole('button', { name: 'New partner' }).click();
    // They just left each other: never paired straight back. The next newcomer meets bob, who waited longer.
    await statusSays(alice, 'Waiting for a partner');
    const carol = await person();
    await connected(bob, carol);
  }, 40_000);
});
