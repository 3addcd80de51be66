import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Starts a test server the way a test that spreads a whole default config does (LOG_LEVEL info). */
const SCRIPT = `
import { startServer } from './test/helpers/server.ts';
const server = await startServer({ logLevel: 'info' });
const client = await server.connect();
await client.first('waiting');
await server.close();
process.stderr.write(JSON.stringify(server.log().map((line) => JSON.parse(line).msg)));
`;

describe('test server helper', () => {
  it('keeps its log in memory, whatever level the test asks for, and never writes it to stdout', async () => {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      env: { ...process.env, PAIRWIRE_TEST_LOG: '' },
      timeout: 20_000,
    });
    expect(stdout).toBe('');
    expect(JSON.parse(stderr)).toEqual(expect.arrayContaining(['client connected', 'client disconnected']));
  });
});
