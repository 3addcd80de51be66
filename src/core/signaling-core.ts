import type { AutoJoin, BotGate } from '../botgate/bot-gate.js';
import { bannedBody, type ErrorBody, ErrorCode, ProtocolError, StoreUnavailableError } from '../protocol/errors.js';
import type { Ack, Command, CommandResults, LeaveReason, Signal } from '../protocol/messages.js';
import {
  type PayloadLimits,
  parseAck,
  parseEmpty,
  parsePreferences,
  parseProof,
  parseReport,
  parseSignal,
} from '../protocol/validate.js';
import {
  type Attached,
  type EnqueueResult,
  type FiledReport,
  type MatchPreferences,
  type Outgoing,
  type PairingStore,
  partnerOf,
  type RelayResult,
  type SessionId,
  type SignalOrder,
  type Subject,
} from '../store/pairing-store.js';
import type { Delivery } from './delivery.js';
import { type SignalingObserver, silentObserver } from './observer.js';

/**
 * What the trust-and-safety side hears from the core, after each command's answer is decided
 * (src/safety: the report webhook and automatic bans). Must not throw; not awaited.
 */
export interface SafetyHooks {
  /** A report was filed. */
  reported(filed: FiledReport): void;
  /** A session skipped a partner (`next`, `block`): what the skip-rate ban counts. */
  skipped(session: SessionId): void;
}

export interface CoreOptions {
  store: PairingStore;
  delivery: Delivery;
  limits: PayloadLimits;
  /** The transport's own limit on a signal, checked before it is relayed (API Gateway's message size). */
  checkSignal?: (signal: Signal) => void;
  /** How long a session whose connection dropped keeps its pair and outbox, waiting to be resumed. */
  resumeGraceMs: number;
  /** How long a client with interests waits for a shared one before anyone will do, unless it says (MATCH_FALLBACK_MS). Default 10 s. */
  matchFallbackMs?: number;
  /** Told about pairs, relays and refusals, for logs and metrics. */
  observer?: SignalingObserver;
  /** Told about reports and skips (the webhook, automatic bans: src/safety). */
  safety?: SafetyHooks;
  /** The bot gate (BOT_GATE): a session proves itself with `proof` before it may join. None: no gate. */
  botGate?: BotGate | undefined;
  /** Where unexpected faults are reported; they reach the client only as INTERNAL. */
  onInternalError?: (error: unknown, context: { command: string; session: SessionId }) => void;
}

type Handler<C extends Command> = (session: SessionId, payload: unknown) => Promise<CommandResults[C]>;

/** What the bot gate holds back until the session proved itself: everything that pairs it. */
const GATED: ReadonlySet<Command> = new Set(['join', 'next', 'block']);

const OK_SIGNAL: Ack = Object.freeze({ ok: true as const });

/**
 * Matchmaking and relay rules, and nothing else: no sockets, no HTTP, no Lambda. A transport
 * feeds it (session, command, untrusted payload) and it answers with an acknowledgement. The
 * store decides every outcome and appends the events it causes to the sessions' outboxes in the
 * same atomic step; the core hands those events to the Delivery port and remembers nothing itself
 * (so any instance can serve any command, and nothing an instance holds can outlive the store's
 * truth).
 */
export class SignalingCore {
  readonly #store: PairingStore;
  readonly #delivery: Delivery;
  readonly #limits: PayloadLimits;
  readonly #checkSignal: NonNullable<CoreOptions['checkSignal']>;
  readonly #onInternalError: NonNullable<CoreOptions['onInternalError']>;
  readonly #resumeGraceMs: number;
  readonly #observer: SignalingObserver;
  readonly #matchFallbackMs: number;
  readonly #safety: SafetyHooks | undefined;
  readonly #botGate: BotGate | undefined;

  /** The registry: command name → handler. */
  readonly #commands: { [C in Command]: Handler<C> } = {
    join: (session, payload) => this.#join(session, payload),
    // Never reached: `handle` sends `signal` down the hot path (relayNow).
    signal: async () => ({}),
    next: (session, payload) => this.#next(session, payload),
    leave: (session, payload) => this.#leave(session, payload),
    ack: (session, payload) => this.#ack(session, payload),
    block: (session, payload) => this.#block(session, payload),
    report: (session, payload) => this.#report(session, payload),
    proof: async (session, payload) => {
      await this.#prove(session, payload);
      return {};
    },
  };

  constructor(options: CoreOptions) {
    this.#store = options.store;
    this.#delivery = options.delivery;
    this.#limits = options.limits;
    this.#checkSignal = options.checkSignal ?? (() => {});
    this.#onInternalError = options.onInternalError ?? (() => {});
    this.#resumeGraceMs = options.resumeGraceMs;
    this.#observer = options.observer ?? silentObserver;
    this.#matchFallbackMs = options.matchFallbackMs ?? 10_000;
    this.#safety = options.safety;
    this.#botGate = options.botGate;
  }

  /** Runs one command; never throws: every outcome, good or bad, is an acknowledgement. */
  async handle<C extends Command>(command: C, session: SessionId, payload: unknown): Promise<Ack<CommandResults[C]>> {
    if (command === 'signal') return (await this.relayNow(session, payload)) as Ack<CommandResults[C]>;
    try {
      if (this.#botGate && GATED.has(command)) await this.#requireProof(this.#botGate, session);
      const result = await (this.#commands[command] as Handler<C>)(session, payload);
      return command === 'ack' ? (OK_SIGNAL as Ack<CommandResults[C]>) : { ok: true, ...result };
    } catch (error) {
      return this.#refused(error, command, session);
    }
  }

  /**
   * `proof`, for a transport that joins for its client when the challenge says the automatic join
   * waits for it (`join`): the acknowledgement, whether to join now, and the preferences the
   * challenge kept for that join (API Gateway's `resume` gave them to another invocation).
   */
  async prove(
    session: SessionId,
    payload: unknown,
  ): Promise<{ ack: Ack; join: boolean; preferences?: Record<string, unknown> }> {
    try {
      return { ack: OK_SIGNAL, ...(await this.#prove(session, payload)) };
    } catch (error) {
      return { ack: this.#refused(error, 'proof', session), join: false };
    }
  }

  /**
   * The challenge a connection names in its `session` event: none without the gate, or when the
   * session proved itself already (a resumed one; a `fresh` one never has). `join`: the automatic
   * join the transport would make waits for the proof instead, with `preferences` (kept in the
   * challenge: normalised when valid, else as given, so that the join refuses them as it would).
   */
  async challengeFor(
    session: SessionId,
    options: { join: boolean; fresh: boolean; preferences?: unknown },
  ): Promise<string | undefined> {
    if (!this.#botGate) return undefined;
    if (!options.fresh && (await this.#botGate.isVerified(session))) return undefined;
    const preferences = options.join ? keptPreferences(options.preferences) : undefined;
    return this.#botGate.challenge(session, preferences ? { join: options.join, preferences } : { join: options.join });
  }

  // -------------------------------------------------------------------------------------------
  // Session lifecycle, driven by the transport

  /** A new connection: registers a fresh session (idle until it joins), behind `subject` (docs/security.md). */
  connect(session: SessionId, subject?: Subject): Promise<Attached | null> {
    return this.#store.attach(session, subject === undefined ? { resume: false } : { resume: false, subject });
  }

  /**
   * A connection that claims an earlier session (after a network drop, a restart or a crash),
   * having processed its events up to `after`. Returns where the session stands and what it
   * missed, or null when it is lost (expired, overflowed or never known).
   */
  resume(session: SessionId, after: number, subject?: Subject): Promise<Attached | null> {
    return this.#store.attach(
      session,
      subject === undefined ? { resume: true, after } : { resume: true, after, subject },
    );
  }

  /** The connection dropped without a goodbye: keep the pair and outbox for the grace period, leave the queue. */
  async detach(session: SessionId): Promise<void> {
    try {
      await this.#store.detach(session, this.#resumeGraceMs);
    } catch (error) {
      this.#onInternalError(error, { command: 'detach', session });
    }
  }

  /** The client said goodbye: take it off the queue, end its pair at once, forget it. */
  async disconnect(session: SessionId): Promise<void> {
    try {
      await this.#store.dequeue(session);
      await this.#endPair(session, 'disconnect');
      await this.#store.release(session);
    } catch (error) {
      this.#onInternalError(error, { command: 'disconnect', session });
    }
  }

  /**
   * Called periodically with the sessions connected to this process: renews their leases, tells
   * each one whose partner is gone for good (grace or lease expired, or lost) that its partner
   * left, closes the ones the store lost, and lets every connection catch up with its outbox.
   */
  async heartbeat(sessions: SessionId[]): Promise<void> {
    const beat = await this.#store.heartbeat(sessions);
    // Neither renewed nor lost: detached or taken up by another instance since (its client came
    // back elsewhere before this connection's drop was noticed). Not this process's any more, so
    // the connection here is over, as for a lost one; the session itself lives on where it is.
    const gone = sessions.filter((session) => !beat.lastSeq.has(session));
    if (gone.length > 0) await this.#delivery.lost(gone);
    for (const session of beat.orphans) {
      const ended = await this.#store.unpair(session, 'disconnect', { tell: 'self' });
      if (!ended) continue;
      this.#observer.pairEnded(ended.pair, 'disconnect');
      await this.#deliver(ended.events);
    }
    // Waiting sessions whose fallback passed meet anyone now, even if nobody joins (the store has no timers).
    await this.rematch(beat.due);
    this.#delivery.catchUp(beat.lastSeq);
  }

  /**
   * Matches these waiting sessions again, in order, now that their fallback has passed (the
   * heartbeat's `due`, or those API Gateway's sweep claimed): each is paired with the longest-waiting
   * compatible session that accepts anyone, if there is one, and both hear `paired`; the rest keep
   * their place. A session whose own outbox is full is lost, and its connection told.
   */
  async rematch(sessions: readonly SessionId[]): Promise<void> {
    for (const session of sessions) {
      const rematched = await this.#store.rematch(session);
      if (rematched.status === 'lost') await this.#delivery.lost([session]);
      if (rematched.status !== 'paired') continue;
      this.#observer.paired(rematched.pair);
      await this.#deliver(rematched.events);
    }
  }

  /**
   * Whether a client behind `subject` may connect: the BANNED refusal when its subject is banned,
   * else null. A store that cannot answer lets it through: connecting needs the store anyway.
   */
  async admit(subject: Subject): Promise<ErrorBody | null> {
    const ban = await this.#store.banOf(subject).catch(() => null);
    return ban ? bannedBody(ban) : null;
  }

  /** The BANNED refusal when the subject behind `session` is banned now, else null (API Gateway's keep-alive asks). */
  async bannedSession(session: SessionId): Promise<ErrorBody | null> {
    const ban = await this.#store.banOfSession(session);
    return ban ? bannedBody(ban) : null;
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  /**
   * join, next, block and report: refused BANNED while the session's subject is banned. A store
   * that cannot answer in time lets the command go on to its own store step, which has its own
   * answer for an outage (a join's kept reply): bans are also enforced at connection and by
   * disconnecting, so a check missed in a stall is not a way in.
   */
  async #refuseBanned(session: SessionId): Promise<void> {
    const ban = await this.#store.banOfSession(session).catch((error: unknown) => {
      if (error instanceof StoreUnavailableError) return null;
      throw error;
    });
    if (ban) {
      const body = bannedBody(ban);
      throw new ProtocolError(body.code, body.message, body.retryAfterMs);
    }
  }

  async #join(session: SessionId, payload: unknown): Promise<CommandResults['join']> {
    const preferences = this.#preferences(payload, 'join');
    await this.#refuseBanned(session);
    return this.#settle(session, await this.#store.enqueue(session, preferences));
  }

  /** A command's matchmaking preferences, validated (INVALID_PAYLOAD before anything changes), with the server's default fallback. */
  #preferences(payload: unknown, command: string): MatchPreferences {
    const { interests, lang, fallbackMs = this.#matchFallbackMs } = parsePreferences(payload, command);
    return { interests, lang, fallbackMs };
  }

  /**
   * The relay hot path, `signal` itself: where the store answers at once (the memory store) and
   * delivery writes locally, the signal is checked, appended, written to the partner and acked in
   * the caller's turn, with no promise on the way; otherwise the acknowledgement comes as a
   * promise. Never throws, like `handle`: the caller runs inside the transport's event dispatch,
   * where a throw would take the process down. The caller must have nothing of this session's
   * still running, or the relay would overtake it, unless the signal comes with its place in the
   * sender's order (`order`, API Gateway), which the store keeps instead.
   */
  relayNow(session: SessionId, payload: unknown, order?: SignalOrder): Ack | Promise<Ack> {
    const ack = this.#relayOnce(session, payload, order);
    if (!order) return ack;
    return ack instanceof Promise
      ? ack.then((done) => this.#passTurnIfRefused(session, order, done))
      : this.#passTurnIfRefused(session, order, ack);
  }

  /**
   * Signal `cseq` of `session` was refused before it reached the core (a budget, a full queue):
   * its turn passes, so its successors are not held for it (PairingStore.skipSignal). Not for a
   * refusal that asks the client to retry (UNAVAILABLE, INTERNAL): the retry takes the turn.
   */
  async passSignalTurn(session: SessionId, cseq: number, code: ErrorCode): Promise<void> {
    if (code === ErrorCode.UNAVAILABLE || code === ErrorCode.INTERNAL) return;
    try {
      await this.#store.skipSignal(session, cseq);
    } catch (error) {
      this.#onInternalError(error, { command: 'signal', session });
    }
  }

  #passTurnIfRefused(session: SessionId, order: SignalOrder, ack: Ack): Ack | Promise<Ack> {
    // A signal the store relayed or refused has taken its turn already; one refused before it
    // (malformed, too large) has not.
    return ack.ok ? ack : this.passSignalTurn(session, order.cseq, ack.error.code).then(() => ack);
  }

  #relayOnce(session: SessionId, payload: unknown, order: SignalOrder | undefined): Ack | Promise<Ack> {
    try {
      const signal: Signal = parseSignal(payload, this.#limits);
      this.#checkSignal(signal);
      const result = this.#store.relay(session, signal, order);
      return result instanceof Promise
        ? result.then(
            (answer) => this.#relayed(session, answer, signal),
            (error: unknown) => this.#refused(error, 'signal', session),
          )
        : this.#relayed(session, result, signal);
    } catch (error) {
      return this.#refused(error, 'signal', session);
    }
  }

  /** The acknowledgement of a relay the store has decided, once its events are handed over. */
  #relayed(session: SessionId, result: RelayResult, signal: Signal): Ack | Promise<Ack> {
    try {
      switch (result.status) {
        case 'relayed': {
          this.#observer.relayed(signal.type);
          const written = this.#delivery.deliver([result.event]);
          return written ? written.then(() => OK_SIGNAL) : OK_SIGNAL;
        }
        // A retry of a signal whose turn was taken before (its ack was lost with a connection):
        // nothing more happens to it.
        case 'duplicate':
          return OK_SIGNAL;
        case 'not-paired':
          throw new ProtocolError(ErrorCode.NOT_PAIRED, 'signal needs a partner: wait for paired');
        case 'partner-gone': {
          this.#observer.pairEnded(result.pair, 'disconnect');
          const gone = new ProtocolError(ErrorCode.NOT_PAIRED, 'your partner stopped receiving and is gone');
          // The partner's session is over: its connection, if it is here, closes now rather than at
          // the next heartbeat, and nothing more is held for it.
          const closed = this.#delivery.lost([partnerOf(result.pair, session)]);
          const written = this.#delivery.deliver(result.events);
          const done = () => this.#refused(gone, 'signal', session);
          return closed || written ? Promise.all([closed, written]).then(done) : done();
        }
      }
    } catch (error) {
      return this.#refused(error, 'signal', session);
    }
  }

  #refused(error: unknown, command: string, session: SessionId): Ack {
    const body = this.#toErrorBody(error, command, session);
    this.#observer.refused(command, body.code);
    return { ok: false, error: body };
  }

  async #next(session: SessionId, payload: unknown): Promise<CommandResults['next']> {
    const preferences = this.#preferences(payload, 'next');
    await this.#refuseBanned(session);
    this.#tellSafety('next', session, (safety) => safety.skipped(session));
    await this.#endPair(session, 'next');
    return this.#requeue(session, preferences);
  }

  /**
   * Ends the pair like `next` (the partner is told "next", nothing more) and never pairs the two
   * again while both sessions live; then queues the caller. Without a partner: NOT_PAIRED, nothing changed.
   */
  async #block(session: SessionId, payload: unknown): Promise<CommandResults['block']> {
    const preferences = this.#preferences(payload, 'block');
    await this.#refuseBanned(session);
    const ended = await this.#store.unpair(session, 'next', { tell: 'partner', block: true });
    if (!ended) throw new ProtocolError(ErrorCode.NOT_PAIRED, 'block needs a partner: it blocks the current one');
    this.#tellSafety('block', session, (safety) => safety.skipped(session));
    this.#observer.pairEnded(ended.pair, 'next');
    await this.#deliver(ended.events);
    return this.#requeue(session, preferences);
  }

  /**
   * Reports the partner of `room` (current, or ended within the report window): the store keeps the
   * report, blocks the partner for the caller and ends a current pair like `block` (the partner
   * hears "next"); the caller is not queued again. Then `onReport` hears of it, off the ack's path.
   */
  async #report(session: SessionId, payload: unknown): Promise<CommandResults['report']> {
    const { room, reason, details, evidence } = parseReport(payload);
    await this.#refuseBanned(session);
    const result = await this.#store.fileReport(session, {
      room,
      reason,
      details: details ?? null,
      evidence: evidence ?? null,
    });
    if (result.status === 'not-in-room') {
      throw new ProtocolError(ErrorCode.NOT_IN_ROOM, 'report names a room you are in or were in a moment ago');
    }
    if (result.status === 'already-reported') {
      throw new ProtocolError(ErrorCode.ALREADY_REPORTED, 'you have reported this room already');
    }
    if (result.ended) {
      this.#observer.pairEnded(result.ended.pair, 'next');
      await this.#deliver(result.ended.events);
    }
    this.#tellSafety('report', session, (safety) => safety.reported(result));
    return { reportId: result.report.id };
  }

  /** Hands something to the safety hooks after the command's answer is decided: they never delay or fail it. */
  #tellSafety(command: string, session: SessionId, tell: (safety: SafetyHooks) => void): void {
    const safety = this.#safety;
    if (!safety) return;
    queueMicrotask(() => {
      try {
        tell(safety);
      } catch (error) {
        this.#onInternalError(error, { command, session });
      }
    });
  }

  /** Queues a session that may have been in a pair a moment ago (`next`, `block`). */
  async #requeue(session: SessionId, preferences: MatchPreferences): Promise<{ status: 'waiting' | 'paired' }> {
    const result = await this.#store.enqueue(session, preferences);
    // `next` while already waiting keeps the place in the queue.
    if (result.status === 'already-waiting') return { status: 'waiting' };
    // A waiting caller can be matched by someone else's join between the two steps above; that
    // join announced the pair, so the caller is simply paired.
    if (result.status === 'already-paired') return { status: 'paired' };
    return this.#settle(session, result);
  }

  /** Without a gate there is nothing to prove: a well-formed proof is acknowledged and changes nothing. */
  async #prove(session: SessionId, payload: unknown): Promise<AutoJoin> {
    if (this.#botGate) return this.#botGate.prove(session, payload);
    parseProof(payload);
    return { join: false };
  }

  async #requireProof(gate: BotGate, session: SessionId): Promise<void> {
    if (await gate.isVerified(session)) return;
    throw new ProtocolError(
      ErrorCode.PROOF_REQUIRED,
      'the bot gate is on: answer the challenge with proof first',
      undefined,
      gate.challenge(session, { join: false }),
    );
  }

  async #leave(session: SessionId, payload: unknown): Promise<CommandResults['leave']> {
    parseEmpty(payload, 'leave');
    await this.#store.dequeue(session);
    await this.#endPair(session, 'leave');
    this.#delivery.idle(session);
    return { status: 'idle' };
  }

  async #ack(session: SessionId, payload: unknown): Promise<CommandResults['ack']> {
    await this.#store.acknowledge(session, parseAck(payload));
    return {};
  }

  /** Hands over the events enqueueing appended, and answers with where the session now stands. */
  async #settle(session: SessionId, result: EnqueueResult): Promise<{ status: 'waiting' | 'paired' }> {
    switch (result.status) {
      case 'waiting':
        await this.#deliver(result.events);
        return { status: 'waiting' };
      case 'paired':
        this.#observer.paired(result.pair);
        await this.#deliver(result.events);
        return { status: 'paired' };
      case 'already-waiting':
        throw new ProtocolError(ErrorCode.ALREADY_WAITING, 'already waiting for a partner');
      case 'already-paired':
        throw new ProtocolError(ErrorCode.ALREADY_PAIRED, 'already paired: send next for a new partner');
      case 'lost':
        await this.#delivery.lost([session]);
        throw new ProtocolError(ErrorCode.SESSION_LOST, 'this session is over: connect again for a new one');
    }
  }

  /** Ends the session's pair, if any, and tells the partner at once. The partner is not re-queued. */
  async #endPair(session: SessionId, reason: LeaveReason): Promise<void> {
    const ended = await this.#store.unpair(session, reason);
    if (!ended) return;
    this.#observer.pairEnded(ended.pair, reason);
    await this.#deliver(ended.events);
  }

  /**
   * Hands events to the transport, waiting only when it has to (API Gateway's remote writes):
   * a local write needs no extra turn, and none is given to anything else in between.
   */
  async #deliver(events: readonly Outgoing[]): Promise<void> {
    const written = this.#delivery.deliver(events);
    if (written) await written;
  }

  #toErrorBody(error: unknown, command: string, session: SessionId): ErrorBody {
    if (error instanceof ProtocolError) return error.toBody();
    if (error instanceof StoreUnavailableError) {
      return {
        code: ErrorCode.UNAVAILABLE,
        message: 'pairing is unavailable right now; retry shortly',
      };
    }
    this.#onInternalError(error, { command, session });
    return { code: ErrorCode.INTERNAL, message: 'internal error' };
  }
}

/** What a challenge keeps of an automatic join's preferences: normalised when valid, else as given (the join refuses them). */
function keptPreferences(given: unknown): Record<string, unknown> | undefined {
  if (given === undefined || given === null || typeof given !== 'object') return undefined;
  try {
    return { ...parsePreferences(given, 'join') };
  } catch {
    return given as Record<string, unknown>;
  }
}
