/**
 * The machine's own Chromium-family browser driven by playwright-core (never `playwright
 * install`): CHROMIUM_PATH, or the first one find-browser.ts finds (Debian's `chromium`, which
 * `.ci/run` and `npm test`'s prerequisite step install when missing, Chrome, Chromium.app, …).
 */
import { readFileSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { browserHint, findBrowser } from './find-browser.js';

/** The browser the suites drive; throws the prerequisite step's own hint when there is none. */
export function chromiumPath(): string {
  const lookup = findBrowser();
  if (!lookup.found) throw new Error(browserHint(lookup));
  return lookup.path;
}

const HEADLESS_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * On a machine with no default route Chromium gathers no ICE candidate at all, unless the page
 * holds media permission: these flags grant it with a fake microphone and allow loopback
 * candidates, and the demo page asks for the microphone first when opened with `?loopback`.
 */
const LOOPBACK_FLAGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

/** Loopback mode when the machine has no default route, or when PAIRWIRE_E2E_LOOPBACK=1 forces it. */
export const LOOPBACK_MODE =
  process.env.PAIRWIRE_E2E_LOOPBACK !== undefined ? process.env.PAIRWIRE_E2E_LOOPBACK === '1' : !hasDefaultRoute();

/** Launches Chromium; Playwright gives every launch a fresh, temporary user-data-dir. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...HEADLESS_FLAGS, ...(LOOPBACK_MODE ? LOOPBACK_FLAGS : [])],
    timeout: 20_000,
  });
}

/** The demo page's address on `serverUrl`, in loopback mode when this machine needs it. */
export function demoUrl(serverUrl: string): string {
  return `${serverUrl}/${LOOPBACK_MODE ? '?loopback' : ''}`;
}

/** Opens the demo in a new browser context: its own cookies and storage, like another person. */
export async function openDemo(browser: Browser, serverUrl: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 480, height: 640 } });
  const page = await context.newPage();
  await page.goto(demoUrl(serverUrl));
  return page;
}

/** /proc/net/route lists a destination of 00000000 when there is a default IPv4 route. */
function hasDefaultRoute(): boolean {
  try {
    return readFileSync('/proc/net/route', 'utf8')
      .split('\n')
      .slice(1)
      .some((line) => line.split(/\s+/)[1] === '00000000');
  } catch {
    return true;
  }
}
