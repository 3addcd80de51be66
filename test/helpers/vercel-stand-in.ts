/**
 * A local stand-in for Vercel serving a project without a framework, as Vercel documents it
 * (the sources are cited in docs/deploy.md, "Vercel"), so a test can check the layout without a
 * Vercel account:
 *
 * 1. The filesystem first: static files from vercel.json's `outputDirectory` (`public` when unset,
 *    what the "Other" preset picks), a folder answering with its index.html; then the functions,
 *    every .ts/.js/.mjs file under api/ at its path without the extension (api/healthz.ts at
 *    /api/healthz, an index file at its folder), skipping what Vercel skips (names starting with
 *    `_` or `.`, and .d.ts). A function is the module's default export, called with Node's request
 *    and response, loaded at its first request and kept (a warm instance).
 * 2. Then the rewrites, in order: "precedence is given to the filesystem prior to rewrites being
 *    applied" (vercel.json reference; Vercel's routing-utils puts them after `handle: filesystem`).
 *    The first whose source matches wins, and its destination is looked up in the filesystem.
 * 3. Nothing found: 404 NOT_FOUND.
 *
 * What it does not implement it refuses (vercel.json keys other than those below, patterns or
 * `has`/`missing` in a rewrite, dynamic `[segment]` functions), so it cannot silently disagree
 * with Vercel about a feature. Not emulated either: Vercel's request/response helpers (req.query,
 * res.json, ...), which handlers/vercel.ts does not use. A rewritten function gets the URL the
 * browser sent; the api/ files here pin their own route, so they do not depend on that.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface VercelStandIn {
  /** http://127.0.0.1:<port>: the deployment's origin. */
  url: string;
  close(): Promise<void>;
}

interface VercelJson {
  outputDirectory?: string;
  rewrites?: Array<{ source: string; destination: string }>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Keys the stand-in honours; `framework`, `buildCommand` and `$schema` only matter at build time. */
const KNOWN_KEYS = new Set(['$schema', 'framework', 'buildCommand', 'installCommand', 'outputDirectory', 'rewrites']);
const FUNCTION_EXTENSIONS = new Set(['.ts', '.js', '.mjs']);
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Serves the project at `root` (its vercel.json, its built output directory, its api/) on a free 127.0.0.1 port. */
export async function startVercelStandIn(root: string): Promise<VercelStandIn> {
  const config = readVercelJson(root);
  const staticRoot = resolve(root, config.outputDirectory ?? 'public');
  const functions = findFunctions(resolve(root, 'api'));
  const loaded = new Map<string, Promise<Handler>>();

  /** The filesystem phase: a static file, or a function, for `pathname`. */
  const lookUp = (
    method: string,
    pathname: string,
  ): ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined => {
    const file = method === 'GET' || method === 'HEAD' ? staticFile(staticRoot, pathname) : undefined;
    if (file) return async (_req, res) => sendFile(res, file, method);
    const module = functions.get(pathname.replace(/\/+$/, '') || '/');
    if (!module) return undefined;
    return async (req, res) => {
      let load = loaded.get(module);
      if (!load) {
        load = import(pathToFileURL(module).href).then((m: { default?: unknown }) => {
          if (typeof m.default !== 'function') throw new Error(`${module} has no default-exported function`);
          return m.default as Handler;
        });
        loaded.set(module, load);
      }
      await (await load)(req, res);
    };
  };

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const { pathname } = new URL(req.url ?? '/', 'http://stand-in');
    let serve = lookUp(method, pathname);
    if (!serve) {
      const rewrite = config.rewrites?.find((r) => r.source === pathname);
      if (rewrite) serve = lookUp(method, rewrite.destination);
    }
    if (!serve) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('The page could not be found\n\nNOT_FOUND\n');
      return;
    }
    serve(req, res).catch((error: unknown) => {
      console.error('vercel stand-in: function failed', error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('A server error has occurred\n\nFUNCTION_INVOCATION_FAILED\n');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function readVercelJson(root: string): VercelJson {
  const config = JSON.parse(readFileSync(join(root, 'vercel.json'), 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) throw new Error(`vercel stand-in: vercel.json "${key}" is not implemented here`);
  }
  const { rewrites } = config as VercelJson;
  for (const rewrite of rewrites ?? []) {
    const extra = Object.keys(rewrite).filter((key) => key !== 'source' && key !== 'destination');
    // Vercel reads sources as path-to-regexp patterns: only literal paths mean the same here.
    if (extra.length > 0 || !/^\/[\w./-]*$/.test(rewrite.source) || !/^\/[\w./-]*$/.test(rewrite.destination)) {
      throw new Error(
        `vercel stand-in: patterns and conditions in rewrites are not implemented: ${JSON.stringify(rewrite)}`,
      );
    }
  }
  return config as VercelJson;
}

/** URL path → module file, for every function under `apiDir`. */
function findFunctions(apiDir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return; // no api/ folder: no functions
    }
    for (const name of entries) {
      if (name.startsWith('_') || name.startsWith('.') || name.endsWith('.d.ts')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      if (!FUNCTION_EXTENSIONS.has(extname(name))) continue;
      if (name.includes('[')) throw new Error(`vercel stand-in: dynamic segments are not implemented (${path})`);
      const route = `/api/${relative(apiDir, path).split(sep).join('/')}`.slice(0, -extname(name).length);
      found.set(route.replace(/\/index$/, ''), path);
    }
  };
  walk(apiDir);
  return found;
}

/** The file `pathname` names under `root` (a folder: its index.html), or nothing; never outside `root`. */
function staticFile(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const path = resolve(root, `.${decoded}`);
  if (decoded.includes('\0') || (path !== root && !path.startsWith(root + sep))) return undefined;
  try {
    const stat = statSync(path);
    if (stat.isFile()) return path;
    if (stat.isDirectory() && statSync(join(path, 'index.html')).isFile()) return join(path, 'index.html');
  } catch {
    // missing: not served from the filesystem
  }
  return undefined;
}

function sendFile(res: ServerResponse, file: string, method: string): void {
  const body = readFileSync(file);
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
  });
  res.end(method === 'HEAD' ? undefined : body);
}
