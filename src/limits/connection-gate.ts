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
    this.#rate = limiter({ points: limits.connectionsPerMinutePerIp, duration: 60 }, shared, 'ip-rate');
    this.#concurrent = limiter(
      { points: limits.maxConnectionsPerIp, duration: CONCURRENT_WINDOW_SECONDS },
      shared,
      'ip-open',
    );
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

/** A counter in Redis when shared (with an in-process stand-in for outages), else in-process. */
export function limiter(
  window: { points: number; duration: number },
  shared: { redis: Redis; prefix: string } | undefined,
  name: string,
): RateLimiterMemory | RateLimiterRedis {
  if (!shared) return new RateLimiterMemory(window);
  return new RateLimiterRedis({
    ...window,
    storeClient: shared.redis,
    keyPrefix: `${shared.prefix}${name}`,
    insuranceLimiter: new RateLimiterMemory(window),
  });
}

function refused(refusal: unknown, reason: string): Admission {
  if (refusal instanceof RateLimiterRes) {
    return { admitted: false, retryAfterMs: Math.max(refusal.msBeforeNext, 1000), reason };
  }
  // Neither limiter could answer (cannot happen with the insurance limiter): fail open.
  return { admitted: true };
}
