import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Pinning, spawnPinned, stopProcess, waitForOutput } from './lib/pinned-process.js';
import { type BenchRedis, startBenchRedis } from './lib/redis-server.js';
import type { WireProtocol } from './load/connection.js';

/** Compiled files, resolved from this module's place in dist/bench/bench/. */
const built = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const PAIRWIRE_ENTRY = built('../../src/server.js');
const PAIRWIRE_CONFIG = built('../../src/config.js');
const GC_HOOK = built('./server-hooks/gc-on-signal.js');

/** Settings pairwire reads (the baselines ignore them); see the comment where they are used. */
export const PER_ADDRESS_LIMITS_LIFTED = {
  MAX_CONNECTIONS_PER_IP: '1000000',
  CONNECTIONS_PER_MINUTE_PER_IP: '1000000',
  // Every load client is one subject (127.0.0.1, no device token): its churn is not a person's.
  AUTO_BAN_SKIPS_PER_MINUTE: '0',
};

export type TargetId =
  | 'pairwire'
  | 'pairwire-botgate'
  | 'candidate'
  | 'candidate-redis'
  | 'naive-socketio'
  | 'ws-floor'
  | 'pairwire-redis'
  | 'pairwire-redis-2x'
  | 'pairwire-redis-4x';

/** What a target is measured by: pair bursts, the relay at several rates, the scale-out cost model. */
export type Scenario = 'burst' | 'relay' | 'scale-out';

const BURST_AND_RELAY: readonly Scenario[] = ['burst', 'relay'];

export interface Target {
  id: TargetId;
  label: string;
  protocol: WireProtocol;
  entry: string;
  instances: number;
  redis: boolean;
  scenarios: readonly Scenario[];
  /** Settings of the server processes beyond the bench's own. */
  env?: Record<string, string>;
}

/**
 * The bot gate's figures are the server's: its clients solve at a difficulty that costs the load
 * generator (one core for every client) a fraction of a millisecond each, so the burst measures
 * issuing, checking and the gated join, not the clients' hashing. A client's solve time at the
 * default difficulty is measured beside it (bench/bot-gate.ts).
 */
export const BOT_GATE_BENCH_DIFFICULTY = 8;

export const TARGETS: readonly Target[] = [
  {
    id: 'pairwire',
    label: 'pairwire (memory)',
    protocol: 'socketio',
    entry: PAIRWIRE_ENTRY,
    instances: 1,
    redis: false,
    scenarios: BURST_AND_RELAY,
  },
  {
    id: 'pairwire-botgate',
    label: 'pairwire (memory), bot gate on',
    protocol: 'socketio',
    entry: PAIRWIRE_ENTRY,
    instances: 1,
    redis: false,
    scenarios: ['burst'],
    env: { BOT_GATE: 'pow', POW_DIFFICULTY: String(BOT_GATE_BENCH_DIFFICULTY) },
  },
  {
    id: 'naive-socketio',
    label: 'naive socket.io',
    protocol: 'socketio',
    entry: built('./baseline/naive-socketio.js'),
    instances: 1,
    redis: false,
    scenarios: BURST_AND_RELAY,
  },
  {
    id: 'ws-floor',
    label: 'ws floor',
    protocol: 'ws',
    entry: built('./baseline/ws-floor.js'),
    instances: 1,
    redis: false,
    scenarios: BURST_AND_RELAY,
  },
  {
    id: 'pairwire-redis',
    label: 'pairwire (Redis)',
    protocol: 'socketio',
    entry: PAIRWIRE_ENTRY,
    instances: 1,
    redis: true,
    scenarios: [...BURST_AND_RELAY, 'scale-out'],
  },
  {
    id: 'pairwire-redis-2x',
    label: 'pairwire ×2 on one Redis',
    protocol: 'socketio',
    entry: PAIRWIRE_ENTRY,
    instances: 2,
    redis: true,
    scenarios: [...BURST_AND_RELAY, 'scale-out'],
  },
  {
    // Four instances and redis-server on one core carry only a low rate: this set-up runs the
    // scale-out cost model alone (its bursts and relay phases would measure the core's overload).
    id: 'pairwire-redis-4x',
    label: 'pairwire ×4 on one Redis',
    protocol: 'socketio',
    entry: PAIRWIRE_ENTRY,
    instances: 4,
    redis: true,
    scenarios: ['scale-out'],
  },
];

/**
 * Another build of pairwire (a copy of src/ with a proposal from bench/proposals/ applied),
 * measured beside the current one in the same run, with the memory store and with Redis.
 */
export function candidateTargets(entry: string): Target[] {
  const scenarios = BURST_AND_RELAY;
  return [
    {
      id: 'candidate',
      label: 'candidate (memory)',
      protocol: 'socketio',
      entry,
      instances: 1,
      redis: false,
      scenarios,
    },
    {
      id: 'candidate-redis',
      label: 'candidate (Redis)',
      protocol: 'socketio',
      entry,
      instances: 1,
      redis: true,
      scenarios,
    },
  ];
}

/** The same targets with pairwire's own entry replaced (to compare two builds of a frozen snapshot). */
export function withPairwireEntry(targets: readonly Target[], entry: string): Target[] {
  return targets.map((target) => (target.entry === PAIRWIRE_ENTRY ? { ...target, entry } : target));
}

/** The Redis targets run only once the built server knows REDIS_URL (issue 3). */
export function redisSupported(): boolean {
  return existsSync(PAIRWIRE_CONFIG) && readFileSync(PAIRWIRE_CONFIG, 'utf8').includes('REDIS_URL');
}

export interface RunningTarget {
  urls: string[];
  /** The set-up's own redis-server, when it has one. */
  redisUrl: string | undefined;
  serverPids: number[];
  auxPids: number[];
  stop(): Promise<void>;
}

export interface StartOptions {
  pinning: Pinning;
  /** Extra node flags for the server processes (e.g. --cpu-prof while profiling). */
  nodeFlags?: string[];
}

/** Starts the target's server processes (and its Redis) pinned to the server core, each on a free port. */
export async function startTarget(target: Target, options: StartOptions): Promise<RunningTarget> {
  let redis: BenchRedis | undefined;
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => stopProcess(child)));
    await redis?.stop();
  };
  try {
    if (target.redis) redis = await startBenchRedis(options.pinning.serverCore);
    const ports: number[] = [];
    for (let i = 0; i < target.instances; i++) {
      const child = spawnPinned(
        options.pinning.serverCore,
        process.execPath,
        ['--expose-gc', '--import', GC_HOOK, ...(options.nodeFlags ?? []), target.entry],
        {
          PORT: '0',
          HOST: '127.0.0.1',
          NODE_ENV: 'production',
          LOG_LEVEL: 'info',
          // Every bench client comes from 127.0.0.1: that one address stands in for thousands of
          // users, so only the per-address connection limits are lifted. Per-client limits stay at
          // their defaults (the relay spreads its rate over enough couples to stay under them).
          ...PER_ADDRESS_LIMITS_LIFTED,
          ...(redis ? { REDIS_URL: redis.url } : {}),
          ...target.env,
        },
      );
      children.push(child);
      const match = await waitForOutput(child, /"port":(\d+)[^\n]*"msg":"(?:pairwire )?listening"/, 20_000);
      ports.push(Number(match[1]));
    }
    return {
      urls: ports.map((port) => `http://127.0.0.1:${port}`),
      redisUrl: redis?.url,
      serverPids: children.map((child) => child.pid ?? 0),
      auxPids: redis ? [redis.pid] : [],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
