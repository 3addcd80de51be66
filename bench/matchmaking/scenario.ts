/**
 * The matchmaking scenario (issue 15): a large waiting population, then a burst of joins, with
 * interests and in plain FIFO, on the memory and the Redis store, each in a fresh server. Measures
 * join→paired latency at the client, server (and redis-server) CPU per pair during the burst, and
 * what the waiting population holds in the server's heap and in Redis.
 *
 * What is and is not real: the joiners are real socket.io clients of a real server process, and
 * every join goes through the socket.io binding, the core and the store's matching (the ENQUEUE
 * script with Redis). The waiting population is put into the same server's store in-process
 * (server.ts), not through 10,000 connections: so its connections' memory and heartbeats are not
 * in these figures (the pair burst and idle-cost measure those).
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { EventAcknowledger } from '../../src/client/event-acknowledger.js';
import { type Pinning, spawnPinned, stopProcess, waitForOutput } from '../lib/pinned-process.js';
import { startBenchRedis } from '../lib/redis-server.js';
import { type LatencySummary, summarize } from '../lib/stats.js';
import { sleep, startCpuWindow } from '../load/cpu-window.js';
import { interestsOf, seededRandom, zipfSampler } from './population.js';
import type { MatchServerJob, MatchServerReady } from './server.js';

const SERVER_ENTRY = fileURLToPath(new URL('./server.js', import.meta.url));
/** Joiners connecting at a time (before the burst). */
const CONNECT_WAVE = 100;
/**
 * Joiners that join one by one before the burst, with the burst's kind of preferences, so the
 * server's JIT has compiled the join path first (the pair burst warms up too). Without them the
 * burst's first few hundred joins paid the compilation of each mode's own code (the interest
 * schema's normalisation, the interest queues), more for interests: the memory store's interests
 * burst measured 1.4-1.5x FIFO's CPU per pair with 1,000 joiners and ~1.05x with 3,000. The
 * population is larger by as many, so the burst still meets `population` waiting clients.
 */
const WARMUP_JOINERS = 200;

export interface MatchmakingSize {
  population: number;
  joiners: number;
  tags: number;
  timeoutMs: number;
}

export const MATCHMAKING_FULL: MatchmakingSize = { population: 10_000, joiners: 1_000, tags: 1_000, timeoutMs: 60_000 };
export const MATCHMAKING_QUICK: MatchmakingSize = { population: 2_000, joiners: 200, tags: 1_000, timeoutMs: 30_000 };

export interface MatchmakingRun {
  store: 'memory' | 'redis';
  mode: 'fifo' | 'interests';
  population: number;
  joiners: number;
  /** Pairs the burst made (with someone waiting, or between two joiners); interest joiners whose tags nobody has wait. */
  paired: number;
  /** Joins refused, by error code (UNAVAILABLE: the store did not answer in time). */
  refused: Record<string, number>;
  /** Joiners paired by their join itself (the latency sample). */
  pairedAtOnce: number;
  /** join sent → `paired` received, for the joins that found a partner at once, milliseconds. */
  latencyMs: LatencySummary;
  /** Server process CPU during the burst, per pair, microseconds. */
  serverCpuUsPerPair: number;
  /** redis-server CPU during the burst, per pair, microseconds (0 on the memory store). */
  redisCpuUsPerPair: number;
  /** CPU of other tenants on the server's core meanwhile, seconds: how loaded the machine was. */
  foreignCpuSeconds: number;
  burstSeconds: number;
  populateSeconds: number;
  /** What the waiting population added to the server's heap (after a full GC), bytes per waiting client. */
  heapBytesPerWaiting: number;
  /** What it added to Redis (`used_memory`), bytes per waiting client (0 on the memory store). */
  redisBytesPerWaiting: number;
}

export interface MatchmakingResult {
  size: MatchmakingSize;
  /** How many rounds each figure is the median of. */
  rounds: number;
  runs: MatchmakingRun[];
}

/**
 * Every store × mode, `rounds` times, FIFO and interests in alternating order (the shared machine's
 * slow stretches then fall on both); each figure is the median over the rounds. Failures are thrown
 * (the caller records them).
 */
export async function runMatchmaking(
  size: MatchmakingSize,
  pinning: Pinning,
  stores: readonly ('memory' | 'redis')[] = ['memory', 'redis'],
  rounds = 1,
): Promise<MatchmakingResult> {
  const samples = new Map<string, MatchmakingRun[]>();
  for (let round = 0; round < rounds; round++) {
    for (const store of stores) {
      const modes = round % 2 === 0 ? (['fifo', 'interests'] as const) : (['interests', 'fifo'] as const);
      for (const mode of modes) {
        console.error(`[bench] matchmaking: round ${round + 1}/${rounds}, ${store} store, ${mode}`);
        const run = await runOne(store, mode, size, pinning);
        console.error(`[bench] matchmaking: ${JSON.stringify(run)}`);
        samples.set(`${store}:${mode}`, [...(samples.get(`${store}:${mode}`) ?? []), run]);
      }
    }
  }
  return { size, rounds, runs: [...samples.values()].map(medianRun) };
}

/** The median of every figure over the rounds (refusals: the worst round's). */
function medianRun(runs: MatchmakingRun[]): MatchmakingRun {
  const [first] = runs;
  if (!first || runs.length === 1) return first as MatchmakingRun;
  const median = (pick: (run: MatchmakingRun) => number) => {
    const sorted = runs.map(pick).sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  };
  const worst = runs.reduce((a, b) =>
    Object.values(b.refused).reduce((x, y) => x + y, 0) > Object.values(a.refused).reduce((x, y) => x + y, 0) ? b : a,
  );
  return {
    ...first,
    joiners: median((run) => run.joiners),
    paired: median((run) => run.paired),
    pairedAtOnce: median((run) => run.pairedAtOnce),
    refused: worst.refused,
    latencyMs: {
      count: median((run) => run.latencyMs.count),
      p50: median((run) => run.latencyMs.p50),
      p90: median((run) => run.latencyMs.p90),
      p99: median((run) => run.latencyMs.p99),
      max: median((run) => run.latencyMs.max),
    },
    serverCpuUsPerPair: median((run) => run.serverCpuUsPerPair),
    redisCpuUsPerPair: median((run) => run.redisCpuUsPerPair),
    foreignCpuSeconds: median((run) => run.foreignCpuSeconds),
    burstSeconds: median((run) => run.burstSeconds),
    populateSeconds: median((run) => run.populateSeconds),
    heapBytesPerWaiting: median((run) => run.heapBytesPerWaiting),
    redisBytesPerWaiting: median((run) => run.redisBytesPerWaiting),
  };
}

async function runOne(
  store: 'memory' | 'redis',
  mode: 'fifo' | 'interests',
  size: MatchmakingSize,
  pinning: Pinning,
): Promise<MatchmakingRun> {
  const redis = store === 'redis' ? await startBenchRedis(pinning.serverCore) : undefined;
  const job: MatchServerJob = { mode, population: size.population + WARMUP_JOINERS, tags: size.tags, seed: 1 };
  const server = spawnPinned(
    pinning.serverCore,
    process.execPath,
    ['--expose-gc', SERVER_ENTRY, JSON.stringify(job)],
    redis ? { REDIS_URL: redis.url } : {},
  );
  const client = redis ? new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 }) : undefined;
  client?.on('error', () => {});
  const sockets: (Socket | undefined)[] = [];
  try {
    const emptyRedisBytes = client ? await usedMemory(client) : 0;
    const [, readyJson] = await waitForOutput(server, /READY (\{.*\})\n/, 180_000);
    const ready = JSON.parse(readyJson ?? '{}') as MatchServerReady;
    const redisBytes = client ? (await usedMemory(client)) - emptyRedisBytes : 0;
    const url = `http://127.0.0.1:${ready.port}`;

    // The joiners: connected and idle first, so the burst is joins alone.
    const random = seededRandom(2);
    const draw = zipfSampler(size.tags, 1, random);
    const preferencesOf = () =>
      mode === 'interests' ? { interests: interestsOf(draw, random), fallbackMs: null } : {};
    const preferences = Array.from({ length: size.joiners }, preferencesOf);
    /** When each joiner heard its first answer, and whether it was `paired` (else `waiting`). */
    const answeredAt = new Array<number>(size.joiners).fill(0);
    const pairedAtOnce = new Array<boolean>(size.joiners).fill(false);
    const rooms = new Set<string>();
    const acknowledgers: EventAcknowledger[] = [];
    /** Opens joiner i's connection; resolves true once its session is named, false if it is not within the wave's time. */
    const open = (i: number) =>
      new Promise<boolean>((resolve) => {
        const socket = io(url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
          timeout: 20_000,
          auth: { join: false },
        });
        sockets[i] = socket;
        const acknowledger = new EventAcknowledger((seq) => socket.emit('ack', { seq }));
        acknowledgers.push(acknowledger);
        socket.onAny((event: string, payload: unknown, seq: unknown) => {
          if (typeof seq === 'number') acknowledger.receive(seq);
          if (event === 'paired') rooms.add((payload as { room: string }).room);
          if ((event !== 'paired' && event !== 'waiting') || answeredAt[i] !== 0) return;
          answeredAt[i] = performance.now();
          pairedAtOnce[i] = event === 'paired';
        });
        const timer = setTimeout(() => resolve(false), 25_000);
        socket.once('session', () => {
          clearTimeout(timer);
          resolve(true);
        });
        socket.once('connect_error', () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
    // In waves, as the pair burst connects: a thousand handshakes at once on a loaded core leave
    // some unanswered. A joiner that did not connect takes no part in the burst (counted in `joiners`).
    const connected: boolean[] = [];
    for (let from = 0; from < size.joiners; from += CONNECT_WAVE) {
      const wave = Array.from({ length: Math.min(CONNECT_WAVE, size.joiners - from) }, (_, k) => open(from + k));
      connected.push(...(await Promise.all(wave)));
    }
    const joining = connected.flatMap((ok, i) => (ok ? [i] : []));
    for (const [i, ok] of connected.entries()) {
      if (!ok) {
        sockets[i]?.close();
        answeredAt[i] = -1; // not in the burst
      }
    }
    if (joining.length === 0) throw new Error('no joiner connected');
    await warmUp(url, Array.from({ length: WARMUP_JOINERS }, preferencesOf));
    await sleep(1000);

    const serverPids = [server.pid ?? 0];
    const redisPids = redis ? [redis.pid] : [];
    const cpu = startCpuWindow(serverPids, redisPids, pinning.serverCore);
    const joinedAt = performance.now();
    const refused: Record<string, number> = {};
    let acked = 0;
    for (const i of joining) {
      sockets[i]?.emit('join', preferences[i], (ack: { ok: boolean; error?: { code: string } }) => {
        acked++;
        if (ack.ok) return;
        const code = ack.error?.code ?? 'UNKNOWN';
        refused[code] = (refused[code] ?? 0) + 1;
      });
    }
    // Done when every join is acknowledged: paired with someone waiting, queued (an interest nobody
    // waiting has; a later joiner may still pick it up, and that pair counts too), or refused.
    const deadline = joinedAt + size.timeoutMs;
    while (performance.now() < deadline && acked < joining.length) await sleep(10);
    await sleep(50); // the last pairs' second `paired`
    const window = cpu.stop();
    for (const acknowledger of acknowledgers) acknowledger.stop();
    const latencies = answeredAt.flatMap((at, i) => (pairedAtOnce[i] && at > 0 ? [at - joinedAt] : []));
    const paired = rooms.size;
    const burstSeconds = window.wallSeconds;
    return {
      store,
      mode,
      population: size.population,
      joiners: joining.length,
      paired,
      pairedAtOnce: latencies.length,
      refused,
      latencyMs: summarize(latencies),
      serverCpuUsPerPair: paired ? (window.serverCpuSeconds * 1e6) / paired : 0,
      redisCpuUsPerPair: paired ? (window.auxCpuSeconds * 1e6) / paired : 0,
      foreignCpuSeconds: window.foreignCpuSeconds,
      burstSeconds,
      populateSeconds: ready.populateSeconds,
      heapBytesPerWaiting: (ready.heapBytes.after - ready.heapBytes.before) / job.population,
      redisBytesPerWaiting: redisBytes / job.population,
    };
  } finally {
    for (const socket of sockets) socket?.close();
    client?.disconnect();
    await stopProcess(server);
    await redis?.stop();
  }
}

/** WARMUP_JOINERS joins, one at a time, each answered before the next; their connections close after. */
async function warmUp(url: string, preferences: object[]): Promise<void> {
  for (const preference of preferences) {
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { join: false } });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('a warm-up join was not answered within 10 s')), 10_000);
        socket.once('session', () =>
          socket.emit('join', preference, () => {
            clearTimeout(timer);
            resolve();
          }),
        );
      });
    } finally {
      socket.close();
    }
  }
}

/** `used_memory` of INFO memory (https://redis.io/commands/info/), bytes. */
async function usedMemory(redis: Redis): Promise<number> {
  const text = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(text)?.[1] ?? 0);
}
