/**
 * The demo page and the SDK bundle as the server sends them (issue 17, item 3): compressed as the
 * request's Accept-Encoding allows, with ETag, Vary and Cache-Control, over real HTTP, read as raw
 * bytes (fetch would decompress them and hide the encoding).
 */
import { readFileSync } from 'node:fs';
import { get, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseEncoding } from '../src/http/static-assets.js';
import { startServer, type TestServer } from './helpers/server.js';

/** Built by `npm run build` (npm test builds before vitest). */
const BUNDLE = readFileSync(new URL('../public/build/pairwire-chat.js', import.meta.url));
const PAGE = readFileSync(new URL('../public/index.html', import.meta.url));

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function request(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = get(`${server.url}${path}`, { headers, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('static assets over HTTP', () => {
  it('sends the SDK brotli-compressed to a client that takes br, gzip to one that takes only gzip, as is to others', async () => {
    const br = await request('/build/pairwire-chat.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/^text\/javascript/);
    expect(br.headers.vary).toMatch(/Accept-Encoding/i);
    expect(Number(br.headers['content-length'])).toBe(br.body.byteLength);
    expect(br.body.byteLength).toBeLessThan(BUNDLE.byteLength / 2);
    expect(brotliDecompressSync(br.body).equals(BUNDLE)).toBe(true);

    const gz = await request('/build/pairwire-chat.js', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(BUNDLE)).toBe(true);

    const plain = await request('/build/pairwire-chat.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(BUNDLE)).toBe(true);

    // Each representation has its own validator, so a cache never serves one for another.
    const tags = [br, gz, plain].map((r) => r.headers.etag);
    expect(new Set(tags).size).toBe(3);
  });

  it('caches: the bundle for five minutes then revalidated by ETag (304, no body); the page revalidated each load', async () => {
    const first = await request('/build/pairwire-chat.js', { 'accept-encoding': 'br' });
    expect(first.headers['cache-control']).toBe('public, max-age=300');
    const again = await request('/build/pairwire-chat.js', {
      'accept-encoding': 'br',
      'if-none-match': first.headers.etag as string,
    });
    expect(again.status).toBe(304);
    expect(again.body.byteLength).toBe(0);
    // A validator of another encoding does not match.
    const other = await request('/build/pairwire-chat.js', {
      'accept-encoding': 'gzip',
      'if-none-match': first.headers.etag as string,
    });
    expect(other.status).toBe(200);

    const page = await request('/', { 'accept-encoding': 'br' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(brotliDecompressSync(page.body).equals(PAGE)).toBe(true);
    const head = await request('/build/pairwire-chat.js', { 'accept-encoding': 'br' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(head.headers['content-length']).toBe(first.headers['content-length']);
  });

  it('serves nothing outside public/, and a missing file is a 404', async () => {
    for (const path of ['/../package.json', '/build/..%2f..%2fpackage.json', '/%2e%2e/package.json']) {
      const response = await request(path, { 'accept-encoding': 'br' });
      expect(response.status, path).toBe(404);
    }
    expect((await request('/build/missing.js', { 'accept-encoding': 'br' })).status).toBe(404);
  });
});

describe('chooseEncoding', () => {
  it('prefers brotli, honours q=0 and *, and falls back to the file as is', () => {
    expect(chooseEncoding('gzip, deflate, br')).toBe('br');
    expect(chooseEncoding('br;q=0, gzip')).toBe('gzip');
    expect(chooseEncoding('*')).toBe('br');
    expect(chooseEncoding('*, br;q=0')).toBe('gzip');
    expect(chooseEncoding('identity')).toBe('identity');
    expect(chooseEncoding(undefined)).toBe('identity');
    expect(chooseEncoding('gzip;q=0, br;q=0')).toBe('identity');
  });
});
