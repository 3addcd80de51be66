import { coreBusySeconds, sampleProcesses } from '../lib/proc-stat.js';
import type { CpuWindow } from './job.js';

/** Starts measuring CPU of the server, its helpers and this generator; `stop()` returns the deltas. */
export function startCpuWindow(
  serverPids: readonly number[],
  auxPids: readonly number[],
  serverCore: number | undefined,
): { stop(): CpuWindow } {
  const coreBusy = serverCore === undefined ? 0 : coreBusySeconds(serverCore);
  const server = sampleProcesses(serverPids).cpuSeconds;
  const aux = sampleProcesses(auxPids).cpuSeconds;
  const generator = process.cpuUsage();
  const startedAt = performance.now();
  return {
    stop() {
      const usage = process.cpuUsage(generator);
      const serverCpuSeconds = sampleProcesses(serverPids).cpuSeconds - server;
      const auxCpuSeconds = sampleProcesses(auxPids).cpuSeconds - aux;
      const coreBusyDelta = serverCore === undefined ? 0 : coreBusySeconds(serverCore) - coreBusy;
      return {
        serverCpuSeconds,
        auxCpuSeconds,
        foreignCpuSeconds: Math.max(0, coreBusyDelta - serverCpuSeconds - auxCpuSeconds),
        generatorCpuSeconds: (usage.user + usage.system) / 1e6,
        wallSeconds: (performance.now() - startedAt) / 1000,
      };
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Forces a full GC in every server (see server-hooks/gc-on-signal.ts) and lets it settle. */
export async function collectGarbage(pids: readonly number[]): Promise<void> {
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
  await sleep(500);
}

/**
 * Waits, at most `maxMs`, until the servers use under 15 % of a core over a quarter second, so a
 * phase never starts while the previous one's backlog is still being worked off.
 */
export async function untilServerIdle(pids: readonly number[], maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const before = sampleProcesses(pids).cpuSeconds;
    await sleep(250);
    if (sampleProcesses(pids).cpuSeconds - before < 0.25 * 0.15) return;
  }
}
