import type { BurstJob, RelayJob } from './load/job.js';

/** Every scenario size in one place: the full run for the doc, and a quick one for development. */
export interface BenchSizes {
  bursts: BurstJob[];
  relay: RelayJob;
}

export const FULL: BenchSizes = {
  bursts: [
    { kind: 'burst', clients: 10_000, concurrency: 200, timeoutMs: 120_000 },
    { kind: 'burst', clients: 2_000, concurrency: 200, timeoutMs: 60_000 },
  ],
  relay: { kind: 'relay', couples: 100, rates: [200, 1000], phaseMs: 5000, saturationMs: 5000, drainMs: 5000 },
};

export const QUICK: BenchSizes = {
  bursts: [{ kind: 'burst', clients: 200, concurrency: 50, timeoutMs: 20_000 }],
  relay: { kind: 'relay', couples: 20, rates: [200], phaseMs: 1500, saturationMs: 1500, drainMs: 2000 },
};
