/**
 * Report and block from the chat SDK, against a real server (memory store) with werift peers:
 * what `report` sends (evidence only when asked), the pair it names (current, or the last one),
 * and that a reported or blocked partner is never met again, whatever the recent-partner rules.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { weriftPeerConnection } from '../../src/cli/werift-peer.js';
import { ChatClient, type ChatEvents } from '../../src/client/chat/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let chats: ChatClient[] = [];

beforeEach(async () => {
  // Recent partners may meet again at once: only the block keeps a reported pair apart.
  server = await startServer({ iceServers: [], matchRecentPartners: 0, matchRecentMs: 0 });
  chats = [];
});

afterEach(async () => {
  for (const chat of chats) chat.close();
  await server.close();
});

async function chatter(): Promise<ChatClient> {
  const chat = new ChatClient(server.url, { createPeerConnection: weriftPeerConnection });
  chats.push(chat);
  await chat.signaling.connected();
  return chat;
}

/** Two chats, paired with each other, their DataChannel open. */
async function openPair(): Promise<[ChatClient, ChatClient, string]> {
  const a = await chatter();
  const aOpen = a.once('open', 15_000);
  const b = await chatter();
  const [{ room }] = await Promise.all([aOpen, b.once('open', 15_000)]);
  return [a, b, room];
}

/** `from` sends `text`; resolves once `to` has it. */
async function say(from: ChatClient, to: ChatClient, text: string): Promise<void> {
  const heard = new Promise<void>((resolve) => {
    const off = to.on('message', (message) => {
      if (message.text !== text) return;
      off();
      resolve();
    });
  });
  from.send(text);
  await heard;
}

async function storedReports() {
  return server.app.store.reports({ limit: 100 });
}

describe('ChatClient.report', () => {
  it('sends room, reason and details but no evidence unless asked; ends the current pair, the reporter idle', async () => {
    const [a, b, room] = await openPair();
    await say(a, b, 'hello');
    await say(b, a, 'buy followers at spam.example');
    const closed = a.once('closed');
    const partnerLeft = b.once('partner-left');

    const ack = await a.report('spam', { details: 'a link, twice' });

    expect(ack).toEqual({ ok: true, reportId: expect.any(String) });
    const [report] = await storedReports();
    expect(report).toMatchObject({ room, reason: 'spam', details: 'a link, twice', evidence: null });
    expect(ack.ok && ack.reportId).toBe(report?.id);
    expect(await closed).toEqual<ChatEvents['closed']>({ room, reason: 'report' });
    expect(a.state).toBe('idle');
    expect(await partnerLeft).toEqual({ room, reason: 'next' });
  });

  it('attaches the kept messages, both sides of them in order, when asked', async () => {
    const [a, b, room] = await openPair();
    await say(a, b, 'hi');
    await say(b, a, 'something vile');
    await say(a, b, 'stop that');
    const kept = a.keptMessages();
    expect(kept.map(({ from, text }) => [from, text])).toEqual([
      ['self', 'hi'],
      ['partner', 'something vile'],
      ['self', 'stop that'],
    ]);

    expect(await a.report('harassment', { attachEvidence: true })).toMatchObject({ ok: true });

    const [report] = await storedReports();
    expect(report).toMatchObject({ room, reason: 'harassment', details: null, evidence: kept });
  });

  it('reports the last pair after it ended, once; a second report is ALREADY_REPORTED', async () => {
    const [a, b, room] = await openPair();
    await say(b, a, 'bye, loser');
    const left = a.once('partner-left');
    b.close();
    await left;
    expect(a.room).toBeUndefined();
    expect(a.reportableRoom).toBe(room);

    expect(await a.report('other', { details: 'left rudely', attachEvidence: true })).toMatchObject({ ok: true });
    expect(await a.report('other')).toMatchObject({ ok: false, error: { code: 'ALREADY_REPORTED' } });

    const reports = await storedReports();
    expect(reports).toHaveLength(1);
    expect(reports[0]?.evidence).toEqual([{ from: 'partner', text: 'bye, loser', at: expect.any(Number) }]);
  });

  it('refuses with NOT_IN_ROOM, without asking the server, before any pair', async () => {
    const a = new ChatClient(server.url, { createPeerConnection: weriftPeerConnection, join: false });
    chats.push(a);
    await a.signaling.connected();
    const sent: string[] = [];
    a.signaling.socket.onAnyOutgoing((event: string) => sent.push(event));
    expect(await a.report('spam')).toMatchObject({ ok: false, error: { code: 'NOT_IN_ROOM' } });
    expect(sent).toEqual([]);
    expect(await storedReports()).toEqual([]);
  });

  it('a new pair starts a new record: nothing of the last chat goes with a report of the new one', async () => {
    const [a, b] = await openPair();
    await say(a, b, 'from the first chat');
    expect(await a.block()).toMatchObject({ ok: true });
    const c = await chatter();
    const [{ room }] = await Promise.all([a.once('open', 15_000), c.once('open', 15_000)]);
    expect(a.keptMessages()).toEqual([]);
    await say(c, a, 'from the second chat');

    expect(await a.report('spam', { attachEvidence: true })).toMatchObject({ ok: true });

    const [report] = await storedReports();
    expect(report?.room).toBe(room);
    expect(report?.evidence?.map((m) => m.text)).toEqual(['from the second chat']);
  });
});

describe('never again', () => {
  for (const how of ['report', 'block'] as const) {
    it(`a ${how}ed partner is not paired with the ${how}er again, though both wait`, async () => {
      const [a, b] = await openPair();
      const ended = how === 'report' ? await a.report('spam') : await a.block();
      expect(ended).toMatchObject({ ok: true });
      // After report the reporter is idle, after block it waits: both wait now.
      if (how === 'report') expect(await a.next()).toEqual({ ok: true, status: 'waiting' });
      expect(await b.next()).toEqual({ ok: true, status: 'waiting' });
      // Someone new meets the one who waited longest: the queue works, the two just never meet.
      const c = new ChatClient(server.url, { createPeerConnection: weriftPeerConnection });
      chats.push(c);
      const paired = c.once('paired', 10_000);
      const aPaired = a.once('paired', 10_000);
      expect((await paired).room).toBe((await aPaired).room);
      expect(b.state).toBe('waiting');
    });
  }
});
