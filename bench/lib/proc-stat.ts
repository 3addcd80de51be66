import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second (`getconf CLK_TCK`): 100 on every Linux we run on. */
const CLOCK_TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

export interface ProcessSample {
  /** User + system CPU time the process has used since it started, in seconds. */
  cpuSeconds: number;
  /** Resident set size, in bytes. */
  rssBytes: number;
}

/**
 * Reads CPU time and RSS of another process from /proc/PID/stat, so the server is measured from
 * outside without any instrumentation in it. Fields 14/15 are utime/stime in ticks, 24 is RSS in pages.
 */
export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; everything after its closing paren is fixed-format.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return {
    cpuSeconds: (field(14) + field(15)) / CLOCK_TICKS_PER_SECOND,
    rssBytes: field(24) * PAGE_BYTES,
  };
}

/** Summed over several processes (two server instances, say). */
export function sampleProcesses(pids: readonly number[]): ProcessSample {
  return pids
    .map(sampleProcess)
    .reduce((a, b) => ({ cpuSeconds: a.cpuSeconds + b.cpuSeconds, rssBytes: a.rssBytes + b.rssBytes }), {
      cpuSeconds: 0,
      rssBytes: 0,
    });
}

/**
 * Busy CPU seconds of one core since boot, from /proc/stat (user, nice, system, irq, softirq,
 * steal): minus what our own processes used on it, this is the load other tenants put on it.
 */
export function coreBusySeconds(core: number): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${core} `));
  if (!line) return 0;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLOCK_TICKS_PER_SECOND
  );
}
