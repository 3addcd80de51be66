import { type ErrorBody, ErrorCode, ProtocolError, StoreUnavailableError } from '../protocol/errors.js';
import type { Ack, Command, CommandResults, IceServer, LeaveReason, Signal } from '../protocol/messages.js';
import { type PayloadLimits, parseEmpty, parseSignal } from '../protocol/validate.js';
import {
  type EnqueueResult,
  type Pair,
  type PairingStore,
  partnerOf,
  type SessionId,
  type SessionState,
} from '../store/pairing-store.js';
import type { Delivery } from './delivery.js';
import { type SignalingObserver, silentObserver } from './observer.js';

export interface CoreOptions {
  store: PairingStore;
  delivery: Delivery;
  limits: PayloadLimits;
  /**
   * ICE servers handed to a session in `paired`; per session so TURN credentials can be minted per
   * user. Synchronous on purpose (a TURN REST credential is one HMAC): announcing a pair must not
   * wait, or the pair could end in the meantime and be announced after its end.
   */
  iceServers: (session: SessionId) => IceServer[];
  /** How long a session whose connection dropped keeps its pair, waiting to be resumed. */
  resumeGraceMs: number;
  /** Told about pairs, relays and refusals, for logs and metrics. */
  observer?: SignalingObserver;
  /** Where unexpected faults are reported; they reach the client only as INTERNAL. */
  onInternalError?: (error: unknown, context: { command: string; session: SessionId }) => void;
}

type Handler<C extends Command> = (session: SessionId, payload: unknown) => Promise<CommandResults[C]>;

const OK_SIGNAL: Ack = Object.freeze({ ok: true as const });

/**
 * Matchmaking and relay rules, and nothing else: no sockets, no HTTP, no Lambda. A transport
 * feeds it (session, command, untrusted payload) and it answers with an acknowledgement, talking
 * to clients only through the Delivery port and remembering nothing itself (all state is in the
 * store, so any instance can serve any command).
 */
export class SignalingCore {
  readonly #store: PairingStore;
  readonly #delivery: Delivery;
  readonly #limits: PayloadLimits;
  readonly #iceServers: CoreOptions['iceServers'];
  readonly #onInternalError: NonNullable<CoreOptions['onInternalError']>;
  readonly #resumeGraceMs: number;
  readonly #observer: SignalingObserver;

  /** The registry: command name → handler. */
  readonly #commands: { [C in Command]: Handler<C> } = {
    join: (session, payload) => this.#join(session, payload),
    signal: (session, payload) => this.#signal(session, payload),
    next: (session, payload) => this.#next(session, payload),
    leave: (session, payload) => this.#leave(session, payload),
  };

  constructor(options: CoreOptions) {
    this.#store = options.store;
    this.#delivery = options.delivery;
    this.#limits = options.limits;
    this.#iceServers = options.iceServers;
    this.#onInternalError = options.onInternalError ?? (() => {});
    this.#resumeGraceMs = options.resumeGraceMs;
    this.#observer = options.observer ?? silentObserver;
  }

  /** Runs one command; never throws: every outcome, good or bad, is an acknowledgement. */
  async handle<C extends Command>(command: C, session: SessionId, payload: unknown): Promise<Ack<CommandResults[C]>> {
    try {
      const result = await (this.#commands[command] as Handler<C>)(session, payload);
      return command === 'signal' ? (OK_SIGNAL as Ack<CommandResults[C]>) : { ok: true, ...result };
    } catch (error) {
      const body = this.#toErrorBody(error, command, session);
      this.#observer.refused(command, body.code);
      return { ok: false, error: body };
    }
  }

  /**
   * The relay hot path: a signal relayed in the caller's turn when the transport already knows the
   * sender's pair (Delivery.relayBound), without the promises `handle` costs. Returns its
   * acknowledgement, refusals included, or undefined when the store must be asked: then the caller
   * runs `handle('signal', …)` in order as usual. The caller must have nothing of this session's
   * still running, or the relay would overtake it.
   */
  relayNow(session: SessionId, payload: unknown): Ack | undefined {
    if (!this.#delivery.relayBound) return undefined;
    // Never throws, like `handle`: the caller runs inside the transport's event dispatch, where a
    // throw would take the process down.
    try {
      const signal = parseSignal(payload, this.#limits);
      if (!this.#delivery.relayBound(session, signal)) return undefined;
      this.#observer.relayed(signal.type);
      return OK_SIGNAL;
    } catch (error) {
      const body = this.#toErrorBody(error, 'signal', session);
      this.#observer.refused('signal', body.code);
      return { ok: false, error: body };
    }
  }

  // -------------------------------------------------------------------------------------------
  // Session lifecycle, driven by the transport

  /** A new connection: registers a fresh session (idle until it joins). */
  async connect(session: SessionId): Promise<void> {
    await this.#store.attach(session, { resume: false });
  }

  /**
   * A connection that claims an earlier session (after a network drop, a restart or a crash).
   * Returns where the session stands, or null when it is lost (expired or never known).
   */
  resume(session: SessionId): Promise<SessionState | null> {
    return this.#store.attach(session, { resume: true });
  }

  /**
   * After a resume that recovered no missed messages (the old server died): both sides get
   * `paired` again with their roles and restart the handshake, so they converge.
   */
  async restartHandshake(pair: Pair): Promise<void> {
    await this.#announce(pair, true);
  }

  /** The connection dropped without a goodbye: keep the pair for the grace period, leave the queue. */
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
   * Called periodically with the sessions connected to this process: renews their leases and
   * tells each one whose partner is gone for good (grace or lease expired) that its partner left.
   */
  async heartbeat(sessions: SessionId[]): Promise<void> {
    for (const session of await this.#store.heartbeat(sessions)) {
      const pair = await this.#store.unpair(session);
      if (!pair) continue;
      await this.#delivery.unbind(pair);
      this.#observer.pairEnded(pair, 'disconnect');
      await this.#delivery.send(session, 'partner-left', { room: pair.id, reason: 'disconnect' });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  async #join(session: SessionId, payload: unknown): Promise<CommandResults['join']> {
    parseEmpty(payload, 'join');
    return this.#settle(session, await this.#store.enqueue(session));
  }

  async #signal(session: SessionId, payload: unknown): Promise<CommandResults['signal']> {
    const signal: Signal = parseSignal(payload, this.#limits);
    if (this.#delivery.relayBound?.(session, signal)) {
      this.#observer.relayed(signal.type);
      return {};
    }
    const pair = await this.#store.pairOf(session);
    if (!pair) throw new ProtocolError(ErrorCode.NOT_PAIRED, 'signal needs a partner: wait for paired');
    // The payload object itself is relayed: validation proved it is exactly a Signal, nothing more.
    await this.#delivery.relay(pair, session, signal);
    this.#observer.relayed(signal.type);
    return {};
  }

  async #next(session: SessionId, payload: unknown): Promise<CommandResults['next']> {
    parseEmpty(payload, 'next');
    await this.#endPair(session, 'next');
    const result = await this.#store.enqueue(session);
    // `next` while already waiting keeps the place in the queue.
    if (result.status === 'already-waiting') return { status: 'waiting' };
    // A waiting caller can be matched by someone else's join between the two steps above; that
    // join announced the pair, so the caller is simply paired.
    if (result.status === 'already-paired') return { status: 'paired' };
    return this.#settle(session, result);
  }

  async #leave(session: SessionId, payload: unknown): Promise<CommandResults['leave']> {
    parseEmpty(payload, 'leave');
    await this.#store.dequeue(session);
    await this.#endPair(session, 'leave');
    return { status: 'idle' };
  }

  /** Tells the session (and, when paired, its partner) what enqueueing it led to. */
  async #settle(session: SessionId, result: EnqueueResult): Promise<{ status: 'waiting' | 'paired' }> {
    switch (result.status) {
      case 'waiting':
        await this.#delivery.send(session, 'waiting', {});
        return { status: 'waiting' };
      case 'paired':
        await this.#announce(result.pair);
        return { status: 'paired' };
      case 'already-waiting':
        throw new ProtocolError(ErrorCode.ALREADY_WAITING, 'already waiting for a partner');
      case 'already-paired':
        throw new ProtocolError(ErrorCode.ALREADY_PAIRED, 'already paired: send next for a new partner');
    }
  }

  /**
   * Binds the pair's channel, then tells both sides, so the initiator's offer always has a route.
   * It runs in the same turn as the store's answer that made the pair, and from there to the last
   * `paired` nothing else may run where the transport delivers synchronously (socket.io): each
   * step is awaited only if it returned a promise, since even `await undefined` lets another
   * client's command in. In that gap a `next` could end the pair before it is announced (its
   * partner-left would precede `paired`, and the dead pair would stay bound), or a signal could
   * take the new binding ahead of this side's `paired`.
   */
  async #announce(pair: Pair, resumed = false): Promise<void> {
    const initiatorIce = this.#iceServers(pair.initiator);
    const politeIce = this.#iceServers(pair.polite);
    const flag = resumed ? { resumed: true as const } : {};
    const bound = this.#delivery.bind(pair);
    if (bound) await bound;
    if (!resumed) this.#observer.paired(pair);
    // The polite side first: the initiator answers `paired` with an offer, and where deliveries
    // to two connections are not ordered (API Gateway) that offer must not overtake it.
    const tell = (to: SessionId, initiator: boolean, iceServers: IceServer[]) =>
      this.#delivery.send(to, 'paired', { room: pair.id, initiator, iceServers, ...flag });
    const toPolite = tell(pair.polite, false, politeIce);
    if (toPolite) await toPolite;
    const toInitiator = tell(pair.initiator, true, initiatorIce);
    if (toInitiator) await toInitiator;
  }

  /** Ends the session's pair, if any, and tells the partner at once. The partner is not re-queued. */
  async #endPair(session: SessionId, reason: LeaveReason): Promise<void> {
    const pair = await this.#store.unpair(session);
    if (!pair) {
      // The store is the truth: whatever the transport still has bound for this session is over.
      await this.#delivery.unbindLost(session, reason);
      return;
    }
    await this.#delivery.unbind(pair);
    this.#observer.pairEnded(pair, reason);
    await this.#delivery.send(partnerOf(pair, session), 'partner-left', { room: pair.id, reason });
  }

  #toErrorBody(error: unknown, command: string, session: SessionId): ErrorBody {
    if (error instanceof ProtocolError) return error.toBody();
    if (error instanceof StoreUnavailableError) {
      return {
        code: ErrorCode.UNAVAILABLE,
        message: 'pairing is unavailable right now; nothing changed, retry shortly',
      };
    }
    this.#onInternalError(error, { command, session });
    return { code: ErrorCode.INTERNAL, message: 'internal error' };
  }
}
