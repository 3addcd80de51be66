/**
 * The trust-and-safety side of one deployment, built from its settings: what the core tells it
 * (SafetyHooks) goes to the report webhook and the automatic bans. One factory for the long-lived
 * server and for Lambda.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SafetyHooks } from '../core/signaling-core.js';
import type { Ban, PairingStore } from '../store/pairing-store.js';
import { AutoBans } from './auto-bans.js';
import { ReportWebhook } from './report-webhook.js';

export interface Safety {
  hooks: SafetyHooks;
  /** Resolves once the automatic bans set going so far are made, and `onBan` is done with each. */
  settled(): Promise<void>;
  /** Stops the webhook's retries (on shutdown). */
  close(): void;
}

export function createSafety(
  config: Pick<
    Config,
    | 'reportWebhookUrl'
    | 'reportWebhookSecret'
    | 'autoBanReporters'
    | 'autoBanReportersWindowMs'
    | 'autoBanSkipsPerMinute'
    | 'autoBanMs'
  >,
  store: PairingStore,
  logger: Logger,
  /** Told of each automatic ban once stored (API Gateway closes the subject's connections). */
  onBan?: (ban: Ban) => Promise<void>,
): Safety {
  const { reportWebhookUrl: url, reportWebhookSecret: secret } = config;
  const webhook =
    url && secret
      ? new ReportWebhook({
          url,
          secret,
          onGiveUp: (report, lastError) =>
            logger.warn({ report: report.id, lastError }, 'report webhook: gave up after every retry'),
        })
      : undefined;
  const autoBans = new AutoBans(
    store,
    {
      reporters: config.autoBanReporters,
      reportersWindowMs: config.autoBanReportersWindowMs,
      skipsPerMinute: config.autoBanSkipsPerMinute,
      banMs: config.autoBanMs,
    },
    { onError: (err) => logger.warn({ err }, 'automatic ban not made'), onBan },
  );
  return {
    hooks: {
      reported(filed) {
        logger.info({ report: filed.report.id, reason: filed.report.reason }, 'report filed');
        webhook?.send(filed.report);
        autoBans.reported(filed);
      },
      skipped: (session) => autoBans.skipped(session),
    },
    settled: () => autoBans.settled(),
    close: () => webhook?.close(),
  };
}
