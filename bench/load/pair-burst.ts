import { sampleProcesses } from '../lib/proc-stat.js';
import { summarize } from '../lib/stats.js';
import { type BenchConnection, connect } from './connection.js';
import { collectGarbage, sleep, startCpuWindow } from './cpu-window.js';
import type { BurstJob, BurstResult, LoadJob } from './job.js';

/** Clients paired before the measurement, so the server's JIT is warm and first-use costs are paid. */
const WARMUP_CLIENTS = 40;

/**
 * N clients connect with bounded concurrency; each counts as joined when it starts connecting
 * (pairwire queues on connect) and done when it gets `paired`. The clients stay connected at the
 * end, so the server's RSS then is N idle paired connections.
 */
export async function runPairBurst(job: LoadJob, burst: BurstJob): Promise<BurstResult> {
  const warmup = await connectMany(job, WARMUP_CLIENTS, 20, burst.timeoutMs);
  for (const connection of warmup.connections) connection.close();
  await sleep(500);

  await collectGarbage(job.serverPids);
  const rssBeforeBytes = sampleProcesses(job.serverPids).rssBytes;
  const cpu = startCpuWindow(job.serverPids, job.auxPids, job.serverCore);
  const run = await connectMany(job, burst.clients, burst.concurrency, burst.timeoutMs);
  const cpuWindow = cpu.stop();

  await collectGarbage(job.serverPids);
  const rssAfterBytes = sampleProcesses(job.serverPids).rssBytes;
  const durationMs = run.lastPairedAt - run.startedAt;
  return {
    kind: 'burst',
    clients: burst.clients,
    paired: run.joinToPaired.length,
    failed: run.failed,
    durationMs,
    pairsPerSecond: run.joinToPaired.length / 2 / (durationMs / 1000),
    joinToPairedMs: summarize(run.joinToPaired),
    cpu: cpuWindow,
    rssBeforeBytes,
    rssAfterBytes,
  };
}

interface BurstRun {
  connections: BenchConnection[];
  joinToPaired: number[];
  failed: number;
  startedAt: number;
  lastPairedAt: number;
}

/** Opens `count` connections, at most `concurrency` unanswered at once; resolves when all are paired or failed, or at the timeout. */
async function connectMany(job: LoadJob, count: number, concurrency: number, timeoutMs: number): Promise<BurstRun> {
  const run: BurstRun = { connections: [], joinToPaired: [], failed: 0, startedAt: performance.now(), lastPairedAt: 0 };
  const deadline = run.startedAt + timeoutMs;
  let unanswered = 0;
  let settled = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  /** Resolves at the next answer, or after 100 ms so the deadline is checked even when nothing answers. */
  const waitForChange = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 100);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  for (let i = 0; i < count && performance.now() < deadline; i++) {
    while (unanswered >= concurrency && performance.now() < deadline) await waitForChange();
    unanswered++;
    const startedAt = performance.now();
    let answered = false;
    let done = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      unanswered--;
      notify();
    };
    /** A client settles once: paired, or failed; a late error on a paired client changes nothing. */
    const settle = () => {
      if (done) return false;
      done = true;
      settled++;
      notify();
      return true;
    };
    run.connections.push(
      connect(job.protocol, job.urls[i % job.urls.length] ?? '', {
        onEvent(event) {
          if (event === 'waiting') answer();
          if (event !== 'paired') return;
          answer();
          if (!settle()) return;
          run.lastPairedAt = performance.now();
          run.joinToPaired.push(run.lastPairedAt - startedAt);
        },
        onError() {
          answer();
          if (settle()) run.failed++;
        },
      }),
    );
  }
  while (settled < run.connections.length && performance.now() < deadline) {
    await waitForChange();
  }
  return run;
}
