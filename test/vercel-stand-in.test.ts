/**
 * The Vercel stand-in (test/helpers/vercel-stand-in.ts) routes as Vercel documents it for a
 * project without a framework: static output first, then functions under api/, then the
 * vercel.json rewrites, whose destination is looked up in the filesystem again. Checked on a
 * small project of its own, so test/e2e/vercel-chat.test.ts can trust what it proves.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVercelStandIn, type VercelStandIn } from './helpers/vercel-stand-in.js';

/** A function answering which file it is and the URL it was handed. */
const fn = (name: string) =>
  `export default (req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ fn: ${JSON.stringify(name)}, url: req.url })); };\n`;

const PROJECT: Record<string, string> = {
  'vercel.json': JSON.stringify({
    framework: null,
    outputDirectory: 'out',
    rewrites: [
      { source: '/page', destination: '/api/hello' }, // shadowed: out/page exists
      { source: '/api/shadow', destination: '/page.html' }, // shadowed: the function exists
      { source: '/hi', destination: '/api/hello' },
      { source: '/about', destination: '/page.html' },
      { source: '/hi', destination: '/page.html' }, // never reached: the first match wins
      { source: '/lost', destination: '/api/missing' },
    ],
  }),
  'out/index.html': 'index',
  'out/page': 'static page',
  'out/page.html': 'page.html',
  'out/docs/index.html': 'docs index',
  'out/api/shadowed': 'static beats function',
  'api/hello.mjs': fn('hello'),
  'api/shadow.mjs': fn('shadow'),
  'api/shadowed.mjs': fn('shadowed'),
  'api/index.mjs': fn('index'),
  'api/nested/deep.mjs': fn('deep'),
  'api/_helper.mjs': fn('helper'),
  'api/notes.txt': 'not a function',
  'secret.txt': 'outside the output directory',
};

let root: string;
let standIn: VercelStandIn;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pairwire-vercel-'));
  for (const [path, content] of Object.entries(PROJECT)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  standIn = await startVercelStandIn(root);
});

afterAll(async () => {
  await standIn?.close();
  rmSync(root, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${standIn.url}${path}`);
  return { status: response.status, body: await response.text() };
}

describe('Vercel stand-in', () => {
  it('serves the output directory, a folder by its index.html, and nothing outside it', async () => {
    expect(await get('/')).toEqual({ status: 200, body: 'index' });
    expect(await get('/page.html')).toEqual({ status: 200, body: 'page.html' });
    expect(await get('/docs/')).toEqual({ status: 200, body: 'docs index' });
    expect((await get('/secret.txt')).status).toBe(404);
    expect((await get('/..%2fsecret.txt')).status).toBe(404);
    expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
  });

  it('serves api/ files as functions at their path, skipping what Vercel skips', async () => {
    expect(JSON.parse((await get('/api/hello?x=1')).body)).toEqual({ fn: 'hello', url: '/api/hello?x=1' });
    expect(JSON.parse((await get('/api')).body)).toMatchObject({ fn: 'index' });
    expect(JSON.parse((await get('/api/nested/deep')).body)).toMatchObject({ fn: 'deep' });
    for (const path of ['/api/_helper', '/api/notes', '/api/notes.txt', '/api/hello.mjs']) {
      expect((await get(path)).status, path).toBe(404);
    }
  });

  it('puts static files before functions, and both before rewrites', async () => {
    expect(await get('/api/shadowed')).toEqual({ status: 200, body: 'static beats function' });
    expect(await get('/page')).toEqual({ status: 200, body: 'static page' });
    expect(JSON.parse((await get('/api/shadow')).body)).toMatchObject({ fn: 'shadow' });
  });

  it('rewrites what the filesystem lacks, first match first, to a function or a file; the browser URL stays', async () => {
    expect(JSON.parse((await get('/hi?q=2')).body)).toEqual({ fn: 'hello', url: '/hi?q=2' });
    expect(await get('/about')).toEqual({ status: 200, body: 'page.html' });
    expect((await get('/lost')).status).toBe(404);
    expect(await get('/nowhere')).toEqual({ status: 404, body: 'The page could not be found\n\nNOT_FOUND\n' });
  });

  it('refuses a vercel.json it would not read as Vercel does', async () => {
    const other = mkdtempSync(join(tmpdir(), 'pairwire-vercel-'));
    try {
      for (const config of [
        { cleanUrls: true },
        { headers: [] },
        { rewrites: [{ source: '/:path*', destination: '/api/hello' }] },
        { rewrites: [{ source: '/a', destination: '/api/hello', has: [{ type: 'query', key: 'x' }] }] },
      ]) {
        writeFileSync(join(other, 'vercel.json'), JSON.stringify(config));
        await expect(startVercelStandIn(other), JSON.stringify(config)).rejects.toThrow(/not implemented/);
      }
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
