import { ErrorCode } from '../protocol/errors.js';
import type { Ack } from '../protocol/messages.js';

/** The first pause before sending a numbered signal again that the server could not relay. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2000;

/**
 * Whether a numbered signal's answer asks for the same signal again, with the same `cseq`:
 * UNAVAILABLE (the store did not answer in time) leaves the signal's turn open, and the server
 * holds its successors for it (docs/protocol.md, "Order"), so giving up would stall them; the
 * number makes the retry safe (relayed at most once).
 */
export function asksForRetry(ack: Ack<object>): boolean {
  return !ack.ok && ack.error.code === ErrorCode.UNAVAILABLE;
}

/** The pause before try `tries + 1`: the server's retryAfterMs, else 250 ms doubling up to 2 s. */
export function retryPause(tries: number, ack: Ack<object>): number {
  const asked = ack.ok ? undefined : ack.error.retryAfterMs;
  return asked ?? Math.min(FIRST_RETRY_MS * 2 ** tries, MAX_RETRY_MS);
}
