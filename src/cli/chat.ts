/**
 * `npm run chat -- <server url> [--interests jazz,chess] [--lang en]`: chat with a stranger from a terminal, peer to peer over a
 * WebRTC DataChannel (werift), paired by a pairwire server. Talks to browser users of the demo
 * page as well as to other terminals.
 */
import { parseArgs } from 'node:util';
import type { JoinPreferences } from '../client/chat/index.js';
import { runTerminalChat } from './terminal-chat.js';
import { weriftPeerConnection } from './werift-peer.js';

const USAGE =
  'usage: npm run chat -- <server url> [--interests jazz,chess] [--lang en]   (for example http://localhost:3000)';
let url: string | undefined;
const preferences: JoinPreferences = {};
try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { interests: { type: 'string' }, lang: { type: 'string' } },
  });
  url = positionals[0];
  // The server checks them (INVALID_PAYLOAD says what is wrong): no rules of its own here.
  if (values.interests !== undefined) preferences.interests = values.interests.split(',').filter((t) => t.trim());
  if (values.lang !== undefined) preferences.lang = values.lang;
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(64); // EX_USAGE
}
if (!url || !/^https?:\/\//.test(url)) {
  console.error(USAGE);
  process.exit(64); // EX_USAGE
}

// Ctrl-C: the input is read line by line, not in raw mode, so the terminal turns Ctrl-C into a
// SIGINT for every process of the job (npm and tsx pass theirs on too, so one may come twice).
// Each quits as /quit does: the server hears goodbye and forgets the session at once, where a
// process merely dying would leave its partner waiting out the resume grace.
const interrupted = new AbortController();
process.on('SIGINT', () => interrupted.abort());
process.on('SIGTERM', () => interrupted.abort());
await runTerminalChat({
  url,
  input: process.stdin,
  output: process.stdout,
  createPeerConnection: weriftPeerConnection,
  quit: interrupted.signal,
  preferences,
});
// The goodbye has gone; werift may keep UDP sockets and timers alive a moment longer.
process.exit(0);
