/**
 * What `serverless package` ships to AWS, checked without AWS: each function's zip holds its esbuild
 * bundle alone (no node_modules tree), stays under 1 MB, leaves out what the handler never reaches
 * (werift, zod's locales, Express in the WebSocket functions), and runs from an empty folder as
 * Lambda runs it from /var/task: nothing resolved from this repository's node_modules.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  extractZip,
  LAMBDA_FUNCTIONS,
  type LambdaFunction,
  packageFunctions,
  readZip,
  type ZipEntry,
} from '../src/cli/lambda-artifacts.js';
import { loadConfig } from '../src/config.js';
import { createHttpApp } from '../src/http/http-app.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';

const ONE_MB = 1_000_000;

/** The bundle each function packages (serverless.yml: dist/lambda/<bundle>/**). */
const BUNDLE: Record<LambdaFunction, 'websocket' | 'http'> = {
  connect: 'websocket',
  disconnect: 'websocket',
  message: 'websocket',
  sweep: 'websocket',
  http: 'http',
};

const EXPORTS = { websocket: ['connect', 'disconnect', 'message', 'sweep'], http: ['handler'] };

let dir: string;
let zips: Record<LambdaFunction, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pairwire-package-'));
  zips = await packageFunctions(join(dir, 'artifacts')); // packages dist/lambda, built by `npm test` first
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The minified bundle `dist/lambda/<bundle>/<bundle>.mjs` as packaged in function `name`'s zip. */
async function packagedBundle(name: LambdaFunction, bundle: 'websocket' | 'http'): Promise<string | undefined> {
  const entries = await readZip(zips[name]);
  return entries
    .find((entry) => entry.name === `dist/lambda/${bundle}/${bundle}.mjs`)
    ?.data()
    .toString('utf8');
}

/** Every source file that went into the zip's bundle, from its source maps (paths from the repo root). */
function bundledSources(entries: ZipEntry[]): string[] {
  return entries
    .filter((entry) => entry.name.endsWith('.mjs.map'))
    .flatMap((entry) => (JSON.parse(entry.data().toString('utf8')) as { sources: string[] }).sources)
    .map(repoPath);
}

/** A dependency as `node_modules/…` wherever node_modules is (a git worktree may link another's). */
function repoPath(source: string): string {
  const relative = source.replace(/^(\.\.\/)+/, '');
  const dependency = relative.indexOf('/node_modules/');
  return dependency === -1 ? relative : relative.slice(dependency + 1);
}

/** Imports a bundle in a fresh Node process with `cwd` as its folder; resolves its exports' types. */
function importIn(
  cwd: string,
  file: string,
  env: Record<string, string>,
): Promise<{ exports?: Record<string, string>; error?: string }> {
  const script = `
    import { pathToFileURL } from 'node:url';
    try {
      const module = await import(pathToFileURL(process.argv[1]).href);
      console.log(JSON.stringify({ exports: Object.fromEntries(Object.entries(module).map(([k, v]) => [k, typeof v])) }));
    } catch (error) {
      console.log(JSON.stringify({ error: String(error) }));
    }
    process.exit(0);
  `;
  const { NODE_PATH, REDIS_URL, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, file],
      { cwd, env: { ...inherited, LOG_LEVEL: 'silent', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stdout}${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'));
      },
    );
  });
}

/** An operator API request, its body as bytes (base64) in the charset its Content-Type names. */
interface AdminRequest {
  charset: string;
  body: string;
}

interface Answer {
  status: number;
  body: string;
}

const ADMIN_TOKEN = 'package-test-operator-token-0123';

/**
 * A body that the operator API refuses naming its one non-ASCII key, so the answer shows what the
 * server decoded (`Unrecognized key: "ü…"`) before the store is asked anything.
 */
const BAN_TEXT =
  '{"subject":"0000000000000000000000000000000000000000000000000000000000000000","reason":"r","durationMs":1,"ünïcødé ✓":1}';

/** BAN_TEXT in each charset a client might name, the Unicode ones first. */
function banRequests(): AdminRequest[] {
  const utf16be = Buffer.from(BAN_TEXT, 'utf16le').swap16();
  const utf32 = (littleEndian: boolean) => {
    const points = [...BAN_TEXT].map((char) => char.codePointAt(0) ?? 0);
    const bytes = Buffer.alloc(points.length * 4);
    for (const [i, point] of points.entries()) {
      if (littleEndian) bytes.writeUInt32LE(point, i * 4);
      else bytes.writeUInt32BE(point, i * 4);
    }
    return bytes;
  };
  // UTF-7 (RFC 2152): the non-ASCII run in modified base64 of its UTF-16BE, between + and -.
  const utf7 = BAN_TEXT.replace(
    /[^\x20-\x7e]+/gu,
    (run) => `+${Buffer.from(run, 'utf16le').swap16().toString('base64').replace(/=+$/, '')}-`,
  );
  const bodies: [string, Buffer][] = [
    ['utf-8', Buffer.from(BAN_TEXT)],
    ['UTF-8', Buffer.from(BAN_TEXT)],
    ['utf-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(BAN_TEXT, 'utf16le')])],
    ['utf-16le', Buffer.from(BAN_TEXT, 'utf16le')],
    ['utf-16be', utf16be],
    ['utf-32le', utf32(true)],
    ['utf-32be', utf32(false)],
    ['utf-7', Buffer.from(utf7, 'ascii')],
    // Not JSON's charsets (refused before decoding), or none that exists.
    ['iso-8859-1', Buffer.from(BAN_TEXT, 'latin1')],
    ['windows-1252', Buffer.from(BAN_TEXT, 'latin1')],
    ['shift_jis', Buffer.from(BAN_TEXT)],
    ['utf-99', Buffer.from(BAN_TEXT)],
  ];
  return bodies.map(([charset, bytes]) => ({ charset, body: bytes.toString('base64') }));
}

/** The answers of the app built from the sources (unbundled, every iconv-lite encoding), over HTTP. */
async function sourceAnswers(requests: AdminRequest[]): Promise<Answer[]> {
  const app = createHttpApp(loadConfig({ ADMIN_TOKEN }), { store: new MemoryPairingStore() });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const answers: Answer[] = [];
    for (const request of requests) {
      const response = await fetch(`http://127.0.0.1:${port}/admin/bans`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          'content-type': `application/json; charset=${request.charset}`,
        },
        body: Buffer.from(request.body, 'base64'),
      });
      answers.push({ status: response.status, body: await response.text() });
    }
    return answers;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * The answers of the HTTP bundle, imported in a fresh Node process from `cwd` (the extracted zip)
 * and invoked as API Gateway's HTTP API invokes it (payload 2.0). REDIS_URL names a port where
 * nothing listens: these requests are answered before the store is asked.
 */
function bundleAnswers(cwd: string, file: string, requests: AdminRequest[]): Promise<Answer[]> {
  const script = `
    import { pathToFileURL } from 'node:url';
    const { handler } = await import(pathToFileURL(process.argv[1]).href);
    const answers = [];
    for (const { charset, body } of JSON.parse(process.argv[2])) {
      const http = { method: 'POST', path: '/admin/bans', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' };
      const response = await handler({
        version: '2.0',
        routeKey: 'POST /admin/{proxy+}',
        rawPath: '/admin/bans',
        rawQueryString: '',
        headers: { authorization: 'Bearer ${ADMIN_TOKEN}', 'content-type': 'application/json; charset=' + charset },
        requestContext: { http, stage: '$default', requestId: 'r', routeKey: 'POST /admin/{proxy+}', timeEpoch: Date.now() },
        body,
        isBase64Encoded: true,
      }, {});
      const text = response.isBase64Encoded ? Buffer.from(response.body, 'base64').toString() : response.body;
      answers.push({ status: response.statusCode, body: text });
    }
    console.log(JSON.stringify(answers));
    process.exit(0);
  `;
  const { NODE_PATH, REDIS_URL, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, file, JSON.stringify(requests)],
      {
        cwd,
        env: { ...inherited, LOG_LEVEL: 'silent', ADMIN_TOKEN, REDIS_URL: 'redis://127.0.0.1:1' },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stdout}${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]'));
      },
    );
  });
}

describe('serverless package', () => {
  it('writes one zip per function, each under 1 MB, holding only its bundle folder', async () => {
    for (const name of LAMBDA_FUNCTIONS) {
      const { size } = await stat(zips[name]);
      expect(size, `${name}.zip is ${size} bytes`).toBeLessThan(ONE_MB);
      const entries = await readZip(zips[name]);
      const files = entries.map((entry) => entry.name).filter((file) => !file.endsWith('/'));
      const bundle = BUNDLE[name];
      expect(files).toContain(`dist/lambda/${bundle}/${bundle}.mjs`);
      expect(files).toContain(`dist/lambda/${bundle}/${bundle}.mjs.map`);
      for (const file of files) {
        expect(file, `${name}.zip: ${file}`).toMatch(new RegExp(`^dist/lambda/${bundle}/`));
        expect(file).not.toMatch(/node_modules/);
      }
    }
  });

  it('bundles only what the handlers reach: no werift, one zod locale, no Express in the WebSocket functions', async () => {
    for (const bundle of ['websocket', 'http'] as const) {
      const name = bundle === 'websocket' ? 'message' : 'http';
      const sources = bundledSources(await readZip(zips[name]));
      expect(sources.length, `${bundle}: the source maps list the bundled files`).toBeGreaterThan(50);
      expect(sources.filter((source) => source.includes('node_modules/werift/'))).toEqual([]);
      expect(sources.filter((source) => /node_modules\/socket\.io/.test(source))).toEqual([]);
      expect(sources.filter((source) => /^src\/(cli|demo|client)\//.test(source))).toEqual([]);
      // zod's error messages in English (its default) only, not its dozens of other languages (the
      // HTTP function validates too since it serves the operator API).
      expect(sources.filter((source) => source.includes('zod/v4/locales/'))).toEqual([
        'node_modules/zod/v4/locales/en.js',
      ]);
      // The management API is signed requests of our own (sigv4.ts): no AWS SDK in either bundle.
      expect(sources.filter((source) => /node_modules\/@(aws-sdk|smithy|aws-crypto)\//.test(source))).toEqual([]);
      if (bundle === 'websocket') {
        expect(sources).toContain('handlers/websocket.ts');
        // rate-limiter-flexible's entry loads every limiter it has; the bundle takes the ones it uses.
        const limiters = sources.filter((source) => /rate-limiter-flexible\/lib\/RateLimiter\w+\.js$/.test(source));
        expect(limiters).toContain('node_modules/rate-limiter-flexible/lib/RateLimiterRedis.js');
        expect(
          limiters.filter((source) => /Mongo|MySQL|Postgres|Dynamo|Cluster|SQLite|Memcache|Prisma/.test(source)),
        ).toEqual([]);
      } else {
        expect(sources).toContain('handlers/http.ts');
        // The HTTP function answers /healthz, /readyz, /ice-servers, /stats and /admin: no signaling
        // core (the live-counts cache is all it takes from src/core).
        expect(sources.filter((source) => /^src\/core\//.test(source))).toEqual(['src/core/live-stats.ts']);
        // iconv-lite (Express's JSON parser) without its double-byte codec and tables: that parser
        // reads UTF-* only (src/cli/bundle-patches.ts, iconvWithoutDoubleByte).
        const iconv = sources.filter((source) => source.includes('node_modules/iconv-lite/encodings/'));
        expect(iconv).toContain('node_modules/iconv-lite/encodings/utf7.js');
        expect(iconv.filter((source) => /dbcs-|\/tables\//.test(source))).toEqual([]);
      }
    }
  });

  it("asks for pino's callers unmapped, so that a cold start with --enable-source-maps parses no source map", async () => {
    const bundle = await packagedBundle('message', 'websocket');
    // Minified: `try{i=f({sourceMap:!1})}catch{i=f()}` in pino's getCallers (src/cli/bundle-patches.ts).
    expect(bundle).toMatch(/try\{(\w+)=(\w+)\(\{sourceMap:!1\}\)\}catch\{\1=\2\(\)\}return \1\.slice\(2\)/);
  });

  it("sets up ioredis's command methods on a prototype in dictionary mode (30 ms of a Node 20 cold start otherwise)", async () => {
    for (const [name, bundle] of [
      ['message', 'websocket'],
      ['http', 'http'],
    ] as const) {
      const source = await packagedBundle(name, bundle);
      // Minified: `X.prototype.pairwireSetupMode=!0;delete X.prototype.pairwireSetupMode;` before the loop.
      expect(source).toMatch(/(\w+)\.prototype\.pairwireSetupMode=!0;delete \1\.prototype\.pairwireSetupMode;/);
    }
  });

  it("builds mime-types's extension maps on first use in the HTTP function, not at every cold start", async () => {
    const source = await packagedBundle('http', 'http');
    // Minified: `Object.defineProperty(x,"types",{enumerable:!0,get:function(){return f().types}})`.
    expect(source).toMatch(/"types",\{enumerable:!0,get:function\(\)\{return \w+\(\)\.types\}\}/);
  });

  it('runs from the extracted zip alone, as Lambda runs it from /var/task', async () => {
    for (const name of ['message', 'http'] as const) {
      const bundle = BUNDLE[name];
      const task = join(dir, `task-${name}`);
      await extractZip(zips[name], task);
      const file = join(task, 'dist', 'lambda', bundle, `${bundle}.mjs`);
      // Nothing listens there: connecting is asynchronous, and loading does not wait for it.
      const loaded = await importIn(task, file, { REDIS_URL: 'redis://127.0.0.1:1' });
      expect(loaded.error).toBeUndefined();
      expect(loaded.exports).toEqual(Object.fromEntries(EXPORTS[bundle].map((key) => [key, 'function'])));
      // Without REDIS_URL each refuses to start, naming the setting.
      expect((await importIn(task, file, {})).error).toMatch(/REDIS_URL/);
    }
  });

  it("reads the operator API's JSON body in every Unicode charset, and refuses the others, as the unbundled app does", async () => {
    const task = join(dir, 'task-http-charsets');
    await extractZip(zips.http, task);
    const requests = banRequests();
    const fromBundle = await bundleAnswers(task, join(task, 'dist', 'lambda', 'http', 'http.mjs'), requests);
    expect(fromBundle).toEqual(await sourceAnswers(requests));
    // Each UTF-* body was decoded: the refusal names the non-ASCII key as sent.
    const unicode = requests.findIndex((request) => request.charset === 'iso-8859-1');
    for (const answer of fromBundle.slice(0, unicode)) {
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.message).toContain('"ünïcødé ✓"');
    }
    for (const answer of fromBundle.slice(unicode)) expect(answer.status).not.toBe(400);
  });
});
