/**
 * What idle connections cost with the Redis store, for docs/scaling.md's capacity model: N clients
 * connected and paired to one instance (pinned like `npm run bench`), then nothing but heartbeats
 * and lease renewals for a while. Prints the instance's and redis-server's CPU per connection per
 * second, Redis memory per session, and Redis calls per connection per second (with redis-server's
 * own time per call). Bounded (4 minutes); stops what it started.
 * Usage: node dist/bench/bench/profile/idle-cost.js [clients=4000] [seconds=30]
 * (seconds: a multiple of the heartbeat, RESUME_GRACE_MS / 3, 3.3 s by default).
 */
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { sampleProcesses } from '../lib/proc-stat.js';
import { connectPaired } from '../load/connect-paired.js';
import type { BenchConnection } from '../load/connection.js';
import { sleep } from '../load/cpu-window.js';
import { startTarget, TARGETS } from '../targets.js';

const clients = Number(process.argv[2] ?? 4000);
const seconds = Number(process.argv[3] ?? 30);
if (!(clients > 0 && clients % 2 === 0 && seconds > 0)) throw new Error('usage: idle-cost.js [even clients] [seconds]');

const watchdog = setTimeout(() => {
  console.error('idle-cost: over its 4-minute bound, giving up');
  process.exit(2);
}, 240_000);
const pinned = hasTaskset();
if (pinned) execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });

const target = TARGETS.find((t) => t.id === 'pairwire-redis');
if (!target) throw new Error('no pairwire-redis target');
const running = await startTarget(target, {
  pinning: pinned ? { serverCore: 0, loadCore: 1 } : { serverCore: undefined, loadCore: undefined },
});
const redis = new Redis(running.redisUrl ?? '');
redis.on('error', () => {});
const connections: BenchConnection[] = [];
try {
  await sleep(1000);
  const empty = await counters(redis);
  await connectPaired(running.urls[0] ?? '', clients, connections);
  await sleep(3000); // the clients acknowledge `waiting` and `paired` (500 ms), emptying the outboxes
  const before = await counters(redis);
  const cpuBefore = cpu(running.serverPids, running.auxPids);
  await sleep(seconds * 1000);
  const cpuAfter = cpu(running.serverPids, running.auxPids);
  const after = await counters(redis);
  const perConnectionSecond = (value: number) => value / clients / seconds;
  const calls: Record<string, { perConnectionPerSecond: number; usecPerCall: number }> = {};
  for (const [name, now] of Object.entries(after.calls)) {
    const then = before.calls[name] ?? { calls: 0, usec: 0 };
    if (name === 'info' || now.calls <= then.calls) continue;
    calls[name] = {
      perConnectionPerSecond: perConnectionSecond(now.calls - then.calls),
      usecPerCall: (now.usec - then.usec) / (now.calls - then.calls),
    };
  }
  console.log(
    JSON.stringify(
      {
        clients,
        seconds,
        instanceCpuUsPerConnectionPerSecond: perConnectionSecond((cpuAfter.server - cpuBefore.server) * 1e6),
        redisCpuUsPerConnectionPerSecond: perConnectionSecond((cpuAfter.redis - cpuBefore.redis) * 1e6),
        redisBytesPerSession: (before.usedMemory - empty.usedMemory) / clients,
        calls,
      },
      null,
      2,
    ),
  );
} finally {
  for (const connection of connections) connection.close();
  redis.disconnect();
  await running.stop();
  clearTimeout(watchdog);
}
process.exit(0);

/** CPU seconds so far of the instance(s) and of redis-server. */
function cpu(serverPids: number[], auxPids: number[]): { server: number; redis: number } {
  return { server: sampleProcesses(serverPids).cpuSeconds, redis: sampleProcesses(auxPids).cpuSeconds };
}

/** redis-server's calls (and time) per command, and its used memory: https://redis.io/commands/info/ */
async function counters(client: Redis) {
  const text = `${await client.info('commandstats')}\n${await client.info('memory')}`;
  const calls: Record<string, { calls: number; usec: number }> = {};
  let usedMemory = 0;
  for (const line of text.split(/\r?\n/)) {
    const stat = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (stat) calls[stat[1] as string] = { calls: Number(stat[2]), usec: Number(stat[3]) };
    if (line.startsWith('used_memory:')) usedMemory = Number(line.slice('used_memory:'.length));
  }
  return { calls, usedMemory };
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}
