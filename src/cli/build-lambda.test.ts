import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ioredisCommandsInSetupMode } from './build-lambda.js';

let dir: string;
const require = createRequire(import.meta.url);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pairwire-build-lambda-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** ioredis bundled as the Lambda bundles bundle it, with these plugins; its Redis class. */
async function bundledRedis(name: string, plugins: Plugin[]): Promise<typeof Redis> {
  const outfile = join(dir, `${name}.cjs`);
  await build({
    stdin: { contents: "module.exports = require('ioredis').Redis;", resolveDir: process.cwd() },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    plugins,
    logLevel: 'warning',
  });
  return require(outfile) as typeof Redis;
}

/** What a Redis client offers, as its prototype chain holds it: names in order, and their kinds. */
function commandMethods(redis: typeof Redis): [string, string][] {
  const commander = Object.getPrototypeOf(redis.prototype) as Record<string, unknown>;
  return Object.getOwnPropertyNames(commander).map((name) => [name, typeof commander[name]]);
}

describe('the Lambda bundles patch ioredis (src/cli/build-lambda.ts)', () => {
  it("defines the same command methods, in the same order, with Commander's prototype set up in dictionary mode", async () => {
    const patched = await bundledRedis('patched', [ioredisCommandsInSetupMode]);
    const unpatched = await bundledRedis('unpatched', []);
    const patchedSource = await readFile(join(dir, 'patched.cjs'), 'utf8');
    expect(patchedSource).toContain('delete Commander.prototype.pairwireSetupMode;');
    expect(await readFile(join(dir, 'unpatched.cjs'), 'utf8')).not.toContain('pairwireSetupMode');
    const methods = commandMethods(patched);
    expect(methods.length).toBeGreaterThan(500);
    expect(methods.map(([name]) => name)).toContain('evalshaBuffer');
    expect(methods).toEqual(commandMethods(unpatched));
    expect(methods).toEqual(commandMethods(Redis));
    // The property that put the prototype in dictionary mode is gone.
    expect(Object.getPrototypeOf(patched.prototype)).not.toHaveProperty('pairwireSetupMode');
  });
});
