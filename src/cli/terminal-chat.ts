import { createInterface } from 'node:readline';
import {
  ChatClient,
  ChatError,
  type JoinPreferences,
  MAX_TEXT_LENGTH,
  type PeerConnectionFactory,
} from '../client/chat/index.js';
import { HELP, parseTerminalLine, REPORT_USAGE, type TerminalCommand } from './terminal-commands.js';
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
  chat.on('error', (error) => {
    if (error.code !== 'BANNED') return say(`* ${error.code}: ${error.message}`);
    const until = error.bannedUntil === undefined ? '' : ` until ${new Date(error.bannedUntil).toLocaleString()}`;
    const retry = error.retryInMs === undefined ? '' : '; it will connect again then';
    say(`* you are banned from this server${until}${retry}`);
  });

  /** Resolves with whether the server did it; says why not. */
  const command = (ack: Promise<{ ok: boolean }>): Promise<boolean> =>
    ack.then(
      (result) => {
        if (!result.ok) say('* the server refused that');
        return result.ok;
      },
      (error: Error) => {
        say(`* the server did not answer: ${error.message}`);
        return false;
      },
    );

  const report = async ({ reason, details, attachEvidence }: Extract<TerminalCommand, { kind: 'report' }>) => {
    const attached = attachEvidence ? chat.keptMessages().length : 0;
    try {
      const ack = await chat.report(reason, { details, attachEvidence });
      if (ack.ok) {
        const evidence = attachEvidence ? ` with the last ${attached} message${attached === 1 ? '' : 's'}` : '';
        return say(`* reported${evidence}: you won't be matched with this person again (report ${ack.reportId})`);
      }
      if (ack.error.code === 'NOT_IN_ROOM') return say('* nothing to report: no chat yet, or it ended too long ago');
      if (ack.error.code === 'ALREADY_REPORTED') return say('* you reported this chat already');
      say(`* the server refused the report: ${ack.error.message}`);
    } catch (error) {
      say(`* the server did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

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
      const typed = parseTerminalLine(text);
      switch (typed.kind) {
        case 'quit':
          return quit();
        case 'next':
          return void command(chat.next());
        case 'block':
          return void command(chat.block()).then((done) => {
            if (done) say("* blocked: you won't be matched with this person again");
          });
        case 'leave':
          return void command(chat.leave()).then(() => say('* you left: /next to chat again'));
        case 'help':
          return say(`* ${HELP}`);
        case 'report-usage':
          for (const usage of REPORT_USAGE) say(`* ${usage}`);
          return;
        case 'report':
          return void report(typed);
        case 'invalid':
          return say(`* not sent: ${typed.problem}`);
        case 'message':
          return send(typed.text);
      }
    });
  });
}
