import type { MatchmakingResult, MatchmakingRun } from './scenario.js';

const TARGET_CPU_RATIO = 1.3;
const TARGET_P99_RATIO = 2;

const fixed = (value: number, digits = 1) => value.toFixed(digits);
const thousands = (value: number) => Math.round(value).toLocaleString('en-US');

const refusals = (run: MatchmakingRun, result: MatchmakingResult) => {
  const codes = Object.entries(run.refused ?? {});
  return codes.length
    ? `; refused${(result.rounds ?? 1) > 1 ? ' in the worst round' : ''}: ${codes.map(([code, n]) => `${n} ${code}`).join(', ')}`
    : '';
};

/** The matchmaking section of docs/benchmarks.md: both modes per store, and issue 15's targets. */
export function renderMatchmaking(result: MatchmakingResult): string {
  const { size, runs } = result;
  const rows = runs.map(
    (run) =>
      `| ${run.store} | ${run.mode === 'fifo' ? 'FIFO (no interests)' : 'interests (Zipf)'} | ${thousands(run.paired)} of ${thousands(run.joiners)} (${thousands(run.pairedAtOnce)} at once${refusals(run, result)}) | ${fixed(run.latencyMs.p50)} | ${fixed(run.latencyMs.p99)} | ${thousands(run.serverCpuUsPerPair)} | ${thousands(run.redisCpuUsPerPair)} | ${thousands(run.heapBytesPerWaiting)} | ${thousands(run.redisBytesPerWaiting)} | ${fixed(run.foreignCpuSeconds, 2)} |`,
  );
  const targets: string[] = [];
  for (const store of ['memory', 'redis'] as const) {
    const fifo = runs.find((run) => run.store === store && run.mode === 'fifo');
    const interests = runs.find((run) => run.store === store && run.mode === 'interests');
    if (!fifo || !interests) continue;
    const cpu = (run: MatchmakingRun) => run.serverCpuUsPerPair + run.redisCpuUsPerPair;
    const cpuRatio = cpu(fifo) > 0 ? cpu(interests) / cpu(fifo) : Number.NaN;
    const p99Ratio = fifo.latencyMs.p99 > 0 ? interests.latencyMs.p99 / fifo.latencyMs.p99 : Number.NaN;
    targets.push(
      `| ${store} | ${fixed(cpuRatio, 2)}× | ≤ ${TARGET_CPU_RATIO}× | ${cpuRatio <= TARGET_CPU_RATIO ? 'met' : 'missed'} | ${fixed(p99Ratio, 2)}× | ≤ ${TARGET_P99_RATIO}× | ${p99Ratio <= TARGET_P99_RATIO ? 'met' : 'missed'} |`,
    );
  }
  const rounds =
    (result.rounds ?? 1) > 1
      ? [`Each figure is the median of ${result.rounds} rounds, FIFO and interests in alternating order.`, '']
      : [];
  return [
    `${thousands(size.population)} clients wait, then ${thousands(size.joiners)} idle socket.io clients send \`join\` at once`,
    `(a burst): with no interests on either side (FIFO), and with 1–3 interests each drawn from a Zipf`,
    `distribution (exponent 1) over ${thousands(size.tags)} tags, \`fallbackMs: null\`. Each store and mode runs in a fresh`,
    'server process (and redis-server), pinned like the other scenarios; 200 joins of the same kind, one',
    "at a time, warm the server's JIT up before the burst (the population has 200 more for them). The waiting population is put",
    "into the server's own store in-process (`attach` and `enqueue`, as a connection's join does, through",
    'the same ENQUEUE script with Redis), not through connections: 10,000 socket.io connections do not fit',
    'this machine beside the other tenants. Each waiting client has a language of its own, so the waiting',
    'never pair among themselves while the joiners (no language) may meet any of them. CPU is the server',
    "process's and redis-server's during the burst, per pair made; latency is join sent → `paired` received",
    'for the joins that found a partner at once (an interest joiner whose tags nobody waits with is queued;',
    "a later joiner may pick it up). Memory: what the waiting population added to the server's heap after a",
    "full GC, and to Redis's `used_memory`, per waiting client.",
    '',
    ...rounds,
    '| store | mode | pairs made | join→paired p50 (ms) | p99 (ms) | server CPU/pair (µs) | redis-server CPU/pair (µs) | heap/waiting (B) | Redis/waiting (B) | other tenants on the core (s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    "Issue 15's targets, interests against FIFO in the same run (CPU: server + redis-server per pair):",
    '',
    '| store | CPU per pair | target | | p99 | target | |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...targets,
  ].join('\n');
}
