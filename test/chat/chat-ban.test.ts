/**
 * BANNED in the chat SDK, against a real server (memory store): a ban made while connected (the
 * server's `error` event, then its disconnect) and a ban met at the handshake (`connect_error`)
 * each become one `BANNED` error with the ban's end, and the client does not try to connect
 * again until the ban is over, then does by itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { weriftPeerConnection } from '../../src/cli/werift-peer.js';
import { ChatClient, type ChatError } from '../../src/client/chat/index.js';
import { subjectOf } from '../../src/safety/subject.js';
import { startServer, type TestServer } from '../helpers/server.js';

const SALT = 'a-salt-for-the-ban-tests';
const DEVICE = 'device-token-of-the-ban-test';
/** Long enough that a reconnect loop would show, short enough for a test. */
const BAN_MS = 2000;

let server: TestServer;
let chat: ChatClient | undefined;
let others: ChatClient[] = [];
/** When each engine.io connection reached the server (each attempt of the one client). */
let attempts: number[];

beforeEach(async () => {
  server = await startServer({ iceServers: [], subjectSalt: SALT });
  attempts = [];
  server.app.io.engine.on('connection', () => attempts.push(Date.now()));
});

afterEach(async () => {
  chat?.close();
  chat = undefined;
  for (const other of others) other.close();
  others = [];
  await server.close();
});

function banFor(ms: number): Promise<number> {
  const at = Date.now();
  const until = at + ms;
  // Test clients come from 127.0.0.1 (test/helpers/server.ts).
  const subject = subjectOf(SALT, '127.0.0.1', DEVICE);
  return server.app.store.ban({ subject, reason: 'test', by: 'operator', at, until }).then(() => until);
}

function newChat(): { chat: ChatClient; errors: ChatError[] } {
  const errors: ChatError[] = [];
  chat = new ChatClient(server.url, { createPeerConnection: weriftPeerConnection, signaling: { device: DEVICE } });
  chat.on('error', (error) => errors.push(error));
  return { chat, errors };
}

/** Resolves at the client's next connection. */
function nextConnection(client: ChatClient): Promise<number> {
  return new Promise((resolve) => {
    client.signaling.socket.io.once('open', () => resolve(Date.now()));
  });
}

describe('ChatClient when banned', () => {
  it('a ban in an open chat: it ends on both sides, one BANNED with its end, no attempt before it ends, then connected again', async () => {
    const { chat, errors } = newChat();
    await chat.signaling.connected();
    const partner = new ChatClient(server.url, {
      createPeerConnection: weriftPeerConnection,
      signaling: { device: false },
    });
    others.push(partner);
    await Promise.all([chat.once('open', 15_000), partner.once('open', 15_000)]);
    expect(attempts).toHaveLength(2);
    const banned = chat.once('error');
    const closed = chat.once('closed');
    const partnerLeft = partner.once('partner-left');
    const back = nextConnection(chat);

    const until = await banFor(BAN_MS);

    expect((await closed).reason).toBe('banned');
    expect(chat.state).toBe('idle');
    expect(await partnerLeft).toMatchObject({ reason: 'disconnect' });

    const error = await banned;
    expect(error.code).toBe('BANNED');
    expect(Math.abs((error.bannedUntil ?? 0) - until)).toBeLessThan(1000);
    expect(error.retryInMs).toBeGreaterThan(0);
    expect(chat.bannedUntil).toBe(error.bannedUntil);
    const reconnectedAt = await back;
    expect(reconnectedAt).toBeGreaterThanOrEqual(until);
    // The two first connections, then the banned one's after the ban: none in between.
    expect(attempts).toHaveLength(3);
    await chat.signaling.connected();
    expect(errors.filter((e) => e.code === 'BANNED')).toHaveLength(1);
  });

  it('banned at the handshake: one refused attempt, one BANNED, the next attempt only once the ban ended', async () => {
    const until = await banFor(BAN_MS);
    const { chat, errors } = newChat();
    const error = await chat.once('error');
    expect(error.code).toBe('BANNED');
    expect(Math.abs((error.bannedUntil ?? 0) - until)).toBeLessThan(1000);
    expect(attempts).toHaveLength(1);

    await chat.signaling.connected(BAN_MS * 3);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]).toBeGreaterThanOrEqual(until);
    expect(errors.map((e) => e.code)).toEqual(['BANNED']);
  });
});
