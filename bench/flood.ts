/**
 * `npm run bench:flood`: can one abusive client slow everybody else down? The built server runs
 * in a child process (pinned to one core, the load to another when taskset exists); N normal
 * pairs run paced WebRTC-like handshakes and time every relayed message (sender and receiver are
 * both in this process, so one clock stamps both ends). Phase 1 has no flood; phase 2 adds one
 * client that floods signals, joins and junk as fast as it can and reconnects whenever the server
 * cuts it off. A fresh server per phase. Writes the "Flood resistance (measured)" section of
 * docs/security.md. Bounded: each phase runs PHASE_MS, the whole run is killed after 3 minutes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { spawnPinned, stopProcess, waitForOutput } from './lib/pinned-process.js';
import { type LatencySummary, summarize } from './lib/stats.js';

const PAIRS = 20;
const PHASE_MS = 8000;
/** One handshake per pair every 300 ms: 3.3 offers/s and 27 candidates/s per client, inside the default budgets. */
const HANDSHAKE_EVERY_MS = 300;
const CANDIDATES_PER_SIDE = 8;
const SERVER_ENTRY = fileURLToPath(new URL('../../src/server.js', import.meta.url));
const SECURITY_DOC = fileURLToPath(new URL('../../../docs/security.md', import.meta.url));

interface PhaseResult {
  latency: LatencySummary;
  handshakes: number;
  lost: number;
  flood?: { emitted: number; connections: number };
}

const watchdog = setTimeout(() => {
  console.error('flood bench: over its 3-minute bound, giving up');
  process.exit(2);
}, 180_000);

const cores = availableParallelism();
const pinned = cores >= 2 && hasTaskset();
if (pinned) execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });

const baseline = await phase(false);
const flooded = await phase(true);
clearTimeout(watchdog);

const factor = (key: 'p50' | 'p99') => flooded.latency[key] / Math.max(baseline.latency[key], 0.001);
const machine = `${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, server ${pinned ? 'pinned to core 1, load to core 0' : 'not pinned (no taskset)'}`;
console.log(
  JSON.stringify({ machine, baseline, flooded, p50Factor: factor('p50'), p99Factor: factor('p99') }, null, 2),
);
writeSection(renderSection(machine, baseline, flooded, factor('p50'), factor('p99')));

/** One phase on a fresh server: paced handshakes for PHASE_MS, with or without the flooder. */
async function phase(withFlood: boolean): Promise<PhaseResult> {
  const server = spawnPinned(pinned ? 1 : undefined, process.execPath, [SERVER_ENTRY], {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    // Every client here comes from 127.0.0.1: the per-address admission limits would refuse the
    // normal pairs themselves. Lifting them also lets the flooder reconnect without limit, which
    // is harsher than production (120 new connections per address per minute).
    MAX_CONNECTIONS_PER_IP: '100000',
    CONNECTIONS_PER_MINUTE_PER_IP: '100000',
    // The flooder's next storm would ban its subject, which the normal pairs share (one address).
    AUTO_BAN_SKIPS_PER_MINUTE: '0',
  });
  try {
    const [, port] = await waitForOutput(server, /"port":(\d+)[^\n]*"msg":"pairwire listening"/, 15_000);
    const url = `http://127.0.0.1:${port}`;
    console.error(`phase ${withFlood ? 'flood' : 'no flood'}: server on ${port}, pairing ${PAIRS} pairs`);
    // One pair at a time: with AUTO_JOIN, clients connecting together would pair among themselves.
    const pairs: Array<[Socket, Socket]> = [];
    for (let i = 0; i < PAIRS; i++) pairs.push(await pairUp(url));
    console.error(`phase ${withFlood ? 'flood' : 'no flood'}: paired, running ${PHASE_MS / 1000} s`);
    const flooder = withFlood ? startFlooder(url) : undefined;
    const samples: number[] = [];
    const counts = await Promise.all(pairs.map((pair) => runHandshakes(pair, samples)));
    const flood = flooder?.stop();
    for (const [a, b] of pairs) {
      a.close();
      b.close();
    }
    return {
      latency: summarize(samples),
      handshakes: counts.reduce((sum, c) => sum + c.handshakes, 0),
      lost: counts.reduce((sum, c) => sum + c.lost, 0),
      ...(flood ? { flood } : {}),
    };
  } finally {
    await stopProcess(server);
  }
}

function connect(url: string): Socket {
  return io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
}

/** Two clients auto-joined into one pair; resolves once both are paired. */
async function pairUp(url: string): Promise<[Socket, Socket]> {
  const a = connect(url);
  await new Promise((resolve) => a.once('waiting', resolve));
  const b = connect(url);
  await Promise.all([new Promise((r) => a.once('paired', r)), new Promise((r) => b.once('paired', r))]);
  return [a, b];
}

/**
 * Runs handshakes every HANDSHAKE_EVERY_MS until PHASE_MS is over: offer, answer, then trickled
 * candidates both ways, each stamped with the time it was sent; the receiver records the delay.
 */
async function runHandshakes(
  [a, b]: [Socket, Socket],
  samples: number[],
): Promise<{ handshakes: number; lost: number }> {
  let received = 0;
  const record = (signal: { sdp?: string; candidate?: { candidate: string } }) => {
    const stamp = Number((signal.sdp ?? signal.candidate?.candidate ?? '').split(' ').at(-1));
    if (Number.isFinite(stamp)) samples.push(performance.now() - stamp);
    received++;
  };
  a.on('signal', record);
  b.on('signal', record);
  const until = performance.now() + PHASE_MS;
  let handshakes = 0;
  while (performance.now() < until) {
    const next = performance.now() + HANDSHAKE_EVERY_MS;
    handshakes++;
    const offerArrived = new Promise((resolve) => b.once('signal', resolve));
    a.emit('signal', { type: 'offer', sdp: `v=0 offer ${performance.now()}` });
    await withTimeout(offerArrived, 5000);
    b.emit('signal', { type: 'answer', sdp: `v=0 answer ${performance.now()}` });
    for (let i = 0; i < CANDIDATES_PER_SIDE; i++) {
      for (const side of [a, b]) {
        side.emit('signal', {
          type: 'candidate',
          candidate: { candidate: `candidate:${i} 1 udp ${performance.now()}` },
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  // Whatever has not arrived a second after the last send is counted lost.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { handshakes, lost: handshakes * (2 + 2 * CANDIDATES_PER_SIDE) - received };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(resolve, ms))]);
}

/**
 * One abusive client: batches of candidates, offers, joins, nexts, malformed signals and unknown
 * events, a batch per event-loop turn, without waiting for anything; when the server disconnects
 * it (persistent abuse), it connects again at once.
 */
function startFlooder(url: string): { stop(): { emitted: number; connections: number } } {
  let emitted = 0;
  let connections = 0;
  let stopped = false;
  let socket: Socket | undefined;
  const junk = 'x'.repeat(512);
  const open = () => {
    if (stopped) return;
    connections++;
    const s = connect(url);
    socket = s;
    s.on('disconnect', open);
    s.on('connect_error', open);
    const burst = () => {
      if (stopped || !s.connected) return;
      for (let i = 0; i < 100; i++) {
        switch (i % 6) {
          case 0:
            s.emit('signal', { type: 'candidate', candidate: { candidate: `flood ${emitted}` } });
            break;
          case 1:
            s.emit('signal', { type: 'offer', sdp: junk });
            break;
          case 2:
            s.emit(i % 12 === 2 ? 'join' : 'next');
            break;
          case 3:
            s.emit('signal', { type: 'offer', sdp: 1, extra: junk });
            break;
          default:
            s.emit('junk', junk);
        }
        emitted++;
      }
      setImmediate(burst);
    };
    s.on('connect', burst);
  };
  open();
  return {
    stop() {
      stopped = true;
      socket?.close();
      return { emitted, connections };
    },
  };
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function renderSection(
  machine: string,
  baseline: PhaseResult,
  flooded: PhaseResult,
  p50Factor: number,
  p99Factor: number,
): string {
  const ms = (n: number) => `${n.toFixed(2)} ms`;
  const row = (name: string, r: PhaseResult) =>
    `| ${name} | ${r.latency.count} | ${ms(r.latency.p50)} | ${ms(r.latency.p99)} | ${ms(r.latency.max)} | ${r.lost} |`;
  const flood = flooded.flood;
  return `## Flood resistance (measured)

One abusive client floods as fast as it can (candidates, offers, \`join\`/\`next\`, malformed signals,
unknown events, a batch of 100 per event-loop turn, never waiting for an ack) and reconnects at
once whenever the server cuts it off, while ${PAIRS} normal pairs run paced handshakes (offer, answer,
${CANDIDATES_PER_SIDE} candidates each way, every ${HANDSHAKE_EVERY_MS} ms per pair, inside the default budgets).
Relay latency of the normal pairs' messages, ${PHASE_MS / 1000} s per phase, a fresh server per phase:

| phase | messages | p50 | p99 | max | lost |
| ----- | -------: | --: | --: | --: | ---: |
${row('no flood', baseline)}
${row('flood', flooded)}

**Factor under flood: p50 ×${p50Factor.toFixed(2)}, p99 ×${p99Factor.toFixed(2)}.** The flooder sent
${flood?.emitted ?? 0} messages over ${flood?.connections ?? 0} connections (each cut off after \`ABUSE_STRIKES\`
refusals). The bench lifts the per-address connection limits (every client is on 127.0.0.1), so the
flooder reconnects without limit; in production \`CONNECTIONS_PER_MINUTE_PER_IP\` caps that at 120 a
minute, so this is harsher than a real single-address attacker.

The flooder runs in the load process, on the normal clients' core, so part of the p50 factor is
those clients' own event loop competing with it, not the server; the baseline p99 comes from each
pair sending its 18 messages in one burst. Machine: ${machine}. Command: \`npm run bench:flood\`
(\`bench/flood.ts\`). One run on a shared machine: read the factor as an order of magnitude.
`;
}

/** Replaces this section in docs/security.md (or appends it), leaving every other section as it is. */
function writeSection(section: string): void {
  const doc = readFileSync(SECURITY_DOC, 'utf8');
  const start = doc.indexOf('## Flood resistance (measured)');
  if (start === -1) {
    writeFileSync(SECURITY_DOC, `${doc.trimEnd()}\n\n${section}`);
    return;
  }
  const nextHeading = doc.indexOf('\n## ', start + 1);
  const end = nextHeading === -1 ? doc.length : nextHeading + 1;
  writeFileSync(SECURITY_DOC, `${doc.slice(0, start)}${section}${nextHeading === -1 ? '' : `\n${doc.slice(end)}`}`);
}
