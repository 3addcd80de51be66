import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ErrorCode } from '../protocol/errors.js';
import type { Ack, Command, CommandResults, JoinPreferences, ServerEvents, Signal } from '../protocol/messages.js';
import { ORIGIN_CHECK_PATH, type OriginCheckAnswer } from '../protocol/origin-check.js';
import { callSafely } from './call-safely.js';
import { nextEvent } from './chat/emitter.js';
import { EventAcknowledger } from './event-acknowledger.js';
import { Prover } from './proof/prover.js';
import { type SolveProof, solveProof } from './proof/solve-proof.js';
import type { ConnectionRefusal, Signaling, SignalingListener } from './signaling.js';

export interface SignalingClientOptions {
  /** How long a command waits for its acknowledgement before rejecting. Default 10 s. */
  ackTimeoutMs?: number;
  /** A session id from an earlier connection (`sessionId`), to resume it. */
  session?: string;
  /**
   * Matchmaking preferences for the server's automatic join (sent in `auth` at every connection,
   * so a session that resumes its place in the queue keeps them). `join`, `next` and `block`
   * with preferences replace them.
   */
  preferences?: JoinPreferences;
  /** Passed to socket.io-client; `transports` defaults to WebSocket only (no sticky sessions needed). */
  socket?: Partial<ManagerOptions & SocketOptions>;
  /**
   * The longest wait before trying again after the server refused the connection for a while
   * (`RATE_LIMITED`): its `retryAfterMs` is an estimate, and a slot can free sooner. Default 30 s.
   */
  maxRetryDelayMs?: number;
  /**
   * Solves the server's bot gate challenges (docs/protocol.md, "Bot gate"). Default: in a Web
   * Worker in a browser, in a worker thread in Node. False: this client answers none (it cannot
   * pair on a server with the gate on, unless you send `proof` yourself).
   */
  solveProof?: SolveProof | false;
}

/** Refusals that pass with time: the connection is tried again after the hinted delay (socket.io does not retry a refused CONNECT). */
const TEMPORARY_REFUSALS: ReadonlySet<string> = new Set([
  ErrorCode.RATE_LIMITED,
  ErrorCode.UNAVAILABLE,
  ErrorCode.INTERNAL,
]);

/** The first retry after a refusal; each further one doubles, up to `maxRetryDelayMs`. */
const FIRST_RETRY_MS = 1000;

/**
 * A typed wrapper of socket.io-client for the pairwire protocol (docs/protocol.md), for Node and
 * the browser. It carries signaling only; the WebRTC side is the chat SDK's job.
 */
export class SignalingClient implements Signaling {
  /** The underlying socket, for what the wrapper does not cover (and for tests sending junk). */
  readonly socket: Socket;
  /** A reconnection claims the session (docs/protocol.md, "Resuming"): no need to join again. */
  readonly resumes = true;
  readonly #url: string;
  readonly #ackTimeoutMs: number;
  readonly #maxRetryDelayMs: number;
  #session: string | undefined;
  readonly #acknowledger: EventAcknowledger;
  /** Set while the event being dispatched is one this client has processed already. */
  #duplicate = false;
  #queueOnConnect: (() => boolean) | undefined;
  #preferences: JoinPreferences | undefined;
  readonly #refusalListeners = new Set<(refusal: ConnectionRefusal) => void>();
  readonly #answerListeners = new Set<(command: Command, ack: Ack<object>) => void>();
  /** Refusals in a row, for the back-off; reset by a connection. */
  #refusals = 0;
  /** Failing to reach the server since the last connection: reported once, not at every attempt. */
  #unreachable = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #prover: Prover;

  constructor(url: string, options: SignalingClientOptions = {}) {
    this.#url = url;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#session = options.session;
    this.#preferences = options.preferences;
    this.#acknowledger = new EventAcknowledger((seq) => {
      if (this.socket.connected) this.socket.emit('ack', { seq });
    });
    // auth is read on every (re)connection: after a drop or a server restart the client claims
    // its session and the last event it processed, and the server replays what came after
    // (docs/protocol.md, "Resuming").
    this.socket = io(url, {
      transports: ['websocket'],
      ...options.socket,
      auth: (send) => {
        const auth: { session?: string; lastSeq?: number; join?: boolean } & JoinPreferences = {
          ...this.#preferences,
        };
        if (this.#session) {
          auth.session = this.#session;
          auth.lastSeq = this.#acknowledger.last;
        }
        if (this.#queueOnConnect) auth.join = this.#queueOnConnect();
        send(auth);
      },
    });
    // Runs before the event's own listeners (socket.io-client calls catch-all listeners first).
    this.socket.onAny((event: string, _payload: unknown, seq: unknown) => {
      this.#duplicate = typeof seq === 'number' && !this.#acknowledger.receive(seq);
      if (event === 'session') this.#duplicate = false;
    });
    this.#prover = new Prover(options.solveProof ?? solveProof, (proof) => this.#command('proof', proof));
    this.socket.on('session', ({ id, resumed, challenge }: ServerEvents['session']) => {
      this.#session = id;
      if (!resumed) this.#acknowledger.reset();
      // The bot gate: answered in the background; a join meanwhile waits for it (PROOF_REQUIRED).
      if (challenge !== undefined) void this.#prover.answer(challenge);
    });
    // The server lost the session (this client fell too far behind, or its store lost it) and
    // closes the connection. socket.io-client never comes back from a server's disconnect by
    // itself, so start over: a new connection, a new session.
    let lost = false;
    this.socket.on('error' as string, (error: unknown) => {
      if ((error as { code?: unknown } | null)?.code === 'SESSION_LOST') lost = true;
    });
    this.socket.on('disconnect', (reason) => {
      if (!lost || reason !== 'io server disconnect') return;
      lost = false;
      this.#session = undefined;
      this.#acknowledger.reset();
      this.socket.connect();
    });
    this.socket.on('connect', () => {
      this.#refusals = 0;
      this.#unreachable = false;
    });
    this.socket.on('connect_error', (error: Error & { data?: unknown }) => this.#onConnectError(error));
  }

  /** The server-issued session id (a secret: it resumes this session), once connected. */
  get sessionId(): string | undefined {
    return this.#session;
  }

  /** Queues for a partner; preferences given here are also those of later automatic joins. */
  join(preferences?: JoinPreferences): Promise<Ack<CommandResults['join']>> {
    return this.#prover.gated(() => this.#command('join', this.#prefer(preferences)));
  }

  signal(signal: Signal): Promise<Ack<CommandResults['signal']>> {
    return this.#command('signal', signal);
  }

  next(preferences?: JoinPreferences): Promise<Ack<CommandResults['next']>> {
    return this.#prover.gated(() => this.#command('next', this.#prefer(preferences)));
  }

  /** Ends the pair like `next`; the server never pairs this session with that partner again. */
  block(preferences?: JoinPreferences): Promise<Ack<CommandResults['block']>> {
    return this.#prover.gated(() => this.#command('block', this.#prefer(preferences)));
  }

  /** The preferences to send: these, remembered for the next connection, or the current ones. */
  #prefer(preferences: JoinPreferences | undefined): JoinPreferences | undefined {
    if (preferences) this.#preferences = preferences;
    return this.#preferences;
  }

  leave(): Promise<Ack<CommandResults['leave']>> {
    return this.#command('leave');
  }

  /** Subscribes to a server event; returns the unsubscribe function. */
  on<E extends keyof ServerEvents>(event: E, listener: SignalingListener<E>): () => void {
    // A replayed event this client had processed already never reaches its listeners twice.
    const deduplicated = (payload: ServerEvents[E]) => {
      if (!this.#duplicate) listener(payload);
    };
    this.socket.on(event as string, deduplicated as (payload: unknown) => void);
    return () => {
      this.socket.off(event as string, deduplicated as (payload: unknown) => void);
    };
  }

  /** Resolves with the next `event`, or rejects after `timeoutMs`. */
  once<E extends keyof ServerEvents>(event: E, timeoutMs = this.#ackTimeoutMs): Promise<ServerEvents[E]> {
    return nextEvent((listener) => this.on(event, listener), event, timeoutMs);
  }

  /** Resolves once connected (at once when already connected). */
  connected(timeoutMs = this.#ackTimeoutMs): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.socket.off('connect', onConnect);
        reject(new Error(`not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.socket.once('connect', onConnect);
    });
  }

  /** Calls `listener` on every connection: in a microtask when already connected, then on each reconnection. */
  onConnect(listener: () => void): () => void {
    let subscribed = true;
    this.socket.on('connect', listener);
    if (this.socket.connected) {
      queueMicrotask(() => {
        if (subscribed && this.socket.connected) listener();
      });
    }
    return () => {
      subscribed = false;
      this.socket.off('connect', listener);
    };
  }

  onDisconnect(listener: () => void): () => void {
    const wrapper = () => listener();
    this.socket.on('disconnect', wrapper);
    return () => {
      this.socket.off('disconnect', wrapper);
    };
  }

  /** Calls `listener` with each command's ack as it arrives, in order with the server's events (see `Signaling`). */
  onAnswer(listener: (command: Command, ack: Ack<object>) => void): () => void {
    this.#answerListeners.add(listener);
    return () => {
      this.#answerListeners.delete(listener);
    };
  }

  /** Calls `listener` whenever a connection attempt is refused or unanswered; returns the unsubscribe function. */
  onRefused(listener: (refusal: ConnectionRefusal) => void): () => void {
    this.#refusalListeners.add(listener);
    return () => {
      this.#refusalListeners.delete(listener);
    };
  }

  /** The preferences sent in `auth` from the next connection on (`join`, `next` and `block` with preferences set them too). */
  setPreferences(preferences: JoinPreferences | undefined): void {
    this.#preferences = preferences;
  }

  /** Sends `auth.join: decide()` at every connection: the server queues a new session at once, or leaves it idle. */
  queueOnConnect(decide: () => boolean): void {
    this.#queueOnConnect = decide;
  }

  close(): void {
    this.#acknowledger.stop();
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.socket.disconnect();
  }

  /**
   * A refusal with data came from the server's admission (docs/security.md): socket.io-client
   * never retries those, so a temporary one (too many connections from this address) is retried
   * here, after the server's hint and a back-off. A failure without data is the transport's:
   * socket.io-client retries it by itself, unless the server refuses this page's origin, which a
   * browser cannot tell from a server that is down: it asks the server (GET /origin-check).
   */
  #onConnectError(error: Error & { data?: unknown }): void {
    if (this.#closed) return;
    const refused = errorBodyOf(error.data);
    if (refused) {
      const retrying = TEMPORARY_REFUSALS.has(refused.code) && this.socket.io.reconnection();
      if (!retrying) {
        this.#report({ code: refused.code, message: refused.message, retrying });
        return;
      }
      const retryInMs = this.#retryDelay(refused.retryAfterMs);
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        if (!this.#closed && !this.socket.connected) this.socket.connect();
      }, retryInMs);
      this.#report({ code: refused.code, message: refused.message, retrying, retryInMs });
      return;
    }
    if (this.#unreachable) return;
    this.#unreachable = true;
    void originRefusal(this.#url).then((refusal) => {
      if (this.#closed) return;
      if (refusal) {
        // Every retry would be refused the same way.
        this.socket.disconnect();
        this.#report({ code: refusal.code, message: refusal.message, retrying: false });
        return;
      }
      this.#report({
        code: 'UNREACHABLE',
        message: `cannot reach the server (${error.message})`,
        retrying: this.socket.io.reconnection(),
      });
    });
  }

  /** Exponential from FIRST_RETRY_MS, never before the server's hint, at most `maxRetryDelayMs`, plus up to 20 % jitter. */
  #retryDelay(retryAfterMs = 0): number {
    const backoff = FIRST_RETRY_MS * 2 ** Math.min(this.#refusals, 16);
    this.#refusals++;
    const delay = Math.min(this.#maxRetryDelayMs, Math.max(retryAfterMs, backoff));
    return Math.round(delay * (1 + Math.random() * 0.2));
  }

  #report(refusal: ConnectionRefusal): void {
    for (const listener of [...this.#refusalListeners]) callSafely(() => listener(refusal));
  }

  #command<T extends object>(command: Command, payload?: unknown): Promise<Ack<T>> {
    return new Promise((resolve, reject) => {
      // The callback runs as the ack is read, before the packets behind it: listeners hear it in order.
      const answered = (error: Error | null, ack: Ack<T>) => {
        if (error) {
          reject(error);
          return;
        }
        for (const listener of [...this.#answerListeners]) callSafely(() => listener(command, ack));
        resolve(ack);
      };
      const timed = this.socket.timeout(this.#ackTimeoutMs);
      if (payload === undefined) timed.emit(command, answered);
      else timed.emit(command, payload, answered);
    });
  }
}

/** The `{ code, message, retryAfterMs? }` a server refusal carries as `connect_error` data, if that is what `data` is. */
function errorBodyOf(data: unknown): { code: string; message: string; retryAfterMs?: number } | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { code, message, retryAfterMs } = data as { code?: unknown; message?: unknown; retryAfterMs?: unknown };
  if (typeof code !== 'string') return undefined;
  return {
    code,
    message: typeof message === 'string' ? message : code,
    ...(typeof retryAfterMs === 'number' && retryAfterMs >= 0 ? { retryAfterMs } : {}),
  };
}

/**
 * In a web page: asks the server whether it refuses this page's origin, the one refusal a
 * browser cannot read from the WebSocket handshake. Undefined outside a browser, when the origin
 * is allowed, or when there is no answer (the server is down: that is the failure to report).
 */
async function originRefusal(serverUrl: string): Promise<{ code: string; message: string } | undefined> {
  const page = (globalThis as { location?: { href?: unknown } }).location?.href;
  if (typeof page !== 'string' || typeof fetch !== 'function') return undefined;
  try {
    const response = await fetch(new URL(ORIGIN_CHECK_PATH, new URL(serverUrl, page)), { cache: 'no-store' });
    if (response.status !== 403) return undefined;
    const answer = (await response.json()) as OriginCheckAnswer;
    return !answer.ok && answer.error?.code === ErrorCode.ORIGIN_NOT_ALLOWED ? answer.error : undefined;
  } catch {
    return undefined;
  }
}
