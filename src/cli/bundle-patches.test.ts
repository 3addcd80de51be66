import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ioredisCommandsInSetupMode, mimeTypesMapsOnFirstUse } from './bundle-patches.js';

let dir: string;
const require = createRequire(import.meta.url);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pairwire-bundle-patches-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** ioredis bundled as the Lambda bundles bundle it, with these plugins; its Redis class. */
function bundledRedis(name: string, plugins: Plugin[]): Promise<typeof Redis> {
  return bundled(name, "module.exports = require('ioredis').Redis;", plugins) as Promise<typeof Redis>;
}

/** A module bundled as the Lambda bundles bundle it (CommonJS here, to load it with require). */
async function bundled(name: string, contents: string, plugins: Plugin[]): Promise<unknown> {
  const outfile = join(dir, `${name}.cjs`);
  await build({
    stdin: { contents, resolveDir: process.cwd() },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    plugins,
    logLevel: 'warning',
  });
  return require(outfile);
}

interface MimeTypes {
  lookup(path: string): string | false;
  contentType(type: string): string | false;
  extension(type: string): string | false;
  charset(type: string): string | false;
  types: Record<string, string>;
  extensions: Record<string, string[]>;
  _extensionConflicts: string[][];
}

/** Everything mime-types answers, for every type and extension mime-db knows (and a few it does not). */
function mimeAnswers(mime: MimeTypes, db: Record<string, { extensions?: string[] }>) {
  const types = [...Object.keys(db), 'json', 'html', 'text', 'application/json; charset=latin1', 'nope/nope', ''];
  const extensions = [...new Set(Object.values(db).flatMap((entry) => entry.extensions ?? []))];
  return {
    byType: types.map((type) => [type, mime.contentType(type), mime.extension(type), mime.charset(type)]),
    byExtension: [...extensions, 'unknown-extension'].map((extension) => [
      extension,
      mime.lookup(extension),
      mime.lookup(`dir/file.${extension}`),
    ]),
    maps: { types: { ...mime.types }, extensions: { ...mime.extensions }, conflicts: mime._extensionConflicts },
  };
}

/** What a Redis client offers, as its prototype chain holds it: names in order, and their kinds. */
function commandMethods(redis: typeof Redis): [string, string][] {
  const commander = Object.getPrototypeOf(redis.prototype) as Record<string, unknown>;
  return Object.getOwnPropertyNames(commander).map((name) => [name, typeof commander[name]]);
}

describe("the Lambda bundles' patches of their dependencies", () => {
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

  it('mime-types builds its extension maps on first use, and answers every lookup as mime-types itself does', async () => {
    const patched = (await bundled('mime-patched', "module.exports = require('mime-types');", [
      mimeTypesMapsOnFirstUse,
    ])) as MimeTypes;
    const unpatched = (await bundled('mime-unpatched', "module.exports = require('mime-types');", [])) as MimeTypes;
    expect(await readFile(join(dir, 'mime-patched.cjs'), 'utf8')).toContain('pairwireMapsBuilt');
    // Read through a getter, which builds them the first time.
    expect(Object.getOwnPropertyDescriptor(patched, 'types')?.get).toBeTypeOf('function');
    const db = require('mime-db') as Record<string, { extensions?: string[] }>;
    const answers = mimeAnswers(patched, db);
    expect(answers.byExtension.length).toBeGreaterThan(1000);
    expect(answers.byExtension.find(([extension]) => extension === 'json')).toEqual([
      'json',
      'application/json',
      'application/json',
    ]);
    expect(answers).toEqual(mimeAnswers(unpatched, db));
    expect(answers).toEqual(mimeAnswers(require('mime-types') as MimeTypes, db));
  });
});
