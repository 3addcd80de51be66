/**
 * The chat SDK's connection to the server, with werift peers and real servers (issue 13): what
 * it asks for on connecting (no redundant `join`), what it does when the connection is refused,
 * and what a restart of a server on the memory store does to a chat that is open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type PairwireApp } from '../../src/app.js';
import { weriftPeerConnection } from '../../src/cli/werift-peer.js';
import { ChatClient, type ChatClientOptions, type ChatEvents } from '../../src/client/chat/index.js';
import { configWith } from '../../src/config.js';
import { LOAD_FROM_ONE_ADDRESS, startServer, type TestServer } from '../helpers/server.js';

let servers: TestServer[] = [];
let apps: PairwireApp[] = [];
let chats: ChatClient[] = [];

afterEach(async () => {
  for (const chat of chats) chat.close();
  chats = [];
  await Promise.all([...servers, ...apps].map((s) => s.close()));
  servers = [];
  apps = [];
});

async function server(overrides: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const s = await startServer({ iceServers: [], ...overrides });
  servers.push(s);
  return s;
}

/** A chat client on werift that records every event it emits. */
function chatter(url: string, options: ChatClientOptions = {}): ChatClient & { log: Map<string, unknown[]> } {
  const chat = Object.assign(new ChatClient(url, { createPeerConnection: weriftPeerConnection, ...options }), {
    log: new Map<string, unknown[]>(),
  });
  chats.push(chat);
  for (const event of ['waiting', 'paired', 'open', 'message', 'partner-left', 'closed', 'error'] as const) {
    chat.on(event, (payload) => {
      const list = chat.log.get(event) ?? [];
      list.push(payload);
      chat.log.set(event, list);
    });
  }
  return chat;
}

function eventsOf<E extends keyof ChatEvents>(chat: { log: Map<string, unknown[]> }, event: E): ChatEvents[E][] {
  return (chat.log.get(event) ?? []) as ChatEvents[E][];
}

/** The first `event`, already emitted or when it comes. */
function first<E extends keyof ChatEvents>(chat: ChatClient & { log: Map<string, unknown[]> }, event: E) {
  const [already] = eventsOf(chat, event);
  return already !== undefined ? Promise.resolve(already) : chat.once(event, 10_000);
}

/**
 * A round trip through the client's command queue on the server: everything the server does on
 * the client's connection (its automatic join) is done once this resolves.
 */
async function roundTrip(chat: ChatClient): Promise<void> {
  await chat.signaling.socket.timeout(5000).emitWithAck('round-trip');
}

async function serverState(app: PairwireApp, chat: ChatClient): Promise<string | undefined> {
  const session = chat.signaling.sessionId;
  const attached = session === undefined ? null : await app.store.attach(session, { resume: true });
  return attached?.state.status;
}

describe('connecting', () => {
  it('asks the server to queue it in the handshake: no join of its own, so no ALREADY_WAITING refusals in metrics', async () => {
    const s = await server({ metricsToken: 'metrics-secret' });
    const alice = chatter(s.url);
    await first(alice, 'waiting');
    const bob = chatter(s.url);
    await Promise.all([first(alice, 'open'), first(bob, 'open')]);
    await Promise.all([roundTrip(alice), roundTrip(bob)]);

    const metrics = await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret' } });
    const text = await metrics.text();
    expect(text).toContain('pairwire_pairs_total 1');
    expect(text).not.toMatch(/pairwire_errors_total\{code="ALREADY_(WAITING|PAIRED)"\}/);
    expect(eventsOf(alice, 'error')).toEqual([]);
  });

  it('with `join: false` stays idle on an AUTO_JOIN server until it joins', async () => {
    const s = await server();
    const alice = chatter(s.url, { join: false });
    await alice.signaling.connected();
    await roundTrip(alice);
    expect(await serverState(s.app, alice)).toBe('idle');
    expect(alice.state).toBe('idle');

    expect(await alice.join()).toMatchObject({ ok: true, status: 'waiting' });
    expect(alice.state).toBe('waiting');
  });
});

describe('a refused connection', () => {
  it('over the per-address limit: reports RATE_LIMITED with when it retries, and gets in once a slot frees', async () => {
    const s = await server({ maxConnectionsPerIp: 1, connectionsPerMinutePerIp: 100 });
    const alice = chatter(s.url);
    await first(alice, 'waiting');

    const bob = chatter(s.url, { signaling: { maxRetryDelayMs: 300 } });
    const refused = await first(bob, 'error');
    expect(refused.code).toBe('RATE_LIMITED');
    expect(refused.retryInMs).toBeGreaterThan(0);
    expect(refused.retryInMs).toBeLessThanOrEqual(360);

    alice.close();
    await first(bob, 'waiting');
    expect(bob.state).toBe('waiting');
  });
});

describe('a restart of a server on the memory store', () => {
  it('keeps an open chat and re-registers it idle; a waiting client queues again; next pairs anew on request', async () => {
    const config = configWith({ logLevel: 'silent', ...LOAD_FROM_ONE_ADDRESS, iceServers: [] });
    const before = createApp(config);
    const { port } = await before.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    apps.push(before);

    const alice = chatter(url);
    await first(alice, 'waiting');
    const bob = chatter(url);
    const room = (await first(alice, 'paired')).room;
    await Promise.all([first(alice, 'open'), first(bob, 'open')]);
    const carol = chatter(url);
    await first(carol, 'waiting');

    // Every client reconnects to a new process on the same port, which knows none of them.
    const newSessions = [alice, bob, carol].map((chat) => chat.signaling.once('session', 20_000));
    const carolQueued = carol.once('waiting', 20_000);
    await before.close();
    apps = [];
    const after = createApp(config);
    apps.push(after);
    await after.listen(port, '127.0.0.1');
    for (const session of await Promise.all(newSessions)) expect(session.resumed).toBe(false);
    await carolQueued;
    await Promise.all([alice, bob, carol].map(roundTrip));

    // The open chat goes on, peer to peer: nobody was re-paired behind the users' backs.
    expect(await serverState(after, alice)).toBe('idle');
    expect(await serverState(after, bob)).toBe('idle');
    expect(await serverState(after, carol)).toBe('waiting');
    expect(await after.store.queueLength()).toBe(1);
    expect([alice.state, bob.state]).toEqual(['open', 'open']);
    expect(alice.room).toBe(room);
    const heard = bob.once('message', 10_000);
    alice.send('still here after the restart');
    expect((await heard).text).toBe('still here after the restart');
    expect(eventsOf(alice, 'paired')).toHaveLength(1);
    expect(eventsOf(bob, 'paired')).toHaveLength(1);

    // Asked for, a new partner: the waiting one. The old partner's chat ends, and it is idle, as the server says.
    const bobLeft = bob.once('partner-left', 10_000);
    expect(await alice.next()).toMatchObject({ ok: true, status: 'paired' });
    expect((await first(carol, 'paired')).room).not.toBe(room);
    expect((await bobLeft).room).toBe(room);
    expect(eventsOf(bob, 'closed')).toEqual([{ room, reason: 'channel-closed' }]);
    expect(bob.state).toBe('idle');
    expect(await serverState(after, bob)).toBe('idle');
  }, 40_000);
});
