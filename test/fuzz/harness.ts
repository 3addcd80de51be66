/**
 * Clients for the fuzz properties: each keeps one timeline of what it received (events and its
 * own acks, in arrival order), so the properties can reconstruct who was paired with whom when
 * every signal arrived, and check that it came from that partner, valid and acknowledged.
 */
import { isDeepStrictEqual } from 'node:util';
import type { PairedPayload, PartnerLeftPayload, Signal } from '../../src/protocol/messages.js';
import { signalSchema } from '../../src/protocol/schemas.js';
import { answerSdp, candidate, endOfCandidates, offerSdp } from '../fixtures/webrtc.js';
import type { RecordingClient, TestServer } from '../helpers/server.js';
import type { HostileCommand, SizeLimits } from './arbitraries.js';
import { fitsLimits, onTheWire, type WireAck, wellFormedAck } from './oracle.js';

/** Longest a well-behaved server may take to answer one command here; longer is a hang. */
export const ACK_TIMEOUT_MS = 5000;

export type TimelineEntry =
  | { kind: 'event'; event: string; payload: unknown }
  | { kind: 'ack'; event: string; ack: WireAck };

/** A signal this client emitted, as the server saw it, and what became of it. */
export interface SentSignal {
  payload: unknown;
  /** unknown: no ack came back (emitted without one, or the connection closed first). */
  outcome: 'pending' | 'ok' | 'refused' | 'unknown';
}

/** unsendable: socket.io-client's own encoder threw (it cannot encode every JavaScript value). */
export type Outcome =
  | { kind: 'ack'; ack: WireAck }
  | { kind: 'disconnected' }
  | { kind: 'no-ack' }
  | { kind: 'unsendable' };

export class FuzzClient {
  readonly timeline: TimelineEntry[];
  readonly sent: SentSignal[] = [];
  disconnectReason: string | undefined;

  constructor(
    readonly name: string,
    readonly client: RecordingClient,
  ) {
    // Whatever arrived before this wrapper existed (session, waiting, paired) comes first.
    this.timeline = client.received.map(({ event, payload }) => ({ kind: 'event', event, payload }));
    client.socket.onAny((event: string, payload: unknown) => this.timeline.push({ kind: 'event', event, payload }));
    client.socket.on('disconnect', (reason) => {
      this.disconnectReason = reason;
    });
  }

  get connected(): boolean {
    return this.client.socket.connected;
  }

  /** The pair this client is in by what it has been told so far, or null. */
  get room(): string | null {
    return roomsAlong(this).at(-1) ?? null;
  }

  /** Emits one command; resolves with its ack (checked well-formed), or how it went missing. Rejects on a hang. */
  send(command: HostileCommand, timeoutMs = ACK_TIMEOUT_MS): Promise<Outcome> {
    let record: SentSignal | undefined;
    try {
      // A one-argument `signal` may be relayed: remember it as the server will see it.
      if (command.event === 'signal' && command.args.length === 1) {
        record = { payload: onTheWire(command.args)[0], outcome: 'pending' };
        this.sent.push(record);
      }
      this.#emit(command, record, timeoutMs);
    } catch (encoderError) {
      // socket.io-client cannot encode every JavaScript value (a Date under an own `__proto__` key
      // in a packet with attachments throws before anything is written): nothing for the server to judge.
      if (!(encoderError instanceof TypeError || encoderError instanceof RangeError)) throw encoderError;
      if (record) this.sent.splice(this.sent.indexOf(record), 1);
      return Promise.resolve({ kind: 'unsendable' });
    }
    return this.#pending.get(record ?? command) ?? Promise.resolve({ kind: 'no-ack' });
  }

  /** Outcomes of emitted commands, by their record (or the command when nothing is recorded). */
  readonly #pending = new WeakMap<object, Promise<Outcome>>();

  /** Emits synchronously (so an encoder error surfaces in `send`) and files the outcome's promise. */
  #emit(command: HostileCommand, record: SentSignal | undefined, timeoutMs: number): void {
    const { event, args } = command;
    const key = record ?? command;
    if (!this.connected) {
      if (record) record.outcome = 'unknown';
      this.#pending.set(key, Promise.resolve({ kind: 'disconnected' }));
      return;
    }
    // Numbers are legal event names on the wire; socket.io-client's types only say string.
    const name = event as string;
    if (!command.withAck) {
      this.client.socket.emit(name, ...args);
      if (record) record.outcome = 'unknown';
      return;
    }
    let settle: (outcome: Outcome) => void = () => {};
    let fail: (error: Error) => void = () => {};
    this.#pending.set(
      key,
      new Promise<Outcome>((resolve, reject) => {
        settle = resolve;
        fail = reject;
      }),
    );
    this.client.socket.timeout(timeoutMs).emit(name, ...args, (error: Error | null, ...response: unknown[]) => {
      if (error) {
        if (!/disconnected/.test(error.message)) {
          fail(new Error(`hang: no ack within ${timeoutMs} ms from ${this.name} for ${describeCommand(command)}`));
          return;
        }
        if (record) record.outcome = 'unknown';
        settle({ kind: 'disconnected' });
        return;
      }
      try {
        const ack = wellFormedAck(event, response);
        this.timeline.push({ kind: 'ack', event: String(event), ack });
        if (record) record.outcome = ack.ok ? 'ok' : 'refused';
        settle({ kind: 'ack', ack });
      } catch (malformed) {
        fail(malformed instanceof Error ? malformed : new Error(String(malformed)));
      }
    });
  }

  /** A well-formed command that must be answered: its ack, or an error if the connection is gone. */
  async command(event: 'join' | 'next' | 'leave' | 'signal', payload?: Signal): Promise<WireAck> {
    const outcome = await this.send({ event, args: payload === undefined ? [] : [payload], withAck: true });
    if (outcome.kind !== 'ack') throw new Error(`${this.name} lost its connection during ${event}`);
    return outcome.ack;
  }

  /** Every payload of `event` received so far. */
  all(event: string): unknown[] {
    return this.timeline.flatMap((entry) => (entry.kind === 'event' && entry.event === event ? [entry.payload] : []));
  }

  /** Resolves once `count` signals have arrived. */
  async signalsReceived(count: number): Promise<void> {
    if (count > 0) await this.client.nth('signal', count - 1, ACK_TIMEOUT_MS);
  }
}

/** A short, bounded description of a command for failure messages. */
export function describeCommand(command: HostileCommand): string {
  const text = JSON.stringify(
    command.args.map((arg) => (ArrayBuffer.isView(arg) ? `<binary ${arg.byteLength}>` : arg)),
  );
  return `${JSON.stringify(command.event)}(${(text ?? '').slice(0, 200)})`;
}

/** Connects a client and wraps it. */
export async function fuzzClient(server: TestServer, name: string): Promise<FuzzClient> {
  return new FuzzClient(name, await server.connect());
}

/** Two fresh clients paired with each other, initiator first (explicit joins, or AUTO_JOIN on connect). */
export async function pairOf(server: TestServer, name: string, autoJoin: boolean): Promise<[FuzzClient, FuzzClient]> {
  const first = await fuzzClient(server, `${name}.initiator`);
  if (autoJoin) await first.client.first('waiting');
  else expectAck(await first.command('join'), { ok: true, status: 'waiting' });
  const second = await fuzzClient(server, `${name}.polite`);
  if (!autoJoin) expectAck(await second.command('join'), { ok: true, status: 'paired' });
  const [a, b] = await Promise.all([first.client.first('paired'), second.client.first('paired')]);
  if (a.room !== b.room || !a.initiator || b.initiator) throw new Error(`${name} did not pair as expected`);
  return [first, second];
}

export function expectAck(actual: WireAck, expected: WireAck): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`expected ack ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/**
 * A pair minding its own business next to the attack: each round is a full handshake (offer,
 * answer, trickled candidates, end-of-candidates, both ways), every message unique to its round.
 * It must arrive exact and in order, with nothing else in between, and the pair must never end.
 */
export class Bystanders {
  readonly #fromInitiator: Signal[] = [];
  readonly #fromPolite: Signal[] = [];
  #round = 0;

  constructor(
    readonly initiator: FuzzClient,
    readonly polite: FuzzClient,
  ) {}

  static async pair(server: TestServer, autoJoin: boolean): Promise<Bystanders> {
    const [initiator, polite] = await pairOf(server, 'bystander', autoJoin);
    return new Bystanders(initiator, polite);
  }

  async handshake(): Promise<void> {
    const round = ++this.#round;
    const tag = `a=x-round:${round}\r\n`;
    const fromInitiator: Signal[] = [
      { type: 'offer', sdp: `${offerSdp}${tag}` },
      candidate(round * 10 + 1),
      candidate(round * 10 + 2),
      endOfCandidates,
    ];
    const fromPolite: Signal[] = [
      { type: 'answer', sdp: `${answerSdp}${tag}` },
      candidate(round * 10 + 5, 'p9Qe'),
      candidate(round * 10 + 6, 'p9Qe'),
      endOfCandidates,
    ];
    // Both sides have received the same number of signals before each round (all rounds are symmetric).
    const checked = {
      signals: this.#fromInitiator.length,
      entries: Math.min(this.initiator.timeline.length, this.polite.timeline.length),
    };
    const offerArrives = this.polite.signalsReceived(this.#fromInitiator.length + 1);
    this.#fromInitiator.push(...fromInitiator);
    this.#fromPolite.push(...fromPolite);
    await Promise.all([
      this.#sendAll(this.initiator, fromInitiator),
      // The polite side answers only once the offer is there, as a browser would.
      offerArrives.then(() => this.#sendAll(this.polite, fromPolite)),
    ]);
    await Promise.all([
      this.polite.signalsReceived(this.#fromInitiator.length),
      this.initiator.signalsReceived(this.#fromPolite.length),
    ]);
    this.assertUntouched(checked);
  }

  /**
   * Exactly the handshakes so far, in order, byte for byte; no partner-left, no second paired, no
   * error. `from` skips what an earlier call already checked (each round checks only its own).
   */
  assertUntouched(from = { signals: 0, entries: 0 }): void {
    for (const [side, expected] of [
      [this.polite, this.#fromInitiator],
      [this.initiator, this.#fromPolite],
    ] as const) {
      const received = side.all('signal');
      if (received.length !== expected.length) {
        throw new Error(`${side.name} received ${received.length} signals, ${expected.length} were sent`);
      }
      for (let i = from.signals; i < expected.length; i++) {
        if (JSON.stringify(received[i]) !== JSON.stringify(expected[i])) {
          throw new Error(
            `${side.name}'s signal #${i} is not the one sent: ${JSON.stringify(received[i]).slice(0, 200)}`,
          );
        }
      }
      const intruders = side.timeline
        .slice(from.entries)
        .filter((entry) => entry.kind === 'event' && !['session', 'waiting', 'paired', 'signal'].includes(entry.event));
      if (intruders.length > 0 || side.all('paired').length !== 1) {
        throw new Error(`${side.name} was disturbed: ${JSON.stringify(intruders).slice(0, 300)}`);
      }
    }
  }

  async #sendAll(side: FuzzClient, signals: Signal[]): Promise<void> {
    const acks = await Promise.all(signals.map((signal) => side.command('signal', signal)));
    for (const ack of acks) expectAck(ack, { ok: true });
  }
}

/** A signal as it arrived, and the pair (room) the receiver was in at that moment. */
interface Arrival {
  room: string | null;
  payload: unknown;
}

/**
 * Walks one timeline tracking the client's current pair: set by `paired`, cleared by `waiting`,
 * by a `partner-left` for that pair and by the client's own accepted `leave`. Returns the pair at
 * each entry (one element per entry); `onSignal` sees every signal with the pair it arrived in.
 */
function roomsAlong(client: FuzzClient, onSignal?: (arrival: Arrival) => void): (string | null)[] {
  let room: string | null = null;
  return client.timeline.map((entry) => {
    if (entry.kind === 'ack') {
      if (entry.event === 'leave' && entry.ack.ok) room = null;
    } else if (entry.event === 'paired') room = (entry.payload as PairedPayload).room;
    else if (entry.event === 'waiting') room = null;
    else if (entry.event === 'partner-left') {
      if ((entry.payload as PartnerLeftPayload).room === room) room = null;
    } else if (entry.event === 'signal')
      onSignal?.({ room: room ?? upcomingRoom(client.timeline, entry), payload: entry.payload });
    return room;
  });
}

/**
 * The pair a client is about to be told about. The server joins both sides to the pair's channel
 * before it sends them `paired`, so a partner that signals without waiting for its own `paired`
 * (no well-behaved client does) can reach the other side just before that side's `paired`. It is
 * still the partner: the signal belongs to the pair announced next, if nothing else comes first.
 */
function upcomingRoom(timeline: TimelineEntry[], signal: TimelineEntry): string | null {
  for (const entry of timeline.slice(timeline.indexOf(signal) + 1)) {
    if (entry.kind !== 'event' || entry.event === 'signal') continue;
    return entry.event === 'paired' ? (entry.payload as PairedPayload).room : null;
  }
  return null;
}

/** Every signal the client received, with its pair; a `partner-left` must name a pair it had. */
function arrivals(client: FuzzClient): Arrival[] {
  const rooms = new Set(client.all('paired').map((p) => (p as PairedPayload).room));
  for (const left of client.all('partner-left')) {
    if (!rooms.has((left as PartnerLeftPayload).room)) {
      throw new Error(`${client.name} told that a partner left a pair it never had`);
    }
  }
  const found: Arrival[] = [];
  roomsAlong(client, (arrival) => found.push(arrival));
  return found;
}

/**
 * The relay invariant over a set of clients (every member of every pair they were in must be in
 * the set): each signal any of them received is schema-valid and within the limits, arrived while
 * the receiver was paired, and is the next not-refused signal its partner in that pair sent, in
 * order and at most once. Nothing refused, nothing from a stranger, nothing twice.
 */
export function assertDeliveries(clients: FuzzClient[], limits: SizeLimits): void {
  try {
    assertDeliveriesInner(clients, limits);
  } catch (error) {
    // A violation is only understood with every client's view of the round: print them all.
    for (const client of clients) console.error(describeClient(client));
    throw error;
  }
}

/** One client's round, for a failure report: what it sent and everything it received, in order. */
function describeClient(client: FuzzClient): string {
  const short = (value: unknown) => JSON.stringify(value)?.slice(0, 70);
  const sent = client.sent.map((signal) => `${short(signal.payload)} → ${signal.outcome}`);
  const received = client.timeline.map((entry) =>
    entry.kind === 'ack' ? `ack ${entry.event}: ${short(entry.ack)}` : `${entry.event}: ${short(entry.payload)}`,
  );
  return `${client.name}\n  sent:\n    ${sent.join('\n    ')}\n  timeline:\n    ${received.join('\n    ')}`;
}

function assertDeliveriesInner(clients: FuzzClient[], limits: SizeLimits): void {
  const members = new Map<string, Set<FuzzClient>>();
  for (const client of clients) {
    for (const paired of client.all('paired')) {
      const room = (paired as PairedPayload).room;
      members.set(room, (members.get(room) ?? new Set()).add(client));
    }
  }
  for (const receiver of clients) {
    const cursor = new Map<FuzzClient, number>();
    for (const { room, payload } of arrivals(receiver)) {
      const what = JSON.stringify(payload)?.slice(0, 200);
      if (room === null) throw new Error(`${receiver.name} received a signal while not paired: ${what}`);
      const parsed = signalSchema().safeParse(payload);
      if (!parsed.success || !fitsLimits(parsed.data, limits)) {
        throw new Error(`${receiver.name} received an invalid signal: ${what}`);
      }
      const pair = [...(members.get(room) ?? [])];
      const sender = pair.find((member) => member !== receiver);
      if (pair.length !== 2 || !sender) throw new Error(`pair ${room} has members ${pair.map((m) => m.name)}`);
      const from = cursor.get(sender) ?? 0;
      const index = sender.sent.findIndex(
        (sent, i) => i >= from && sent.outcome !== 'refused' && isDeepStrictEqual(sent.payload, payload),
      );
      if (index === -1) {
        const sameEver = sender.sent.flatMap((sent, i) =>
          isDeepStrictEqual(sent.payload, payload) ? [`#${i} ${sent.outcome}`] : [],
        );
        throw new Error(
          `${receiver.name} received a signal its partner ${sender.name} never sent unrefused (after #${from}; ` +
            `sent as ${sameEver.join(', ') || 'nothing like it'}): ${what}`,
        );
      }
      cursor.set(sender, index + 1);
    }
  }
}

/** The server is alive: /healthz answers and two new clients pair and relay. */
export async function assertServerServes(server: TestServer, autoJoin: boolean): Promise<void> {
  const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(ACK_TIMEOUT_MS) });
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
  const [a, b] = await pairOf(server, 'afterwards', autoJoin);
  expectAck(await a.command('signal', endOfCandidates), { ok: true });
  await b.signalsReceived(1);
  for (const client of [a, b]) client.client.close();
}
