/**
 * No Docker engine or Fly.io here: these checks keep the Dockerfile and fly.toml true to the code,
 * and test/server-process.test.ts runs the very command they start.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

  it('ships Node 22 LTS in the image and on Lambda, while the code keeps working on Node 20 for development', () => {
    const images = [...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map(([, image]) => image);
    expect(images.length).toBeGreaterThanOrEqual(2);
    for (const image of images) expect(image).toMatch(/^node:22-/);
    expect(read('serverless.yml')).toMatch(/^ {2}runtime: nodejs22\.x$/m);
    expect((pkg as { engines?: { node?: string } }).engines?.node).toBe('>=20');
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

  it('deploys one machine: every `fly launch` and `fly deploy` in fly.toml, README and deploy.md says --ha=false', () => {
    // Fly's first deploy otherwise creates two machines: two memory-store queues that never pair.
    for (const file of ['fly.toml', 'README.md', 'docs/deploy.md']) {
      const commands = [...read(file).matchAll(/fly (?:launch|deploy)\b[^`\n#]*/g)].map(([command]) => command);
      expect(commands.length, `${file} shows how to deploy`).toBeGreaterThan(0);
      for (const command of commands) expect(command, `${file}: ${command}`).toContain('--ha=false');
    }
    expect(read('fly.toml')).toMatch(/^ {2}CLIENT_IP_HEADER = "Fly-Client-IP"$/m);
  });
});

/** serverless.yml as Serverless resolves it with `env` in the deploying shell (no AWS call: REDIS_URL is set). */
function resolved(env: Record<string, string>): Promise<{ provider: Record<string, unknown> }> {
  const { VPC_SUBNET_IDS, VPC_SECURITY_GROUP_IDS, ...inherited } = process.env;
  const serverless = fileURLToPath(new URL('node_modules/.bin/serverless', root));
  return new Promise((resolve, reject) => {
    execFile(
      serverless,
      ['print', '--format', 'json'],
      {
        cwd: fileURLToPath(root),
        env: {
          ...inherited,
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          SLS_TELEMETRY_DISABLED: '1',
          REDIS_URL: 'redis://127.0.0.1:6379',
          ...env,
        },
      },
      (error, stdout, stderr) => (error ? reject(new Error(`${stdout}${stderr}`)) : resolve(JSON.parse(stdout))),
    );
  });
}

describe('serverless.yml', () => {
  const yml = read('serverless.yml');

  it('pins Serverless 3 and routes the three WebSocket routes and the HTTP routes', () => {
    expect(yml).toMatch(/^frameworkVersion: ["']3["']$/m);
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
      'MAX_FRAME_BYTES',
      'MAX_SEND_BUFFER_BYTES',
      'MAX_IN_FLIGHT',
      'TRUST_PROXY',
      'CLIENT_IP_HEADER',
      'METRICS_TOKEN',
      'SHUTDOWN_TIMEOUT_MS',
      'STATS_EVENT_MS',
    ]);
    const deployDoc = read('docs/deploy.md');
    for (const { env } of Object.values(SETTINGS)) {
      if (longLivedOnly.has(env))
        expect(deployDoc, `deploy.md names ${env} as long-lived only`).toContain(`\`${env}\``);
      else expect(yml, `serverless.yml passes ${env}`).toContain(`${env}: \${env:${env}, `);
    }
  });

  it('puts the Lambdas in a VPC only when both VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS are set', async () => {
    expect((await resolved({})).provider.vpc ?? undefined).toBeUndefined();
    expect(
      (await resolved({ VPC_SUBNET_IDS: 'subnet-0a1b, subnet-0c2d', VPC_SECURITY_GROUP_IDS: 'sg-0123' })).provider,
    ).toMatchObject({ vpc: { subnetIds: ['subnet-0a1b', 'subnet-0c2d'], securityGroupIds: ['sg-0123'] } });
    await expect(resolved({ VPC_SUBNET_IDS: 'subnet-0a1b' })).rejects.toThrow(
      /VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS go together/,
    );
    await expect(resolved({ VPC_SUBNET_IDS: 'subnet-0a1b', VPC_SECURITY_GROUP_IDS: 'vpc-0123' })).rejects.toThrow(
      /VPC_SECURITY_GROUP_IDS: "vpc-0123" is not a sg- id/,
    );
    // What a VPC needs besides: a NAT gateway to the management API, and how the secret is resolved.
    const deployDoc = read('docs/deploy.md');
    for (const needed of ['VPC_SUBNET_IDS', 'VPC_SECURITY_GROUP_IDS', 'NAT gateway', 'How `REDIS_URL` is resolved'])
      expect(deployDoc).toContain(needed);
    // Four `serverless print` runs, ~3 s each alone; on a loaded machine they passed 15 s.
  }, 60_000);

  it('names handlers that the build emits and exports: each function packages its own bundle folder', () => {
    const functions = [
      ...yml.matchAll(/handler: (dist\/lambda\/([\w-]+)\/[\w-]+)\.(\w+)\n {4}package:\n {6}patterns:\n {8}- (\S+)\n/g),
    ];
    expect(functions.length).toBe(5);
    for (const [, file, folder, name, pattern] of functions) {
      const built = read(`${file}.mjs`); // built by `npm test` before vitest
      // Minified, the bundle exports its names in one clause at the end: `export{a as connect,…}`.
      expect(/export\s*\{([^}]*)\}/.exec(built)?.[1], `${file}.mjs exports ${name}`).toMatch(
        new RegExp(`\\bas ${name}\\b`),
      );
      expect(pattern).toBe(`dist/lambda/${folder}/**`);
    }
    expect(yml).toMatch(/^package:\n {2}individually: true\n {2}patterns:\n {4}- "!\*\*"\n/m);
    expect(yml).toMatch(/^ {4}NODE_OPTIONS: --enable-source-maps$/m);
  });
});

describe('CI', () => {
  it('the workflow runs .ci/run on Debian, on Node 20 and 22, for every push and pull request', () => {
    const workflow = read('.github/workflows/ci.yml');
    expect(workflow).toMatch(/^on:\n {2}push:\n {2}pull_request:/m);
    expect(workflow).toMatch(/^ {6}- run: bash \.ci\/run$/m);
    expect(workflow).toMatch(/^ {8}node: \[20, 22\]$/m);
    // A Debian image run as root: .ci/run installs what it misses with apt-get.
    expect(workflow).toMatch(/^ {6}image: node:\$\{\{ matrix\.node \}\}-bookworm$/m);
    expect(read('.ci/run')).toMatch(/^npm test \|\| status=\$\?$/m);
    expect(read('README.md')).toContain('`bash .ci/run` is what CI runs');
  });
});
