/**
 * No Docker engine or Fly.io here: these checks keep the Dockerfile and fly.toml true to the code,
 * and test/server-process.test.ts runs the very command they start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../src/config.js';
import { startServer, type TestServer } from './helpers/server.js';

const root = new URL('../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

describe('Dockerfile and fly.toml', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('the image runs what `npm start` runs, as a non-root user, after building with `npm run build`', () => {
    const dockerfile = read('Dockerfile');
    const cmd = /^CMD \[(.+)\]$/m.exec(dockerfile)?.[1];
    const argv = JSON.parse(`[${cmd}]`) as string[];
    expect(argv.join(' ')).toBe(pkg.scripts.start);
    expect(existsSync(new URL(argv[1] ?? '', root))).toBe(true); // built by `npm test` before vitest
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
    expect((dockerfile.match(/^FROM /gm) ?? []).length).toBeGreaterThanOrEqual(2);
  });

  it('fly.toml serves the default port, checks a route that exists, and drains within its kill timeout', async () => {
    const fly = read('fly.toml');
    const config = loadConfig({});
    expect(Number(/internal_port = (\d+)/.exec(fly)?.[1])).toBe(config.port);
    expect(fly).toMatch(/kill_signal = "SIGTERM"/);
    const killSeconds = Number(/kill_timeout = "(\d+)s"/.exec(fly)?.[1]);
    expect(killSeconds * 1000).toBeGreaterThan(config.shutdownTimeoutMs);
    expect(fly).toMatch(/type = "connections"/);
    const checkPath = /path = "([^"]+)"/.exec(fly)?.[1] ?? '';
    server = await startServer();
    expect((await fetch(`${server.url}${checkPath}`)).status).toBe(200);
  });
});

describe('serverless.yml', () => {
  const yml = read('serverless.yml');

  it('pins Serverless 3 on nodejs20.x and routes the three WebSocket routes and the HTTP routes', () => {
    expect(yml).toMatch(/^frameworkVersion: ["']3["']$/m);
    expect(yml).toMatch(/runtime: nodejs20\.x/);
    expect(yml).toMatch(/websocketsApiRouteSelectionExpression: \$request\.body\.action/);
    for (const route of ['$connect', '$disconnect', '$default']) expect(yml).toContain(`route: ${route}`);
    for (const path of ['/healthz', '/readyz', '/ice-servers']) expect(yml).toContain(`path: ${path}`);
    expect(yml).toMatch(/REDIS_URL: \$\{env:REDIS_URL, ssm:/);
    expect(yml).toMatch(/execute-api:ManageConnections/);
    // Every method: the handlers post (POST) and close abusers (DELETE).
    expect(yml).toMatch(/\/\$\{sls:stage\}\/\*\/@connections\/\*/);
  });

  it('passes only settings that exist, leaving defaults to src/config.ts', () => {
    const known = new Set(Object.values(SETTINGS).map((setting) => setting.env));
    const passed = [...yml.matchAll(/^ {4}([A-Z_]+): \$\{env:([A-Z_]+), (.+)\}$/gm)];
    expect(passed.length).toBeGreaterThan(10);
    for (const [, name, from, fallback] of passed) {
      expect(known.has(name ?? ''), `${name} is a setting`).toBe(true);
      expect(from).toBe(name);
      if (name !== 'REDIS_URL') expect(fallback, `${name} falls back to the built-in default`).toMatch(/^(''|"")$/);
    }
  });

  it('passes every setting that means something on Lambda', () => {
    // What only the long-lived server reads (docs/deploy.md names the same list).
    const longLivedOnly = new Set([
      'PORT',
      'HOST',
      'AUTO_JOIN',
      'RESUME_GRACE_MS',
      'MAX_FRAME_BYTES',
      'MAX_SEND_BUFFER_BYTES',
      'MAX_IN_FLIGHT',
      'TRUST_PROXY',
      'REDIS_STREAM_MAX_LEN',
      'METRICS_TOKEN',
      'SHUTDOWN_TIMEOUT_MS',
    ]);
    const deployDoc = read('docs/deploy.md');
    for (const { env } of Object.values(SETTINGS)) {
      if (longLivedOnly.has(env))
        expect(deployDoc, `deploy.md names ${env} as long-lived only`).toContain(`\`${env}\``);
      else expect(yml, `serverless.yml passes ${env}`).toContain(`${env}: \${env:${env}, `);
    }
  });

  it('names handlers that the build emits and exports', () => {
    const handlers = [...yml.matchAll(/handler: (dist\/handlers\/[\w-]+)\.(\w+)/g)];
    expect(handlers.length).toBe(4);
    for (const [, file, name] of handlers) {
      const built = read(`${file}.js`); // built by `npm test` before vitest
      expect(built, `${file}.js exports ${name}`).toMatch(new RegExp(`export const ${name} =`));
    }
  });
});
