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

process.once('SIGINT', () => process.stdin.destroy());
await runTerminalChat({
  url,
  input: process.stdin,
  output: process.stdout,
  createPeerConnection: weriftPeerConnection,
});
// The goodbye has gone; werift may keep UDP sockets and timers alive a moment longer.
process.exit(0);
