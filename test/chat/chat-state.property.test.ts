/**
 * Issue 13, item 1: the chat SDK's state follows the server's answers. Two or three `ChatClient`s
 * (werift peers, a real server with a small pairing budget, so quick clicks get RATE_LIMITED) are
 * driven through random `next` / `leave` / close sequences, fired without waiting for acks as quick
 * clicks would be. Once every command has its answer, each client's state must be the one the
 * server holds for its session (a refused command changed nothing), and no two clients may be
 * left waiting side by side: two waiting users always end up paired.
 *
 * Reproduce a failure with the seed fast-check prints: CHAT_SEED=<seed> npx vitest run <this file>
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { weriftPeerConnection } from '../../src/cli/werift-peer.js';
import { ChatClient } from '../../src/client/chat/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const SEED = Number(process.env.CHAT_SEED ?? 20_261_201);

/** One user's action: the user at `who` (modulo the number of clients) clicks, closes the page, or pauses. */
type Action = { who: number; op: 'next' | 'leave' | 'close' | 'pause' };

const action: fc.Arbitrary<Action> = fc.record({
  who: fc.nat({ max: 2 }),
  op: fc.oneof(
    { arbitrary: fc.constant('next' as const), weight: 5 },
    { arbitrary: fc.constant('leave' as const), weight: 2 },
    { arbitrary: fc.constant('close' as const), weight: 1 },
    { arbitrary: fc.constant('pause' as const), weight: 1 },
  ),
});

/** Long enough for the pairing budget to refill a token and for a handshake to get going. */
const PAUSE_MS = 700;

let server: TestServer | undefined;
let chats: ChatClient[] = [];

afterEach(async () => {
  await stop();
});

async function stop(): Promise<void> {
  for (const chat of chats) chat.close();
  chats = [];
  await server?.close();
  server = undefined;
}

async function chatter(url: string): Promise<ChatClient> {
  const chat = new ChatClient(url, { createPeerConnection: weriftPeerConnection, openTimeoutMs: 60_000 });
  chats.push(chat);
  // Errors (a handshake cut short by a quick `next`) are part of the game, not failures.
  chat.on('error', () => {});
  await chat.signaling.connected();
  return chat;
}

/** `idle`, `waiting`, or `paired <room>`: what the client believes, and what the server holds. */
function clientView(chat: ChatClient): string {
  const state = chat.state === 'open' ? 'paired' : chat.state;
  return state === 'paired' ? `paired ${chat.room}` : state;
}

async function serverView(s: TestServer, chat: ChatClient): Promise<string> {
  const session = chat.signaling.sessionId;
  if (session === undefined) return 'no session yet';
  // Attaching a session that is attached already changes nothing: it only reports where it stands.
  const state = (await s.app.store.attach(session, { resume: true }))?.state;
  if (!state) return 'unknown to the server';
  return state.status === 'paired' ? `paired ${state.pair.id}` : state.status;
}

/** Every client whose state differs from the server's, with both views. */
async function mismatches(s: TestServer, clients: ChatClient[]): Promise<string[]> {
  const found: string[] = [];
  for (const [i, chat] of clients.entries()) {
    const mine = clientView(chat);
    const theirs = await serverView(s, chat);
    if (mine !== theirs) found.push(`client ${i}: SDK says "${mine}", server says "${theirs}"`);
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ChatClient state follows the server (property)', () => {
  it('after random next/leave/close clicks, every client is where the server says, and no two wait apart', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 3 }),
        fc.array(action, { minLength: 2, maxLength: 8 }),
        async (count, actions) => {
          // A budget of one pairing command a second (burst 2): two quick clicks in a row already get refused.
          // With two or three users every partner is a recent one: that rule (issue 15) is off here,
          // so two waiting users can always be paired.
          const s = await startServer({
            iceServers: [],
            pairingPerSecond: 1,
            abuseStrikes: 10_000,
            matchRecentPartners: 0,
          });
          server = s;
          try {
            const clients: ChatClient[] = [];
            for (let i = 0; i < count; i++) clients.push(await chatter(s.url));
            const answers: Promise<unknown>[] = [];
            for (const { who, op } of actions) {
              const i = who % count;
              const chat = clients[i] as ChatClient;
              if (op === 'next') answers.push(chat.next().catch(() => undefined));
              else if (op === 'leave') answers.push(chat.leave().catch(() => undefined));
              else if (op === 'close') {
                chat.close();
                clients[i] = await chatter(s.url);
              } else await sleep(PAUSE_MS);
            }
            await Promise.all(answers);
            // Every command has its answer; the events it caused came before it. What is left in
            // flight is delivery to the other clients: allow it a moment, then the views must agree.
            await expect.poll(() => mismatches(s, clients), { timeout: 5000, interval: 100 }).toEqual([]);
            const waiting = clients.filter((chat) => chat.state === 'waiting');
            expect(waiting.length, 'two clients waiting side by side, never paired').toBeLessThanOrEqual(1);
          } finally {
            await stop();
          }
        },
      ),
      {
        numRuns: 20,
        seed: SEED,
        endOnFailure: true,
        interruptAfterTimeLimit: 100_000,
        examples: [
          // The report: partners click "New partner"; a click of one of them is refused
          // once its pair is made, and that page must not end the pair the server keeps.
          [
            2,
            [
              { who: 0, op: 'next' },
              { who: 1, op: 'next' },
              { who: 0, op: 'pause' },
              { who: 0, op: 'next' },
              { who: 0, op: 'next' },
            ],
          ],
          // `leave` then `next` answered in one read: the leave's ack must not end the pair the next made.
          [
            3,
            [
              { who: 1, op: 'leave' },
              { who: 0, op: 'next' },
              { who: 0, op: 'next' },
              { who: 1, op: 'next' },
              { who: 2, op: 'pause' },
              { who: 2, op: 'next' },
            ],
          ],
        ],
      },
    );
  }, 150_000);
});
