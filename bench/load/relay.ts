import type { Signal } from '../../src/protocol/messages.js';
import { sampleProcesses } from '../lib/proc-stat.js';
import { summarize } from '../lib/stats.js';
import { type BenchConnection, connect } from './connection.js';
import { collectGarbage, sleep, startCpuWindow, untilServerIdle } from './cpu-window.js';
import type { LoadJob, RelayJob, RelayPhaseResult, RelayResult } from './job.js';
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

  const couples = await pairCouples(job, relay, receive);

  const runPhase = async (phase: Phase, ms: number, schedule: (until: number) => Promise<void>) => {
    await untilServerIdle([...job.serverPids, ...job.auxPids], SETTLE_MAX_MS);
    const cpu = startCpuWindow(job.serverPids, job.auxPids, job.serverCore);
    const until = performance.now() + ms;
    await schedule(until);
    // Drain: wait for what is in flight, bounded, then count whatever never arrived as lost.
    const drainUntil = performance.now() + relay.drainMs;
    while (countOpen(handshakes, phase) > 0 && performance.now() < drainUntil) await sleep(5);
    return summarizePhase(phase, cpu.stop());
  };

  const openLoop = (phase: Phase, rate: number) => async (until: number) => {
    const begin = performance.now();
    for (let now = begin; now < until; now = performance.now()) {
      const due = Math.floor(((now - begin) / 1000) * rate);
      while (phase.started < due) start(couples[phase.started % couples.length] as Couple, phase);
      await sleep(1);
    }
  };

  const closedLoop = (phase: Phase) => async (until: number) => {
    closedLoopUntil = until;
    for (const couple of couples) start(couple, phase);
    while (performance.now() < until) await sleep(20);
  };

  await collectGarbage(job.serverPids);
  const rssBeforeBytes = sampleProcesses(job.serverPids).rssBytes;
  const warmup = new Phase(WARMUP.rate);
  await runPhase(warmup, WARMUP.ms, openLoop(warmup, WARMUP.rate));

  const phases: RelayPhaseResult[] = [];
  for (const rate of relay.rates) {
    const phase = new Phase(rate);
    phases.push(await runPhase(phase, relay.phaseMs, openLoop(phase, rate)));
  }
  const saturationPhase = new Phase(0);
  const saturation = await runPhase(saturationPhase, relay.saturationMs, closedLoop(saturationPhase));

  await collectGarbage(job.serverPids);
  const rssAfterBytes = sampleProcesses(job.serverPids).rssBytes;
  for (const couple of couples) {
    couple.initiator.connection.close();
    couple.polite.connection.close();
  }
  return { kind: 'relay', couples: couples.length, rssBeforeBytes, rssAfterBytes, phases, saturation };
}

function countOpen(handshakes: Map<number, Handshake>, phase: Phase): number {
  let open = 0;
  for (const handshake of handshakes.values()) if (handshake.phase === phase) open++;
  return open;
}

function summarizePhase(phase: Phase, cpu: RelayPhaseResult['cpu']): RelayPhaseResult {
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
  };
}

/**
 * Pairs the couples one at a time, the initiator on the first instance and its partner on the
 * next, so with two instances every couple crosses instances (the costly case) and with one
 * instance pairing order is certain. Resolves once both sides of every couple have `paired`.
 */
async function pairCouples(
  job: LoadJob,
  relay: RelayJob,
  receive: (side: Side, signal: Signal) => void,
): Promise<Couple[]> {
  const couples: Couple[] = [];
  const deadline = performance.now() + 30_000;
  for (let index = 0; index < relay.couples; index++) {
    const initiator = await openSide(job.urls[0] ?? '', 'i', index, job, receive, ['waiting'], deadline);
    const polite = await openSide(job.urls[1 % job.urls.length] ?? '', 'p', index, job, receive, ['paired'], deadline);
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
