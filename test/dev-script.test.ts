/**
 * `npm run dev` rebuilds the browser bundles on change beside the restarting server. Run against
 * a scratch directory: a test must not edit the sources other tests are reading.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DevWatchers, projectDevOptions, startDevWatchers } from '../src/cli/dev.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

let watchers: DevWatchers | undefined;
let scratch: string | undefined;

afterEach(async () => {
  await watchers?.stop();
  watchers = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const alive = (pid: number | undefined) => {
  try {
    process.kill(pid ?? 0, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run dev', () => {
  it('watches the bundles of build:web and the server', () => {
    expect(pkg.scripts.dev).toMatch(/\btsx src\/cli\/dev\.ts$/);
    const [, ...buildArgs] = (pkg.scripts['build:web'] ?? '').split(' ');
    expect(projectDevOptions()).toEqual({ esbuildArgs: buildArgs, serverEntry: 'src/server.ts' });
  });

  it('rebuilds a bundle when its source changes, restarts the server when its source changes, and stops both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairwire-dev-'));
    scratch = dir;
    writeFileSync(join(dir, 'page.ts'), "export const greeting = 'first version';\n");
    // A stand-in server: records each start (version and process), and stays up like a listening one.
    const server = (version: string) =>
      `import { appendFileSync } from 'node:fs';\nappendFileSync('starts', '${version} ' + process.pid + '\\n');\nsetInterval(() => {}, 1000);\n`;
    writeFileSync(join(dir, 'server.ts'), server('v1'));
    watchers = startDevWatchers({
      esbuildArgs: ['page=page.ts', '--bundle', '--format=esm', '--outdir=build', '--log-level=warning'],
      serverEntry: 'server.ts',
      cwd: dir,
      stdio: 'ignore',
    });
    const read = (file: string) => {
      try {
        return readFileSync(join(dir, file), 'utf8');
      } catch {
        return '';
      }
    };
    await expect.poll(() => read('build/page.js'), { timeout: 10_000 }).toContain('first version');
    const starts = () => read('starts').split('\n').filter(Boolean);
    await expect.poll(() => starts().map((line) => line.split(' ')[0]), { timeout: 10_000 }).toEqual(['v1']);

    writeFileSync(join(dir, 'page.ts'), "export const greeting = 'second version';\n");
    await expect.poll(() => read('build/page.js'), { timeout: 10_000 }).toContain('second version');
    writeFileSync(join(dir, 'server.ts'), server('v2'));
    await expect.poll(() => starts().map((line) => line.split(' ')[0]), { timeout: 10_000 }).toEqual(['v1', 'v2']);

    const pids = [
      ...watchers.children.map((child) => child.pid),
      ...starts().map((line) => Number(line.split(' ')[1])),
    ];
    await watchers.stop();
    await expect.poll(() => pids.filter(alive)).toEqual([]);
  }, 30_000);
});
