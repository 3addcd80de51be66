import type { BurstResult, RelayPhaseResult, RelayResult, ScaleOutResult } from '../load/job.js';
import type { TargetId } from '../targets.js';
import type { BenchReport, TargetRun } from './render.js';

/** Figures derived from raw results; undefined wherever the run did not produce them. */

export const runOf = (report: BenchReport, id: TargetId): TargetRun | undefined =>
  report.runs.find((run) => run.target === id && !run.skipped);

/** The burst with the most clients (the 10,000 one in a full run). */
export function largestBurst(run: TargetRun | undefined): BurstResult | undefined {
  return run?.bursts.reduce<BurstResult | undefined>((a, b) => (a && a.clients >= b.clients ? a : b), undefined);
}

export const burstOf = (run: TargetRun | undefined, clients: number) => run?.bursts.find((b) => b.clients === clients);

/** Server CPU per pair formed, in ms (both connections' set-up included). */
export const cpuPerPairMs = (burst: BurstResult | undefined) =>
  burst && burst.paired > 0 ? (burst.cpu.serverCpuSeconds * 1000) / (burst.paired / 2) : undefined;

/** Server RSS retained per connected (paired, idle) client, in bytes. */
export const rssPerConnection = (burst: BurstResult | undefined) =>
  burst && burst.paired > 0 ? (burst.rssAfterBytes - burst.rssBeforeBytes) / burst.paired : undefined;

/** Server CPU per relayed message in one phase, in µs. */
export const cpuPerMessageUs = (phase: RelayPhaseResult | undefined, which: 'server' | 'aux' = 'server') => {
  if (!phase || phase.messagesReceived === 0) return undefined;
  const seconds = which === 'server' ? phase.cpu.serverCpuSeconds : phase.cpu.auxCpuSeconds;
  return (seconds * 1e6) / phase.messagesReceived;
};

export const allPhases = (relay: RelayResult | undefined): RelayPhaseResult[] =>
  relay ? [...relay.phases, relay.saturation] : [];

/**
 * Server CPU per relayed message over the fixed-rate phases, in µs. Every server gets the same
 * offered work there, so the figures compare; the saturation run is left out because each server
 * relays a different amount in it, and CPU per message falls as load rises (more per wake-up).
 */
export function cpuPerMessageOverall(relay: RelayResult | undefined, which: 'server' | 'aux' = 'server') {
  const phases = relay?.phases ?? [];
  const messages = phases.reduce((sum, p) => sum + p.messagesReceived, 0);
  if (messages === 0) return undefined;
  const seconds = phases.reduce(
    (sum, p) => sum + (which === 'server' ? p.cpu.serverCpuSeconds : p.cpu.auxCpuSeconds),
    0,
  );
  return (seconds * 1e6) / messages;
}

export const phaseAt = (relay: RelayResult | undefined, rate: number) =>
  relay?.phases.find((p) => p.offeredRate === rate);

/** True when every phase delivered everything, to the right client, in order. */
export const deliveredExactly = (relay: RelayResult | undefined) =>
  relay ? allPhases(relay).every((p) => p.lost === 0 && p.misrouted === 0 && p.outOfOrder === 0) : undefined;

export const ratio = (ours: number | undefined, theirs: number | undefined) =>
  ours === undefined || theirs === undefined || theirs === 0 ? undefined : ours / theirs;

/** Server RSS growth over the relay scenario (after a forced GC, before the first signal and after the last). */
export const relayRssGrowth = (relay: RelayResult | undefined) =>
  relay ? relay.rssAfterBytes - relay.rssBeforeBytes : undefined;

/** The scale-out cost model's phase of a target, when it ran. */
export const scaleOutOf = (report: BenchReport, id: TargetId): ScaleOutResult | undefined =>
  runOf(report, id)?.scaleOut;

/** CPU per relayed signal of every instance and redis-server together, in µs. */
export const totalCpuPerSignalUs = (phase: RelayPhaseResult | undefined) => {
  const server = cpuPerMessageUs(phase);
  return server === undefined ? undefined : server + (cpuPerMessageUs(phase, 'aux') ?? 0);
};

/**
 * Bytes per relayed signal as redis-server counted them: 'read' is what the instances read from
 * Redis (`total_net_output_bytes`), 'written' what they wrote to it (`total_net_input_bytes`).
 */
export const redisBytesPerSignal = (phase: RelayPhaseResult | undefined, direction: 'read' | 'written') => {
  if (!phase?.redis || phase.messagesReceived === 0) return undefined;
  const bytes = direction === 'read' ? phase.redis.netOutputBytes : phase.redis.netInputBytes;
  return bytes / phase.messagesReceived;
};

/** Calls of one Redis command per relayed signal (commands run by scripts included). */
export const redisCallsPerSignal = (phase: RelayPhaseResult | undefined, command: string) =>
  phase?.redis && phase.messagesReceived > 0 ? (phase.redis.calls[command] ?? 0) / phase.messagesReceived : undefined;
