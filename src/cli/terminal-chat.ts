import { createInterface } from 'node:readline';
import { ChatClient, type PeerConnectionFactory } from '../client/chat/index.js';
import { printable } from './terminal-text.js';

export interface TerminalChatOptions {
  url: string;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  createPeerConnection: PeerConnectionFactory;
}

const HELP = 'commands: /next (new partner), /leave, /quit';

/**
 * A line-oriented chat on the SDK: each line typed is a message, lines from the partner are
 * printed as `partner> …`, status lines start with `* `. Resolves when the user quits (`/quit`,
 * end of input); the server is told at once, so the partner sees "partner left" right away.
 */
export function runTerminalChat({ url, input, output, createPeerConnection }: TerminalChatOptions): Promise<void> {
  const say = (line: string) => output.write(`${line}\n`);
  const chat = new ChatClient(url, { createPeerConnection });
  const lines = createInterface({ input, terminal: false });

  say(`* connecting to ${url}`);
  chat.signaling.socket.on('connect_error', (error) => say(`* cannot reach the server: ${error.message}`));
  chat.on('waiting', () => say('* waiting for a partner…'));
  chat.on('paired', ({ resumed }) => say(resumed ? '* reconnecting to your partner…' : '* partner found, connecting…'));
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

  return new Promise((resolve) => {
    const quit = () => {
      // Resolve once the goodbye has left: the caller may exit the process right after.
      const engine = chat.signaling.socket.io.engine;
      if (engine && engine.readyState !== 'closed') engine.once('close', () => resolve());
      else resolve();
      chat.close();
      lines.close();
    };
    lines.on('close', quit);
    lines.on('line', (line) => {
      const text = line.trimEnd();
      if (text === '') return;
      if (text === '/quit') return quit();
      if (text === '/next') return void command(chat.next());
      if (text === '/leave') return void command(chat.leave()).then(() => say('* you left: /next to chat again'));
      if (text === '/help') return say(`* ${HELP}`);
      if (chat.state !== 'open') return say('* not connected to a partner yet');
      chat.send(text);
    });
  });
}
