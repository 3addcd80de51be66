/**
 * The package as an adopter gets it (issue 17, item 2): `npm pack`, installed offline into a fresh
 * project, and used from there through its public entries only: `pairwire` mounted into a
 * three-line Express app, `pairwire/client` in Node (signaling, and a chat between two werift
 * peers) and in a browser bundle, the `pairwire` bin, and the types. Needs dist/ (npm test builds).
 */

import { execFile } from 'node:child_process';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PackedProject, packedProject, REPO, runIn } from './helpers/packed-project.js';
import { spawnServer } from './helpers/process.js';

const FIXTURES = join(REPO, 'test/fixtures/package');
let project: PackedProject;

beforeAll(async () => {
  project = await packedProject(['express', 'werift']);
  for (const script of ['express-app.mjs', 'chat.mjs'])
    await copyFile(join(FIXTURES, script), join(project.dir, script));
}, 120_000);

afterAll(async () => {
  await project?.remove();
});

describe('the packed package, installed offline into a fresh project', () => {
  it('mounts into a three-line Express app and pairs two clients of pairwire/client through it', async () => {
    const result = JSON.parse(await runIn(project.dir, 'express-app.mjs', 30_000));
    expect(result).toEqual({
      sameRoom: true,
      offer: { type: 'offer', sdp: 'v=0 from the package' },
      health: { status: 'ok' },
    });
  }, 40_000);

  it('chats through it: two ChatClients of pairwire/client on werift peers', async () => {
    expect(JSON.parse(await runIn(project.dir, 'chat.mjs', 50_000))).toEqual({ text: 'hello from the package' });
  }, 60_000);

  it('gives pairwire/client to a browser bundle without Node-only code', async () => {
    await writeFile(join(project.dir, 'page.mjs'), "export { ChatClient, SignalingClient } from 'pairwire/client';\n");
    const bundle = await build({
      entryPoints: [join(project.dir, 'page.mjs')],
      absWorkingDir: project.dir,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(bundle.errors).toEqual([]);
    expect(bundle.outputFiles[0]?.text).toContain('ChatClient');
  }, 30_000);

  it('has a `pairwire` bin that starts the standalone server from the environment', async () => {
    const bin = join(project.dir, 'node_modules/.bin/pairwire');
    expect((await readFile(bin, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect((await stat(bin)).mode & 0o111).not.toBe(0);
    const server = await spawnServer({ LOG_LEVEL: 'info' }, undefined, bin);
    try {
      expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
      expect(await server.stop('SIGTERM')).toBe(0);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 20_000);

  it('carries the types of both entries', async () => {
    await writeFile(
      join(project.dir, 'host.ts'),
      [
        "import { createServer } from 'node:http';",
        "import { attachPairwire, type Pairwire } from 'pairwire';",
        "import { ChatClient, SignalingClient } from 'pairwire/client';",
        'const pairwire: Pairwire = attachPairwire(createServer(), { maxSdpBytes: 4096 });',
        '// @ts-expect-error a setting has its type',
        "attachPairwire(createServer(), { maxSdpBytes: '4096' });",
        "export const clients = [new SignalingClient('http://x'), new ChatClient('http://x'), pairwire];",
        '',
      ].join('\n'),
    );
    await writeFile(
      join(project.dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2023', 'dom'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules/@types')],
        },
        files: ['host.ts'],
      }),
    );
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project.dir, timeout: 30_000 });
  }, 40_000);
});
