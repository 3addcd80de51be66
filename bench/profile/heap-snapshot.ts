/**
 * Reading V8 heap snapshots (`.heapsnapshot`, as `--heapsnapshot-signal` writes them): self sizes
 * summed by object kind and constructor, and the growth between two snapshots.
 */
import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Kinds whose own name says little (a backing store, a heap number, a context): keyed by what holds them, with `retainers`. */
const ANONYMOUS = new Set([
  'object Map',
  'object Set',
  'object Array',
  'object Object',
  'closure',
  'array',
  'hidden',
  'number',
  'object shape',
  'code',
  'string',
  'object system / Context',
]);

/** Bytes and object count of one kind of object. */
export interface Tally {
  bytes: number;
  count: number;
}

/**
 * Self sizes by kind: strings and code by their node type, objects, closures and natives by
 * constructor name. With `retainers`, backing stores, heap numbers, strings, code and contexts
 * are told apart by their first (non-weak) retainers, as `array ← object Array.elements ← object Object.outbox`.
 */
export function heapTotals(file: string, options: { retainers?: boolean } = {}): Map<string, Tally> {
  return totalsOf(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot, options.retainers === true);
}

function totalsOf(heap: HeapSnapshot, retainers: boolean): Map<string, Tally> {
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const kindOf = (i: number) => {
    const type = types[heap.nodes[i + typeAt] ?? 0] ?? '?';
    const name = ['object', 'closure', 'native'].includes(type)
      ? (heap.strings[heap.nodes[i + nameAt] ?? 0] ?? '?')
      : '';
    return `${type} ${name}`.trim();
  };
  const heldBy = retainers ? firstRetainers(heap) : undefined;
  /** `kind ← holder.edge`, climbing while the holder is anonymous too (at most three holders). */
  const describe = (node: number, kind: string) => {
    let label = kind;
    let at = node;
    for (let depth = 0; depth < 3; depth++) {
      const holder = heldBy?.get(at);
      if (!holder) return `${label} ← ?`;
      const holderKind = kindOf(holder.parent);
      label += ` ← ${holderKind}.${holder.edge}`;
      if (!ANONYMOUS.has(holderKind)) break;
      at = holder.parent;
    }
    return label;
  };
  const result = new Map<string, Tally>();
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const kind = kindOf(i);
    const key = heldBy && ANONYMOUS.has(kind) ? describe(i, kind) : kind;
    const entry = result.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += heap.nodes[i + sizeAt] ?? 0;
    entry.count++;
    result.set(key, entry);
  }
  return result;
}

/** What grew from `before` to `after`, by kind (negative where it shrank). */
export function heapGrowth(before: Map<string, Tally>, after: Map<string, Tally>): Map<string, Tally> {
  const growth = new Map<string, Tally>();
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const a = after.get(key) ?? { bytes: 0, count: 0 };
    const b = before.get(key) ?? { bytes: 0, count: 0 };
    growth.set(key, { bytes: a.bytes - b.bytes, count: a.count - b.count });
  }
  return growth;
}

/** The summed bytes of a tally map. */
export function totalBytes(tallies: Map<string, Tally>): number {
  let sum = 0;
  for (const { bytes } of tallies.values()) sum += bytes;
  return sum;
}

/** For each node (by its offset in `nodes`), its first non-weak retainer and the edge's name. */
function firstRetainers(heap: HeapSnapshot): Map<number, { parent: number; edge: string }> {
  const { node_fields: nodeFields, edge_fields: edgeFields, edge_types: edgeTypes } = heap.snapshot.meta;
  const edgeCountAt = nodeFields.indexOf('edge_count');
  const [edgeTypeAt, edgeNameAt, edgeToAt] = ['type', 'name_or_index', 'to_node'].map((f) => edgeFields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const named = new Set(['context', 'property', 'internal', 'shortcut']);
  const result = new Map<number, { parent: number; edge: string }>();
  let edge = 0;
  for (let i = 0; i < heap.nodes.length; i += nodeFields.length) {
    const count = heap.nodes[i + edgeCountAt] ?? 0;
    for (let e = 0; e < count; e++, edge += edgeFields.length) {
      const type = edgeTypes[0][heap.edges[edge + edgeTypeAt] ?? 0] ?? '?';
      const to = heap.edges[edge + edgeToAt] ?? 0;
      if (type === 'weak' || result.has(to)) continue;
      const name = heap.edges[edge + edgeNameAt] ?? 0;
      // Slots of a hash table are internal edges named by their index: one key for all of them.
      const edgeName = named.has(type) ? (heap.strings[name] ?? '?') : `[${type}]`;
      result.set(to, { parent: i, edge: /^\d+$/.test(edgeName) ? '[slot]' : edgeName });
    }
  }
  return result;
}
