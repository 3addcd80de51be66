import { randomUUID } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import { StoreUnavailableError } from '../protocol/errors.js';
import type { EnqueueResult, Pair, PairingStore, SessionId, SessionState } from './pairing-store.js';
import { ATTACH, DETACH, ENQUEUE, HEARTBEAT, UNPAIR } from './redis-scripts.js';

export interface RedisStoreOptions {
  /** The ioredis client for store commands. Give it a command timeout so an outage fails fast. */
  redis: Redis;
  /** Prepended to every key, so several deployments can share one Redis. Default "pairwire:". */
  prefix?: string;
  /** Who owns the sessions this process attaches (written into their records). Default: a random id. */
  owner?: string;
  /**
   * How long a live session survives without a heartbeat: the bound on how long a crashed
   * instance's sessions linger. Heartbeats must come more often (the app uses a third). Default 10 s.
   */
  leaseMs?: number;
  /** Close the client on `close()`: true when the store created it (see createRedisStore). Default false. */
  ownsClient?: boolean;
}

/** Heartbeats carry many sessions; chunks keep each script short so Redis never stalls on one. */
const HEARTBEAT_CHUNK = 500;

/**
 * PairingStore on Redis, shared by every instance. Each state change is one Lua script (see
 * redis-scripts.ts), so instances racing on the same queue can never pair a session twice.
 */
export class RedisPairingStore implements PairingStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #ownsClient: boolean;

  constructor(options: RedisStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'pairwire:';
    this.#owner = options.owner ?? randomUUID();
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#ownsClient = options.ownsClient ?? false;
  }

  async attach(session: SessionId, { resume }: { resume: boolean }): Promise<SessionState | null> {
    const reply = (await this.#eval(ATTACH, [
      session,
      this.#owner,
      this.#leaseMs,
      this.#pairTtl(0),
      resume ? '1' : '0',
    ])) as [string, string?] | null;
    if (!reply) return null;
    const [status, pair] = reply;
    if (status === 'paired' && pair) return { status, pair: parsePair(pair) };
    if (status === 'requeue') return { status: 'idle', requeue: true };
    return { status: status === 'waiting' ? 'waiting' : 'idle' };
  }

  async detach(session: SessionId, graceMs: number): Promise<void> {
    await this.#eval(DETACH, [session, graceMs, this.#pairTtl(graceMs)]);
  }

  async release(session: SessionId): Promise<void> {
    await this.#run(() =>
      this.#redis
        .multi()
        .zrem(this.#key('q'), session) // https://redis.io/commands/zrem/
        .del(this.#key(`s:${session}`)) // https://redis.io/commands/del/
        .exec(),
    );
  }

  async heartbeat(sessions: SessionId[]): Promise<SessionId[]> {
    const orphans: SessionId[] = [];
    for (let i = 0; i < sessions.length; i += HEARTBEAT_CHUNK) {
      const chunk = sessions.slice(i, i + HEARTBEAT_CHUNK);
      const reply = (await this.#eval(HEARTBEAT, [this.#owner, this.#leaseMs, this.#pairTtl(0), ...chunk])) as string[];
      orphans.push(...reply);
    }
    return orphans;
  }

  async enqueue(session: SessionId): Promise<EnqueueResult> {
    const pairId = randomUUID();
    let reply: [string, string?];
    try {
      reply = (await this.#eval(ENQUEUE, [session, pairId, this.#pairTtl(0), this.#owner, this.#leaseMs])) as [
        string,
        string?,
      ];
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return this.#afterLostEnqueue(session, pairId, error);
    }
    const [status, pair] = reply;
    if ((status === 'paired' || status === 'already-paired') && pair) return { status, pair: parsePair(pair) };
    return { status: status === 'already-waiting' ? 'already-waiting' : 'waiting' };
  }

  /**
   * The enqueue script's reply was lost: a command timeout, under load, does not mean the script
   * did not run (a reply late past the timeout, or a script run after it). A pair made that way
   * would be announced to no one, and both sides would wait forever. So ask where the session
   * stands (on the same connection, hence after the script) and answer as the script would have:
   * paired if the pair carries this call's id, already paired if another, waiting if queued.
   * Only when neither shows is the failure passed on (nothing changed, or Redis is gone).
   */
  async #afterLostEnqueue(session: SessionId, pairId: string, lost: StoreUnavailableError): Promise<EnqueueResult> {
    const [pair, queued] = await Promise.all([
      this.pairOf(session),
      // https://redis.io/commands/zscore/
      this.#run(() => this.#redis.zscore(this.#key('q'), session)),
    ]).catch(() => {
      throw lost;
    });
    if (pair) return { status: pair.id === pairId ? 'paired' : 'already-paired', pair };
    if (queued !== null) return { status: 'waiting' };
    throw lost;
  }

  async dequeue(session: SessionId): Promise<boolean> {
    // https://redis.io/commands/zrem/
    return (await this.#run(() => this.#redis.zrem(this.#key('q'), session))) === 1;
  }

  async pairOf(session: SessionId): Promise<Pair | null> {
    // https://redis.io/commands/get/
    const pair = await this.#run(() => this.#redis.get(this.#key(`p:${session}`)));
    return pair ? parsePair(pair) : null;
  }

  async unpair(session: SessionId): Promise<Pair | null> {
    const pair = (await this.#eval(UNPAIR, [session])) as string | null;
    return pair ? parsePair(pair) : null;
  }

  async queueLength(): Promise<number> {
    // https://redis.io/commands/zcard/
    return this.#run(() => this.#redis.zcard(this.#key('q')));
  }

  async ready(): Promise<void> {
    // https://redis.io/commands/ping/
    await this.#run(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** A pair record outlives the lease by the grace, so a detached member can still resume it. */
  #pairTtl(graceMs: number): number {
    return this.#leaseMs + Math.max(graceMs, this.#leaseMs);
  }

  #key(name: string): string {
    return this.#prefix + name;
  }

  /** https://redis.io/commands/eval/ (ioredis caches the script and uses EVALSHA). */
  #eval(script: string, args: (string | number)[]): Promise<unknown> {
    return this.#run(() => this.#redis.eval(script, 0, this.#prefix, ...args));
  }

  /** Connection trouble becomes StoreUnavailableError (→ UNAVAILABLE); a script error stays a bug. */
  async #run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      if (error instanceof ReplyError) throw error;
      throw new StoreUnavailableError(`redis: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  }
}

/** Records are written by our own scripts, so the three fields are always there. */
function parsePair(record: string): Pair {
  const [id = '', initiator = '', polite = ''] = record.split('\n');
  return { id, initiator, polite };
}

/**
 * A client for store commands: a command waits at most `commandTimeoutMs` (during an outage the
 * client gets UNAVAILABLE quickly rather than hanging), and reconnects by itself.
 */
export function createStoreClient(url: string, commandTimeoutMs = 2000): Redis {
  const client = new Redis(url, {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 1,
    // Reconnect forever, backing off to 1 s: an outage ends by itself.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  return client;
}

/** A store that owns its own client, for entrypoints that only have a URL. */
export function createRedisStore(
  url: string,
  options: Omit<RedisStoreOptions, 'redis' | 'ownsClient'> = {},
): RedisPairingStore {
  const redis = createStoreClient(url);
  // Errors surface through commands as UNAVAILABLE; without a listener ioredis would log each one.
  redis.on('error', () => {});
  return new RedisPairingStore({ ...options, redis, ownsClient: true });
}
