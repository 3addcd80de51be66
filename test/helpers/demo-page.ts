/** Driving the demo page as a person would: by its roles and labels, never its internals. */
import type { Page } from 'playwright-core';

/** How long a page may take for a step: a pairing, a handshake, a message across. */
const WAIT = { timeout: 15_000 };

/** Waits until every page's status line says the chat is open. */
export async function connected(...people: Page[]): Promise<void> {
  await Promise.all(people.map((page) => page.getByRole('status').filter({ hasText: 'Connected' }).waitFor(WAIT)));
}

/** Types `text` into the message box and sends it. */
export async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

/** Waits until `page` shows `text` as a message from its partner, and returns what it shows. */
export async function heard(page: Page, text: string): Promise<string | null> {
  const bubble = page.getByRole('log').locator('.message.theirs .text').filter({ hasText: text });
  await bubble.waitFor(WAIT);
  return bubble.textContent();
}
