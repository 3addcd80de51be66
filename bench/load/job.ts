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
  scenario: BurstJob | RelayJob;
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

export type LoadResult = BurstResult | RelayResult;
