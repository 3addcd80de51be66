export interface CommandLimits {
  /** Offers and answers per second (burst twice that). */
  sdpPerSecond: number;
  /** ICE candidates, end-of-candidates and anything unrecognised, per second (burst twice that). */
  candidatesPerSecond: number;
  /** join, next, block, leave and report per second (burst twice that): no pairing churn loops. */
  pairingPerSecond: number;
  /** Refused commands tolerated (refilling one per second) before the client is disconnected. */
  abuseStrikes: number;
}

export type LimitVerdict = { allowed: true } | { allowed: false; retryAfterMs: number; abusive: boolean };

const ALLOWED: LimitVerdict = Object.freeze({ allowed: true });

/**
 * One connection's budget, checked before a command is even parsed, so a flood costs the server
 * a few arithmetic operations per message. Each class of command has its own token bucket (a
 * burst of candidates must not block an answer): `rate` tokens per second refill continuously up
 * to twice that. Refusals draw from an abuse budget (ABUSE_STRIKES, one back per second), and a
 * client that empties it is persistently abusive.
 *
 * Every connection holds one, so the buckets are plain numbers on this one object, all refilled
 * from one timestamp at each check: a bucket refilled in two steps holds what one step would give
 * it, since refilling stops at the burst.
 */
export class CommandLimiter {
  readonly #limits: CommandLimits;
  /** When the buckets were last refilled (ms). */
  #at: number;
  #sdp: number;
  #candidates: number;
  #pairing: number;
  #strikes: number;

  constructor(limits: CommandLimits, now = Date.now()) {
    this.#limits = limits;
    this.#at = now;
    this.#sdp = limits.sdpPerSecond * 2;
    this.#candidates = limits.candidatesPerSecond * 2;
    this.#pairing = limits.pairingPerSecond * 2;
    this.#strikes = limits.abuseStrikes;
  }

  check(event: string, payload: unknown, now = Date.now()): LimitVerdict {
    this.#refill(now);
    const budget = budgetOf(event, payload);
    const tokens = budget === 'pairing' ? this.#pairing : budget === 'sdp' ? this.#sdp : this.#candidates;
    if (tokens >= 1) {
      if (budget === 'pairing') this.#pairing = tokens - 1;
      else if (budget === 'sdp') this.#sdp = tokens - 1;
      else this.#candidates = tokens - 1;
      return ALLOWED;
    }
    const perMs = this.#perSecond(budget) / 1000;
    const retryAfterMs = Math.ceil((1 - tokens) / perMs);
    const abusive = this.#strikes < 1;
    if (!abusive) this.#strikes -= 1;
    return { allowed: false, retryAfterMs, abusive };
  }

  #perSecond(budget: Budget): number {
    const limits = this.#limits;
    return budget === 'pairing'
      ? limits.pairingPerSecond
      : budget === 'sdp'
        ? limits.sdpPerSecond
        : limits.candidatesPerSecond;
  }

  #refill(now: number): void {
    const elapsed = now - this.#at;
    if (elapsed === 0) return;
    this.#at = now;
    const limits = this.#limits;
    this.#sdp = Math.min(limits.sdpPerSecond * 2, this.#sdp + elapsed * (limits.sdpPerSecond / 1000));
    this.#candidates = Math.min(
      limits.candidatesPerSecond * 2,
      this.#candidates + elapsed * (limits.candidatesPerSecond / 1000),
    );
    this.#pairing = Math.min(limits.pairingPerSecond * 2, this.#pairing + elapsed * (limits.pairingPerSecond / 1000));
    this.#strikes = Math.min(limits.abuseStrikes, this.#strikes + elapsed * (1 / 1000));
  }
}

/** The budgets a command can draw from: each class has its own, so candidates never block an answer. */
export type Budget = 'sdp' | 'candidates' | 'pairing';

/** Which budget a command draws from; anything unrecognised counts as a candidate. */
export function budgetOf(event: string, payload: unknown): Budget {
  // A proof costs the server a store round trip, like a pairing command.
  if (
    event === 'join' ||
    event === 'next' ||
    event === 'leave' ||
    event === 'block' ||
    event === 'report' ||
    event === 'proof'
  )
    return 'pairing';
  if (event === 'signal') {
    const type = typeof payload === 'object' && payload !== null ? (payload as { type?: unknown }).type : undefined;
    if (type === 'offer' || type === 'answer') return 'sdp';
  }
  return 'candidates';
}
