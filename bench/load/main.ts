/**
 * The load generator: one process, pinned to its own core by the orchestrator, running one job
 * (argv[2], JSON) against servers it reaches only over 127.0.0.1, and printing one JSON result
 * line. It exits when done, which also drops every client connection at once.
 */
import type { LoadJob, LoadResult } from './job.js';
import { runPairBurst } from './pair-burst.js';
import { runRelay, runScaleOut } from './relay.js';

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
for (const url of [...job.urls, ...(job.redisUrl ? [job.redisUrl.replace(/^redis:/, 'http:')] : [])]) {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing to load anything but 127.0.0.1: ${url}`);
}

const result: LoadResult =
  job.scenario.kind === 'burst'
    ? await runPairBurst(job, job.scenario)
    : job.scenario.kind === 'relay'
      ? await runRelay(job, job.scenario)
      : await runScaleOut(job, job.scenario);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
