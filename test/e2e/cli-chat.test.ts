/**
 * `npm run chat`: the terminal client (werift, in its own process) chats with the demo page in
 * Chromium through a real server, both ways, and its /quit tells the page at once. Ctrl-C is what
 * a terminal makes of it (SIGINT to every process of `npm run chat`); a long paste is refused.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_TEXT_LENGTH } from '../../src/client/chat/index.js';
import { launchChromium, openDemo } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

const WAIT = { timeout: 10_000 };

let browser: Browser;
let server: TestServer;
let page: Page | undefined;
let cli: TerminalProcess | undefined;
let other: TerminalProcess | undefined;

beforeAll(async () => {
  if (!existsSync('public/build/demo.js')) throw new Error('no public/build/demo.js: run `npm run build` first');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  server = await startServer({ iceServers: [], resumeGraceMs: 60_000 });
});

afterEach(async () => {
  await cli?.stop();
  await other?.stop();
  other = undefined;
  await page?.context().close();
  await server?.close();
});

interface TerminalProcess {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first output line matching `pattern`, already printed or still to come. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  type(line: string): void;
  /** What Ctrl-C in a terminal does: SIGINT to every process of the foreground job. */
  interrupt(): void;
  /** Resolves with npm's exit code (or signal); rejects if it is still running after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | NodeJS.Signals | null>;
  /** Whether any process of the job (npm, tsx, node running the client) is still alive. */
  anyAlive(): boolean;
  stop(): Promise<void>;
}

/**
 * `npm run chat -- <url>` as a child process, in its own process group like a terminal's job:
 * npm, the shell, tsx and the node process running src/cli/chat.ts.
 */
function startTerminalChat(url: string, ...flags: string[]): TerminalProcess {
  const child = spawn('npm', ['run', '--silent', 'chat', '--', url, ...flags], { stdio: 'pipe', detached: true });
  let output = '';
  let waiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const wake of waiters) wake();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = once(child, 'exit');
  return {
    child,
    line(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = output.split('\n').find((line) => pattern.test(line));
          if (found === undefined) return;
          clearTimeout(timer);
          waiters = waiters.filter((waiter) => waiter !== check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter !== check);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${output}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
    type(line) {
      child.stdin.write(`${line}\n`);
    },
    interrupt() {
      process.kill(-(child.pid ?? 0), 'SIGINT');
    },
    async exited(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`still running ${timeoutMs} ms later; output:\n${output}`)),
          timeoutMs,
        );
      });
      try {
        const [code, signal] = await Promise.race([exited, stuck]);
        return (code ?? signal) as number | NodeJS.Signals | null;
      } finally {
        clearTimeout(timer);
      }
    },
    anyAlive() {
      try {
        process.kill(-(child.pid ?? 0), 0);
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      // The whole group: npm's children would outlive npm itself.
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
      await exited;
    },
  };
}

describe('npm run chat', () => {
  it('chats with the demo page in Chromium both ways; /quit tells the page at once', async () => {
    cli = startTerminalChat(server.url);
    await cli.line(/^\* waiting for a partner/);
    page = await openDemo(browser, server.url);
    await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor(WAIT);
    await cli.line(/^\* connected/);

    cli.type('hello from a terminal');
    await page.getByRole('log').locator('.message.theirs').filter({ hasText: 'hello from a terminal' }).waitFor(WAIT);

    // An escape sequence from the page is printed inert.
    await page.getByLabel('Message', { exact: true }).fill('hi terminal \u001b[2J');
    await page.getByRole('button', { name: 'Send' }).click();
    expect(await cli.line(/^partner> hi terminal/)).toBe('partner> hi terminal \uFFFD[2J');

    cli.type('/quit');
    expect(await cli.exited()).toBe(0);
    await page.getByRole('status').filter({ hasText: 'Your partner left' }).waitFor(WAIT);
  }, 40_000);

  it('Ctrl-C while waiting says goodbye and exits: the server forgets it, so no newcomer is paired with it', async () => {
    cli = startTerminalChat(server.url);
    await cli.line(/^\* waiting for a partner/);
    cli.interrupt();
    // npm ends the way a shell's npm does on Ctrl-C (by SIGINT itself), once the client has quit.
    expect(await cli.exited()).toBe('SIGINT');
    await expect.poll(() => cli?.anyAlive()).toBe(false);
    await expect.poll(() => server.app.store.queueLength()).toBe(0);
    // Were it still queued, the newcomer would be paired with it instead of waiting.
    const newcomer = await server.connect();
    await newcomer.first('waiting');
    expect(newcomer.all('paired')).toEqual([]);
  }, 30_000);

  it('Ctrl-C while paired tells the partner at once, not after the resume grace (60 s here)', async () => {
    const partner = await server.connect();
    await partner.first('waiting');
    cli = startTerminalChat(server.url);
    await cli.line(/^\* partner found/);
    cli.interrupt();
    expect(await cli.exited()).toBe('SIGINT');
    await expect.poll(() => cli?.anyAlive()).toBe(false);
    expect(await partner.first('partner-left', 10_000)).toMatchObject({ reason: 'disconnect' });
  }, 30_000);

  it('a pasted line over the length limit is refused with a message; the chat goes on', async () => {
    cli = startTerminalChat(server.url);
    await cli.line(/^\* waiting for a partner/);
    other = startTerminalChat(server.url);
    await cli.line(/^\* connected/, 20_000);
    await other.line(/^\* connected/, 20_000);

    cli.type('x'.repeat(5000));
    expect(await cli.line(/^\* not sent/)).toContain(`at most ${MAX_TEXT_LENGTH} characters`);
    cli.type('still here');
    await other.line(/^partner> still here$/);
    expect(cli.child.exitCode).toBeNull();
  }, 40_000);

  it('/report lists the reasons, refuses an unknown one, and /report! files one with the last messages; /block', async () => {
    cli = startTerminalChat(server.url);
    await cli.line(/^\* waiting for a partner/, 30_000);
    other = startTerminalChat(server.url);
    await cli.line(/^\* connected/, 20_000);
    await other.line(/^\* connected/, 20_000);
    cli.type('hello');
    await other.line(/^partner> hello$/);
    other.type('you are an idiot');
    await cli.line(/^partner> you are an idiot$/);

    cli.type('/report');
    await cli.line(/^\* \/report <reason> \[what happened\]: reason is one of spam, harassment, sexual-content/);
    cli.type('/report rude');
    await cli.line(/^\* not sent: "rude" is not a reason/);
    cli.type('/report! harassment insults');
    expect(await cli.line(/^\* reported/)).toMatch(
      /^\* reported with the last 2 messages: you won't be matched with this person again \(report .+\)$/,
    );
    await other.line(/^\* your partner left/);
    const [report] = await server.app.store.reports({ limit: 10 });
    expect(report).toMatchObject({
      reason: 'harassment',
      details: 'insults',
      evidence: [
        { from: 'self', text: 'hello' },
        { from: 'partner', text: 'you are an idiot' },
      ],
    });
    cli.type('/report spam');
    await cli.line(/^\* you reported this chat already$/);

    // /block: someone new, then blocked.
    cli.type('/next');
    const third = await server.connect();
    await cli.line(/^\* connected/, 20_000);
    await third.first('paired');
    cli.type('/block');
    await cli.line(/^\* blocked: you won't be matched with this person again$/);
    expect(await third.first('partner-left')).toMatchObject({ reason: 'next' });
  }, 60_000);

  it('--interests and --lang choose the partner: a shared interest beats a longer wait, and it is shown', async () => {
    const anyone = await server.connect();
    await anyone.first('waiting');
    const jazz = await server.connect({ preferences: { interests: ['jazz'], lang: 'en' } });
    await jazz.first('waiting');
    cli = startTerminalChat(server.url, '--interests', 'Jazz,chess', '--lang', 'en');
    expect(await cli.line(/^\* partner found/)).toBe('* partner found (you both like jazz), connecting…');
    expect(await jazz.first('paired')).toMatchObject({ commonInterests: ['jazz'] });
    expect(anyone.all('paired')).toEqual([]);
  }, 30_000);
});
