import { TokenBucket } from './token-bucket.js';

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
 * a few arithmetic operations per message. Each class of command has its own bucket (a burst of
 * candidates must not block an answer); refusals draw from an abuse budget, and a client that
 * empties it is persistently abusive.
 */
export class CommandLimiter {
  readonly #sdp: TokenBucket;
  readonly #candidates: TokenBucket;
  readonly #pairing: TokenBucket;
  readonly #strikes: TokenBucket;

  constructor(limits: CommandLimits) {
    this.#sdp = new TokenBucket(limits.sdpPerSecond, limits.sdpPerSecond * 2);
    this.#candidates = new TokenBucket(limits.candidatesPerSecond, limits.candidatesPerSecond * 2);
    this.#pairing = new TokenBucket(limits.pairingPerSecond, limits.pairingPerSecond * 2);
    this.#strikes = new TokenBucket(1, limits.abuseStrikes);
  }

  check(event: string, payload: unknown): LimitVerdict {
    const now = Date.now();
    const retryAfterMs = this.#bucketFor(event, payload).take(now);
    if (retryAfterMs === 0) return ALLOWED;
    return { allowed: false, retryAfterMs, abusive: this.#strikes.take(now) > 0 };
  }

  #bucketFor(event: string, payload: unknown): TokenBucket {
    const budget = budgetOf(event, payload);
    return budget === 'pairing' ? this.#pairing : budget === 'sdp' ? this.#sdp : this.#candidates;
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
