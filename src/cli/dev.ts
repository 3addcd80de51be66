/**
 * `npm run dev`: two watchers side by side, stopped together.
 *
 * - The server, from the TypeScript source (`tsx watch src/server.ts`): restarted when a file it
 *   imports changes (src/, not src/demo/). Connected clients are dropped and reconnect.
 * - The browser bundles (public/build/: the demo page's script and the chat SDK), rebuilt by
 *   esbuild with exactly the options of `npm run build:web` when a file they import changes
 *   (src/demo/, src/client/, src/protocol/). An open page is not reloaded: refresh it.
 *
 * public/index.html and public/styles.css are served from disk: a refresh shows their changes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

export interface DevOptions {
  /** esbuild's command-line arguments; watching is added. */
  esbuildArgs: string[];
  /** The server's entry file, run by `tsx watch`. */
  serverEntry: string;
  cwd?: string;
  /** Where the children's output goes (the terminal, unless a test says otherwise). */
  stdio?: 'inherit' | 'ignore';
}

export interface DevWatchers {
  readonly children: readonly ChildProcess[];
  /** Resolves with the exit code of the first watcher to end; the other is stopped then. */
  readonly ended: Promise<number>;
  /** Stops both and resolves once both are gone. */
  stop(): Promise<void>;
}

/** What `npm run dev` watches: the bundles of `npm run build:web` and the server. */
export function projectDevOptions(): DevOptions {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [command, ...esbuildArgs] = (pkg.scripts['build:web'] ?? '').trim().split(/\s+/);
  if (command !== 'esbuild') throw new Error('the build:web script is expected to be one esbuild command');
  return { esbuildArgs, serverEntry: 'src/server.ts' };
}

export function startDevWatchers({ esbuildArgs, serverEntry, cwd = ROOT, stdio = 'inherit' }: DevOptions): DevWatchers {
  // esbuild watches until its stdin closes: if this process dies, however, so does esbuild.
  // `--log-level=info` after build:web's own level: each rebuild is announced.
  const esbuild = spawn(BIN('esbuild'), [...esbuildArgs, '--watch', '--log-level=info'], {
    cwd,
    stdio: ['pipe', stdio, stdio],
  });
  const server = spawn(BIN('tsx'), ['watch', '--clear-screen=false', serverEntry], {
    cwd,
    stdio: ['ignore', stdio, stdio],
  });
  const children = [esbuild, server];
  const exits = children.map((child) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve(child.exitCode ?? 1)
      : once(child, 'exit').then(([code]) => (code as number | null) ?? 1),
  );
  const stop = async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(exits);
  };
  const ended = Promise.race(exits).then(async (code) => {
    await stop();
    return code;
  });
  return { children, ended, stop };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const watchers = startDevWatchers(projectDevOptions());
  // Ctrl-C reaches the children too (one process group); SIGTERM may reach this process alone.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void watchers.stop());
  process.exitCode = await watchers.ended;
}
