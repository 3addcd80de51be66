import type { BurstJob, RelayJob, ScaleOutJob } from './load/job.js';

/** Every scenario size in one place: the full run for the doc, and a quick one for development. */
/**
 * Relay couples are many enough that no client exceeds pairwire's default per-client limits
 * (SDP_PER_SECOND 5, CANDIDATES_PER_SECOND 40: 8 candidates a handshake, so 5 handshakes/s):
 * at 1,000 handshakes/s each of 500 couples runs 2 a second, like real users, one handshake each.
 */
export interface BenchSizes {
  bursts: BurstJob[];
  relay: RelayJob;
  /** The scale-out cost model; absent where a mode is about something else. */
  scaleOut?: ScaleOutJob;
}

/**
 * The scale-out cost model's one rate: four instances, their redis-server and nothing else on one
 * core must all carry it with room to spare (so CPU per signal is the work, not an overload's
 * queues), at every couple's pace well inside the per-client limits. Long enough for the 10 ms
 * CPU ticks and the heartbeats of every instance to average out. Measured (2026-12-01, --medium):
 * four instances and redis-server used ~260 µs per signal at 150 handshakes/s, 70 % of the core;
 * at 200/s they kept up, but with one-way p99 at 0.7 s, queues rather than work.
 */
const SCALE_OUT: ScaleOutJob = { kind: 'scale-out', couples: 500, rate: 150, phaseMs: 10_000, drainMs: 5000 };

export const FULL: BenchSizes = {
  bursts: [
    { kind: 'burst', clients: 10_000, concurrency: 200, timeoutMs: 120_000 },
    { kind: 'burst', clients: 2_000, concurrency: 200, timeoutMs: 60_000 },
  ],
  relay: { kind: 'relay', couples: 500, rates: [200, 1000], phaseMs: 5000, saturationMs: 5000, drainMs: 5000 },
  scaleOut: SCALE_OUT,
};

/** For measuring a proposal against the current build: big enough to be stable, about a minute per target. */
export const MEDIUM: BenchSizes = {
  bursts: [{ kind: 'burst', clients: 2_000, concurrency: 200, timeoutMs: 60_000 }],
  relay: { kind: 'relay', couples: 500, rates: [200, 1000], phaseMs: 3000, saturationMs: 4000, drainMs: 3000 },
  scaleOut: { ...SCALE_OUT, phaseMs: 5000, drainMs: 3000 },
};

/** What relaying leaves in memory under sustained load: one long phase, no bursts. */
export const SUSTAINED: BenchSizes = {
  bursts: [],
  relay: { kind: 'relay', couples: 500, rates: [1000], phaseMs: 30_000, saturationMs: 1000, drainMs: 3000 },
};

export const QUICK: BenchSizes = {
  bursts: [{ kind: 'burst', clients: 200, concurrency: 50, timeoutMs: 20_000 }],
  relay: { kind: 'relay', couples: 50, rates: [100], phaseMs: 1500, saturationMs: 1500, drainMs: 2000 },
  scaleOut: { kind: 'scale-out', couples: 50, rate: 50, phaseMs: 2000, drainMs: 2000 },
};
