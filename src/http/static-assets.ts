import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import express, { type Request, type RequestHandler, type Response } from 'express';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Text worth compressing, by extension, with its Content-Type. Anything else goes to express.static. */
const COMPRESSIBLE: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page itself is revalidated on every load (it names the bundles); the bundles keep their
 * names across builds (/build/pairwire-chat.js is a published address), so they are not
 * immutable: cached for five minutes, then revalidated by ETag (a 304 costs no body).
 */
const HTML_CACHE = 'no-cache';
const ASSET_CACHE = 'public, max-age=300';

type Encoding = 'br' | 'gzip' | 'identity';

interface Compressed {
  /** The file's size and mtime when read: a rebuilt file is read and compressed again. */
  version: string;
  /** Strong ETag of the file's content; each encoding gets its own suffix. */
  tag: string;
  bodies: Record<Encoding, Buffer>;
}

/**
 * Serves the files under `root`: text (HTML, CSS, JS, source maps) compressed with brotli or gzip
 * as the request's Accept-Encoding allows, each file compressed once (at its first request, off
 * the event loop) and kept in memory until it changes on disk; with ETag, Vary: Accept-Encoding
 * and Cache-Control. Other files, and directories' index.html, through express.static.
 */
export function staticAssets(root: string, options: { index?: string } = {}): RequestHandler[] {
  const base = resolve(root);
  const index = options.index ?? 'index.html';
  const cache = new Map<string, Promise<Compressed>>();
  const fallback = express.static(base, { index, maxAge: 300_000 });

  const compressed: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const file = fileFor(base, req.path, index);
    const type = file && COMPRESSIBLE[extname(file)];
    if (!file || !type) return next();
    serve(file, type, req, res).then((served) => {
      if (!served) next();
    }, next);
  };

  async function serve(file: string, type: string, req: Request, res: Response): Promise<boolean> {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return false;
    const version = `${info.size}-${info.mtimeMs}`;
    let entry = cache.get(file);
    if (!entry || (await entry.catch(() => undefined))?.version !== version) {
      entry = compress(file, version);
      cache.set(file, entry);
      entry.catch(() => cache.delete(file));
    }
    const { tag, bodies } = await entry;
    const encoding = chooseEncoding(req.headers['accept-encoding']);
    const etag = encoding === 'identity' ? `"${tag}"` : `"${tag}-${encoding}"`;
    res.vary('Accept-Encoding');
    res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', type.startsWith('text/html') ? HTML_CACHE : ASSET_CACHE);
    res.setHeader('ETag', etag);
    if (encoding !== 'identity') res.setHeader('Content-Encoding', encoding);
    if (matches(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return true;
    }
    const body = bodies[encoding];
    res.setHeader('Content-Length', body.byteLength);
    if (req.method === 'HEAD') res.end();
    else res.end(body);
    return true;
  }

  return [compressed, fallback];
}

async function compress(file: string, version: string): Promise<Compressed> {
  const identity = await readFile(file);
  const [br, gz] = await Promise.all([
    brotli(identity, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: identity.byteLength,
      },
    }),
    gzipAsync(identity, { level: 9 }),
  ]);
  const tag = createHash('sha256').update(identity).digest('base64url').slice(0, 27);
  return { version, tag, bodies: { identity, br, gzip: gz } };
}

/** The file a request path names under `base`, or undefined for one that would leave it. */
function fileFor(base: string, path: string, index: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const file = resolve(join(base, decoded.endsWith('/') ? `${decoded}${index}` : decoded));
  return file.startsWith(`${base}${sep}`) ? file : undefined;
}

/**
 * brotli when the client takes it, else gzip, else the file as is (RFC 9110 §12.5.3: a coding
 * with q=0 is refused; `*` stands for any coding not named).
 */
export function chooseEncoding(header: string | string[] | undefined): Encoding {
  const accepted = new Map<string, number>();
  for (const part of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    accepted.set(name, Number.isFinite(weight) ? weight : 0);
  }
  const weight = (coding: string) => accepted.get(coding) ?? accepted.get('*') ?? 0;
  if (weight('br') > 0) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return 'identity';
}

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === etag || tag === '*');
}
