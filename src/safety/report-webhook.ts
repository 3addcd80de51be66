/**
 * Each report POSTed to the operator's endpoint (REPORT_WEBHOOK_URL) as JSON, signed so the
 * receiver can tell it came from this server: `X-Pairwire-Signature: sha256=<hex>`, the
 * HMAC-SHA256 of the raw body with REPORT_WEBHOOK_SECRET (the scheme GitHub's webhooks use). A
 * failed delivery (a network error, a timeout, any status but 2xx) is retried with exponential
 * back-off; nothing waits for it, so a slow receiver never delays a reporter's ack.
 */
import { createHmac } from 'node:crypto';
import type { StoredReport } from '../store/pairing-store.js';

export interface ReportWebhookOptions {
  url: string;
  secret: string;
  /** Attempts in all, the first included. Default 6 (the last about 31 s after the first). */
  attempts?: number;
  /** The wait before the first retry, doubling for each next one. Default 1 s. */
  firstRetryMs?: number;
  /** How long one attempt may take. Default 5 s. */
  timeoutMs?: number;
  /** Told when a report could not be delivered after every attempt. */
  onGiveUp?: (report: StoredReport, lastError: string) => void;
}

/** What the receiver gets: the report as GET /admin/reports shows it, under `report`. */
export function webhookBody(report: StoredReport): string {
  return JSON.stringify({ type: 'report', report: { ...report, time: new Date(report.at).toISOString() } });
}

/** The header value for `body`: `sha256=` and the hex HMAC-SHA256 of its UTF-8 bytes with `secret`. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class ReportWebhook {
  readonly #options: Required<Omit<ReportWebhookOptions, 'onGiveUp'>> & Pick<ReportWebhookOptions, 'onGiveUp'>;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(options: ReportWebhookOptions) {
    this.#options = { attempts: 6, firstRetryMs: 1000, timeoutMs: 5000, ...options };
  }

  /** Starts delivering `report`; returns at once. */
  send(report: StoredReport): void {
    const body = webhookBody(report);
    void this.#attempt(report, body, 1);
  }

  /** Stops retrying (on shutdown); attempts under way finish by themselves. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  async #attempt(report: StoredReport, body: string, attempt: number): Promise<void> {
    const { url, secret, attempts, firstRetryMs, timeoutMs } = this.#options;
    let failure: string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'pairwire-report-webhook',
          'X-Pairwire-Signature': webhookSignature(secret, body),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The body is not needed; reading it frees the connection.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (attempt >= attempts || this.#closed) {
      this.#options.onGiveUp?.(report, failure);
      return;
    }
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        void this.#attempt(report, body, attempt + 1);
      },
      firstRetryMs * 2 ** (attempt - 1),
    );
    timer.unref();
    this.#timers.add(timer);
  }
}
