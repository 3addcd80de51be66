/**
 * The chat SDK in Node, with werift as the RTCPeerConnection and a real server: the handshake,
 * the ordering and buffering rules, the open timeout and resuming, each shown on real peers.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import { createWeriftPeerConnection, weriftPeerConnection } from '../../src/cli/werift-peer.js';
import { ChatClient, type ChatClientOptions, type ChatEvents } from '../../src/client/chat/index.js';
import type { Signal } from '../../src/protocol/messages.js';
import { type RecordingClient, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let chats: ChatClient[] = [];
let peers: RTCPeerConnection[] = [];

beforeEach(async () => {
  server = await startServer({ iceServers: [] });
  chats = [];
  peers = [];
  logs.clear();
});

afterEach(async () => {
  for (const chat of chats) chat.close();
  await Promise.all(peers.map((pc) => pc.close()));
  await server.close();
});

/** A chat client on werift; the server queues it as soon as it connects. */
async function chatter(options: ChatClientOptions = {}): Promise<ChatClient> {
  const chat = new ChatClient(server.url, { createPeerConnection: weriftPeerConnection, ...options });
  chats.push(chat);
  logs.set(chat, new Map());
  for (const event of CHAT_EVENTS) chat.on(event, (payload) => eventsOf(chat, event).push(payload));
  await chat.signaling.connected();
  return chat;
}

const CHAT_EVENTS = [
  'waiting',
  'paired',
  'open',
  'message',
  'delivered',
  'typing',
  'partner-left',
  'closed',
  'error',
] as const;
const logs = new Map<ChatClient, Map<keyof ChatEvents, unknown[]>>();

/** Every `event` the client emitted since it was made, in order. */
function eventsOf<E extends keyof ChatEvents>(chat: ChatClient, event: E): ChatEvents[E][] {
  const log = logs.get(chat) ?? new Map();
  const list = log.get(event) ?? [];
  log.set(event, list);
  return list as ChatEvents[E][];
}

/** The first `event` the client emitted: already, or when it comes. */
function first<E extends keyof ChatEvents>(chat: ChatClient, event: E): Promise<ChatEvents[E]> {
  const [already] = eventsOf(chat, event);
  return already !== undefined ? Promise.resolve(already) : chat.once(event);
}

/** The `n`-th signal (0-based) of `type` a raw client received. */
async function nthSignal<T extends Signal['type']>(
  client: RecordingClient,
  type: T,
  n = 0,
): Promise<Extract<Signal, { type: T }>> {
  for (let i = 0, found = 0; ; i++) {
    const signal = await client.nth('signal', i);
    if (signal.type === type && found++ === n) return signal as Extract<Signal, { type: T }>;
  }
}

/** A raw peer that follows the protocol by hand, for tests that need a misbehaving partner. */
function rawPeer(): RTCPeerConnection {
  const pc = createWeriftPeerConnection([]);
  peers.push(pc);
  return pc;
}

describe('ChatClient (Node, werift)', () => {
  it('pairs two peers, opens the DataChannel and chats both ways with delivery receipts', async () => {
    const alice = await chatter();
    // What each side sends the moment it reports `open` must arrive: that is what `open` means.
    alice.on('open', () => alice.send('hi bob'));
    const bob = await chatter();
    bob.on('open', () => bob.send('hi alice'));

    expect((await first(alice, 'paired')).initiator).toBe(true);
    expect((await first(bob, 'paired')).initiator).toBe(false);
    expect((await first(bob, 'message')).text).toBe('hi bob');
    expect((await first(alice, 'message')).text).toBe('hi alice');
    expect((await first(alice, 'delivered')).id).toBe(1);
    expect(alice.state).toBe('open');

    alice.typing(true);
    expect((await first(bob, 'typing')).active).toBe(true);
  });

  it('tells the partner at once on close, and ends the open chat with `closed`', async () => {
    const alice = await chatter();
    const bob = await chatter();
    await Promise.all([first(alice, 'open'), first(bob, 'open')]);
    alice.close();
    expect((await first(bob, 'partner-left')).reason).toBe('disconnect');
    expect(eventsOf(bob, 'closed')).toHaveLength(1);
    expect(bob.state).toBe('idle');
    expect(() => bob.send('anyone?')).toThrowError(expect.objectContaining({ code: 'NOT_OPEN' }));
  });

  it('applies an offer that arrives while its peer connection is still being prepared', async () => {
    const alice = await chatter();
    // Bob's peer connection is made only once the offer is already in: the offer must wait for it.
    let offerIn: Promise<unknown> = Promise.resolve();
    const bob = await chatter({ beforePeerConnection: () => offerIn });
    offerIn = new Promise((resolve) => bob.signaling.socket.once('signal', resolve));
    await Promise.all([first(alice, 'open'), first(bob, 'open')]);
  });

  it('buffers candidates that arrive before the offer', async () => {
    const initiator = await server.connect();
    const bob = await chatter();
    expect((await initiator.first('paired')).initiator).toBe(true);

    const pc = rawPeer();
    const channel = pc.createDataChannel('chat');
    const channelOpen = new Promise<void>((resolve) =>
      channel.stateChanged.subscribe((s) => s === 'open' && resolve()),
    );
    const offer = await pc.createOffer();
    const candidates: Signal[] = [];
    const gathered = new Promise<void>((resolve) => {
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate) return resolve();
        const { candidate: line, sdpMid, sdpMLineIndex } = candidate;
        candidates.push({ type: 'candidate', candidate: { candidate: line, sdpMid, sdpMLineIndex } });
      };
    });
    await pc.setLocalDescription(offer);
    await gathered;
    expect(candidates.length).toBeGreaterThan(0);
    // Candidates first, then an offer without any: Bob can only reach us through the early ones.
    for (const candidate of candidates) expect(await initiator.signal(candidate)).toEqual({ ok: true });
    expect(await initiator.signal({ type: 'offer', sdp: offer.sdp ?? '' })).toEqual({ ok: true });

    // And we never learn Bob's candidates: the answer is applied without them.
    const answer = await nthSignal(initiator, 'answer');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp.replace(/a=candidate:[^\r\n]*\r\n/g, '') });
    await channelOpen;

    // Speak the channel protocol by hand: a text proves to Bob that both sides hear each other.
    channel.send(JSON.stringify({ type: 'hello', id: 0 }));
    channel.send(JSON.stringify({ type: 'text', id: 1, text: 'early candidates worked' }));
    expect((await first(bob, 'message')).text).toBe('early candidates worked');
    expect(bob.state).toBe('open');
  });

  it('reports OPEN_TIMEOUT when the DataChannel does not open in time', async () => {
    const silent = await server.connect();
    const bob = await chatter({ openTimeoutMs: 500 });
    await silent.first('paired');

    const error = await first(bob, 'error');
    expect(error.code).toBe('OPEN_TIMEOUT');
    expect(eventsOf(bob, 'open')).toHaveLength(0);
    expect(bob.state).toBe('paired');
  });

  it('holds the open timeout on both sides when beforePeerConnection never settles, and still hears the server', async () => {
    const alice = await chatter({ openTimeoutMs: 700 });
    // A permission prompt nobody answers (`?loopback` with no microphone): Bob never gets a peer connection.
    const bob = await chatter({ openTimeoutMs: 700, beforePeerConnection: () => new Promise(() => {}) });
    expect((await bob.once('error', 5000)).code).toBe('OPEN_TIMEOUT');
    expect((await first(alice, 'error')).code).toBe('OPEN_TIMEOUT');
    expect(bob.state).toBe('paired');

    // Bob's events are not stuck behind the prompt: Alice moving on reaches him.
    const left = bob.once('partner-left', 5000);
    expect(await alice.next()).toMatchObject({ ok: true });
    expect((await left).reason).toBe('next');
    expect(bob.state).toBe('idle');
  });

  it('ends the attempt with CONNECTION_FAILED at once when beforePeerConnection rejects; the partner times out', async () => {
    const alice = await chatter({ openTimeoutMs: 700 });
    const bob = await chatter({ beforePeerConnection: () => Promise.reject(new Error('no microphone')) });
    const failure = await bob.once('error', 5000);
    expect(failure.code).toBe('CONNECTION_FAILED');
    expect(failure.message).toContain('no microphone');
    expect((await first(alice, 'error')).code).toBe('OPEN_TIMEOUT');
    expect(eventsOf(bob, 'error')).toHaveLength(1);
  });

  it('restarts the handshake when `paired` comes again for its room before the channel opened', async () => {
    const alice = await chatter();
    const silent = await server.connect();
    const { room } = await first(alice, 'paired');
    await nthSignal(silent, 'offer', 0);

    const resumed = alice.once('paired');
    serverSocketOf(alice).emit('paired', { room, initiator: true, iceServers: [], commonInterests: [] });
    expect(await resumed).toEqual({ room, initiator: true, resumed: true, commonInterests: [] });
    await nthSignal(silent, 'offer', 1);
  });

  it('keeps an open DataChannel when `paired` comes again for its room', async () => {
    const alice = await chatter();
    const bob = await chatter();
    const aliceRoom = (await first(alice, 'paired')).room;
    await Promise.all([first(alice, 'open'), first(bob, 'open')]);

    const arrived = new Promise((resolve) => alice.signaling.socket.once('paired', resolve));
    serverSocketOf(alice).emit('paired', { room: aliceRoom, initiator: true, iceServers: [], commonInterests: [] });
    await arrived;
    alice.send('still here');
    expect((await first(bob, 'message')).text).toBe('still here');

    // `next` runs after the repeated `paired` was handled: closing an open chat proves it was kept.
    const closed = alice.once('closed');
    await alice.next();
    expect(await closed).toEqual({ room: aliceRoom, reason: 'next' });
    expect(eventsOf(alice, 'paired')).toHaveLength(1);
  });
});

function serverSocketOf(chat: ChatClient) {
  const id = chat.signaling.socket.id;
  const socket = id === undefined ? undefined : server.app.io.of('/').sockets.get(id);
  if (!socket) throw new Error('no server-side socket for this client');
  return socket;
}
