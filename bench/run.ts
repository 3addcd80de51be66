/**
 * `npm run bench`: every scenario against every server set-up, one fresh server per scenario,
 * the server side pinned to one core and the load generator to another. Writes the raw results to
 * bench/results/ and regenerates docs/benchmarks.md (a --quick run writes bench/results/quick.md
 * instead, so development runs never overwrite the published figures).
 *
 * Flags: --quick (small sizes), --medium (for comparing builds), --sustained (30 s at 1,000 handshakes/s), --only=<target,...>, --render-only=<results.json> (doc only),
 * --profile (relay only, servers run with --cpu-prof; pairwire unless --only; see bench/profile/top.ts; --profile=burst profiles the bursts instead),
 * --entry=<server.js> (also measure another pairwire build as `candidate`; see bench/proposals/),
 * --base=<server.js> (pairwire's own targets run this build instead of dist/src/server.js),
 * --rounds=<n> (every target n times, in alternating order; each figure is the median over rounds).
 * Each target runs the scenarios it lists (targets.ts): bursts, relay, and for the Redis set-ups
 * the scale-out cost model (one fixed rate on 1, 2 and 4 instances; not in --profile or --sustained).
 * Then, once, the matchmaking scenario (bench/matchmaking/: interests against FIFO on both stores;
 * not in --profile or --sustained; --only=matchmaking runs it alone).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureBotGate } from './bot-gate.js';
import { choosePinning, spawnPinned } from './lib/pinned-process.js';
import { mergeRounds, roundOrder } from './lib/rounds.js';
import type { BurstResult, LoadJob, LoadResult, RelayResult, ScaleOutResult } from './load/job.js';
import type { MatchmakingResult } from './matchmaking/scenario.js';
import { type BenchReport, renderMarkdown, type TargetRun } from './report/render.js';
import { FULL, MEDIUM, QUICK, SUSTAINED } from './sizes.js';
import { candidateTargets, redisSupported, startTarget, TARGETS, type Target, withPairwireEntry } from './targets.js';

const repo = (relative: string) => fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
const LOAD_ENTRY = fileURLToPath(new URL('./load/main.js', import.meta.url));
const MATCHMAKING_ENTRY = fileURLToPath(new URL('./matchmaking.js', import.meta.url));

const args = process.argv.slice(2);
/** `--name` gives true, `--name=value` gives the value, absent gives undefined. */
const option = (name: string): string | true | undefined => {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (hit === undefined) return undefined;
  const eq = hit.indexOf('=');
  return eq === -1 ? true : hit.slice(eq + 1);
};

const renderOnly = option('render-only');
if (typeof renderOnly === 'string') {
  const report = JSON.parse(readFileSync(renderOnly, 'utf8')) as BenchReport;
  writeDoc(repo('docs/benchmarks.md'), renderMarkdown(report, readFileSync(repo('bench/report/findings.md'), 'utf8')));
  process.exit(0);
}

const quick = option('quick') === true;
const medium = option('medium') === true;
const sustained = option('sustained') === true;
const profileOption = option('profile');
const profile = profileOption === true || profileOption === 'burst';
const profileBursts = profileOption === 'burst';
const onlyOption = option('only');
const only = typeof onlyOption === 'string' ? onlyOption.split(',') : undefined;
const entryOption = option('entry');
const baseOption = option('base');
const candidates = typeof entryOption === 'string' ? candidateTargets(entryOption) : [];
const targets = [...(typeof baseOption === 'string' ? withPairwireEntry(TARGETS, baseOption) : TARGETS), ...candidates];
const roundsOption = option('rounds');
const rounds = typeof roundsOption === 'string' ? Math.max(1, Number.parseInt(roundsOption, 10) || 1) : 1;
const sizes = quick ? QUICK : medium ? MEDIUM : sustained ? SUSTAINED : FULL;
/** A relay profile skips the bursts; a burst profile skips the relay. */
const burstSizes = profile && !profileBursts ? [] : sizes.bursts;
const pinning = choosePinning();
const resultsDir = repo('bench/results');
mkdirSync(resultsDir, { recursive: true });

const report: BenchReport = {
  command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
  mode: quick ? 'quick' : medium ? 'medium' : sustained ? 'sustained' : 'full',
  machine: {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    pinning,
    revision: sourceRevision(),
  },
  rounds,
  runs: [],
};

// In this process, before any server starts: the gate's own CPU and a client's solve.
if (!profile && (!only || only.includes('pairwire-botgate'))) {
  console.error('[bench] bot gate: CPU per challenge and proof, a client solve');
  report.botGate = await measureBotGate();
}

const hasRedis = redisSupported();
const chosen = targets.filter(
  (target) =>
    (!only || only.includes(target.id)) && !(profile && !only && target.id !== 'pairwire' && target.id !== 'candidate'),
);
/** Each target's results, one entry per round that produced them. */
const samples = new Map<string, { bursts: BurstResult[][]; relays: RelayResult[]; scaleOuts: ScaleOutResult[] }>();
for (const target of chosen) {
  const run: TargetRun = { target: target.id, label: target.label, bursts: [], errors: [] };
  report.runs.push(run);
  if (target.redis && !hasRedis) run.skipped = 'the built server does not support REDIS_URL yet (issue 3)';
  samples.set(target.id, { bursts: burstSizes.map(() => []), relays: [], scaleOuts: [] });
}
for (let round = 0; round < rounds; round++) {
  for (const target of roundOrder(chosen, round)) {
    const run = report.runs.find((r) => r.target === target.id) as TargetRun;
    const sample = samples.get(target.id);
    if (run.skipped || !sample) continue;
    if (target.scenarios.includes('burst')) {
      for (const [i, burst] of burstSizes.entries()) {
        const what = `${roundLabel(round)}burst ${burst.clients}`;
        const result = await attempt(run, what, () => runJob(target, burst, burst.timeoutMs + 60_000));
        if (result?.kind === 'burst') sample.bursts[i]?.push(result);
      }
    }
    if (profileBursts) continue;
    if (target.scenarios.includes('relay')) {
      const { relay } = sizes;
      const budget = (relay.rates.length + 2) * (relay.phaseMs + relay.drainMs + 30_000) + 90_000;
      const result = await attempt(run, `${roundLabel(round)}relay`, () => runJob(target, relay, budget));
      if (result?.kind === 'relay') sample.relays.push(result);
    }
    const { scaleOut } = sizes;
    if (target.scenarios.includes('scale-out') && scaleOut && !profile) {
      const what = `${roundLabel(round)}scale-out at ${scaleOut.rate} handshakes/s`;
      const budget = 2 * (scaleOut.phaseMs + scaleOut.drainMs + 30_000) + 90_000;
      const result = await attempt(run, what, () => runJob(target, scaleOut, budget));
      if (result?.kind === 'scale-out') sample.scaleOuts.push(result);
    }
  }
}
for (const run of report.runs) {
  const sample = samples.get(run.target);
  if (!sample) continue;
  run.bursts = sample.bursts.filter((results) => results.length > 0).map((results) => mergeRounds(results));
  if (sample.relays.length > 0) run.relay = mergeRounds(sample.relays);
  if (sample.scaleOuts.length > 0) run.scaleOut = mergeRounds(sample.scaleOuts);
}

// Matchmaking (issue 15): once per run, beside the targets, unless --only leaves it out.
if (!profile && !sustained && (!only || only.includes('matchmaking'))) {
  console.error('[bench] matchmaking');
  try {
    report.matchmaking = await runMatchmakingJob();
  } catch (error) {
    report.matchmakingError = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    console.error(`[bench] matchmaking failed: ${report.matchmakingError}`);
  }
}

const stamp = report.machine.date.replace(/[:.]/g, '-');
writeFileSync(`${resultsDir}/${report.mode}-${stamp}.json`, JSON.stringify(report, null, 2));
writeFileSync(`${resultsDir}/${report.mode}-latest.json`, JSON.stringify(report, null, 2));
const markdown = renderMarkdown(report, readFileSync(repo('bench/report/findings.md'), 'utf8'));
writeDoc(
  quick || medium || sustained || profile || only || candidates.length > 0
    ? `${resultsDir}/${report.mode}.md`
    : repo('docs/benchmarks.md'),
  markdown,
);
console.log(markdown);

/** Writes a generated markdown file in the repository's format (Biome formats Markdown tables too). */
function writeDoc(path: string, markdown: string): void {
  writeFileSync(path, markdown);
  try {
    execFileSync(repo('node_modules/.bin/biome'), ['format', '--write', path], { stdio: 'ignore' });
  } catch {
    // Unformatted is still correct; `npm run format` fixes it.
  }
}

function roundLabel(round: number): string {
  return rounds > 1 ? `round ${round + 1}/${rounds}: ` : '';
}

/** One scenario against a fresh server set-up; any failure is recorded, and the run goes on. */
async function attempt<T>(run: TargetRun, what: string, task: () => Promise<T>): Promise<T | undefined> {
  console.error(`[bench] ${run.label}: ${what}`);
  try {
    return await task();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    run.errors.push(`${what}: ${message.slice(0, 500)}`);
    console.error(`[bench] ${run.label}: ${what} failed: ${message}`);
    return undefined;
  }
}

async function runJob(target: Target, scenario: LoadJob['scenario'], timeoutMs: number): Promise<LoadResult> {
  const nodeFlags = profile ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}/profiles`] : [];
  const running = await startTarget(target, { pinning, nodeFlags });
  try {
    const job: LoadJob = {
      protocol: target.protocol,
      urls: running.urls,
      serverPids: running.serverPids,
      auxPids: running.auxPids,
      serverCore: pinning.serverCore,
      ...(running.redisUrl ? { redisUrl: running.redisUrl } : {}),
      scenario,
    };
    return await runLoadGenerator(job, timeoutMs);
  } finally {
    await running.stop();
  }
}

function runLoadGenerator(job: LoadJob, timeoutMs: number): Promise<LoadResult> {
  const child = spawnPinned(
    pinning.loadCore,
    process.execPath,
    ['--max-old-space-size=4096', LOAD_ENTRY, JSON.stringify(job)],
    {},
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as LoadResult);
      else reject(new Error(`load generator exited (${code ?? signal}): ${stderr.slice(-1500)}`));
    });
  });
}

/** bench/matchmaking.ts in a process of its own (it pins itself and its servers as this run does). */
function runMatchmakingJob(): Promise<MatchmakingResult> {
  const child = spawn(process.execPath, [MATCHMAKING_ENTRY, ...(quick ? ['--quick'] : []), `--rounds=${rounds}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as MatchmakingResult);
      else reject(new Error(`matchmaking exited (${code ?? signal})`));
    });
  });
}

/** The commit measured, marked when src/ has uncommitted changes (the built server is whatever is in the tree). */
function sourceRevision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} + uncommitted changes in src/` : head;
  } catch {
    return 'unknown';
  }
}
