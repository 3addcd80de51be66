/** What an invocation keeps for itself, out of the time its Lambda has left, after retrying or waiting. */
export const LAMBDA_RESERVE_MS = 1000;
/** The first pause between two attempts; each later one doubles, up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 1000;

/** What the Lambda runtime passes beside the event; only the time left is read. */
export interface LambdaContext {
  getRemainingTimeInMillis?: () => number;
}

/** The ms an invocation may still spend, keeping LAMBDA_RESERVE_MS; outside Lambda, `fallbackMs`. */
export function budgetOf(context: LambdaContext | undefined, fallbackMs: number): number {
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining === undefined ? fallbackMs : Math.max(0, remaining - LAMBDA_RESERVE_MS);
}

/**
 * Runs `attempt` until it succeeds, pausing with a bounded exponential back-off between tries, as
 * long as another try (assumed to take as long as the last one did: a stalled Redis takes the
 * client's whole command timeout) still fits in `budgetMs`. Then the last error is thrown.
 */
export async function retryWithin<T>(budgetMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
    const started = Date.now();
    try {
      return await attempt();
    } catch (error) {
      const took = Date.now() - started;
      if (Date.now() + backoff + took > deadline) throw error;
      await sleep(backoff);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
