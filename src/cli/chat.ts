/**
 * `npm run chat -- <server url>`: chat with a stranger from a terminal, peer to peer over a
 * WebRTC DataChannel (werift), paired by a pairwire server. Talks to browser users of the demo
 * page as well as to other terminals.
 */
import { runTerminalChat } from './terminal-chat.js';
import { weriftPeerConnection } from './werift-peer.js';

const url = process.argv[2];
if (!url || !/^https?:\/\//.test(url)) {
  console.error('usage: npm run chat -- <server url>   (for example http://localhost:3000)');
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
});
// The goodbye has gone; werift may keep UDP sockets and timers alive a moment longer.
process.exit(0);
