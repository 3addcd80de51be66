import type { RedisCounters } from '../lib/redis-info.js';
import type { LatencySummary } from '../lib/stats.js';
import type { WireProtocol } from './connection.js';

/** What the orchestrator asks one load-generator process to do, against one server set-up. */
export interface LoadJob {
  protocol: WireProtocol;
  /** One per server instance; clients are spread over them round-robin. */
  urls: string[];
  /** Processes whose CPU and RSS count as "the server" (every instance). */
  serverPids: number[];
  /** Processes measured beside the server but reported apart (redis-server). */
  auxPids: number[];
  /** The core the server side is pinned to, if any: its load from other processes is reported. */
  serverCore: number | undefined;
  /** The set-up's redis-server, if it has one: its INFO counters are read around each relay phase. */
  redisUrl?: string;
  scenario: BurstJob | RelayJob | ScaleOutJob;
}

export interface BurstJob {
  kind: 'burst';
  clients: number;
  /** Connections still waiting for their first answer (`waiting` or `paired`) at any moment. */
  concurrency: number;
  timeoutMs: number;
}

export interface RelayJob {
  kind: 'relay';
  couples: number;
  /** Fixed handshake rates (handshakes per second), each run for `phaseMs`. */
  rates: number[];
  phaseMs: number;
  /** Closed-loop run (every couple back to back) that finds the saturation rate. */
  saturationMs: number;
  /** How long to wait after a phase for messages still in flight before counting them lost. */
  drainMs: number;
}

/**
 * The scale-out cost model (issue 14): one fixed rate that every set-up carries, the couples split
 * across the instances (each couple's two sides on different instances when there are two or
 * more), so the work per relayed signal can be compared between 1, 2 and 4 instances on one core.
 */
export interface ScaleOutJob {
  kind: 'scale-out';
  couples: number;
  /** The one offered rate, in handshakes per second: low enough for four instances on one core. */
  rate: number;
  phaseMs: number;
  drainMs: number;
}

export interface CpuWindow {
  /** Server CPU seconds (all instances) used in the window. */
  serverCpuSeconds: number;
  /** redis-server CPU seconds in the window, when there is one. */
  auxCpuSeconds: number;
  /** Load generator CPU seconds in the window: near wallSeconds means the generator was the limit. */
  generatorCpuSeconds: number;
  /** CPU seconds other processes (not the server, redis or us) used on the server's core: the noise. */
  foreignCpuSeconds: number;
  wallSeconds: number;
}

export interface BurstResult {
  kind: 'burst';
  clients: number;
  paired: number;
  failed: number;
  /** First connect attempt to last `paired`, in ms. */
  durationMs: number;
  pairsPerSecond: number;
  /** Connect attempt (the join: pairwire queues on connect) to `paired`, per client, in ms. */
  joinToPairedMs: LatencySummary;
  cpu: CpuWindow;
  /** Server RSS after a forced GC, before the burst and with every client connected and paired. */
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

export interface RelayPhaseResult {
  /** Offered handshakes per second; 0 for the closed-loop saturation run. */
  offeredRate: number;
  handshakesStarted: number;
  handshakesCompleted: number;
  /** Completed handshakes per second of the phase. */
  achievedRate: number;
  messagesSent: number;
  messagesReceived: number;
  /** Sent but never received, after the drain. Must be 0. */
  lost: number;
  /** Received by a client that is not the sender's partner, or echoed to the sender. Must be 0. */
  misrouted: number;
  /** Received with a sequence number not above the last one from that sender. Must be 0. */
  outOfOrder: number;
  /** One-way relay latency (sender's send call to receiver's event), in ms. */
  oneWayMs: LatencySummary;
  /** Offer sent to the last of the 18 messages received, in ms. */
  handshakeMs: LatencySummary;
  cpu: CpuWindow;
  /** What redis-server counted during the phase (bytes in and out, calls per command), when there is one. */
  redis?: RedisCounters;
}

export interface RelayResult {
  kind: 'relay';
  couples: number;
  /** Server RSS after a forced GC with the couples paired, before any signal. */
  rssBeforeBytes: number;
  /** Server RSS after a forced GC right after the last phase: what relaying left behind. */
  rssAfterBytes: number;
  phases: RelayPhaseResult[];
  saturation: RelayPhaseResult;
}

export interface ScaleOutResult {
  kind: 'scale-out';
  /** Server instances, every one of them on the one server core with redis-server. */
  instances: number;
  couples: number;
  phase: RelayPhaseResult;
}

export type LoadResult = BurstResult | RelayResult | ScaleOutResult;
