import { ErrorCode } from '../protocol/errors.js';
import {
  BYE,
  commandFrame,
  PING,
  parseServerFrame,
  RESUME,
  type ResumePayload,
  type ServerFrame,
} from '../protocol/frames.js';
import {
  type Ack,
  type Command,
  type CommandResults,
  isCommand,
  isServerEvent,
  type JoinPreferences,
  type ReportPayload,
  type ServerEvents,
  type SessionPayload,
  type Signal,
} from '../protocol/messages.js';
import { banDelay } from './ban-delay.js';
import { callSafely } from './call-safely.js';
import { Emitter } from './chat/emitter.js';
import { CommandQueue, largestFrame } from './command-queue.js';
import { resolveDeviceToken, withDeviceQuery } from './device-token.js';
import { EventAcknowledger } from './event-acknowledger.js';
import { EventSequencer } from './event-sequencer.js';
import { Prover } from './proof/prover.js';
import { type SolveProof, solveProof } from './proof/solve-proof.js';
import type { ConnectionRefusal, Signaling, SignalingListener } from './signaling.js';

/**
 * What this client needs of a WebSocket: satisfied by the browser's (and Node 22's global)
 * WebSocket and by the `ws` package's.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WebSocketSignalingClientOptions {
  /** How long a command may take, queueing included, before it rejects. Default 10 s. */
  ackTimeoutMs?: number;
  /**
   * Matchmaking preferences for the server's automatic join (sent in every `resume`, so a session
   * that resumes its place in the queue keeps them). `join`, `next` and `block` with preferences
   * replace them.
   */
  preferences?: JoinPreferences;
  /**
   * The WebSocket class. Default `globalThis.WebSocket` (browsers, Node ≥ 22); on Node 20 pass
   * the `ws` package's: `import { WebSocket } from 'ws'`.
   */
  WebSocket?: WebSocketConstructor;
  /**
   * How often to send `ping` while connected; 0 turns it off. It renews the session's lease on
   * the server and keeps API Gateway from closing the connection after 10 idle minutes. Default 5 min.
   * Besides, the client pings once when the `fallbackMs` of its preferences passes while it waits
   * (10 s when they have interests but give none): that ping is when the server matches it with
   * anyone.
   */
  keepAliveMs?: number;
  /** Reconnect after an unexpected close (API Gateway also ends every connection after 2 h). Default true. */
  reconnect?: boolean;
  /** The first reconnection delay; it doubles on each failed attempt, up to `maxReconnectDelayMs`. Default 500 ms. */
  reconnectDelayMs?: number;
  /** The longest reconnection delay. Default 10 s. */
  maxReconnectDelayMs?: number;
  /**
   * The largest message sent. API Gateway takes WebSocket frames of at most 32 KB, and a browser
   * sends each message as one frame, so a bigger one would cost the connection; it is refused
   * here instead, with the protocol's PAYLOAD_TOO_LARGE. Default 32 KiB.
   */
  maxMessageBytes?: number;
  /**
   * How long an event that arrived ahead of a missing one waits for it before the server is asked
   * to replay what came after the last one in order. Default 1 s.
   */
  gapTimeoutMs?: number;
  /**
   * This device's token, sent as `?device=` on every connection so that a ban can follow the
   * device (16–64 of [A-Za-z0-9_-]; anything else throws a TypeError). In a browser it defaults to
   * the one kept in localStorage under `pairwire-device` (made on first use); in Node to none.
   * `false`: none.
   */
  device?: string | false;
  /**
   * Solves the server's bot gate challenges (docs/protocol.md, "Bot gate"). Default: in a Web
   * Worker in a browser, in a worker thread in Node. False: this client answers none.
   */
  solveProof?: SolveProof | false;
}

/** The server's default `fallbackMs` (MATCH_FALLBACK_MS, docs/protocol.md): assumed when the preferences give none. */
const DEFAULT_FALLBACK_MS = 10_000;
/** How long after its fallback the client pings: a timer may fire a little early, and the frame must not arrive before the fallback has passed. */
const FALLBACK_PING_MARGIN_MS = 100;

/** API Gateway's WebSocket frame quota (a message is one frame when a browser sends it). */
const API_GATEWAY_FRAME_BYTES = 32 * 1024;

const encoder = new TextEncoder();

/** WebSocket.OPEN, the same in every implementation. */
const OPEN = 1;

interface Waiter {
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The pairwire protocol over a plain WebSocket, as JSON frames (src/protocol/frames.ts): the
 * transport of the AWS API Gateway deployment. Same commands, events and acks as
 * `SignalingClient`, so the chat SDK works over either.
 *
 * Resume, as over socket.io: every connection starts with a `resume` frame that claims the
 * session of the one before (with the last event processed) or asks for a new one, and the
 * server answers with `session` and replays what was missed. A drop of any length within the
 * server's RESUME_GRACE_MS loses nothing: the pair and the place in the queue are kept. The
 * client is `connected` once that answer came; commands issued meanwhile wait for it.
 *
 * Order: API Gateway runs each frame in its own, concurrent invocation, and posts each event from
 * the invocation that caused it, so both directions can overtake each other on the way. Events
 * are put back in order by their seq (an event ahead of a missing one waits for it, and a gap that
 * does not fill within `gapTimeoutMs` is replayed by the server). Commands are sent in order, one
 * at a time (see CommandQueue), except signals: they go back to back, numbered, and the server
 * relays them in that order.
 */
export class WebSocketSignalingClient implements Signaling {
  /** A reconnection claims the session (docs/protocol.md, "Plain WebSocket"): no need to join again. */
  readonly resumes = true;
  readonly #url: string;
  readonly #WebSocket: WebSocketConstructor;
  readonly #ackTimeoutMs: number;
  readonly #keepAliveMs: number;
  readonly #reconnect: boolean;
  readonly #reconnectDelayMs: number;
  readonly #maxReconnectDelayMs: number;
  readonly #maxMessageBytes: number;

  #socket: WebSocketLike | undefined;
  /** The socket is open. */
  #open = false;
  /** The server answered this connection's `resume`: it carries our session, commands may go. */
  #established = false;
  /** The `resume` frame of this connection, while its ack is awaited. */
  #handshake: { id: number; timer: ReturnType<typeof setTimeout> } | undefined;
  /** Closed for good: by `close()`, or by a drop with `reconnect: false`. */
  #closed = false;
  #attempts = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  /** Pings once this session's fallback has passed while it still waits (see #watchFallback). */
  #fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * When the ban the server announced ends (`BANNED`, as an `error` event or the answer to
   * `resume`): no connection is tried before then. Infinite when the server did not say.
   */
  #bannedUntil: number | undefined;

  /** The session's id (a bearer secret), from the server's `session` event. */
  #session: string | undefined;
  #queueOnConnect: (() => boolean) | undefined;
  /** The preferences of the joins made for this client: sent in every `resume` (see the option). */
  #preferences: JoinPreferences | undefined;
  /** The pair this session is in, from `paired`; a relayed signal of any other pair is stale. */
  #room: string | undefined;

  readonly #commands: CommandQueue;
  readonly #events = new ServerEventHub();
  /** Acknowledges the numbered events, so the server forgets them (docs/protocol.md, "Delivery"). */
  readonly #acknowledger = new EventAcknowledger((seq) => {
    if (this.#established) this.#socket?.send(commandFrame('ack', undefined, { seq }));
  });
  readonly #sequencer: EventSequencer<ServerFrame>;
  readonly #connectListeners = new Set<() => void>();
  readonly #disconnectListeners = new Set<() => void>();
  readonly #answerListeners = new Set<(command: Command, ack: Ack<object>) => void>();
  readonly #refusalListeners = new Set<(refusal: ConnectionRefusal) => void>();
  /** `once` and `connected` callers still waiting, so that `close()` can settle them. */
  readonly #waiters = new Set<Waiter>();
  readonly #prover: Prover;

  constructor(url: string, options: WebSocketSignalingClientOptions = {}) {
    const WebSocketClass = options.WebSocket ?? globalWebSocket();
    if (!WebSocketClass) {
      throw new TypeError('no global WebSocket here: pass one as the `WebSocket` option (in Node 20, the ws package)');
    }
    this.#url = withDeviceQuery(url, resolveDeviceToken(options.device));
    this.#WebSocket = WebSocketClass;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#keepAliveMs = options.keepAliveMs ?? 5 * 60_000;
    this.#reconnect = options.reconnect ?? true;
    this.#reconnectDelayMs = options.reconnectDelayMs ?? 500;
    this.#maxReconnectDelayMs = options.maxReconnectDelayMs ?? 10_000;
    this.#maxMessageBytes = options.maxMessageBytes ?? API_GATEWAY_FRAME_BYTES;
    this.#preferences = options.preferences;
    this.#prover = new Prover(options.solveProof ?? solveProof, (proof) => this.#command('proof', proof));
    this.#commands = new CommandQueue(this.#ackTimeoutMs, () => this.#pump());
    this.#sequencer = new EventSequencer<ServerFrame>(
      (seq, frame) => this.#deliver(seq, frame),
      (last) => this.#askReplay(last),
      options.gapTimeoutMs ?? 1000,
    );
    this.#connect();
  }

  /** The server-issued session id (a secret: it resumes this session), once connected. */
  get sessionId(): string | undefined {
    return this.#session;
  }

  /** Queues for a partner; preferences given here are also those of later automatic joins. */
  join(preferences?: JoinPreferences): Promise<Ack<CommandResults['join']>> {
    return this.#prover.gated(() => this.#command('join', this.#prefer(preferences)));
  }

  /** Sent at once, without waiting for the ack of a signal before it: the partner gets them in this order. */
  signal(signal: Signal): Promise<Ack<CommandResults['signal']>> {
    return this.#command('signal', signal);
  }

  /*
   * The pair is left when the server says so, not when asked: a refused `next` or `leave`
   * (RATE_LIMITED) leaves it as it was, and its signals must still get through. `next` ends it
   * with the `waiting` or new `paired` that comes before its ack; `leave` with its ack.
   */
  next(preferences?: JoinPreferences): Promise<Ack<CommandResults['next']>> {
    return this.#prover.gated(() => this.#command('next', this.#prefer(preferences)));
  }

  /** Ends the pair like `next`; the server never pairs this session with that partner again. */
  block(preferences?: JoinPreferences): Promise<Ack<CommandResults['block']>> {
    return this.#prover.gated(() => this.#command('block', this.#prefer(preferences)));
  }

  /** The preferences sent in `resume` from the next connection on (`join`, `next` and `block` with preferences set them too). */
  setPreferences(preferences: JoinPreferences | undefined): void {
    this.#preferences = preferences;
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

  async leave(): Promise<Ack<CommandResults['leave']>> {
    const ack = await this.#command<CommandResults['leave']>('leave');
    if (ack.ok) {
      this.#room = undefined;
      this.#stopFallback();
    }
    return ack;
  }

  /** Subscribes to a server event; returns the unsubscribe function. */
  on<E extends keyof ServerEvents>(event: E, listener: SignalingListener<E>): () => void {
    // A wrapper per call, so subscribing one function twice makes two subscriptions (as socket.io's).
    return this.#events.on(event, (payload) => listener(payload));
  }

  /** Calls `listener` with each command's ack as it arrives, in order with the server's events (see `Signaling`). */
  onAnswer(listener: (command: Command, ack: Ack<object>) => void): () => void {
    this.#answerListeners.add(listener);
    return () => {
      this.#answerListeners.delete(listener);
    };
  }

  /**
   * Calls `listener` when the server refuses this client's connections: `BANNED` (as the answer to
   * `resume` or an `error` event before it closes the connection), with `retryInMs` when the
   * client tries again once the ban is over, `retrying: false` when it stopped for good.
   */
  onRefused(listener: (refusal: ConnectionRefusal) => void): () => void {
    this.#refusalListeners.add(listener);
    return () => {
      this.#refusalListeners.delete(listener);
    };
  }

  /**
   * Whether the server should queue a new session at once (the first, or one that replaces a
   * session the server no longer knows): asked in every `resume`.
   */
  queueOnConnect(decide: () => boolean): void {
    this.#queueOnConnect = decide;
  }

  /** Resolves with the next `event`, or rejects after `timeoutMs` or on `close()`. */
  once<E extends keyof ServerEvents>(event: E, timeoutMs = this.#ackTimeoutMs): Promise<ServerEvents[E]> {
    return new Promise((resolve, reject) => {
      const off = this.on(event, (payload) => {
        this.#settle(waiter);
        off();
        resolve(payload);
      });
      const waiter = this.#wait(timeoutMs, `no "${event}" within ${timeoutMs} ms`, (error) => {
        off();
        reject(error);
      });
    });
  }

  /**
   * Resolves once connected, its session named or resumed (at once when already connected);
   * rejects after `timeoutMs` or on `close()`.
   */
  connected(timeoutMs = this.#ackTimeoutMs): Promise<void> {
    if (this.#established) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error('the signaling client is closed'));
    return new Promise((resolve, reject) => {
      const off = this.onConnect(() => {
        this.#settle(waiter);
        off();
        resolve();
      });
      const waiter = this.#wait(timeoutMs, `not connected within ${timeoutMs} ms`, (error) => {
        off();
        reject(error);
      });
    });
  }

  /** Calls `listener` on every connection: in a microtask when already connected, then on each reconnection. */
  onConnect(listener: () => void): () => void {
    // A wrapper per call, as in `on`.
    const wrapper = () => listener();
    this.#connectListeners.add(wrapper);
    if (this.#established) {
      const socket = this.#socket;
      queueMicrotask(() => {
        if (this.#connectListeners.has(wrapper) && this.#established && this.#socket === socket) wrapper();
      });
    }
    return () => {
      this.#connectListeners.delete(wrapper);
    };
  }

  onDisconnect(listener: () => void): () => void {
    const wrapper = () => listener();
    this.#disconnectListeners.add(wrapper);
    return () => {
      this.#disconnectListeners.delete(wrapper);
    };
  }

  /**
   * Closes for good with a goodbye (`bye`: the server ends the pair at once, where a drop would
   * keep it for the grace); no reconnection; pending commands and waiters reject at once.
   */
  close(): void {
    if (this.#closed) return;
    this.#shutDown(new Error('the signaling client is closed'));
    const socket = this.#socket;
    if (socket && this.#open && socket.readyState === OPEN) {
      try {
        socket.send(commandFrame(BYE, undefined));
      } catch {
        // Closing anyway: the server then keeps the session for its grace.
      }
    }
    this.#socket = undefined;
    this.#open = false;
    this.#established = false;
    socket?.close(1000);
  }

  // -------------------------------------------------------------------------------------------
  // The connection

  #connect(): void {
    const socket = new this.#WebSocket(this.#url);
    this.#socket = socket;
    // Always listened to: the `ws` package throws an 'error' nobody listens to.
    socket.addEventListener('error', () => {});
    socket.addEventListener('open', () => {
      if (this.#socket === socket) this.#onOpen();
    });
    socket.addEventListener('message', (event) => {
      if (this.#socket === socket) this.#onMessage(event.data);
    });
    socket.addEventListener('close', () => {
      if (this.#socket === socket) this.#onClose();
    });
  }

  /** The socket is open: first of all, the session (docs/protocol.md: `resume`). */
  #onOpen(): void {
    this.#open = true;
    const socket = this.#socket;
    const id = this.#commands.nextId();
    // The preferences go with every claim: the join the server makes (`join`, or a resumed session
    // taking its place in the queue again) uses them.
    const claim: ResumePayload = { ...this.#preferences };
    if (this.#session !== undefined) {
      claim.session = this.#session;
      claim.lastSeq = this.#sequencer.last;
    }
    if (this.#queueOnConnect) claim.join = this.#queueOnConnect();
    this.#handshake = {
      id,
      // No answer: the connection is as good as dead; start over.
      timer: setTimeout(() => this.#restart(socket, 'resume timeout'), this.#ackTimeoutMs),
    };
    try {
      socket?.send(commandFrame(RESUME, id, claim));
    } catch {
      this.#restart(socket, 'resume not sent');
    }
  }

  /** The server answered the `resume`: commands may go. */
  #onEstablished(ack: Ack<object>): void {
    this.#stopHandshake();
    if (!ack.ok) {
      // The session this connection carried is gone (SESSION_LOST): the next one starts anew.
      // Any other refusal (RATE_LIMITED, UNAVAILABLE) passes with time: try again later.
      if (ack.error.code === ErrorCode.SESSION_LOST) this.#forgetSession();
      if (ack.error.code === ErrorCode.BANNED) this.#onBanned(ack.error.retryAfterMs);
      this.#restart(this.#socket, ack.error.code);
      return;
    }
    this.#established = true;
    this.#attempts = 0;
    if (this.#keepAliveMs > 0) {
      this.#keepAliveTimer = setInterval(() => this.#ping(), this.#keepAliveMs);
    }
    for (const listener of [...this.#connectListeners]) {
      // A listener may close the client.
      if (!this.#established) return;
      callSafely(listener);
    }
    this.#pump();
  }

  #onClose(): void {
    const wasOpen = this.#open;
    this.#open = false;
    this.#established = false;
    if (wasOpen) for (const listener of [...this.#disconnectListeners]) callSafely(listener);
    // The session goes on: the next connection resumes it, and what was held is replayed then.
    this.#socket = undefined;
    this.#stopKeepAlive();
    this.#stopHandshake();
    this.#sequencer.dropHeld();
    this.#commands.disconnected();
    if (this.#closed) return;
    if (!this.#reconnect) {
      this.#shutDown(new Error('the connection closed (reconnect is off)'));
      return;
    }
    const banned = this.#bannedUntil !== undefined ? this.#banned() : undefined;
    if (banned === null) return;
    // Capped exponential backoff with jitter: a crowd cut off at once does not return at once.
    const ceiling = Math.min(this.#maxReconnectDelayMs, this.#reconnectDelayMs * 2 ** this.#attempts);
    this.#attempts = Math.min(this.#attempts + 1, 30);
    const delay = banned ?? ceiling / 2 + Math.random() * (ceiling / 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closed) return;
      try {
        this.#connect();
      } catch {
        // The URL was good the first time; whatever failed here, try again later.
        this.#onClose();
      }
    }, delay);
  }

  /** Closes `socket` so that the client reconnects (and claims its session again). */
  #restart(socket: WebSocketLike | undefined, reason: string): void {
    if (socket === undefined || this.#socket !== socket) return;
    try {
      socket.close(4000, reason.slice(0, 100));
    } catch {
      // Closing a socket that is going anyway.
    }
  }

  #onMessage(data: unknown): void {
    const frame = parseServerFrame(data);
    if (!frame) return;
    if (frame.type === 'ack') {
      if (frame.id === this.#handshake?.id) {
        this.#onEstablished(isAck(frame.payload) ? frame.payload : malformed());
        return;
      }
      const answered = this.#commands.answered(frame.id as number, frame.payload);
      if (answered?.ack) {
        const { action, ack } = answered;
        if (isCommand(action))
          for (const listener of [...this.#answerListeners]) callSafely(() => listener(action, ack));
      }
      if (answered) this.#pump();
      return;
    }
    if (!isServerEvent(frame.type)) return;
    if (frame.type === 'session') {
      this.#onSession(frame.payload as SessionPayload);
      return;
    }
    const error = frame.type === 'error' ? (frame.payload as { code?: unknown; retryAfterMs?: unknown } | null) : null;
    if (error?.code === ErrorCode.SESSION_LOST) {
      // The server closes the connection next; the one after it starts a new session.
      this.#forgetSession();
    }
    if (error?.code === ErrorCode.BANNED) {
      // The server closes the connection next; the next one waits for the ban to end.
      this.#onBanned(typeof error.retryAfterMs === 'number' ? error.retryAfterMs : undefined);
    }
    if (frame.seq !== undefined) this.#sequencer.receive(frame.seq, frame);
    else this.#dispatch(frame);
  }

  /** The answer to a `resume`: the session this connection carries. */
  #onSession(payload: SessionPayload): void {
    if (typeof payload?.id !== 'string') return;
    // The answer to a replay this client asked for on its own session: nothing new to say.
    if (payload.resumed && payload.id === this.#session && this.#established) return;
    if (!payload.resumed) {
      // A new session: its events are numbered from 1, and nothing of the old one carries over.
      this.#sequencer.reset();
      this.#acknowledger.reset();
      this.#commands.sessionEnded();
      this.#room = undefined;
      this.#stopFallback();
    }
    this.#session = payload.id;
    // The bot gate: answered in the background; a join meanwhile waits for it (PROOF_REQUIRED).
    if (typeof payload.challenge === 'string') void this.#prover.answer(payload.challenge);
    this.#events.dispatch('session', payload);
  }

  /** Banned for `retryAfterMs` (for good when not said): the session ends with the ban. */
  #onBanned(retryAfterMs: number | undefined): void {
    this.#bannedUntil = Date.now() + (retryAfterMs ?? Number.POSITIVE_INFINITY);
    this.#forgetSession();
  }

  /**
   * After a ban, the wait before the next connection (the rest of the ban, see `banDelay`), told to
   * the refusal listeners; null when the client stops for good (the end is not known).
   */
  #banned(): number | null {
    const remaining = (this.#bannedUntil ?? 0) - Date.now();
    this.#bannedUntil = undefined;
    const hint = Number.isFinite(remaining) ? { retryAfterMs: Math.max(0, remaining) } : {};
    const delay = banDelay(hint.retryAfterMs);
    const message = 'this client is banned';
    if (delay === undefined) {
      this.#shutDown(new Error(`${message}: the signaling client stopped`));
      this.#refused({ code: ErrorCode.BANNED, message, retrying: false, ...hint });
      return null;
    }
    this.#refused({ code: ErrorCode.BANNED, message, retrying: true, retryInMs: delay, ...hint });
    return delay;
  }

  #refused(refusal: ConnectionRefusal): void {
    for (const listener of [...this.#refusalListeners]) callSafely(() => listener(refusal));
  }

  /** The session is lost to the server: the next connection asks for a new one. */
  #forgetSession(): void {
    this.#session = undefined;
  }

  /** An event's turn, in seq order. */
  #deliver(seq: number, frame: ServerFrame): void {
    this.#acknowledger.receive(seq);
    this.#dispatch(frame);
  }

  #dispatch(frame: ServerFrame): void {
    this.#watchFallback(frame);
    if (!this.#current(frame)) return;
    // The payload is the server's, passed on as it came (the socket.io client does not check it either).
    this.#events.dispatch(frame.type as keyof ServerEvents, frame.payload as never);
  }

  /** A gap in the events did not fill: the server replays what came after `last` (no ack asked). */
  #askReplay(last: number): void {
    if (!this.#established || this.#session === undefined) return;
    try {
      this.#socket?.send(commandFrame(RESUME, undefined, { session: this.#session, lastSeq: last }));
    } catch {
      // The connection is going: the resume of the next one replays the same.
    }
  }

  /**
   * Keeps track of the pair from `paired`, `waiting` and `partner-left`, and tells whether a frame belongs to
   * the present: API Gateway relays without rooms, so a signal racing its pair's end can arrive
   * after the pair is over (or after this client was paired anew). Such a signal is dropped here,
   * as socket.io's rooms drop it on the server.
   */
  #current(frame: ServerFrame): boolean {
    const room = roomOf(frame.payload);
    if (frame.type === 'paired') this.#room = room;
    else if (frame.type === 'waiting') this.#room = undefined;
    else if (frame.type === 'partner-left' && room === this.#room) this.#room = undefined;
    else if (frame.type === 'signal' && frame.room !== undefined) return frame.room === this.#room;
    return true;
  }

  /**
   * A session waiting with interests accepts anyone once its `fallbackMs` has passed, but on API
   * Gateway no process holds it to notice: the server matches it again when it hears from it. So
   * after `waiting`, once the fallback of the preferences it was queued with has passed, this
   * client pings once (docs/protocol.md, "Matching"); `paired`, leaving the queue or a new session
   * call that off. Runs before #current, which forgets the room a `partner-left` ends.
   */
  #watchFallback(frame: ServerFrame): void {
    if (frame.type === 'waiting') {
      this.#stopFallback();
      const { interests = [], fallbackMs = DEFAULT_FALLBACK_MS } = this.#preferences ?? {};
      // No interests, or a fallback of 0: it accepts anyone already. null: it never will.
      if (interests.length === 0 || fallbackMs === null || fallbackMs === 0) return;
      this.#fallbackTimer = setTimeout(() => {
        this.#fallbackTimer = undefined;
        this.#ping();
      }, fallbackMs + FALLBACK_PING_MARGIN_MS);
    } else if (frame.type === 'paired' || (frame.type === 'partner-left' && roomOf(frame.payload) === this.#room)) {
      this.#stopFallback();
    }
  }

  #stopFallback(): void {
    if (this.#fallbackTimer !== undefined) clearTimeout(this.#fallbackTimer);
    this.#fallbackTimer = undefined;
  }

  #ping(): void {
    // One ping at a time is enough: another in the queue would renew nothing more.
    if (this.#commands.has(PING)) return;
    const socket = this.#socket;
    this.#command(PING).catch(() => {
      // No answer in time: the connection is likely dead without having noticed; start over.
      if (this.#open) this.#restart(socket, 'keep-alive timeout');
    });
  }

  #stopKeepAlive(): void {
    if (this.#keepAliveTimer !== undefined) clearInterval(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
  }

  #stopHandshake(): void {
    if (this.#handshake) clearTimeout(this.#handshake.timer);
    this.#handshake = undefined;
  }

  /** Closed for good: stops every timer and rejects whatever still waits. */
  #shutDown(error: Error): void {
    this.#closed = true;
    this.#stopKeepAlive();
    this.#stopFallback();
    this.#stopHandshake();
    this.#acknowledger.stop();
    this.#sequencer.dropHeld();
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#commands.close(error);
    for (const waiter of [...this.#waiters]) {
      this.#settle(waiter);
      waiter.reject(error);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  #command<T extends object>(action: string, payload?: unknown): Promise<Ack<T>> {
    if (this.#closed) return Promise.reject(new Error(`"${action}" not sent: the signaling client is closed`));
    const bytes = encoder.encode(largestFrame(action, payload)).length;
    if (bytes > this.#maxMessageBytes) {
      return Promise.resolve({
        ok: false,
        error: {
          code: ErrorCode.PAYLOAD_TOO_LARGE,
          message: `"${action}" would be a ${bytes}-byte message; at most ${this.#maxMessageBytes} fit in one frame`,
        },
      });
    }
    const answer = this.#commands.issue(action, payload) as Promise<Ack<T>>;
    this.#pump();
    return answer;
  }

  /**
   * Sends what may go, once the session is established. A socket already closing sends nothing:
   * its commands wait for the next connection.
   */
  #pump(): void {
    const socket = this.#socket;
    if (!this.#established || socket?.readyState !== OPEN) return;
    this.#commands.flush((frame) => socket.send(frame));
  }

  #wait(timeoutMs: number, message: string, reject: (error: Error) => void): Waiter {
    const waiter: Waiter = {
      reject,
      timer: setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(message));
      }, timeoutMs),
    };
    this.#waiters.add(waiter);
    return waiter;
  }

  #settle(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
  }
}

/** Fans received server events out to their subscribers: the SDK's own emitter, made public. */
class ServerEventHub extends Emitter<ServerEvents> {
  dispatch<E extends keyof ServerEvents>(event: E, payload: ServerEvents[E]): void {
    this.emit(event, payload);
  }
}

/** The `room` of a `paired` or `partner-left` payload. */
function roomOf(payload: unknown): string | undefined {
  const room = typeof payload === 'object' && payload !== null ? (payload as { room?: unknown }).room : undefined;
  return typeof room === 'string' ? room : undefined;
}

function isAck(value: unknown): value is Ack<object> {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

function malformed(): Ack<object> {
  return { ok: false, error: { code: ErrorCode.INTERNAL, message: 'malformed ack' } };
}

function globalWebSocket(): WebSocketConstructor | undefined {
  const candidate: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === 'function' ? (candidate as WebSocketConstructor) : undefined;
}
