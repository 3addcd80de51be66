import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from './helpers/browser.js';
import { findBrowser } from './helpers/find-browser.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A lookup over an imaginary machine that has exactly `present`. */
const lookupOn = (present: string[], env: Record<string, string | undefined>) =>
  findBrowser({ env, isExecutable: (path) => present.includes(path) });

describe('browser lookup', () => {
  it('takes CHROMIUM_PATH first, over anything on PATH or installed', () => {
    const found = lookupOn(['/opt/custom/chrome', '/usr/bin/chromium'], {
      CHROMIUM_PATH: '/opt/custom/chrome',
      PATH: '/usr/bin',
    });
    expect(found).toEqual({ found: true, path: '/opt/custom/chrome', source: 'CHROMIUM_PATH' });
  });

  it('reports a CHROMIUM_PATH that is not there instead of falling back', () => {
    const found = lookupOn(['/usr/bin/chromium'], { CHROMIUM_PATH: '/nope/chrome', PATH: '/usr/bin' });
    expect(found).toMatchObject({ found: false, reason: 'CHROMIUM_PATH=/nope/chrome is not an executable file' });
  });

  it('then the Debian/Ubuntu names on PATH, chromium before chromium-browser before google-chrome', () => {
    const env = { PATH: '/snap/bin:/usr/local/bin' };
    expect(lookupOn(['/usr/local/bin/google-chrome', '/snap/bin/chromium-browser'], env)).toMatchObject({
      path: '/snap/bin/chromium-browser',
      source: 'PATH',
    });
    expect(lookupOn(['/usr/local/bin/google-chrome', '/usr/local/bin/chromium'], env)).toMatchObject({
      path: '/usr/local/bin/chromium',
    });
  });

  it('then the fixed install locations: macOS apps and the playwright-core channels', () => {
    const mac = '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome';
    expect(lookupOn([mac, '/opt/google/chrome/chrome'], { PATH: '/usr/bin' })).toMatchObject({
      path: mac,
      source: 'install location',
    });
    expect(lookupOn(['/opt/google/chrome/chrome'], { PATH: '' })).toMatchObject({ path: '/opt/google/chrome/chrome' });
  });

  it('names everything it tried when there is no browser', () => {
    const found = lookupOn([], { PATH: '/usr/bin' });
    expect(found.found).toBe(false);
    if (found.found) return;
    expect(found.tried).toContain('/usr/bin/chromium');
    expect(found.tried).toContain('/Applications/Chromium.app/Contents/MacOS/Chromium');
  });
});

describe('the prerequisite step (npm pretest)', () => {
  it('stops at once with one line per missing piece and how to get it', async () => {
    // A PATH with node alone on it (no redis-server), and a CHROMIUM_PATH that does not exist.
    const bin = mkdtempSync(join(tmpdir(), 'pairwire-path-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const failure = await run(process.execPath, ['--import', 'tsx', 'test/setup/prerequisites.ts'], {
      cwd: root,
      env: {
        PATH: bin,
        CHROMIUM_PATH: '/nonexistent/chromium',
        PAIRWIRE_PREREQUISITES_INSTALL: '0',
      },
      timeout: 10_000,
    }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(1);
    const lines = (failure?.stderr ?? '').trim().split('\n');
    expect(lines).toEqual([
      'npm test needs what this machine lacks:',
      '- redis-server: not on PATH; install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)',
      expect.stringMatching(
        /^- browser: CHROMIUM_PATH=\/nonexistent\/chromium is not an executable file\. Install one .*CHROMIUM_PATH/,
      ),
    ]);
  });

  it('passes quietly on a machine that has everything', async () => {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'test/setup/prerequisites.ts'], {
      cwd: root,
      env: { ...process.env, PAIRWIRE_PREREQUISITES_INSTALL: '0' },
      timeout: 10_000,
    });
    expect(stdout + stderr).toBe('');
  });
});

describe('CHROMIUM_PATH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pairwire-browser-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the browser the suites launch', async () => {
    // Another "browser": a wrapper that leaves a mark, then runs the machine's Chromium.
    const real = chromiumPath();
    const mark = join(dir, 'launched');
    const wrapper = join(dir, 'my-chromium');
    writeFileSync(wrapper, `#!/bin/sh\necho launched > '${mark}'\nexec '${real}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = wrapper;
    try {
      const browser = await launchChromium();
      const page = await browser.newPage();
      await page.setContent('<p>hello</p>');
      expect(await page.textContent('p')).toBe('hello');
      await browser.close();
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = saved;
    }
    expect(existsSync(mark) && readFileSync(mark, 'utf8').trim()).toBe('launched');
  });
});
