import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ErrorCode } from '../protocol/errors.js';
import type {
  Ack,
  Command,
  CommandResults,
  JoinPreferences,
  ReportPayload,
  ServerEvents,
  Signal,
} from '../protocol/messages.js';
import { ORIGIN_CHECK_PATH, type OriginCheckAnswer } from '../protocol/origin-check.js';
import { banDelay } from './ban-delay.js';
import { callSafely } from './call-safely.js';
import { nextEvent } from './chat/emitter.js';
import { resolveDeviceToken } from './device-token.js';
import { EventAcknowledger } from './event-acknowledger.js';
import { Prover } from './proof/prover.js';
import { type SolveProof, solveProof } from './proof/solve-proof.js';
import type { ConnectionRefusal, Signaling, SignalingListener } from './signaling.js';
import { UnackedSignals } from './unacked-signals.js';

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
   * Where a page asks why its connection failed (GET /origin-check, docs/protocol.md). Default:
   * beside socket.io's `path` on the server's origin: `/origin-check` for the default
   * `/socket.io`, `/chat/origin-check` for `/chat/socket.io`, which is where an embedder that
   * mounts pairwire's routes and socket.io under the same prefix serves it. Relative to `url`.
   */
  originCheckUrl?: string;
  /**
   * This device's token, sent as `auth.device` so that a ban can follow the device (16–64 of
   * [A-Za-z0-9_-]; anything else throws a TypeError). In a browser it defaults to the one kept in
   * localStorage under `pairwire-device` (made on first use); in Node to none. `false`: none.
   */
  device?: string | false;
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
  readonly #originCheckUrl: string;
  readonly #ackTimeoutMs: number;
  readonly #maxRetryDelayMs: number;
  #session: string | undefined;
  readonly #acknowledger: EventAcknowledger;
  readonly #signals: UnackedSignals;
  /** This connection's `session` event has come: signals go out at once. */
  #ready = false;
  /** This connection claimed an earlier session (`auth.session`). */
  #claimed = false;
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
  /** When the ban the server announced (an `error` BANNED) ends, until the disconnect that follows it. */
  #bannedUntil: number | undefined;
  readonly #prover: Prover;

  constructor(url: string, options: SignalingClientOptions = {}) {
    this.#url = url;
    this.#originCheckUrl = options.originCheckUrl ?? originCheckPath(options.socket?.path);
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#session = options.session;
    this.#preferences = options.preferences;
    const device = resolveDeviceToken(options.device);
    this.#acknowledger = new EventAcknowledger((seq) => {
      if (this.socket.connected) this.socket.emit('ack', { seq });
    });
    this.#signals = new UnackedSignals(
      this.#ackTimeoutMs,
      (cseq, signal, answered) => {
        this.socket.emit('signal', signal, cseq, (ack: Ack) => {
          for (const listener of [...this.#answerListeners]) callSafely(() => listener('signal', ack));
          answered(ack);
        });
      },
      () => this.#ready && this.socket.connected,
    );
    // auth is read on every (re)connection: after a drop or a server restart the client claims
    // its session and the last event it processed, and the server replays what came after
    // (docs/protocol.md, "Resuming").
    this.socket = io(url, {
      transports: ['websocket'],
      ...options.socket,
      auth: (send) => {
        const auth: { session?: string; lastSeq?: number; join?: boolean; device?: string } & JoinPreferences = {
          ...this.#preferences,
        };
        this.#claimed = this.#session !== undefined;
        if (device !== undefined) auth.device = device;
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
      // Signals wait for this event: only now is it known whether they still have their pair.
      // A claimed session that is gone took the pair they were meant for with it.
      if (!resumed && this.#claimed) this.#signals.abandon('the session ended before the signal was acknowledged');
      else this.#signals.resend();
      this.#ready = true;
      // The bot gate: answered in the background; a join meanwhile waits for it (PROOF_REQUIRED).
      if (challenge !== undefined) void this.#prover.answer(challenge);
    });
    // The server lost the session (this client fell too far behind, or its store lost it) and
    // closes the connection. socket.io-client never comes back from a server's disconnect by
    // itself, so start over: a new connection, a new session.
    let lost = false;
    this.socket.on('error' as string, (error: unknown) => {
      const body = errorBodyOf(error);
      if (body?.code === ErrorCode.SESSION_LOST) lost = true;
      if (body?.code === ErrorCode.BANNED) this.#onBanned(body);
    });
    this.socket.on('disconnect', (reason) => {
      this.#ready = false;
      if (this.#bannedUntil !== undefined) {
        this.#afterBan(reason);
        return;
      }
      if (!lost || reason !== 'io server disconnect') return;
      lost = false;
      this.#session = undefined;
      this.#acknowledger.reset();
      this.#signals.abandon('the session was lost before the signal was acknowledged');
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

  /**
   * Relays `signal` to the partner. Numbered in the session's order: when the connection drops
   * before the acknowledgement, the resumed session sends it again and the server relays it once.
   */
  signal(signal: Signal): Promise<Ack<CommandResults['signal']>> {
    // Not handed to socket.io before this connection's `session` event: its buffer would send it
    // before the session is known to be the same one; that event sends it instead.
    return this.#signals.add(signal, this.#ready && this.socket.connected);
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

  /** Reports the partner of `payload.room` (src/protocol/report.ts); that partner is blocked for this session. */
  report(payload: ReportPayload): Promise<Ack<CommandResults['report']>> {
    return this.#command('report', payload);
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
    this.#signals.abandon('the client was closed');
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
    if (refused?.code === ErrorCode.BANNED) {
      this.#bannedUntil = undefined;
      this.#retryAfterBan(refused);
      return;
    }
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
    void originRefusal(this.#url, this.#originCheckUrl).then((refusal) => {
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

  /**
   * The server says this client is banned and disconnects it next: the session ends with the ban,
   * and no connection is tried before the ban is over (see `#afterBan`).
   */
  #onBanned(body: { retryAfterMs?: number }): void {
    this.#bannedUntil = Date.now() + (body.retryAfterMs ?? Number.POSITIVE_INFINITY);
    this.#session = undefined;
    this.#acknowledger.reset();
    this.#signals.abandon('this client is banned');
  }

  /** The disconnect after a ban: socket.io-client must not reconnect at once; try again once it is over. */
  #afterBan(reason: string): void {
    const until = this.#bannedUntil ?? 0;
    this.#bannedUntil = undefined;
    // A server disconnect is never retried by socket.io-client; a dropped transport would be, at once.
    // The app (or `close()`) disconnected on purpose: nothing to retry.
    if (reason === 'io client disconnect') return;
    if (reason !== 'io server disconnect') this.socket.disconnect();
    const remaining = until - Date.now();
    this.#retryAfterBan({
      code: ErrorCode.BANNED,
      message: 'this client is banned',
      ...(Number.isFinite(remaining) ? { retryAfterMs: Math.max(0, remaining) } : {}),
    });
  }

  /** Banned: one more attempt once the ban is over (never before), or none when its end is not known. */
  #retryAfterBan(refused: { code: string; message: string; retryAfterMs?: number }): void {
    clearTimeout(this.#retryTimer);
    const retryInMs = banDelay(refused.retryAfterMs);
    const hint = refused.retryAfterMs === undefined ? {} : { retryAfterMs: refused.retryAfterMs };
    if (retryInMs === undefined || this.#closed) {
      this.#report({ code: refused.code, message: refused.message, retrying: false, ...hint });
      return;
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed && !this.socket.connected) this.socket.connect();
    }, retryInMs);
    this.#report({ code: refused.code, message: refused.message, retrying: true, retryInMs, ...hint });
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
/**
 * GET /origin-check beside socket.io's request path: the routes and socket.io of an embedded
 * pairwire sit under the same prefix (README, "Add pairwire to your app"), the standalone
 * server's at the root.
 */
export function originCheckPath(socketPath = '/socket.io'): string {
  const prefix = socketPath.replace(/\/+$/, '').replace(/\/[^/]*$/, '');
  return `${prefix}${ORIGIN_CHECK_PATH}`;
}

async function originRefusal(
  serverUrl: string,
  originCheckUrl: string,
): Promise<{ code: string; message: string } | undefined> {
  const page = (globalThis as { location?: { href?: unknown } }).location?.href;
  if (typeof page !== 'string' || typeof fetch !== 'function') return undefined;
  try {
    const response = await fetch(new URL(originCheckUrl, new URL(serverUrl, page)), { cache: 'no-store' });
    if (response.status !== 403) return undefined;
    const answer = (await response.json()) as OriginCheckAnswer;
    return !answer.ok && answer.error?.code === ErrorCode.ORIGIN_NOT_ALLOWED ? answer.error : undefined;
  } catch {
    return undefined;
  }
}
