/**
 * `npm run chat`: the terminal client (werift, in its own process) chats with the demo page in
 * Chromium through a real server, both ways, and its /quit tells the page at once.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, openDemo } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

const WAIT = { timeout: 10_000 };

let browser: Browser;
let server: TestServer;
let page: Page | undefined;
let cli: TerminalProcess | undefined;

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
  await page?.context().close();
  await server?.close();
});

interface TerminalProcess {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first output line matching `pattern`, already printed or still to come. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  type(line: string): void;
  stop(): Promise<void>;
}

/** What `npm run chat -- <url>` runs (`tsx src/cli/chat.ts <url>`), as a child process. */
function startTerminalChat(url: string): TerminalProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/chat.ts', url], { stdio: 'pipe' });
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
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
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
    await page.getByLabel('Message').fill('hi terminal \u001b[2J');
    await page.getByRole('button', { name: 'Send' }).click();
    expect(await cli.line(/^partner> hi terminal/)).toBe('partner> hi terminal \uFFFD[2J');

    cli.type('/quit');
    const [code] = await once(cli.child, 'exit');
    expect(code).toBe(0);
    await page.getByRole('status').filter({ hasText: 'Your partner left' }).waitFor(WAIT);
  }, 40_000);
});
