/**
 * `npm test`'s first step (package.json `pretest`): checks once, in seconds, that this machine
 * has what the suite runs for real: Node ≥ the `engines` minimum, `redis-server` on PATH and a
 * Chromium-family browser. On Debian as root with apt-get, what is missing is installed (the
 * packages `.ci/run` installs, one `apt-get update` at most); anywhere else the run stops with one
 * line per missing piece saying how to get it, rather than failing suite after suite.
 *
 * PAIRWIRE_PREREQUISITES_INSTALL=0 forbids installing even where it could (the test of this file
 * uses it to see the message on any machine).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { browserHint, findBrowser } from '../helpers/find-browser.js';

interface Missing {
  /** One line: what is missing and how to get it. */
  line: string;
  /** The Debian package that brings it, when apt-get can. */
  debianPackage?: string;
}

function check(): Missing[] {
  const missing: Missing[] = [];
  const minimum = minimumNode();
  const [major = 0] = process.versions.node.split('.').map(Number);
  if (major < minimum) {
    missing.push({ line: `node: ${process.versions.node} is too old; install Node.js ${minimum} or newer` });
  }
  if (!onPath('redis-server')) {
    missing.push({
      line: 'redis-server: not on PATH; install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)',
      debianPackage: 'redis-server',
    });
  }
  const browser = findBrowser();
  if (!browser.found) {
    // A wrong CHROMIUM_PATH is the user's to fix: installing Chromium would not make it right.
    const named = Boolean(process.env.CHROMIUM_PATH);
    missing.push({ line: browserHint(browser), ...(named ? {} : { debianPackage: 'chromium' }) });
  }
  return missing;
}

/** The `engines.node` minimum of package.json (">=20" → 20). */
function minimumNode(): number {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    engines?: { node?: string };
  };
  return Number(/(\d+)/.exec(manifest.engines?.node ?? '')?.[1] ?? 0);
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

function canInstall(): boolean {
  return (
    process.env.PAIRWIRE_PREREQUISITES_INSTALL !== '0' &&
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    existsSync('/etc/debian_version') &&
    onPath('apt-get')
  );
}

function install(packages: string[]): void {
  console.log(`prerequisites: installing ${packages.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const result = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env,
  });
  if (result.status !== 0) console.error(`prerequisites: apt-get install ${packages.join(' ')} failed`);
}

let missing = check();
const installable = missing.flatMap((m) => (m.debianPackage ? [m.debianPackage] : []));
if (installable.length > 0 && canInstall()) {
  install(installable);
  missing = check();
}
if (missing.length > 0) {
  console.error('npm test needs what this machine lacks:');
  for (const { line } of missing) console.error(`- ${line}`);
  process.exit(1);
}
