import { createInterface } from 'node:readline';
import {
  ChatClient,
  ChatError,
  type JoinPreferences,
  MAX_TEXT_LENGTH,
  type PeerConnectionFactory,
} from '../client/chat/index.js';
import { printable } from './terminal-text.js';

export interface TerminalChatOptions {
  url: string;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  createPeerConnection: PeerConnectionFactory;
  /** Aborting it quits as `/quit` does (chat.ts aborts it on Ctrl-C). */
  quit?: AbortSignal;
  /** Who to be paired with: `--interests`, `--lang` (chat.ts). */
  preferences?: JoinPreferences;
}

const HELP = 'commands: /next (new partner), /block (never this partner again), /leave, /quit';

/** How long quitting waits for the goodbye to leave (a server that stopped answering) before giving up. */
const GOODBYE_TIMEOUT_MS = 3000;

/**
 * A line-oriented chat on the SDK: each line typed is a message, lines from the partner are
 * printed as `partner> …`, status lines start with `* `. Resolves when the user quits (`/quit`,
 * end of input, `quit` aborted); the server is told at once, so the partner sees "partner left"
 * right away. Nothing typed can end it otherwise: a line the chat cannot send is explained.
 */
export function runTerminalChat({
  url,
  input,
  output,
  createPeerConnection,
  quit: interrupt,
  preferences,
}: TerminalChatOptions): Promise<void> {
  const say = (line: string) => output.write(`${line}\n`);
  const chat = new ChatClient(url, { createPeerConnection, ...(preferences ? { preferences } : {}) });
  const lines = createInterface({ input, terminal: false });

  say(`* connecting to ${url}`);
  chat.signaling.socket.on('connect_error', (error) => say(`* cannot reach the server: ${error.message}`));
  chat.on('waiting', () => say('* waiting for a partner…'));
  chat.on('paired', ({ resumed, commonInterests }) => {
    if (resumed) return say('* reconnecting to your partner…');
    const shared = commonInterests.length > 0 ? ` (you both like ${printable(commonInterests.join(', '), '')})` : '';
    say(`* partner found${shared}, connecting…`);
  });
  chat.on('open', () => say(`* connected: type a message and press Enter (${HELP})`));
  chat.on('message', ({ text }) => say(`partner> ${printable(text, '         ')}`));
  chat.on('partner-left', () => say('* your partner left: /next for a new one, /quit to exit'));
  chat.on('closed', ({ reason }) => {
    if (reason === 'channel-closed') say('* the connection to your partner was lost');
  });
  chat.on('error', (error) => say(`* ${error.code}: ${error.message}`));

  const command = (ack: Promise<{ ok: boolean }>) =>
    ack.then(
      (result) => !result.ok && say('* the server refused that'),
      (error: Error) => say(`* the server did not answer: ${error.message}`),
    );

  const send = (text: string) => {
    if (text.length > MAX_TEXT_LENGTH) {
      return say(`* not sent: a message is at most ${MAX_TEXT_LENGTH} characters (that one has ${text.length})`);
    }
    if (chat.state !== 'open') return say('* not connected to a partner yet');
    try {
      chat.send(text);
    } catch (error) {
      // The chat closed between the check and the send: say so rather than crash.
      if (!(error instanceof ChatError)) throw error;
      say(`* not sent: ${error.message}`);
    }
  };

  return new Promise((resolve) => {
    let quitting = false;
    const quit = () => {
      if (quitting) return;
      quitting = true;
      // Resolve once the goodbye has left: the caller may exit the process right after.
      const done = () => {
        clearTimeout(giveUp);
        resolve();
      };
      const giveUp = setTimeout(done, GOODBYE_TIMEOUT_MS);
      const engine = chat.signaling.socket.io.engine;
      if (engine && engine.readyState !== 'closed') engine.once('close', done);
      else done();
      chat.close();
      lines.close();
    };
    if (interrupt?.aborted) quit();
    interrupt?.addEventListener('abort', quit, { once: true });
    lines.on('close', quit);
    lines.on('line', (line) => {
      const text = line.trimEnd();
      if (text === '') return;
      if (text === '/quit') return quit();
      if (text === '/next') return void command(chat.next());
      if (text === '/block') return void command(chat.block());
      if (text === '/leave') return void command(chat.leave()).then(() => say('* you left: /next to chat again'));
      if (text === '/help') return say(`* ${HELP}`);
      send(text);
    });
  });
}
