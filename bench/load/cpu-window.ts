import { sampleProcesses } from '../lib/proc-stat.js';
import type { CpuWindow } from './job.js';

/** Starts measuring CPU of the server, its helpers and this generator; `stop()` returns the deltas. */
export function startCpuWindow(serverPids: readonly number[], auxPids: readonly number[]): { stop(): CpuWindow } {
  const server = sampleProcesses(serverPids).cpuSeconds;
  const aux = sampleProcesses(auxPids).cpuSeconds;
  const generator = process.cpuUsage();
  const startedAt = performance.now();
  return {
    stop() {
      const usage = process.cpuUsage(generator);
      return {
        serverCpuSeconds: sampleProcesses(serverPids).cpuSeconds - server,
        auxCpuSeconds: sampleProcesses(auxPids).cpuSeconds - aux,
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
