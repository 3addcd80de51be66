/**
 * The demo page's Report and Block in real Chromium against a real server: two people chat, one
 * reports the other with the last messages attached (a keyboard-reachable dialog, the tick box
 * unticked until ticked), the report reaches the server's store with exactly those messages, and
 * the two are never paired again though both wait, with the recent-partner rules off. The operator
 * reads the report through the admin API and bans the reported person, whose page says until when.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, openDemo } from '../helpers/browser.js';
import { connected, heard, say } from '../helpers/demo-page.js';
import { startServer, type TestServer } from '../helpers/server.js';

const WAIT = { timeout: 10_000 };
const ADMIN_TOKEN = 'an-operator-token-for-the-demo-test';

/** The operator API, as curl would use it. */
async function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}/admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
  });
}

let browser: Browser;
let server: TestServer;
let pages: Page[] = [];

beforeAll(async () => {
  if (!existsSync('public/build/demo.js')) throw new Error('no public/build/demo.js: run `npm run build` first');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  // Only a report or a block may keep two people apart here, not the recent-partner rules.
  server = await startServer({
    iceServers: [],
    resumeGraceMs: 60_000,
    matchRecentPartners: 0,
    matchRecentMs: 0,
    adminToken: ADMIN_TOKEN,
  });
  pages = [];
});

afterEach(async () => {
  await Promise.all(pages.map((page) => page.context().close()));
  await server?.close();
});

/** Opens the demo as a new person; waits until the server has it, so pairing order is opening order. */
async function person(): Promise<Page> {
  const page = await openDemo(browser, server.url);
  pages.push(page);
  await page.locator('[role=status]:not([data-state=connecting])').waitFor(WAIT);
  return page;
}

function statusSays(page: Page, text: string): Promise<void> {
  return page.getByRole('status').filter({ hasText: text }).waitFor(WAIT);
}

/** Both click New partner and both end up waiting: had they been allowed to meet, the second would have. */
async function bothWaitApart(first: Page, second: Page): Promise<void> {
  await first.getByRole('button', { name: 'New partner' }).click();
  await statusSays(first, 'Waiting for a partner');
  await second.getByRole('button', { name: 'New partner' }).click();
  await statusSays(second, 'Waiting for a partner');
  expect(await first.getByRole('status').textContent()).toContain('Waiting for a partner');
}

describe('demo page: report and block', { timeout: 60_000 }, () => {
  it('reports with the last messages attached; the report is stored with them; the two never meet again', async () => {
    const alice = await person();
    const bob = await person();
    await connected(alice, bob);
    await say(alice, 'hi there');
    await heard(bob, 'hi there');
    await say(bob, 'something nasty');
    await heard(alice, 'something nasty');

    // By keyboard: the Report button opens the dialog, Escape closes it and gives focus back.
    const reportButton = alice.getByRole('button', { name: 'Report' });
    await reportButton.focus();
    await alice.keyboard.press('Enter');
    const dialog = alice.getByRole('dialog', { name: 'Report this person' });
    await dialog.waitFor(WAIT);
    await alice.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    expect(await reportButton.evaluate((button) => button === document.activeElement)).toBe(true);

    await reportButton.click();
    const attach = dialog.getByLabel('Attach the last messages');
    expect(await attach.isChecked()).toBe(false);
    expect(await dialog.getByText('Sends the last 2 messages of this chat').count()).toBe(1);
    await dialog.getByLabel('Harassment or hate').check();
    await dialog.getByLabel('Details (optional)').fill('insults after the first line');
    await attach.check();
    await dialog.getByRole('button', { name: 'Send report' }).click();

    await statusSays(alice, "Reported. You won't be matched with this person again.");
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    await statusSays(bob, 'Your partner left');
    expect(await alice.getByRole('button', { name: 'Report' }).isDisabled()).toBe(true);

    const response = await admin('/reports');
    expect(response.status).toBe(200);
    const { reports } = (await response.json()) as { reports: Array<Record<string, unknown>> };
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      reason: 'harassment',
      details: 'insults after the first line',
      evidence: [
        { from: 'self', text: 'hi there', at: expect.any(Number) },
        { from: 'partner', text: 'something nasty', at: expect.any(Number) },
      ],
    });

    await bothWaitApart(alice, bob);
    // Someone new meets the one who waited longest: the queue works, those two just never meet.
    const carol = await person();
    await connected(alice, carol);
    await statusSays(bob, 'Waiting for a partner');

    // Each page keeps its own device token; the operator bans the reported one's subject.
    const token = await bob.evaluate(() => localStorage.getItem('pairwire-device'));
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await alice.evaluate(() => localStorage.getItem('pairwire-device'))).not.toBe(token);
    const ban = await admin('/bans', {
      method: 'POST',
      body: JSON.stringify({ subject: reports[0]?.reported, reason: 'harassment', durationMs: 3 * 3_600_000 }),
    });
    expect(ban.status).toBe(201);
    await statusSays(bob, 'You cannot use this chat for now');
    expect(await bob.getByRole('status').textContent()).toMatch(/It ends at .+ \(in 3 hours\)\. Try again then\./);
    expect(await bob.getByRole('button', { name: 'New partner' }).isDisabled()).toBe(true);
  });

  it('sends no message text unless the box is ticked', async () => {
    const alice = await person();
    const bob = await person();
    await connected(alice, bob);
    await say(bob, 'spam spam spam');
    await heard(alice, 'spam spam spam');

    await alice.getByRole('button', { name: 'Report' }).click();
    const dialog = alice.getByRole('dialog', { name: 'Report this person' });
    await dialog.getByLabel('Spam or advertising').check();
    await dialog.getByRole('button', { name: 'Send report' }).click();
    await statusSays(alice, 'Reported.');

    const [report] = await server.app.store.reports({ limit: 10 });
    expect(report).toMatchObject({ reason: 'spam', details: null, evidence: null });
  });

  it('Block ends the chat, says so, and the two never meet again', async () => {
    const alice = await person();
    const bob = await person();
    await connected(alice, bob);

    await alice.getByRole('button', { name: 'Block' }).click();
    await alice.getByRole('log').getByText("Blocked. You won't be matched with this person again.").waitFor(WAIT);
    await statusSays(bob, 'Your partner left');

    // Alice waits again after a block; Bob asks for someone new and waits too.
    await bob.getByRole('button', { name: 'New partner' }).click();
    await statusSays(bob, 'Waiting for a partner');
    await statusSays(alice, 'Waiting for a partner');
    expect(await server.app.store.reports({ limit: 10 })).toEqual([]);
  });
});
