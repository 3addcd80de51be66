import { describe, expect, it } from 'vitest';
import { measureSdk } from './sdk-size.js';

/** Issue 17's goal for the chat SDK without socket.io-client. */
const GZIP_BUDGET_BYTES = 30 * 1024;

describe('the chat SDK bundle (npm run size)', () => {
  it('is under 30 KiB gzipped without socket.io-client, and carries no zod and no server code', async () => {
    const size = await measureSdk({ withSocketIo: false });
    expect(size.gzipBytes).toBeLessThan(GZIP_BUDGET_BYTES);
    // The lint rule on src/client (biome.json) keeps these out; this checks what esbuild really took.
    expect(size.inputs.filter((input) => input.includes('node_modules/'))).toEqual([]);
    const serverOnly = /^src\/(?!client\/|protocol\/(messages|frames|errors|origin-check)\.ts$)/;
    expect(size.inputs.filter((input) => serverOnly.test(input))).toEqual([]);
  });

  it('with socket.io-client, carries socket.io-client and still no zod', async () => {
    const size = await measureSdk({ withSocketIo: true });
    expect(size.inputs.some((input) => input.includes('node_modules/socket.io-client/'))).toBe(true);
    expect(size.inputs.filter((input) => /node_modules\/zod\//.test(input))).toEqual([]);
  });
});
