import type { Signal } from '../../src/protocol/messages.js';
import { sampleProcesses } from '../lib/proc-stat.js';
import { RedisCounterReader, redisDelta } from '../lib/redis-info.js';
import { summarize } from '../lib/stats.js';
import { type BenchConnection, connect } from './connection.js';
import { collectGarbage, sleep, startCpuWindow, untilServerIdle } from './cpu-window.js';
import type { LoadJob, RelayJob, RelayPhaseResult, RelayResult, ScaleOutJob, ScaleOutResult } from './job.js';
import { candidate, type Stamp, sessionDescription, stampOf } from './payloads.js';

/** Each side trickles this many ICE candidates per handshake. */
const CANDIDATES_PER_SIDE = 8;
/** Offer + answer + the candidates of both sides: what both sides receive in one handshake. */
const MESSAGES_PER_HANDSHAKE = 2 + 2 * CANDIDATES_PER_SIDE;
const WARMUP = { rate: 100, ms: 1000 };
/** Longest wait for an overloaded server to work off its backlog before the next phase. */
const SETTLE_MAX_MS = 30_000;

interface Side {
  role: 'i' | 'p';
  couple: number;
  connection: BenchConnection;
  nextSeq: number;
  lastSeqReceived: number;
}

interface Couple {
  index: number;
  initiator: Side;
  polite: Side;
}

/** Counters of one measured phase; every handshake belongs to exactly one phase. */
class Phase {
  started = 0;
  completed = 0;
  sent = 0;
  received = 0;
  misrouted = 0;
  outOfOrder = 0;
  readonly oneWay: number[] = [];
  readonly handshakeDurations: number[] = [];
  firstStartAt = 0;
  lastDoneAt = 0;
  constructor(readonly offeredRate: number) {}
}

interface Handshake {
  phase: Phase;
  couple: Couple;
  startedAt: number;
  received: number;
}

/**
 * P couples exchange full handshakes (offer 4 KB, answer 4 KB, 8 candidates each way): first at
 * fixed rates (open loop, so a slow server shows as latency, not as a slower schedule), then
 * closed loop (each couple starts its next handshake when the last completes) for the saturation
 * rate. Every message carries a stamp, so loss, misrouting and reordering are counted exactly.
 */
export async function runRelay(job: LoadJob, relay: RelayJob): Promise<RelayResult> {
  const rig = await openRelay(job, relay.couples, relay.drainMs);
  try {
    await collectGarbage(job.serverPids);
    const rssBeforeBytes = sampleProcesses(job.serverPids).rssBytes;
    await rig.fixedRate(WARMUP.rate, WARMUP.ms);

    const phases: RelayPhaseResult[] = [];
    for (const rate of relay.rates) phases.push(await rig.fixedRate(rate, relay.phaseMs));
    const saturation = await rig.closedLoop(relay.saturationMs);

    await collectGarbage(job.serverPids);
    const rssAfterBytes = sampleProcesses(job.serverPids).rssBytes;
    return { kind: 'relay', couples: rig.couples, rssBeforeBytes, rssAfterBytes, phases, saturation };
  } finally {
    rig.close();
  }
}

/**
 * The scale-out cost model: after a warm-up, one phase at one fixed rate, with redis-server's
 * counters read around it (the couples are split across the instances by pairCouples).
 */
export async function runScaleOut(job: LoadJob, scaleOut: ScaleOutJob): Promise<ScaleOutResult> {
  const rig = await openRelay(job, scaleOut.couples, scaleOut.drainMs);
  try {
    await rig.fixedRate(WARMUP.rate, WARMUP.ms);
    const phase = await rig.fixedRate(scaleOut.rate, scaleOut.phaseMs);
    return { kind: 'scale-out', instances: job.urls.length, couples: rig.couples, phase };
  } finally {
    rig.close();
  }
}

interface RelayRig {
  couples: number;
  /** Starts `rate` handshakes a second for `ms`, open loop, then drains. */
  fixedRate(rate: number, ms: number): Promise<RelayPhaseResult>;
  /** Every couple runs handshakes back to back for `ms`, then drains. */
  closedLoop(ms: number): Promise<RelayPhaseResult>;
  /** Closes every client connection (and the Redis counter reader). */
  close(): void;
}

/** Pairs the couples and returns what runs phases on them; each phase starts once the server side is idle. */
async function openRelay(job: LoadJob, coupleCount: number, drainMs: number): Promise<RelayRig> {
  const handshakes = new Map<number, Handshake>();
  let nextHandshake = 0;
  let closedLoopUntil = 0;

  const send = (from: Side, handshake: number, make: (stamp: Stamp) => Signal, phase: Phase) => {
    const stamp = { couple: from.couple, from: from.role, seq: from.nextSeq++, handshake, sentAt: performance.now() };
    phase.sent++;
    from.connection.signal(make(stamp));
  };

  const start = (couple: Couple, phase: Phase) => {
    const id = nextHandshake++;
    const now = performance.now();
    handshakes.set(id, { phase, couple, startedAt: now, received: 0 });
    if (phase.started++ === 0) phase.firstStartAt = now;
    send(couple.initiator, id, (s) => sessionDescription('offer', s), phase);
  };

  const receive = (side: Side, signal: Signal) => {
    const now = performance.now();
    const stamp = stampOf(signal);
    const handshake = stamp && handshakes.get(stamp.handshake);
    if (!stamp || !handshake) return;
    const { phase } = handshake;
    if (stamp.couple !== side.couple || stamp.from === side.role) {
      phase.misrouted++;
      return;
    }
    if (stamp.seq <= side.lastSeqReceived) phase.outOfOrder++;
    side.lastSeqReceived = stamp.seq;
    phase.received++;
    phase.oneWay.push(now - stamp.sentAt);

    // The polite side answers the offer and trickles its candidates; the initiator trickles on the answer.
    const couple = handshake.couple;
    if (signal.type === 'offer' && side.role === 'p') {
      send(side, stamp.handshake, (s) => sessionDescription('answer', s), phase);
      for (let c = 0; c < CANDIDATES_PER_SIDE; c++) send(side, stamp.handshake, candidate, phase);
    } else if (signal.type === 'answer' && side.role === 'i') {
      for (let c = 0; c < CANDIDATES_PER_SIDE; c++) send(side, stamp.handshake, candidate, phase);
    }

    if (++handshake.received < MESSAGES_PER_HANDSHAKE) return;
    handshakes.delete(stamp.handshake);
    phase.completed++;
    phase.lastDoneAt = now;
    phase.handshakeDurations.push(now - handshake.startedAt);
    if (now < closedLoopUntil) start(couple, phase);
  };

  const couples = await pairCouples(job, coupleCount, receive);
  const redis = job.redisUrl ? new RedisCounterReader(job.redisUrl) : undefined;

  const runPhase = async (phase: Phase, ms: number, schedule: (until: number) => Promise<void>) => {
    await untilServerIdle([...job.serverPids, ...job.auxPids], SETTLE_MAX_MS);
    const redisBefore = await redis?.read();
    const cpu = startCpuWindow(job.serverPids, job.auxPids, job.serverCore);
    const until = performance.now() + ms;
    await schedule(until);
    // Drain: wait for what is in flight, bounded, then count whatever never arrived as lost.
    const drainUntil = performance.now() + drainMs;
    while (countOpen(handshakes, phase) > 0 && performance.now() < drainUntil) await sleep(5);
    const cpuWindow = cpu.stop();
    const redisAfter = await redis?.read();
    return summarizePhase(phase, cpuWindow, redisBefore && redisAfter && redisDelta(redisBefore, redisAfter));
  };

  return {
    couples: couples.length,
    fixedRate(rate, ms) {
      const phase = new Phase(rate);
      return runPhase(phase, ms, async (until) => {
        const begin = performance.now();
        for (let now = begin; now < until; now = performance.now()) {
          const due = Math.floor(((now - begin) / 1000) * rate);
          while (phase.started < due) start(couples[phase.started % couples.length] as Couple, phase);
          await sleep(1);
        }
      });
    },
    closedLoop(ms) {
      const phase = new Phase(0);
      return runPhase(phase, ms, async (until) => {
        closedLoopUntil = until;
        for (const couple of couples) start(couple, phase);
        while (performance.now() < until) await sleep(20);
      });
    },
    close() {
      redis?.close();
      for (const couple of couples) {
        couple.initiator.connection.close();
        couple.polite.connection.close();
      }
    },
  };
}

function countOpen(handshakes: Map<number, Handshake>, phase: Phase): number {
  let open = 0;
  for (const handshake of handshakes.values()) if (handshake.phase === phase) open++;
  return open;
}

function summarizePhase(
  phase: Phase,
  cpu: RelayPhaseResult['cpu'],
  redis: RelayPhaseResult['redis'],
): RelayPhaseResult {
  const activeSeconds = Math.max(1e-3, (phase.lastDoneAt - phase.firstStartAt) / 1000);
  return {
    offeredRate: phase.offeredRate,
    handshakesStarted: phase.started,
    handshakesCompleted: phase.completed,
    achievedRate: phase.completed / activeSeconds,
    messagesSent: phase.sent,
    messagesReceived: phase.received,
    lost: phase.sent - phase.received,
    misrouted: phase.misrouted,
    outOfOrder: phase.outOfOrder,
    oneWayMs: summarize(phase.oneWay),
    handshakeMs: summarize(phase.handshakeDurations),
    cpu,
    ...(redis ? { redis } : {}),
  };
}

/**
 * Pairs the couples one at a time, couple k's initiator on instance k mod N and its partner on the
 * next one, so with two or more instances every couple crosses instances (the costly case) and the
 * instances carry equal shares; with one instance pairing order is certain. Resolves once both
 * sides of every couple have `paired`.
 */
async function pairCouples(
  job: LoadJob,
  count: number,
  receive: (side: Side, signal: Signal) => void,
): Promise<Couple[]> {
  const couples: Couple[] = [];
  const deadline = performance.now() + 30_000;
  const url = (i: number) => job.urls[i % job.urls.length] ?? '';
  for (let index = 0; index < count; index++) {
    const initiator = await openSide(url(index), 'i', index, job, receive, ['waiting'], deadline);
    const polite = await openSide(url(index + 1), 'p', index, job, receive, ['paired'], deadline);
    await initiator.paired;
    couples.push({ index, initiator: initiator.side, polite: polite.side });
  }
  return couples;
}

async function openSide(
  url: string,
  role: 'i' | 'p',
  couple: number,
  job: LoadJob,
  receive: (side: Side, signal: Signal) => void,
  readyOn: Array<'waiting' | 'paired'>,
  deadline: number,
): Promise<{ side: Side; paired: Promise<void> }> {
  let onReady: () => void = () => {};
  let onPaired: () => void = () => {};
  let onFail: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  const paired = new Promise<void>((resolve) => (onPaired = resolve));
  const side: Side = {
    role,
    couple,
    nextSeq: 1,
    lastSeqReceived: 0,
    connection: connect(job.protocol, url, {
      onEvent(event, data) {
        if (event === 'signal') receive(side, data as Signal);
        if (event === 'paired') onPaired();
        if ((readyOn as string[]).includes(event)) onReady();
      },
      onError: (error) => onFail(error),
    }),
  };
  const timeout = sleep(Math.max(0, deadline - performance.now())).then(() => {
    throw new Error(`couple ${couple}: no ${readyOn.join('/')} before the set-up deadline`);
  });
  await Promise.race([ready, timeout]);
  return { side, paired: Promise.race([paired, timeout]) };
}
