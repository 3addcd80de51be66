/**
 * Automatic temporary bans, the two rules no operator has to watch for:
 * - a subject reported by AUTO_BAN_REPORTERS distinct subjects within AUTO_BAN_REPORTERS_WINDOW_MS
 *   (the store counts them as it files each report);
 * - a subject sending more than AUTO_BAN_SKIPS_PER_MINUTE `next`/`block` in one minute, over all its
 *   connections on every instance: a rate no person clicking "next" produces, only a script
 *   cycling through everyone online.
 * Either bans for AUTO_BAN_MS, unless a ban that lasts longer is in force already (an operator's).
 */
import type { Ban, FiledReport, PairingStore, SessionId, Subject } from '../store/pairing-store.js';

export interface AutoBanRules {
  /** Distinct reporters that ban; 0: never. */
  reporters: number;
  reportersWindowMs: number;
  /** next/block per minute beyond which a subject is banned; 0: never. */
  skipsPerMinute: number;
  banMs: number;
}

const MINUTE_MS = 60_000;

export class AutoBans {
  readonly #store: PairingStore;
  readonly #rules: AutoBanRules;
  readonly #onError: (error: unknown) => void;

  constructor(store: PairingStore, rules: AutoBanRules, onError: (error: unknown) => void) {
    this.#store = store;
    this.#rules = rules;
    this.#onError = onError;
  }

  /** A report was filed: bans the reported subject when enough distinct subjects reported it. */
  reported({ report, reporters }: FiledReport): void {
    const { reporters: threshold, reportersWindowMs } = this.#rules;
    if (threshold === 0 || report.reported === '' || reporters < threshold) return;
    const hours = Math.round(reportersWindowMs / 360_000) / 10;
    this.#ban(report.reported, 'auto-reports', `reported by ${reporters} people within ${hours} h`);
  }

  /** A session skipped a partner: counts it for its subject, and bans past the rate. */
  skipped(session: SessionId): void {
    const limit = this.#rules.skipsPerMinute;
    if (limit === 0) return;
    this.#store.countSkip(session, MINUTE_MS).then((counted) => {
      if (counted && counted.count > limit) {
        this.#ban(counted.subject, 'auto-skips', `more than ${limit} next/block in a minute`);
      }
    }, this.#onError);
  }

  #ban(subject: Subject, by: Ban['by'], reason: string): void {
    const at = Date.now();
    const until = at + this.#rules.banMs;
    (async () => {
      const current = await this.#store.banOf(subject);
      if (current && current.until >= until) return;
      await this.#store.ban({ subject, reason, by, at, until });
    })().catch(this.#onError);
  }
}
