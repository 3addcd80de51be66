import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface ConnectionLimits {
  /** Connections one address may hold at once. */
  maxConnectionsPerIp: number;
  /** New connections one address may open per minute. */
  connectionsPerMinutePerIp: number;
}

export type Admission = { admitted: true } | { admitted: false; retryAfterMs: number; reason: string };

/** Concurrent counts expire this long after the last change, so a crashed instance's counts cannot pin an address forever. */
const CONCURRENT_WINDOW_SECONDS = 15 * 60;

/**
 * Per-address admission for new connections. With Redis the counters are shared by every
 * instance (rate-limiter-flexible); if Redis is unreachable an in-process limiter stands in, so an
 * outage neither locks everyone out nor lifts the limits.
 */
export class ConnectionGate {
  readonly #rate: RateLimiterMemory | RateLimiterRedis;
  readonly #concurrent: RateLimiterMemory | RateLimiterRedis;

  constructor(limits: ConnectionLimits, shared?: { redis: Redis; prefix: string }) {
    const rate = { points: limits.connectionsPerMinutePerIp, duration: 60 };
    const concurrent = { points: limits.maxConnectionsPerIp, duration: CONCURRENT_WINDOW_SECONDS };
    this.#rate = shared
      ? new RateLimiterRedis({
          ...rate,
          storeClient: shared.redis,
          keyPrefix: `${shared.prefix}ip-rate`,
          insuranceLimiter: new RateLimiterMemory(rate),
        })
      : new RateLimiterMemory(rate);
    this.#concurrent = shared
      ? new RateLimiterRedis({
          ...concurrent,
          storeClient: shared.redis,
          keyPrefix: `${shared.prefix}ip-open`,
          insuranceLimiter: new RateLimiterMemory(concurrent),
        })
      : new RateLimiterMemory(concurrent);
  }

  /** Counts a new connection from `ip`; when admitted, `release(ip)` must follow when it closes. */
  async admit(ip: string): Promise<Admission> {
    try {
      await this.#rate.consume(ip);
    } catch (refusal) {
      return refused(refusal, 'too many new connections from this address');
    }
    try {
      await this.#concurrent.consume(ip);
    } catch (refusal) {
      // A refused consume still counted a point: give it back, or refusals would fill the slots.
      this.release(ip);
      return refused(refusal, 'too many open connections from this address');
    }
    return { admitted: true };
  }

  release(ip: string): void {
    // Fire and forget: a lost decrement only delays that address's slot until the window ends.
    this.#concurrent.reward(ip, 1).catch(() => {});
  }
}

function refused(refusal: unknown, reason: string): Admission {
  if (refusal instanceof RateLimiterRes) {
    return { admitted: false, retryAfterMs: Math.max(refusal.msBeforeNext, 1000), reason };
  }
  // Neither limiter could answer (cannot happen with the insurance limiter): fail open.
  return { admitted: true };
}
