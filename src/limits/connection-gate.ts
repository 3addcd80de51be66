import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface ConnectionLimits {
  /** Connections one address may hold at once. */
  maxConnectionsPerIp: number;
  /** New connections one address may open per minute. */
  connectionsPerMinutePerIp: number;
}

export type Admission = { admitted: true } | { admitted: false; retryAfterMs: number; reason: string };

export interface GateOptions {
  /**
   * How long a live connection stays counted in Redis without its owner renewing it. A crashed
   * instance's connections stop counting after this long; a live one never does.
   */
  leaseMs: number;
  /**
   * Whether this process owns its connections and renews their leases (every third of the lease).
   * Off where no process outlives a connection (Lambda): an entry then counts until its release or
   * its lease, whichever comes first.
   */
  renew: boolean;
}

/**
 * The retry hint when an address holds its cap of live connections: any one of them closing frees
 * a slot, and nothing says when that will be, so the honest hint is short.
 */
export const FULL_RETRY_MS = 2000;

/**
 * Per-address admission of new connections: how many an address opens per minute, and how many it
 * holds at once. The second is a count of the connections really open: each one is an entry that
 * `release` removes when it closes, never a counter that a lost decrement would leave wrong.
 *
 * With Redis the entries of every instance live in one sorted set per address, scored by when
 * they expire; their owner renews them, so a live connection counts for as long as it is open
 * and a crashed instance's stop counting after one lease. If Redis is unreachable, this
 * instance's own connections stand in for the shared count: an outage neither locks everyone out
 * nor lifts the limit (it applies per instance until Redis is back).
 */
export class ConnectionGate {
  readonly #limits: ConnectionLimits;
  readonly #rate: RateLimiterMemory | RateLimiterRedis;
  readonly #shared: SharedLiveSet | undefined;
  /**
   * This instance's live connections by address: the count without Redis, the renewals with it.
   * An address with one connection (most of them) keeps that id alone, without a Set (~180 bytes).
   */
  readonly #live = new Map<string, string | Set<string>>();
  /** Whether #live is kept: not where another process may release what this one admitted (Lambda). */
  readonly #keepsLocal: boolean;
  readonly #renewal: NodeJS.Timeout | undefined;

  constructor(limits: ConnectionLimits, shared: { redis: Redis; prefix: string } | undefined, options: GateOptions) {
    this.#limits = limits;
    this.#rate = limiter({ points: limits.connectionsPerMinutePerIp, duration: 60 }, shared, 'ip-rate');
    this.#keepsLocal = !shared || options.renew;
    if (shared) {
      this.#shared = new SharedLiveSet(shared.redis, `${shared.prefix}ip-live:`, options.leaseMs);
      if (options.renew) {
        this.#renewal = setInterval(
          () => this.#shared?.renew(this.#live),
          Math.max(Math.floor(options.leaseMs / 3), 1),
        );
        this.#renewal.unref();
      }
    }
  }

  /**
   * Counts connection `id` from `ip` if the address has room. When admitted, `release(ip, id)`
   * must follow once the connection is gone, whatever way it ends.
   */
  async admit(ip: string, id: string): Promise<Admission> {
    try {
      await this.#rate.consume(ip);
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) {
        return {
          admitted: false,
          retryAfterMs: Math.max(refusal.msBeforeNext, 1000),
          reason: 'too many new connections from this address',
        };
      }
      // Neither limiter could answer (cannot happen with the insurance limiter): go on to the count.
    }
    if (!(await this.#claim(ip, id))) {
      return { admitted: false, retryAfterMs: FULL_RETRY_MS, reason: 'too many open connections from this address' };
    }
    return { admitted: true };
  }

  /** Uncounts connection `id`; safe to call twice. */
  release(ip: string, id: string): void {
    const mine = this.#live.get(ip);
    if (mine === id || (typeof mine === 'object' && mine.delete(id) && mine.size === 0)) this.#live.delete(ip);
    // A lost removal (Redis unreachable) counts only until the lease ends: nobody renews it.
    this.#shared?.remove(ip, id);
  }

  /** Connections from `ip` this instance holds (what the limit applies to without Redis). */
  #heldHere(ip: string): number {
    const mine = this.#live.get(ip);
    return typeof mine === 'string' ? 1 : (mine?.size ?? 0);
  }

  /** Stops renewing; the entries left expire with their lease. */
  close(): void {
    clearInterval(this.#renewal);
  }

  async #claim(ip: string, id: string): Promise<boolean> {
    const cap = this.#limits.maxConnectionsPerIp;
    let admitted: boolean;
    if (this.#shared) {
      try {
        admitted = await this.#shared.add(ip, id, cap);
      } catch {
        // Redis is unreachable: this instance's own count stands in. The renewal adds the entry to
        // the shared set once Redis answers again. Without a local count (Lambda), fail open:
        // there the store is unreachable too and the connection is refused for that.
        admitted = !this.#keepsLocal || this.#heldHere(ip) < cap;
      }
    } else {
      admitted = this.#heldHere(ip) < cap;
    }
    if (admitted && this.#keepsLocal) {
      const mine = this.#live.get(ip);
      if (mine === undefined) this.#live.set(ip, id);
      else if (typeof mine === 'string') this.#live.set(ip, new Set([mine, id]));
      else mine.add(id);
    }
    return admitted;
  }
}

/**
 * KEYS[1]: the address's live set. ARGV: id, cap, leaseMs. Drops expired entries, then adds `id`
 * if fewer than `cap` remain. Redis's clock scores every entry, so instances' clocks never matter.
 */
const ADD = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/**
 * KEYS[1]: the address's live set. ARGV: leaseMs, id… Extends each entry by a lease, or restores
 * it (admitted during an outage, or expired in one). A renewal crossing a release may restore a
 * closed connection's entry: it then counts until its lease ends, as nobody renews it again.
 */
const RENEW = `
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expiry, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** The live connections of every instance, one sorted set per address (member: id, score: expiry). */
class SharedLiveSet {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    readonly leaseMs: number,
  ) {}

  async add(ip: string, id: string, cap: number): Promise<boolean> {
    return (await this.redis.eval(ADD, 1, this.prefix + ip, id, cap, this.leaseMs)) === 1;
  }

  remove(ip: string, id: string): void {
    this.redis.zrem(this.prefix + ip, id).catch(() => {});
  }

  /** One call per address; a failed renewal is retried by the next one, well within the lease. */
  renew(live: ReadonlyMap<string, string | ReadonlySet<string>>): void {
    for (const [ip, ids] of live) {
      const all = typeof ids === 'string' ? [ids] : [...ids];
      this.redis.eval(RENEW, 1, this.prefix + ip, this.leaseMs, ...all).catch(() => {});
    }
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
