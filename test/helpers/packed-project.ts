import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface PackedProject {
  /** The project's directory: `pairwire` is in its node_modules, installed from the packed tarball. */
  dir: string;
  remove(): Promise<void>;
}

interface LockEntry {
  dev?: boolean;
  [field: string]: unknown;
}

/**
 * Packs this repository (`npm pack`, as a publish would; dist/ must be built) and installs the
 * tarball into a fresh project, offline: npm is never asked for anything, so this works without
 * the registry. `npm install --offline <tarball>` alone cannot: it needs the registry's metadata
 * of every dependency to resolve their ranges, and `npm ci` (how this repository is installed)
 * caches the tarballs only. So the project gets a lockfile: the tarball, plus the non-dev entries
 * of this repository's own lockfile (the same dependency tree, production half), and `npm ci
 * --offline` takes every tarball from the cache that installing this repository filled.
 */
export async function packedProject(extraDependencies: string[] = []): Promise<PackedProject> {
  const dir = await mkdtemp(join(tmpdir(), 'pairwire-packed-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO });
  const [packed] = JSON.parse(stdout) as [{ filename: string; integrity: string }];
  const tarball = `file:${packed.filename}`;

  const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    bin: Record<string, string>;
    engines: Record<string, string>;
  };
  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const dependencies: Record<string, string> = { pairwire: tarball };
  for (const name of extraDependencies) {
    const range = manifest.dependencies[name];
    if (!range) throw new Error(`${name} is not a dependency of pairwire`);
    dependencies[name] = range;
  }
  const packages: Record<string, unknown> = {
    '': { name: 'host', version: '1.0.0', dependencies },
    'node_modules/pairwire': {
      version: manifest.version,
      resolved: tarball,
      integrity: packed.integrity,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path && !entry.dev) packages[path] = entry;

  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'host', version: '1.0.0', private: true, type: 'module', dependencies }),
  );
  await writeFile(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'host', version: '1.0.0', lockfileVersion: 3, requires: true, packages }),
  );
  await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `node <script>` in `dir`; resolves with its stdout, rejects with its output if it fails or overruns. */
export async function runIn(dir: string, script: string, timeoutMs: number): Promise<string> {
  const { stdout } = await run(process.execPath, [script], { cwd: dir, timeout: timeoutMs });
  return stdout;
}
