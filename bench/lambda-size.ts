/**
 * `npm run bench:lambda`: what a Lambda cold start pays for pairwire's code, before and after
 * bundling. For each handler: the artifact AWS gets (zipped and unzipped size, files) and the time
 * to import the handler module in a fresh Node process (what runs before the first event: every
 * module read and compiled, the app built), wall and CPU time, the median of several runs, before
 * and after taking turns so that a busy machine slows both alike.
 *
 * Before: a revision that packaged the unbundled tree (default BEFORE_REVISION, the last one;
 * `--before=<git rev>` for another), checked out in a temporary folder with a copy of this
 * node_modules (hard links when it can), built with its tsc, packaged by its own serverless.yml:
 * one zip for every function (package.json, dist/src, dist/handlers, production node_modules). Its
 * handlers are imported from its dist/handlers, resolving node_modules.
 * After: this tree's `serverless package` (`npm run build` first), each zip extracted to an empty
 * folder and its bundle imported there.
 *
 * Both import with NODE_OPTIONS=--enable-source-maps, as serverless.yml runs them on Lambda, and a
 * REDIS_URL where nothing listens (the client connects after the import, which does not wait).
 * Prints a Markdown report; writes bench/results/lambda-size.json. Options: --runs=N (default 7).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractZip, packageFunctions, ROOT, readZip, serverlessPackage } from '../src/cli/lambda-artifacts.js';

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value = ''] = arg.replace(/^--/, '').split('=');
    return [key, value] as const;
  }),
);
const RUNS = Number(args.get('runs') ?? 7);
/** The last revision whose serverless.yml packaged the tsc build with its node_modules. */
const BEFORE_REVISION = '8515ebbff7893ea580f0204384906ff9dffac19e';
const BEFORE_REV = args.get('before') || BEFORE_REVISION;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs: a whole number of runs, 1 or more');

/** Each bundle, the functions that package it, and the module each side imports. */
const HANDLERS = [
  { bundle: 'websocket', functions: ['connect', 'disconnect', 'message', 'sweep'] },
  { bundle: 'http', functions: ['http'] },
] as const;

/**
 * Run in each fresh process: the import alone, timed from inside, in wall time and in the CPU time
 * the process spent meanwhile (every thread: the compiler's and the garbage collector's too). On a
 * shared machine the wall time also counts the time spent waiting for a core; the CPU time does not.
 */
const IMPORT_SCRIPT = `
  import { pathToFileURL } from 'node:url';
  const url = pathToFileURL(process.argv[1]).href;
  const start = performance.now();
  const cpu = process.cpuUsage();
  await import(url);
  const used = process.cpuUsage(cpu);
  console.log(performance.now() - start, (used.user + used.system) / 1000);
  process.exit(0);
`;

interface Artifact {
  zipped: number;
  unzipped: number;
  files: number;
}

interface Imports {
  wall: ImportTimes;
  cpu: ImportTimes;
}

interface ImportTimes {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

const work = mkdtempSync(join(tmpdir(), 'pairwire-lambda-bench-'));
try {
  const beforeRoot = checkout(BEFORE_REV);
  const before = await artifact(await beforeZip(beforeRoot));
  const zips = await packageFunctions(join(work, 'artifacts'));

  const rows = [];
  for (const { bundle, functions } of HANDLERS) {
    const zip = zips[functions[0]];
    const after = await artifact(zip);
    const task = join(work, `task-${bundle}`);
    await extractZip(zip, task);
    const [beforeTimes, afterTimes] = await timeImports(
      join(beforeRoot, 'dist', 'handlers', `${bundle}.js`),
      join(task, 'dist', 'lambda', bundle, `${bundle}.mjs`),
    );
    rows.push({ bundle, functions, before, after, beforeTimes, afterTimes });
  }

  const report = render(rows);
  console.log(report);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'lambda-size.json'),
    JSON.stringify({ node: process.version, runs: RUNS, before: BEFORE_REV, rows }, null, 2),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** A revision's files, with a copy of this node_modules, built with its own tsc. */
function checkout(rev: string): string {
  const dir = join(work, 'before');
  mkdirSync(dir);
  const archive = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', rev], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  // A real folder, not a link: Serverless finds the development dependencies to leave out by
  // asking npm, which does not follow a linked node_modules. Hard links cost no space or time.
  // The folder itself where this node_modules is a link to another's (a git worktree's).
  const modules = realpathSync(join(ROOT, 'node_modules'));
  try {
    execFileSync('cp', ['-al', modules, join(dir, 'node_modules')], { stdio: 'ignore' });
  } catch {
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
    execFileSync('cp', ['-a', modules, join(dir, 'node_modules')]);
  }
  execFileSync(join(dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  return dir;
}

/** The revision's one artifact, as its serverless.yml packages it. */
async function beforeZip(root: string): Promise<string> {
  const out = join(work, 'before-artifacts');
  await serverlessPackage(root, out);
  return join(out, 'pairwire.zip');
}

async function artifact(zip: string): Promise<Artifact> {
  const entries = await readZip(zip);
  return {
    zipped: statSync(zip).size,
    unzipped: entries.reduce((sum, entry) => sum + entry.size, 0),
    files: entries.filter((entry) => !entry.name.endsWith('/')).length,
  };
}

/** Import times of two modules, RUNS fresh processes each, taking turns. */
async function timeImports(first: string, second: string): Promise<[Imports, Imports]> {
  const wall: [number[], number[]] = [[], []];
  const cpu: [number[], number[]] = [[], []];
  for (let run = 0; run < RUNS; run++) {
    for (const [i, file] of [first, second].entries()) {
      const [ms, cpuMs] = await timeImport(file);
      wall[i]?.push(ms);
      cpu[i]?.push(cpuMs);
    }
  }
  return [
    { wall: summary(wall[0]), cpu: summary(cpu[0]) },
    { wall: summary(wall[1]), cpu: summary(cpu[1]) },
  ];
}

function timeImport(file: string): Promise<[number, number]> {
  const { NODE_PATH, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', IMPORT_SCRIPT, file],
      {
        env: {
          ...inherited,
          NODE_OPTIONS: '--enable-source-maps',
          REDIS_URL: 'redis://127.0.0.1:1',
          LOG_LEVEL: 'silent',
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const [ms, cpuMs] = (stdout.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
        if (error || !Number.isFinite(ms) || !Number.isFinite(cpuMs)) {
          reject(new Error(`importing ${file} failed: ${error?.message}\n${stderr}`));
        } else resolve([ms as number, cpuMs as number]);
      },
    );
  });
}

function summary(runs: number[]): ImportTimes {
  const sorted = [...runs].sort((a, b) => a - b);
  const at = (index: number) => sorted[index] ?? 0;
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
  return { median, min: at(0), max: at(sorted.length - 1), runs };
}

function render(
  rows: {
    bundle: string;
    functions: readonly string[];
    before: Artifact;
    after: Artifact;
    beforeTimes: Imports;
    afterTimes: Imports;
  }[],
): string {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
  const ms = (t: ImportTimes) => `${t.median.toFixed(0)} ms (${t.min.toFixed(0)}–${t.max.toFixed(0)})`;
  const ratio = (after: ImportTimes, before: ImportTimes) => (after.median / before.median).toFixed(2);
  const lines = [
    `Node ${process.version}, ${RUNS} runs each, median (min–max); before: revision ${BEFORE_REV.slice(0, 7)}, after: this tree; load average at the end ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' / ')}.`,
    '',
    '| Handler | Functions | Zipped before → after | Unzipped before → after | Files before → after | Import, wall, before → after | After / before | Import, CPU, before → after | After / before |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const [before, after] = [row.beforeTimes, row.afterTimes];
    lines.push(
      `| \`${row.bundle}\` | ${row.functions.join(', ')} | ${mb(row.before.zipped)} → ${mb(row.after.zipped)} | ${mb(row.before.unzipped)} → ${mb(row.after.unzipped)} | ${row.before.files} → ${row.after.files} | ${ms(before.wall)} → ${ms(after.wall)} | ${ratio(after.wall, before.wall)} | ${ms(before.cpu)} → ${ms(after.cpu)} | ${ratio(after.cpu, before.cpu)} |`,
    );
  }
  return lines.join('\n');
}
