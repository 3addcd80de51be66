/**
 * The README's runnable snippets, run as written (through `sh`, from the repository's folder)
 * against a real server on a free port: a snippet that stops working fails here.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { docSnippet } from './helpers/doc-snippets.js';
import { startServer, type TestServer } from './helpers/server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Runs a shell snippet with the documented address replaced; resolves with its exit code and output. */
async function runSnippet(script: string, timeoutMs = 12_000): Promise<{ code: number | null; output: string }> {
  const child = spawn('sh', ['-c', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number | null, output };
}

describe('README: the bare protocol from Node', () => {
  const snippet = docSnippet('README.md', 'bare-protocol');

  it('is one node command that talks to http://localhost:3000', () => {
    expect(snippet).toMatch(/^node --input-type=module -e "/);
    expect(snippet).toContain("'http://localhost:3000'");
  });

  it('pairs its two clients and relays the offer', async () => {
    server = await startServer();
    const { code, output } = await runSnippet(snippet.replaceAll('http://localhost:3000', server.url));
    expect(output).toContain("b got { type: 'offer', sdp: 'v=0' }");
    expect(code).toBe(0);
  });

  it('does not hang when someone else (a demo tab) is waiting, and sends nothing to that stranger', async () => {
    server = await startServer();
    const tab = await server.connect();
    await tab.first('waiting');
    const { code, output } = await runSnippet(snippet.replaceAll('http://localhost:3000', server.url));
    expect(output).toContain('a and b were not paired with each other');
    expect(code).toBe(1);
    expect(tab.all('signal')).toEqual([]);
  });
});
