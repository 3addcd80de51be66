/**
 * Property-based fuzzing of every inbound message (issue 5): a real server on a free port, real
 * socket.io clients, thousands of hostile payloads. Whatever arrives, the server answers every
 * command with a well-formed ack (or, for a frame past MAX_FRAME_BYTES, closes that connection),
 * relays nothing invalid and nothing to anyone but the sender's partner, keeps a pair chatting
 * alongside untouched, and stays up. Parameterised by store, like test/suites/signaling.suite.ts.
 *
 * Reproduce a failure with the seed fast-check prints: FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts
 * Longer runs: FUZZ_SCALE=10 multiplies every property's number of runs.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { type Config, configWith } from '../src/config.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { signalSchema } from '../src/protocol/schemas.js';
import { MemoryPairingStore } from '../src/store/memory-store.js';
import type { OutboxLimits, PairingStore } from '../src/store/pairing-store.js';
import { createRedisStore } from '../src/store/redis-store.js';
import {
  type ChurnAction,
  churnScript,
  connectPacket,
  FLOOD_TEMPLATES,
  floodCommand,
  type HostileCommand,
  hostileCommand,
  oversizePayload,
  type RawFrame,
  rawFrame,
  renderPacket,
  type SizeLimits,
} from './fuzz/arbitraries.js';
import {
  assertDeliveries,
  assertServerServes,
  Bystanders,
  describeCommand,
  expectAck,
  type FuzzClient,
  fuzzClient,
  type Outcome,
  pairOf,
} from './fuzz/harness.js';
import {
  carriesBinary,
  expectedVerdict,
  fitsLimits,
  frameBytes,
  matchesVerdict,
  type WireAck,
  wellFormedAck,
} from './fuzz/oracle.js';
import { RawConnection } from './fuzz/raw-client.js';
import { type RedisServer, startRedis } from './helpers/redis.js';
import { startServer, type TestServer } from './helpers/server.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_125);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

/** Small limits make "just under" and "just over" cheap to generate thousands of times. */
const LIMITS: SizeLimits = { maxSdpBytes: 4096, maxCandidateBytes: 512, maxFrameBytes: 16_384 };

/**
 * Per-client budgets lifted, so payloads reach validation instead of the rate limiter; the
 * outboxes with them, since a partner now receives in a second what the budgets would spread
 * over minutes (clients acknowledge every 500 ms).
 */
const LIFTED_BUDGETS: Partial<Config> = {
  sdpPerSecond: 100_000,
  candidatesPerSecond: 100_000,
  pairingPerSecond: 100_000,
  abuseStrikes: 100_000,
  outboxMaxEvents: 100_000,
  outboxMaxBytes: 64 * 1024 * 1024,
};

/** How many batches one attacker pair takes before it is replaced. */
const RUNS_PER_PAIR = 40;

/** Frames this close to MAX_FRAME_BYTES may go either way (envelope, ack id, escaping). */
const FRAME_MARGIN = 256;

/** The limits a server has with no configuration: what the flood property runs against. */
const DEFAULT_LIMITS: SizeLimits = configWith();

interface RunBudget {
  /** Batches of hostile commands against one pair (each batch: 1–8 commands plus a bystander handshake). */
  mix: number;
  /** Frames past MAX_FRAME_BYTES. */
  oversize: number;
  /** Rounds of 2–4 clients joining, leaving, hanging up and signalling at once. */
  churn: number;
  /** Floods of up to 1,500 commands, each against a fresh server with the default limits. */
  flood: number;
}

function assertProperty<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  return fc.assert(property, {
    seed: SEED,
    numRuns: Math.max(1, Math.round(numRuns * SCALE)),
    // Shrinking would replay runs against a server the failure may have left in another state:
    // report the first failing input as it was (reproducible from seed and path) instead.
    endOnFailure: true,
    interruptAfterTimeLimit: 120_000 * SCALE,
    markInterruptAsFailure: true,
  });
}

/** Outboxes as roomy as LIFTED_BUDGETS need, for the stores the suites build themselves. */
const LIFTED_OUTBOX: OutboxLimits = { maxEvents: 100_000, maxBytes: 64 * 1024 * 1024 };

function describeFuzzSuite(name: string, makeStore: () => Promise<PairingStore>, runs: RunBudget): void {
  describe(`fuzzing every inbound message: ${name} store`, () => {
    let server: TestServer | undefined;

    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    async function start(overrides: Partial<Config>): Promise<TestServer> {
      server = await startServer({ autoJoin: false, ...LIMITS, ...overrides }, { store: await makeStore() });
      return server;
    }

    it('answers every hostile command with the ack it deserves; the partner gets exactly the accepted signals', async () => {
      const arena = await Arena.open(await start(LIFTED_BUDGETS));
      await assertProperty(
        fc.asyncProperty(fc.array(hostileCommand(LIMITS), { minLength: 1, maxLength: 8 }), (commands) =>
          arena.attack(commands),
        ),
        runs.mix,
      );
      await arena.close();
    }, 120_000);

    it('closes only the connection whose frame is past MAX_FRAME_BYTES', async () => {
      const arena = await Arena.open(await start(LIFTED_BUDGETS));
      await assertProperty(
        fc.asyncProperty(oversizePayload(LIMITS), (args) => arena.attack([{ event: 'signal', args, withAck: true }])),
        runs.oversize,
      );
      await arena.close();
    }, 60_000);

    it("under pairing churn, every signal reaches only the sender's partner of the moment", async () => {
      const s = await start(LIFTED_BUDGETS);
      const bystanders = await Bystanders.pair(s, false);
      let previous: FuzzClient[] = [];
      let round = 0;
      await assertProperty(
        fc.asyncProperty(fc.array(churnScript(LIMITS), { minLength: 2, maxLength: 4 }), async (scripts) => {
          round++;
          const churners = await Promise.all(scripts.map((_, i) => fuzzClient(s, `churn${round}.${i}`)));
          await Promise.all([...scripts.map((script, i) => play(churners[i], script)), bystanders.handshake()]);
          // Barrier: a client's own ack comes after every relay already written to it.
          for (const churner of churners)
            if (churner.connected) expectAck(await churner.command('leave'), { ok: true, status: 'idle' });
          // A client that hung up may still be queued when the next round joins: keep it in view one more round.
          assertDeliveries([...previous, ...churners], LIMITS);
          for (const churner of churners) churner.client.close();
          previous = churners;
        }),
        runs.churn,
      );
      bystanders.assertUntouched();
      await assertServerServes(s, false);
    }, 60_000);

    it('a flooding client is refused or cut off; the pair next to it handshakes untouched', async () => {
      await assertProperty(
        fc.asyncProperty(
          fc.array(fc.nat(FLOOD_TEMPLATES - 1), { minLength: 20, maxLength: 1500, size: 'max' }),
          async (templates) => {
            // Default limits and AUTO_JOIN, as deployed; a fresh server per flood.
            const s = await start({ ...DEFAULT_LIMITS, autoJoin: true });
            const [attacker, victim] = await pairOf(s, 'flood', true);
            const bystanders = await Bystanders.pair(s, true);
            const commands = templates.map(floodCommand);
            const [outcomes] = await Promise.all([
              Promise.all(commands.map((command) => attacker.send(command))),
              bystanders.handshake(),
            ]);
            for (const [i, command] of commands.entries()) judgeFlooded(attacker, command, outcomes[i]);
            await victim.command('leave');
            assertDeliveries([attacker, victim], DEFAULT_LIMITS);
            await bystanders.handshake();
            const health = await fetch(`${s.url}/healthz`);
            if (health.status !== 200) throw new Error(`/healthz answered ${health.status} after a flood`);
            await s.close();
            server = undefined;
          },
        ),
        runs.flood,
      );
    }, 60_000);
  });
}

/** Plays one churn script, checking every ack it gets; a goodbye ends the script. */
async function play(client: FuzzClient | undefined, script: ChurnAction[]): Promise<void> {
  if (!client) return;
  for (const action of script) {
    if (action.kind === 'goodbye') {
      client.client.close();
      return;
    }
    const command: HostileCommand =
      action.kind === 'signal'
        ? { event: 'signal', args: [action.payload], withAck: true }
        : { event: action.kind, args: [], withAck: true };
    const outcome = await client.send(command);
    const mayClose = frameBytes(command) >= LIMITS.maxFrameBytes - FRAME_MARGIN || carriesBinary(command);
    if (outcome.kind === 'disconnected' && !mayClose) {
      throw new Error(`${client.name} was disconnected (${client.disconnectReason}) by ${describeCommand(command)}`);
    }
    if (outcome.kind !== 'ack') return;
    if (!acceptableUnderChurn(command, outcome.ack)) {
      throw new Error(`${client.name}: ${describeCommand(command)} got ${JSON.stringify(outcome.ack)}`);
    }
  }
}

/**
 * Pairing state races under churn: a valid signal may meet NOT_PAIRED, a join ALREADY_*. A `next`
 * always succeeds: when a partner arrives between its unpair and its enqueue, it answers `paired`.
 */
function acceptableUnderChurn(command: HostileCommand, ack: WireAck): boolean {
  if (command.event === 'join') return ack.ok || ['ALREADY_WAITING', 'ALREADY_PAIRED'].includes(ack.error.code);
  if (command.event === 'next') return ack.ok;
  if (command.event !== 'signal') return ack.ok;
  const verdict = expectedVerdict(command, true, LIMITS);
  return matchesVerdict(ack, verdict) || (verdict === 'ok' && !ack.ok && ack.error.code === ErrorCode.NOT_PAIRED);
}

/** A flooded command: refused, accepted or cut off, each as documented; never silent. */
function judgeFlooded(attacker: FuzzClient, command: HostileCommand, outcome: Outcome | undefined): void {
  if (outcome?.kind === 'disconnected' && attacker.disconnectReason !== 'io server disconnect') {
    throw new Error(`the flooding client lost its connection (${attacker.disconnectReason}) instead of being cut off`);
  }
  if (outcome?.kind !== 'ack' || command.event === 'join' || command.event === 'next') return;
  const verdict = expectedVerdict(command, true, DEFAULT_LIMITS);
  const { ack } = outcome;
  const unpaired = verdict === 'ok' && !ack.ok && ack.error.code === ErrorCode.NOT_PAIRED;
  if (!matchesVerdict(ack, verdict) && !unpaired) {
    throw new Error(`${describeCommand(command)} expected ${verdict}, got ${JSON.stringify(ack)}`);
  }
}

/**
 * One server with an attacker paired to a victim, a bystander pair that handshakes during every
 * attack, and an idle client that must hear nothing. A closed attacker is replaced by a new pair.
 */
class Arena {
  #attacker: FuzzClient;
  #victim: FuzzClient;
  #pairs = 0;
  #runsOnPair = 0;
  #markers = 0;

  private constructor(
    readonly server: TestServer,
    readonly bystanders: Bystanders,
    readonly idle: FuzzClient,
    [attacker, victim]: [FuzzClient, FuzzClient],
  ) {
    this.#attacker = attacker;
    this.#victim = victim;
  }

  static async open(server: TestServer): Promise<Arena> {
    const bystanders = await Bystanders.pair(server, false);
    const idle = await fuzzClient(server, 'idle');
    return new Arena(server, bystanders, idle, await pairOf(server, 'attack0', false));
  }

  /** Sends the batch at once while the bystanders handshake, then judges every outcome. */
  async attack(commands: HostileCommand[]): Promise<void> {
    // A closed attacker, or one whose pair ended, is replaced: every run starts from a live pair.
    // So is a long-lived one, to keep the per-run relay check short.
    if (!this.#attacker.connected || this.#attacker.room === null || ++this.#runsOnPair > RUNS_PER_PAIR) {
      await this.#replacePair();
    }
    const attacker = this.#attacker;
    const [outcomes] = await Promise.all([
      Promise.all(commands.map((command) => attacker.send(command))),
      this.bystanders.handshake(),
    ]);
    await judge(attacker, commands, outcomes);
    await this.#settle();
  }

  /** Barrier, then the relay invariant: the victim got exactly the attacker's accepted signals. */
  async #settle(): Promise<void> {
    const [attacker, victim] = [this.#attacker, this.#victim];
    if (attacker.connected) {
      const marker = { type: 'candidate' as const, candidate: { candidate: `marker ${++this.#markers}` } };
      expectAck(await attacker.command('signal', marker), { ok: true });
      const accepted = attacker.sent.filter((sent) => sent.outcome === 'ok').length;
      await victim.signalsReceived(accepted);
      if (victim.all('signal').length !== accepted) {
        throw new Error(`the victim received ${victim.all('signal').length} signals, ${accepted} were accepted`);
      }
    } else {
      // The victim's own command is queued behind any relay already written to it.
      await victim.command('leave');
    }
    // The bystanders' exact handshake check covers them; this one covers the attack pair.
    assertDeliveries([attacker, victim], LIMITS);
    const heard = this.idle.timeline.filter((entry) => entry.kind !== 'event' || entry.event !== 'session');
    if (heard.length > 0) throw new Error(`the idle client heard ${JSON.stringify(heard).slice(0, 200)}`);
  }

  async #replacePair(): Promise<void> {
    for (const client of [this.#attacker, this.#victim]) client.client.close();
    this.#runsOnPair = 1;
    [this.#attacker, this.#victim] = await pairOf(this.server, `attack${++this.#pairs}`, false);
  }

  async close(): Promise<void> {
    this.bystanders.assertUntouched();
    for (const client of [this.#attacker, this.#victim, this.idle]) if (client.connected) await client.command('leave');
    await assertServerServes(this.server, false);
  }
}

/**
 * Every ack matches the verdict the protocol promises. A connection may close only when a frame
 * came near MAX_FRAME_BYTES, and must close when one went clearly past it or carried binary.
 */
async function judge(attacker: FuzzClient, commands: HostileCommand[], outcomes: Outcome[]): Promise<void> {
  const sizes = commands.map(frameBytes);
  const binary = commands.some(carriesBinary);
  const mustClose = binary || sizes.some((size) => size > LIMITS.maxFrameBytes + FRAME_MARGIN);
  const mayClose = mustClose || sizes.some((size) => size > LIMITS.maxFrameBytes - FRAME_MARGIN);
  commands.forEach((command, i) => {
    const outcome = outcomes[i];
    if (outcome?.kind === 'disconnected' && !mayClose) {
      throw new Error(
        `connection closed (${attacker.disconnectReason}) though every frame fits: ${describeCommand(command)}`,
      );
    }
    if (outcome?.kind !== 'ack') return;
    const verdict = expectedVerdict(command, true, LIMITS);
    if (!matchesVerdict(outcome.ack, verdict)) {
      throw new Error(`${describeCommand(command)} expected ${verdict}, got ${JSON.stringify(outcome.ack)}`);
    }
  });
  if (mustClose) await disconnected(attacker);
}

/** Resolves once the client's connection is closed; rejects if it stays open. */
function disconnected(client: FuzzClient, timeoutMs = 5000): Promise<void> {
  if (!client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('a frame past MAX_FRAME_BYTES (or with binary attachments) left the connection open')),
      timeoutMs,
    );
    client.client.socket.once('disconnect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describeFuzzSuite('memory', async () => new MemoryPairingStore({ outbox: LIFTED_OUTBOX }), {
  mix: 400,
  oversize: 12,
  churn: 150,
  flood: 8,
});

describe('fuzzing the wire below socket.io-client: raw WebSocket frames', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('survives malformed packets, forged attachments, reserved names and hostile CONNECT payloads', async () => {
    server = await startServer({ autoJoin: false, ...LIMITS, ...LIFTED_BUDGETS });
    const s = server;
    const bystanders = await Bystanders.pair(s, false);
    await assertProperty(
      fc.asyncProperty(connectPacket, fc.array(rawFrame(LIMITS), { minLength: 1, maxLength: 8 }), (connect, frames) =>
        Promise.all([rawAttack(s.url, connect, frames), bystanders.handshake()]).then(() => undefined),
      ),
      200,
    );
    bystanders.assertUntouched();
    await assertServerServes(s, false);
  }, 60_000);

  it('reads JSON nested 100,000 deep without overflowing anything', async () => {
    server = await startServer({ autoJoin: false });
    const s = server;
    const bystanders = await Bystanders.pair(s, false);
    const depth = 100_000;
    const frames: Array<[string, string]> = [
      ['signal', `["signal",${'['.repeat(depth)}${']'.repeat(depth)}]`],
      ['join', `["join",${'{"a":'.repeat(depth / 4)}0${'}'.repeat(depth / 4)}]`],
      ['signal', `["signal",{"type":"candidate","candidate":${'['.repeat(depth)}${']'.repeat(depth)}}]`],
    ];
    for (const [event, body] of frames) {
      const raw = await RawConnection.open(s.url);
      raw.send('40');
      await raw.waitFor((frame) => frame.startsWith('40'));
      const id = raw.nextAckId();
      raw.send(`42${id}${body}`);
      // Refused with a typed error, or the connection closed; never accepted, never a crash.
      const ack = await raw.ackFor(id);
      if (ack !== 'closed' && wellFormedAck(event, ack).ok) throw new Error(`a nested ${event} was accepted`);
      raw.close();
      await bystanders.handshake();
    }
    await assertServerServes(s, false);
  }, 30_000);
});

/**
 * One raw attack: a victim waits, the attacker connects with `connect` (perhaps refused), joins
 * (so it is the victim's partner), writes `frames`, then both leave. Every ack the attacker gets
 * is well-formed; the victim stays connected and receives only valid signals the attacker sent.
 */
async function rawAttack(url: string, connect: string, frames: RawFrame[]): Promise<void> {
  const victim = await RawConnection.open(url);
  const attacker = await RawConnection.open(url);
  try {
    victim.send('40');
    await victim.waitFor((frame) => frame.startsWith('40'));
    expectAck(wellFormedAck('join', ackOrThrow(await victim.command('join'))), { ok: true, status: 'waiting' });

    attacker.send(connect);
    const answer = await attacker.waitFor((frame) => frame.startsWith('40') || frame.startsWith('44'));
    if (answer !== 'closed' && answer.startsWith('40')) {
      const session = await attacker.waitFor((frame) => frame.startsWith('42["session"'));
      if (session === 'closed' || (attacker.events('session')[0] as { resumed?: unknown }).resumed !== false) {
        throw new Error(`a hostile CONNECT (${connect.slice(0, 80)}) did not get a fresh session: ${session}`);
      }
      const joined = await attacker.command('join');
      if (joined !== 'closed') expectAck(wellFormedAck('join', joined), { ok: true, status: 'paired' });
    }

    const sentEvents = new Map<number, string>();
    const sentSignals: unknown[] = [];
    for (const frame of frames) writeFrame(attacker, frame, sentEvents, sentSignals);
    const barrier = await attacker.command('leave');
    if (barrier !== 'closed') wellFormedAck('leave', barrier);
    for (const [id, event] of sentEvents) {
      const frame = attacker.frames.find((f) => f.startsWith(`43${id}[`));
      if (frame) wellFormedAck(event, JSON.parse(frame.slice(`43${id}`.length)) as unknown[]);
    }

    // The victim's own ack comes after every relay written to it; it must never be cut off.
    expectAck(wellFormedAck('leave', ackOrThrow(await victim.command('leave'))), { ok: true, status: 'idle' });
    for (const signal of victim.events('signal')) {
      const parsed = signalSchema().safeParse(signal);
      const sent = sentSignals.some((candidate) => JSON.stringify(candidate) === JSON.stringify(signal));
      if (!parsed.success || !fitsLimits(parsed.data, LIMITS) || !sent) {
        throw new Error(`the victim received ${JSON.stringify(signal).slice(0, 200)}`);
      }
    }
  } finally {
    victim.close();
    attacker.close();
  }
}

/** Writes one frame, remembering which ack ids belong to which event and which signals went out. */
function writeFrame(
  raw: RawConnection,
  frame: RawFrame,
  sentEvents: Map<number, string>,
  sentSignals: unknown[],
): void {
  if (frame.kind !== 'packet') {
    raw.send(frame.kind === 'text' ? frame.text : Buffer.from(frame.bytes));
    return;
  }
  const id = raw.nextAckId();
  raw.send(renderPacket(frame, id));
  const event = parsedEvent(frame.body);
  if (frame.type === '2' && event) {
    if (frame.withId && frame.attachments === undefined && (frame.nsp ?? '/') === '/') sentEvents.set(id, event[0]);
    if (event[0] === 'signal') sentSignals.push(event[1]);
  }
}

function parsedEvent(body: string): [string, unknown] | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) && typeof parsed[0] === 'string' ? [parsed[0], parsed[1]] : undefined;
  } catch {
    return undefined;
  }
}

function ackOrThrow(ack: unknown[] | 'closed'): unknown[] {
  if (ack === 'closed') throw new Error('a well-behaved raw client was disconnected');
  return ack;
}

describe('with Redis', () => {
  let redis: RedisServer | undefined;
  let stores = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  describeFuzzSuite(
    'redis',
    async () => {
      if (!redis) throw new Error('redis-server did not start');
      return createRedisStore(redis.url, { prefix: `fuzz${++stores}:`, leaseMs: 10_000, outbox: LIFTED_OUTBOX });
    },
    { mix: 150, oversize: 6, churn: 60, flood: 4 },
  );
});
