/**
 * What matching alone costs, without a server or sockets: a waiting population as in the
 * matchmaking scenario (bench/matchmaking/), then joiners `enqueue`d one at a time, interests
 * against FIFO, two rounds in alternating order. The memory store: this process's CPU per join.
 * Redis: redis-server's time in the ENQUEUE script per join (`INFO commandstats`, evalsha's usec),
 * on a redis-server of its own. Bounded (4 minutes); stops what it started.
 * Usage: node dist/bench/bench/profile/match-cost.js [population=10000] [joiners=2000]
 */
import { Redis } from 'ioredis';
import { MemoryPairingStore } from '../../src/store/memory-store.js';
import type { MatchPreferences, PairingStore } from '../../src/store/pairing-store.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import { startBenchRedis } from '../lib/redis-server.js';
import { interestsOf, ownLanguage, seededRandom, zipfSampler } from '../matchmaking/population.js';

const population = Number(process.argv[2] ?? 10_000);
const joiners = Number(process.argv[3] ?? 2000);
const watchdog = setTimeout(() => {
  console.error('match-cost: over its 4-minute bound, giving up');
  process.exit(2);
}, 240_000);

type Mode = 'fifo' | 'interests';

/** Preferences of `count` clients; the waiting ones each get a language of their own (population.ts). */
function preferences(mode: Mode, count: number, seed: number, ownLanguages: boolean): MatchPreferences[] {
  const random = seededRandom(seed);
  const draw = zipfSampler(1000, 1, random);
  return Array.from({ length: count }, (_, i) => ({
    interests: mode === 'interests' ? interestsOf(draw, random) : [],
    fallbackMs: null,
    lang: ownLanguages ? ownLanguage(i) : null,
  }));
}

/** Queues the population, then measures `cost` around the joins; returns [cost per join, pairs]. */
async function measure(store: PairingStore, mode: Mode, cost: () => Promise<number>): Promise<[number, number]> {
  const waiting = preferences(mode, population, 1, true);
  for (let from = 0; from < population; from += 100) {
    await Promise.all(
      waiting.slice(from, from + 100).map(async (wanted, k) => {
        await store.attach(`w${from + k}`, { resume: false });
        await store.enqueue(`w${from + k}`, wanted);
      }),
    );
  }
  const joining = preferences(mode, joiners, 2, false);
  for (let i = 0; i < joiners; i++) await store.attach(`j${i}`, { resume: false });
  const before = await cost();
  let pairs = 0;
  for (let i = 0; i < joiners; i++) if ((await store.enqueue(`j${i}`, joining[i])).status === 'paired') pairs++;
  return [((await cost()) - before) / joiners, pairs];
}

const cpuMicros = async () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

const redis = await startBenchRedis(undefined);
const info = new Redis(redis.url);
/** redis-server's microseconds in EVALSHA so far (https://redis.io/commands/info/). */
const scriptMicros = async () =>
  Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await info.info('commandstats'))?.[1] ?? 0);
try {
  for (const [round, modes] of [[1, ['fifo', 'interests']] as const, [2, ['interests', 'fifo']] as const]) {
    for (const mode of modes) {
      const memory = new MemoryPairingStore();
      const [memoryCost, memoryPairs] = await measure(memory, mode, cpuMicros);
      await memory.close();
      const store = createRedisStore(redis.url, { prefix: `match-cost:${round}:${mode}:`, leaseMs: 600_000 });
      const [redisCost, redisPairs] = await measure(store, mode, scriptMicros);
      await store.close();
      console.log(
        JSON.stringify({
          round,
          mode,
          memoryStoreMicrosPerJoin: Number(memoryCost.toFixed(1)),
          memoryPairs,
          redisScriptMicrosPerJoin: Number(redisCost.toFixed(1)),
          redisPairs,
        }),
      );
    }
  }
} finally {
  info.disconnect();
  await redis.stop();
  clearTimeout(watchdog);
}
