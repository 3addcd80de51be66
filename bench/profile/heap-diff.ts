/**
 * Attributes memory growth between two V8 heap snapshots (`node --heapsnapshot-signal=...`):
 * self size summed by object kind and constructor, largest growth first.
 * Usage: node dist/bench/bench/profile/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [divisor]
 * (divisor: e.g. the number of connections added, to print bytes per connection).
 */
import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function totals(file: string): Map<string, { bytes: number; count: number }> {
  const heap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const result = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + typeAt] ?? 0] ?? '?';
    // Strings and code are grouped by kind; objects by constructor name.
    const name = ['object', 'closure', 'native'].includes(type)
      ? (heap.strings[heap.nodes[i + nameAt] ?? 0] ?? '?')
      : '';
    const key = `${type} ${name}`.trim();
    const entry = result.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += heap.nodes[i + sizeAt] ?? 0;
    entry.count++;
    result.set(key, entry);
  }
  return result;
}

const [beforeFile, afterFile, divisorArg] = process.argv.slice(2);
if (!beforeFile || !afterFile) throw new Error('usage: heap-diff.js BEFORE AFTER [divisor]');
const divisor = Number(divisorArg ?? 1);
const before = totals(beforeFile);
const after = totals(afterFile);
const growth = [...after].map(([key, a]) => {
  const b = before.get(key) ?? { bytes: 0, count: 0 };
  return { key, bytes: a.bytes - b.bytes, count: a.count - b.count };
});
const total = growth.reduce((sum, g) => sum + g.bytes, 0);
console.log(`total growth: ${(total / divisor).toFixed(0)} bytes per unit (${(total / 1024 / 1024).toFixed(1)} MiB)`);
for (const g of growth.sort((x, y) => y.bytes - x.bytes).slice(0, 40)) {
  console.log(
    `${(g.bytes / divisor).toFixed(0).padStart(8)} B  ${(g.count / divisor).toFixed(2).padStart(7)} objs  ${g.key}`,
  );
}
