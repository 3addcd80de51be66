/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, see `npm run bench -- --profile`): self time
 * by function and by area (our src/, each package, Node internals, GC), and inclusive time of the
 * functions named on the command line. Usage: node dist/bench/bench/profile/top.js FILE [function...]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, ...watched] = process.argv.slice(2);
if (!file) throw new Error('usage: top.js FILE.cpuprofile [functionName...]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

const selfMicros = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const busy = [...selfMicros].reduce(
  (sum, [id, us]) => (byId.get(id)?.callFrame.functionName === '(idle)' ? sum : sum + us),
  0,
);

/** Where a frame's code lives: a package, our source, Node's internals or the VM itself. */
function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] ?? url;
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/(src|bench)\/(.+)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

const frameKey = (node: ProfileNode) =>
  `${node.callFrame.functionName || '(anonymous)'}  ${areaOf(node.callFrame.url, node.callFrame.functionName)}:${node.callFrame.lineNumber + 1}`;

function tally(key: (node: ProfileNode) => string): [string, number][] {
  const totals = new Map<string, number>();
  for (const [id, us] of selfMicros) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    totals.set(key(node), (totals.get(key(node)) ?? 0) + us);
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

const line = ([name, us]: [string, number]) =>
  `${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`;

console.log(`busy (non-idle) time: ${(busy / 1000).toFixed(0)} ms\n\nself time by area:`);
for (const entry of tally((n) => areaOf(n.callFrame.url, n.callFrame.functionName)).slice(0, 25))
  console.log(line(entry));
console.log('\nself time by function:');
for (const entry of tally(frameKey).slice(0, 40)) console.log(line(entry));

if (watched.length > 0) {
  // Inclusive time: a sample counts once for a function if the function is anywhere on its stack.
  const inclusive = new Map<string, number>(watched.map((name) => [name, 0]));
  for (const [id, us] of selfMicros) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const name = byId.get(at)?.callFrame.functionName ?? '';
      if (inclusive.has(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
    }
  }
  console.log('\ninclusive time:');
  for (const entry of [...inclusive].sort((a, b) => b[1] - a[1])) console.log(line(entry));
}
