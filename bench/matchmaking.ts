/**
 * The matchmaking scenario on its own (also part of `npm run bench`): prints the result as JSON
 * on its last line, after the markdown section, and keeps it in bench/results/. Pins itself to the
 * load core and the servers to the server core, like bench/run.ts.
 * Usage: node dist/bench/bench/matchmaking.js [--quick] [--population=N] [--joiners=N] [--stores=memory,redis] [--rounds=N]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { choosePinning } from './lib/pinned-process.js';
import { renderMatchmaking } from './matchmaking/render.js';
import { MATCHMAKING_FULL, MATCHMAKING_QUICK, runMatchmaking } from './matchmaking/scenario.js';

const quick = process.argv.includes('--quick');
const pinning = choosePinning();
if (pinning.loadCore !== undefined) {
  execFileSync('taskset', ['-pc', String(pinning.loadCore), String(process.pid)], { stdio: 'ignore' });
}
const number = (name: string) => {
  const hit = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : undefined;
};
const base = quick ? MATCHMAKING_QUICK : MATCHMAKING_FULL;
const size = {
  ...base,
  population: number('population') ?? base.population,
  joiners: number('joiners') ?? base.joiners,
};
const storeArg = process.argv.find((arg) => arg.startsWith('--stores='))?.slice('--stores='.length);
const stores = storeArg ? (storeArg.split(',') as ('memory' | 'redis')[]) : undefined;
const rounds = number('rounds') ?? 1;
const result = await runMatchmaking(size, pinning, stores, rounds);
const resultsDir = fileURLToPath(new URL('../../../bench/results', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
writeFileSync(`${resultsDir}/matchmaking-${quick ? 'quick' : 'full'}-latest.json`, JSON.stringify(result, null, 2));
console.log(renderMatchmaking(result));
console.log(JSON.stringify(result));
process.exit(0);
