/**
 * JS heap per idle paired connection, pairwire against naive socket.io, from V8 heap snapshots of
 * the real servers (the bench's own targets and settings, bench/targets.ts, memory store). For
 * each server: warm-up clients first, paired (JIT warm, first-use costs paid; they stay
 * connected), a snapshot, then N more paired clients with the bench's client
 * (bench/load/connection.ts, which acknowledges pairwire's events as its SDK does), 3 s for the
 * acknowledgements, a second snapshot. V8 collects garbage before each snapshot. Prints heap per
 * connection and its ratio to naive socket.io, with and without compiled code (what the JIT
 * compiles meanwhile is not held per connection, and varies from run to run), and the growth per
 * connection by kind of object, side by side. Heap figures hardly move with other processes' CPU
 * load, unlike CPU figures.
 *
 * Usage: node dist/bench/bench/profile/idle-heap.js [--clients=2000] [--warmup=600]
 *   [--targets=pairwire,naive-socketio] [--candidate=path/to/dist/src/server.js] [--top=30]
 *   [--retainers] [--keep=DIR] [--from=DIR]
 * --candidate adds another build of pairwire (e.g. a copy of main) to compare in the same run;
 * --retainers tells backing stores, heap numbers, strings, code and contexts apart by what holds
 * them; --keep leaves the snapshots in DIR (for Chrome DevTools' comparison view); --from=DIR
 * reads the snapshots a --keep run left there instead of running the servers. No RSS: after a few
 * thousand connections it moves in steps (V8's pages, malloc's arenas) as large as the differences
 * looked for, and taking a snapshot leaves the process with memory of its own; the bench's
 * 10,000-client burst measures RSS.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { choosePinning } from '../lib/pinned-process.js';
import { connectPaired } from '../load/connect-paired.js';
import type { BenchConnection } from '../load/connection.js';
import { collectGarbage, sleep } from '../load/cpu-window.js';
import { candidateTargets, type RunningTarget, startTarget, TARGETS, type Target } from '../targets.js';
import { heapGrowth, heapTotals, type Tally, totalBytes } from './heap-snapshot.js';

/** pairwire's clients acknowledge `waiting` and `paired` within ~500 ms; the outboxes are empty after. */
const SETTLE_MS = 3000;
/** Not SIGUSR2 (the bench's GC hook) nor SIGUSR1 (the inspector): nothing in the servers handles SIGHUP. */
const SNAPSHOT_SIGNAL = 'SIGHUP';

const option = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const clients = Number(option('clients') ?? 2000);
const warmupClients = Number(option('warmup') ?? 600);
const top = Number(option('top') ?? 30);
const keep = option('keep');
const from = option('from');
const candidate = option('candidate');
const retainers = process.argv.includes('--retainers');
if (!(clients > 0 && clients % 2 === 0 && warmupClients % 2 === 0)) {
  throw new Error('--clients and --warmup must be even (and --clients positive)');
}
const targets: Target[] = (option('targets') ?? 'pairwire,naive-socketio').split(',').map((id) => {
  const target = TARGETS.find((t) => t.id === id && !t.redis && t.instances === 1);
  if (!target) throw new Error(`no single-instance memory-store target "${id}"`);
  return target;
});
if (candidate) targets.push(candidateTargets(candidate)[0] as Target);

const watchdog = setTimeout(
  () => {
    console.error('idle-heap: over its bound, giving up');
    process.exit(2);
  },
  targets.length * 5 * 60_000,
);

interface Measured {
  target: Target;
  heapBytesPerConnection: number;
  /** Of which compiled code. */
  codeBytesPerConnection: number;
  growth: Map<string, Tally>;
}

const pinning = choosePinning();
const results: Measured[] = [];
for (const target of targets) {
  const growth = from ? reread(target, from) : await measureHeap(target);
  const heap = totalBytes(growth);
  const code = [...growth].reduce(
    (sum, [key, t]) => (key === 'code' || key.startsWith('code ') ? sum + t.bytes : sum),
    0,
  );
  results.push({
    target,
    heapBytesPerConnection: heap / clients,
    codeBytesPerConnection: code / clients,
    growth,
  });
}
clearTimeout(watchdog);

const naive = results.find((r) => r.target.id === 'naive-socketio');
const kb = (bytes: number) => (bytes / 1000).toFixed(2).padStart(6);
console.log(`\nidle paired connections: ${clients} (after ${warmupClients} warm-up clients), memory store`);
for (const r of results) {
  const noCode = r.heapBytesPerConnection - r.codeBytesPerConnection;
  const ratio = (mine: number, theirs: number | undefined) =>
    theirs === undefined ? '' : ` (${(mine / theirs).toFixed(2)}× naive)`;
  const naiveNoCode = naive ? naive.heapBytesPerConnection - naive.codeBytesPerConnection : undefined;
  console.log(
    `${r.target.label.padEnd(22)} heap ${kb(r.heapBytesPerConnection)} KB/conn${ratio(r.heapBytesPerConnection, naive?.heapBytesPerConnection)}` +
      `   without compiled code ${kb(noCode)} KB/conn${ratio(noCode, naiveNoCode)}`,
  );
}

// Growth per connection by kind, every server side by side, largest difference from naive socket.io first.
const reference = naive ?? results[results.length - 1];
const first = results[0];
if (first && reference) {
  const keys = new Set(results.flatMap((r) => [...r.growth.keys()]));
  const perConnection = (r: Measured, key: string) => (r.growth.get(key)?.bytes ?? 0) / clients;
  const rows = [...keys].map((key) => ({ key, excess: perConnection(first, key) - perConnection(reference, key) }));
  rows.sort((a, b) => Math.abs(b.excess) - Math.abs(a.excess));
  console.log(`\nbytes per connection by kind (largest difference ${first.target.id} − ${reference.target.id} first):`);
  console.log(`${results.map((r) => r.target.id.slice(0, 14).padStart(15)).join('')}   difference  kind`);
  for (const { key, excess } of rows.slice(0, top)) {
    const columns = results.map((r) => {
      const bytes = perConnection(r, key).toFixed(0);
      const count = ((r.growth.get(key)?.count ?? 0) / clients).toFixed(2);
      return `${bytes} (${count})`.padStart(15);
    });
    console.log(`${columns.join('')}   ${excess.toFixed(0).padStart(10)}  ${key}`);
  }
  console.log('(bytes (objects) per connection)');
}
process.exit(0);

/** A kept run's snapshots, read again. */
function reread(target: Target, dir: string): Map<string, Tally> {
  const file = (when: string) => join(dir, `${target.id}-${when}.heapsnapshot`);
  return heapGrowth(heapTotals(file('before'), { retainers }), heapTotals(file('after'), { retainers }));
}

/** The heap's growth from N more idle paired clients, by kind. */
async function measureHeap(target: Target): Promise<Map<string, Tally>> {
  const dir = mkdtempSync(join(tmpdir(), 'idle-heap-'));
  try {
    return await withServer(
      target,
      [`--heapsnapshot-signal=${SNAPSHOT_SIGNAL}`, `--diagnostic-dir=${dir}`],
      async (pid, more) => {
        const beforeFile = await snapshot(pid, dir);
        await more();
        const afterFile = await snapshot(pid, dir);
        const growth = heapGrowth(heapTotals(beforeFile, { retainers }), heapTotals(afterFile, { retainers }));
        if (keep) {
          mkdirSync(keep, { recursive: true });
          renameSync(beforeFile, join(keep, `${target.id}-before.heapsnapshot`));
          renameSync(afterFile, join(keep, `${target.id}-after.heapsnapshot`));
        }
        console.log(`${target.id}: ${(totalBytes(growth) / clients / 1000).toFixed(2)} KB of heap per connection`);
        return growth;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts `target`, pairs the warm-up clients, then runs `measure` with the server's pid and a
 * function that pairs N more clients and lets them settle (each side of it after a full GC).
 */
async function withServer<T>(
  target: Target,
  nodeFlags: string[],
  measure: (pid: number, more: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const running: RunningTarget = await startTarget(target, { pinning, nodeFlags });
  const pid = running.serverPids[0] as number;
  const url = running.urls[0] as string;
  const connections: BenchConnection[] = [];
  try {
    await connectPaired(url, warmupClients, connections);
    await sleep(SETTLE_MS);
    await collectGarbage([pid]);
    return await measure(pid, async () => {
      await connectPaired(url, clients, connections);
      await sleep(SETTLE_MS);
      await collectGarbage([pid]);
    });
  } finally {
    for (const connection of connections) connection.close();
    await running.stop();
  }
}

/** Asks the server for a heap snapshot and resolves with its file once it is completely written. */
async function snapshot(pid: number, dir: string): Promise<string> {
  const existing = new Set(readdirSync(dir));
  process.kill(pid, SNAPSHOT_SIGNAL);
  const deadline = performance.now() + 120_000;
  let lastSize = -1;
  while (performance.now() < deadline) {
    await sleep(500);
    const name = readdirSync(dir).find((file) => file.endsWith('.heapsnapshot') && !existing.has(file));
    if (!name) continue;
    const file = join(dir, name);
    const size = statSync(file).size;
    // The server writes it from its main thread in one go: a size that stopped growing is the end,
    // and a file that does not parse yet is read again.
    if (size > 0 && size === lastSize) {
      try {
        heapTotals(file);
        return file;
      } catch {}
    }
    lastSize = size;
  }
  throw new Error(`no complete heap snapshot from ${pid} within 120 s`);
}
