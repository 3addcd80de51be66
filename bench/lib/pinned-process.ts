import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';

/** Which CPU each side runs on; undefined when the machine has one core and nothing is pinned. */
export interface Pinning {
  serverCore: number | undefined;
  loadCore: number | undefined;
}

/** Runs `command` on one core through taskset (which execs it, so the pid is the command's own). */
export function spawnPinned(
  core: number | undefined,
  command: string,
  args: string[],
  env: Record<string, string>,
): ChildProcess {
  const [file, fullArgs] = core === undefined ? [command, args] : ['taskset', ['-c', String(core), command, ...args]];
  return spawn(file, fullArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Collects a child's output and resolves with it when `pattern` appears; rejects on exit or timeout. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      // Keep draining so a chatty child never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      resolve(match);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before ${pattern}:\n${output.slice(-2000)}`));
    });
  });
}

/** Server side on core 0, load on core 1, when there are two cores and taskset; else unpinned. */
export function choosePinning(): Pinning {
  if (availableParallelism() < 2) return { serverCore: undefined, loadCore: undefined };
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return { serverCore: 0, loadCore: 1 };
  } catch {
    return { serverCore: undefined, loadCore: undefined };
  }
}
