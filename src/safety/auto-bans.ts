/**
 * Automatic temporary bans, the two rules no operator has to watch for:
 * - a subject reported by AUTO_BAN_REPORTERS distinct subjects within AUTO_BAN_REPORTERS_WINDOW_MS
 *   (the store counts them as it files each report);
 * - a subject sending more than AUTO_BAN_SKIPS_PER_MINUTE `next`/`block` in one minute, over all its
 *   connections on every instance: a rate no person clicking "next" produces, only a script
 *   cycling through everyone online.
 * Either bans for AUTO_BAN_MS, unless a ban that lasts longer is in force already (an operator's).
 * Nothing waits for it (a command's answer does not), but `settled()` says when it is done.
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

export interface AutoBanHooks {
  onError: (error: unknown) => void;
  /**
   * Told of each ban made, once it is stored: where no process holds the subject's connections
   * (API Gateway), this closes them; elsewhere the store's watchBans does.
   */
  onBan?: ((ban: Ban) => Promise<void>) | undefined;
}

export class AutoBans {
  readonly #store: PairingStore;
  readonly #rules: AutoBanRules;
  readonly #hooks: AutoBanHooks;
  /** What was set going and is not done yet: counting a skip, making a ban and closing its connections. */
  readonly #pending = new Set<Promise<void>>();

  constructor(store: PairingStore, rules: AutoBanRules, hooks: AutoBanHooks) {
    this.#store = store;
    this.#rules = rules;
    this.#hooks = hooks;
  }

  /**
   * Resolves once everything set going so far is done (never rejects: failures go to onError). A
   * Lambda invocation awaits it before it returns, or a frozen container would hold a ban back.
   */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
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
    this.#track(
      this.#store.countSkip(session, MINUTE_MS).then((counted) => {
        if (counted && counted.count > limit) {
          this.#ban(counted.subject, 'auto-skips', `more than ${limit} next/block in a minute`);
        }
      }),
    );
  }

  #ban(subject: Subject, by: Ban['by'], reason: string): void {
    const at = Date.now();
    const until = at + this.#rules.banMs;
    this.#track(
      (async () => {
        const current = await this.#store.banOf(subject);
        if (current && current.until >= until) return;
        const ban: Ban = { subject, reason, by, at, until };
        await this.#store.ban(ban);
        await this.#hooks.onBan?.(ban);
      })(),
    );
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch(this.#hooks.onError).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}
