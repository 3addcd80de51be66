import { Redis } from 'ioredis';

/** What one redis-server has counted since it started: network bytes and calls per command. */
export interface RedisCounters {
  /** `total_net_input_bytes`: bytes Redis read from its clients (what the instances wrote to it). */
  netInputBytes: number;
  /** `total_net_output_bytes`: bytes Redis wrote to its clients (what the instances read from it). */
  netOutputBytes: number;
  /**
   * Calls per command, from `INFO commandstats` (`cmdstat_<name>:calls=…`). Commands a Lua script
   * runs count here too, under their own names, beside the `evalsha` that ran them.
   */
  calls: Record<string, number>;
}

/**
 * Parses the text of `INFO stats` and `INFO commandstats` (https://redis.io/commands/info/):
 * `field:value` lines, commandstats values being `calls=…,usec=…,…`. Fields it does not know are
 * ignored; a missing byte counter reads 0.
 */
export function parseRedisInfo(text: string): RedisCounters {
  const counters: RedisCounters = { netInputBytes: 0, netOutputBytes: 0, calls: {} };
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon === -1 || line.startsWith('#')) continue;
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (field === 'total_net_input_bytes') counters.netInputBytes = Number(value);
    else if (field === 'total_net_output_bytes') counters.netOutputBytes = Number(value);
    else if (field.startsWith('cmdstat_')) {
      const calls = /(?:^|,)calls=(\d+)/.exec(value);
      if (calls) counters.calls[field.slice('cmdstat_'.length)] = Number(calls[1]);
    }
  }
  return counters;
}

/**
 * What happened between two readings. The reader's own `info` calls are left out of the command
 * counts (their bytes, a few KB per reading, stay in: nothing tells them apart).
 */
export function redisDelta(before: RedisCounters, after: RedisCounters): RedisCounters {
  const calls: Record<string, number> = {};
  for (const [name, count] of Object.entries(after.calls)) {
    if (name === 'info') continue;
    const delta = count - (before.calls[name] ?? 0);
    if (delta > 0) calls[name] = delta;
  }
  return {
    netInputBytes: after.netInputBytes - before.netInputBytes,
    netOutputBytes: after.netOutputBytes - before.netOutputBytes,
    calls,
  };
}

/** Reads a redis-server's counters over one connection of its own, kept for the reader's life. */
export class RedisCounterReader {
  readonly #redis: Redis;

  constructor(url: string) {
    this.#redis = new Redis(url, { maxRetriesPerRequest: 1, enableReadyCheck: false, lazyConnect: true });
    this.#redis.on('error', () => {});
  }

  async read(): Promise<RedisCounters> {
    // https://redis.io/commands/info/ (two sections: the byte counters and the per-command calls)
    const [stats, commands] = await Promise.all([this.#redis.info('stats'), this.#redis.info('commandstats')]);
    return parseRedisInfo(`${stats}\n${commands}`);
  }

  close(): void {
    this.#redis.disconnect();
  }
}
