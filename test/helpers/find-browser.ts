/**
 * Where the browser tests find a Chromium-family browser: the machine's own, never a download
 * (`playwright install` is not part of this project). Dependency-free, so the prerequisite check
 * (test/setup/prerequisites.ts) runs it before anything is built.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The variable that names the browser to use; when set, nothing else is tried. */
export const BROWSER_VARIABLE = 'CHROMIUM_PATH';

/** Names a Chromium-family browser has on PATH: Debian, Ubuntu's snap wrapper, Google's packages. */
const PATH_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'microsoft-edge'];

/**
 * Fixed install locations: Debian's package, then the macOS apps, then where playwright-core's
 * `chrome` and `msedge` channels look on Linux and macOS (its registry is not exported, so its
 * paths are repeated here).
 */
const FIXED_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/opt/google/chrome/chrome',
  '/opt/microsoft/msedge/msedge',
  '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
];

export type BrowserLookup =
  | { found: true; path: string; source: string }
  | { found: false; reason: string; tried: string[] };

export interface LookupEnvironment {
  env: Record<string, string | undefined>;
  /** True when `path` is an executable file. */
  isExecutable: (path: string) => boolean;
}

const machine: LookupEnvironment = { env: process.env, isExecutable };

/**
 * The browser to drive, in this order: `CHROMIUM_PATH` (which must then exist: a wrong value
 * is a mistake to report, not to paper over), the names on PATH, the fixed install locations.
 */
export function findBrowser({ env, isExecutable: ok }: LookupEnvironment = machine): BrowserLookup {
  const named = env[BROWSER_VARIABLE];
  if (named) {
    return ok(named)
      ? { found: true, path: named, source: BROWSER_VARIABLE }
      : { found: false, reason: `${BROWSER_VARIABLE}=${named} is not an executable file`, tried: [named] };
  }
  const tried: string[] = [];
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of PATH_NAMES) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      tried.push(candidate);
      if (ok(candidate)) return { found: true, path: candidate, source: 'PATH' };
    }
  }
  for (const candidate of FIXED_PATHS) {
    tried.push(candidate);
    if (ok(candidate)) return { found: true, path: candidate, source: 'install location' };
  }
  return { found: false, reason: 'no Chromium-family browser found', tried };
}

/** What to do about a missing browser, in one line. */
export function browserHint(lookup: Extract<BrowserLookup, { found: false }>): string {
  return (
    `browser: ${lookup.reason}. Install one (Debian/Ubuntu: apt-get install chromium; macOS: Google Chrome ` +
    `or Chromium in /Applications) or set ${BROWSER_VARIABLE} to a Chromium-family executable`
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
