import type { Redis } from 'ioredis';
import { type RateLimiterMemory, type RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { type Budget, budgetOf, type CommandLimits, type LimitVerdict } from './command-limiter.js';
import { limiter } from './connection-gate.js';

const ALLOWED: LimitVerdict = Object.freeze({ allowed: true });

/**
 * The per-connection budgets of CommandLimiter, kept in Redis for transports whose handlers
 * remember nothing between messages (API Gateway: each frame is its own Lambda invocation, on
 * whichever container). Same budgets and defaults; counted in fixed windows of two seconds
 * (rate × 2 per window: the burst of the token bucket), which rate-limiter-flexible does in one
 * Redis call per message.
 */
export class SharedCommandLimiter {
  readonly #budgets: Record<Budget, RateLimiterMemory | RateLimiterRedis>;
  readonly #strikes: RateLimiterMemory | RateLimiterRedis;

  constructor(limits: CommandLimits, shared?: { redis: Redis; prefix: string }) {
    const window = (perSecond: number) => ({ points: perSecond * 2, duration: 2 });
    this.#budgets = {
      sdp: limiter(window(limits.sdpPerSecond), shared, 'conn-sdp'),
      candidates: limiter(window(limits.candidatesPerSecond), shared, 'conn-candidates'),
      pairing: limiter(window(limits.pairingPerSecond), shared, 'conn-pairing'),
    };
    // ABUSE_STRIKES refusals, refilling about one per second, as the token bucket does.
    this.#strikes = limiter({ points: limits.abuseStrikes, duration: limits.abuseStrikes }, shared, 'conn-strikes');
  }

  async check(connection: string, event: string, payload: unknown): Promise<LimitVerdict> {
    try {
      await this.#budgets[budgetOf(event, payload)].consume(connection);
      return ALLOWED;
    } catch (refusal) {
      // Without a verdict (cannot happen with the insurance limiter) the message goes through.
      if (!(refusal instanceof RateLimiterRes)) return ALLOWED;
      return {
        allowed: false,
        retryAfterMs: Math.max(refusal.msBeforeNext, 1),
        abusive: await this.#strike(connection),
      };
    }
  }

  async #strike(connection: string): Promise<boolean> {
    try {
      await this.#strikes.consume(connection);
      return false;
    } catch (refusal) {
      return refusal instanceof RateLimiterRes;
    }
  }
}
