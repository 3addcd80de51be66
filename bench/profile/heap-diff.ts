/**
 * Attributes memory growth between two V8 heap snapshots (`node --heapsnapshot-signal=...`):
 * self size summed by object kind and constructor, largest growth first.
 * Usage: node dist/bench/bench/profile/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [divisor]
 * (divisor: e.g. the number of connections added, to print bytes per connection).
 * bench/profile/idle-heap.ts takes the snapshots itself and compares two servers.
 */
import { heapGrowth, heapTotals, totalBytes } from './heap-snapshot.js';

const [beforeFile, afterFile, divisorArg] = process.argv.slice(2);
if (!beforeFile || !afterFile) throw new Error('usage: heap-diff.js BEFORE AFTER [divisor]');
const divisor = Number(divisorArg ?? 1);
const growth = heapGrowth(heapTotals(beforeFile), heapTotals(afterFile));
const total = totalBytes(growth);
console.log(`total growth: ${(total / divisor).toFixed(0)} bytes per unit (${(total / 1024 / 1024).toFixed(1)} MiB)`);
for (const [key, g] of [...growth].sort(([, x], [, y]) => y.bytes - x.bytes).slice(0, 40)) {
  console.log(
    `${(g.bytes / divisor).toFixed(0).padStart(8)} B  ${(g.count / divisor).toFixed(2).padStart(7)} objs  ${key}`,
  );
}
