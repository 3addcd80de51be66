import { ErrorCode } from '../protocol/errors.js';
import { PING } from '../protocol/frames.js';
import {
  type Ack,
  type Command,
  type CommandResults,
  isCommand,
  type JoinPreferences,
  type ServerEvents,
  type Signal,
} from '../protocol/messages.js';
import { callSafely } from './call-safely.js';
import { Emitter } from './chat/emitter.js';
import { EventAcknowledger } from './event-acknowledger.js';
import type { Signaling, SignalingListener } from './signaling.js';

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
   * The WebSocket class. Default `globalThis.WebSocket` (browsers, Node ≥ 22); on Node 20 pass
   * the `ws` package's: `import { WebSocket } from 'ws'`.
   */
  WebSocket?: WebSocketConstructor;
  /**
   * How often to send `ping` while connected; 0 turns it off. It renews the session's lease on
   * the server and keeps API Gateway from closing the connection after 10 idle minutes. Default 5 min.
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
}

/** API Gateway's WebSocket frame quota (a message is one frame when a browser sends it). */
const API_GATEWAY_FRAME_BYTES = 32 * 1024;

const encoder = new TextEncoder();

function frameOf(action: string, id: number, payload: unknown): string {
  return JSON.stringify(payload === undefined ? { action, id } : { action, id, payload });
}

/** WebSocket.OPEN, the same in every implementation. */
const OPEN = 1;
/** Ack ids stay below 2^31 (src/protocol/frames.ts); after that they start again at 1. */
const MAX_ID = 2 ** 31 - 1;

const SERVER_EVENTS: ReadonlySet<string> = new Set<keyof ServerEvents>([
  'session',
  'waiting',
  'paired',
  'signal',
  'partner-left',
  'error',
]);

interface PendingCommand {
  action: string;
  payload: unknown;
  /** Set once sent: the id its ack will carry. */
  id: number | undefined;
  resolve(ack: Ack<object>): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Waiter {
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The pairwire protocol over a plain WebSocket, as JSON frames (src/protocol/frames.ts): the
 * transport of the AWS API Gateway deployment. Same commands, events and acks as
 * `SignalingClient`, so the chat SDK works over either.
 *
 * One command at a time: API Gateway runs each inbound frame in its own Lambda invocation, and
 * invocations run concurrently, so two frames sent back to back may be handled in either order
 * (an answer overtaking its offer, a `signal` before the `join` it depends on). This client
 * therefore sends a command only once the previous one's ack arrived: commands, pings included,
 * wait in one FIFO queue, with one frame in flight. Commands issued while disconnected wait in
 * that queue until the connection is up (or until their timeout). The command in flight when a
 * connection closes rejects at once: it may or may not have run, on a session that is now gone.
 *
 * No resume: each connection is a new session (`sessionId` is always undefined, `resumes` is
 * false). After a reconnection the old pair and place in the queue are gone, and the caller
 * joins again; `ChatClient` does so through `onConnect`.
 */
export class WebSocketSignalingClient implements Signaling {
  readonly resumes = false;
  readonly #url: string;
  readonly #WebSocket: WebSocketConstructor;
  readonly #ackTimeoutMs: number;
  readonly #keepAliveMs: number;
  readonly #reconnect: boolean;
  readonly #reconnectDelayMs: number;
  readonly #maxReconnectDelayMs: number;
  readonly #maxMessageBytes: number;

  #socket: WebSocketLike | undefined;
  #open = false;
  /** Closed for good: by `close()`, or by a drop with `reconnect: false`. */
  #closed = false;
  #attempts = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAliveTimer: ReturnType<typeof setInterval> | undefined;

  /** The pair this session is in, from `paired`; a relayed signal of any other pair is stale. */
  #room: string | undefined;

  readonly #queue: PendingCommand[] = [];
  #inFlight: PendingCommand | undefined;
  #lastId = 0;

  readonly #events = new ServerEventHub();
  /** Acknowledges the numbered events, so the server forgets them (docs/protocol.md, "Delivery"). */
  readonly #acknowledger = new EventAcknowledger((seq) => {
    if (this.#open) this.#socket?.send(JSON.stringify({ action: 'ack', payload: { seq } }));
  });
  readonly #connectListeners = new Set<() => void>();
  readonly #disconnectListeners = new Set<() => void>();
  readonly #answerListeners = new Set<(command: Command, ack: Ack<object>) => void>();
  /** `once` and `connected` callers still waiting, so that `close()` can settle them. */
  readonly #waiters = new Set<Waiter>();

  constructor(url: string, options: WebSocketSignalingClientOptions = {}) {
    const WebSocketClass = options.WebSocket ?? globalWebSocket();
    if (!WebSocketClass) {
      throw new TypeError('no global WebSocket here: pass one as the `WebSocket` option (in Node 20, the ws package)');
    }
    this.#url = url;
    this.#WebSocket = WebSocketClass;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#keepAliveMs = options.keepAliveMs ?? 5 * 60_000;
    this.#reconnect = options.reconnect ?? true;
    this.#reconnectDelayMs = options.reconnectDelayMs ?? 500;
    this.#maxReconnectDelayMs = options.maxReconnectDelayMs ?? 10_000;
    this.#maxMessageBytes = options.maxMessageBytes ?? API_GATEWAY_FRAME_BYTES;
    this.#connect();
  }

  /** Always undefined: a plain WebSocket connection cannot be resumed. */
  get sessionId(): string | undefined {
    return undefined;
  }

  join(preferences?: JoinPreferences): Promise<Ack<CommandResults['join']>> {
    return this.#command('join', preferences);
  }

  signal(signal: Signal): Promise<Ack<CommandResults['signal']>> {
    return this.#command('signal', signal);
  }

  /*
   * The pair is left when the server says so, not when asked: a refused `next` or `leave`
   * (RATE_LIMITED) leaves it as it was, and its signals must still get through. `next` ends it
   * with the `waiting` or new `paired` that comes before its ack; `leave` with its ack.
   */
  next(preferences?: JoinPreferences): Promise<Ack<CommandResults['next']>> {
    return this.#command('next', preferences);
  }

  /** Ends the pair like `next`; the server never pairs this session with that partner again. */
  block(preferences?: JoinPreferences): Promise<Ack<CommandResults['block']>> {
    return this.#command('block', preferences);
  }

  async leave(): Promise<Ack<CommandResults['leave']>> {
    const ack = await this.#command<CommandResults['leave']>('leave');
    if (ack.ok) this.#room = undefined;
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

  /** Resolves once connected (at once when already connected); rejects after `timeoutMs` or on `close()`. */
  connected(timeoutMs = this.#ackTimeoutMs): Promise<void> {
    if (this.#open) return Promise.resolve();
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
    if (this.#open) {
      const socket = this.#socket;
      queueMicrotask(() => {
        if (this.#connectListeners.has(wrapper) && this.#open && this.#socket === socket) wrapper();
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

  /** Closes for good: no reconnection; pending commands and waiters reject at once. */
  close(): void {
    if (this.#closed) return;
    this.#shutDown(new Error('the signaling client is closed'));
    const socket = this.#socket;
    this.#socket = undefined;
    this.#open = false;
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

  #onOpen(): void {
    this.#open = true;
    // Each connection is a new session here, numbered from 1.
    this.#acknowledger.reset();
    this.#attempts = 0;
    if (this.#keepAliveMs > 0) {
      this.#keepAliveTimer = setInterval(() => this.#ping(), this.#keepAliveMs);
    }
    for (const listener of [...this.#connectListeners]) {
      // A listener may close the client.
      if (!this.#open) return;
      callSafely(listener);
    }
    this.#pump();
  }

  #onClose(): void {
    const wasOpen = this.#open;
    this.#open = false;
    if (wasOpen) for (const listener of [...this.#disconnectListeners]) callSafely(listener);
    // The session, and its pair, ended with the connection.
    this.#room = undefined;
    this.#socket = undefined;
    this.#stopKeepAlive();
    const inFlight = this.#inFlight;
    if (inFlight) {
      this.#inFlight = undefined;
      clearTimeout(inFlight.timer);
      inFlight.reject(new Error(`the connection closed before the "${inFlight.action}" ack`));
    }
    if (this.#closed) return;
    if (!this.#reconnect) {
      this.#shutDown(new Error('the connection closed (reconnect is off)'));
      return;
    }
    // Capped exponential backoff with jitter: a crowd cut off at once does not return at once.
    const ceiling = Math.min(this.#maxReconnectDelayMs, this.#reconnectDelayMs * 2 ** this.#attempts);
    this.#attempts = Math.min(this.#attempts + 1, 30);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
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

  #onMessage(data: unknown): void {
    const frame = parseFrame(data);
    if (!frame) return;
    if (frame.type === 'ack') {
      const command = this.#inFlight;
      // An ack for a command that timed out already, or junk: nothing waits for it.
      if (!command || command.id !== frame.id) return;
      this.#inFlight = undefined;
      clearTimeout(command.timer);
      if (isAck(frame.payload)) {
        const { action } = command;
        const ack = frame.payload;
        if (isCommand(action))
          for (const listener of [...this.#answerListeners]) callSafely(() => listener(action, ack));
        command.resolve(ack);
      } else command.reject(new Error(`malformed "${command.action}" ack`));
      this.#pump();
      return;
    }
    if (!SERVER_EVENTS.has(frame.type)) return;
    if (frame.seq !== undefined && !this.#acknowledger.receive(frame.seq)) return;
    if (!this.#current(frame)) return;
    // The payload is the server's, passed on as it came (the socket.io client does not check it either).
    this.#events.dispatch(frame.type as keyof ServerEvents, frame.payload as never);
  }

  /**
   * Keeps track of the pair from `paired`, `waiting` and `partner-left`, and tells whether a frame belongs to
   * the present: API Gateway relays without rooms, so a signal racing its pair's end can arrive
   * after the pair is over (or after this client was paired anew). Such a signal is dropped here,
   * as socket.io's rooms drop it on the server.
   */
  #current(frame: ParsedFrame): boolean {
    const room = roomOf(frame.payload);
    if (frame.type === 'paired') this.#room = room;
    else if (frame.type === 'waiting') this.#room = undefined;
    else if (frame.type === 'partner-left' && room === this.#room) this.#room = undefined;
    else if (frame.type === 'signal' && frame.room !== undefined) return frame.room === this.#room;
    return true;
  }

  #ping(): void {
    // One ping at a time is enough: another in the queue would renew nothing more.
    if (this.#inFlight?.action === PING || this.#queue.some((command) => command.action === PING)) return;
    const socket = this.#socket;
    this.#command(PING).catch(() => {
      // No answer in time: the connection is likely dead without having noticed; start over.
      if (this.#socket === socket && this.#open) socket?.close(4000, 'keep-alive timeout');
    });
  }

  #stopKeepAlive(): void {
    if (this.#keepAliveTimer !== undefined) clearInterval(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
  }

  /** Closed for good: stops every timer and rejects whatever still waits. */
  #shutDown(error: Error): void {
    this.#closed = true;
    this.#stopKeepAlive();
    this.#acknowledger.stop();
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const pending = [...(this.#inFlight ? [this.#inFlight] : []), ...this.#queue.splice(0)];
    this.#inFlight = undefined;
    for (const command of pending) {
      clearTimeout(command.timer);
      command.reject(error);
    }
    for (const waiter of [...this.#waiters]) {
      this.#settle(waiter);
      waiter.reject(error);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  #command<T extends object>(action: string, payload?: unknown): Promise<Ack<T>> {
    if (this.#closed) return Promise.reject(new Error(`"${action}" not sent: the signaling client is closed`));
    const bytes = encoder.encode(frameOf(action, MAX_ID, payload)).length;
    if (bytes > this.#maxMessageBytes) {
      return Promise.resolve({
        ok: false,
        error: {
          code: ErrorCode.PAYLOAD_TOO_LARGE,
          message: `"${action}" would be a ${bytes}-byte message; at most ${this.#maxMessageBytes} fit in one frame`,
        },
      });
    }
    return new Promise<Ack<object>>((resolve, reject) => {
      const command: PendingCommand = {
        action,
        payload,
        id: undefined,
        resolve,
        reject,
        timer: setTimeout(() => {
          if (this.#inFlight === command) {
            // Lost, or very late: the queue moves on (a late ack is recognised by its id and ignored).
            this.#inFlight = undefined;
            this.#pump();
          } else {
            const index = this.#queue.indexOf(command);
            if (index >= 0) this.#queue.splice(index, 1);
          }
          const where = command.id === undefined ? 'while waiting for the connection' : 'after it was sent';
          reject(new Error(`no "${action}" ack within ${this.#ackTimeoutMs} ms (timed out ${where})`));
        }, this.#ackTimeoutMs),
      };
      this.#queue.push(command);
      this.#pump();
    }) as Promise<Ack<T>>;
  }

  /**
   * Sends the next queued command when the connection is up and no ack is awaited. A socket
   * already closing sends nothing: its commands wait for the next connection.
   */
  #pump(): void {
    while (!this.#inFlight && this.#open && this.#socket?.readyState === OPEN) {
      const command = this.#queue.shift();
      if (!command) return;
      this.#lastId = this.#lastId >= MAX_ID ? 1 : this.#lastId + 1;
      command.id = this.#lastId;
      const frame = frameOf(command.action, command.id, command.payload);
      try {
        this.#socket.send(frame);
        this.#inFlight = command;
      } catch (error) {
        clearTimeout(command.timer);
        command.reject(new Error(`"${command.action}" not sent: ${errorMessage(error)}`, { cause: error }));
      }
    }
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

/** `id` is set on acks only (an ack without a numeric id is no frame); `room` on relayed signals. */
interface ParsedFrame {
  type: string;
  id: number | undefined;
  room: string | undefined;
  /** The event's number in its session (events only; `error` has none). */
  seq: number | undefined;
  payload: unknown;
}

/** A server frame, or undefined for anything that is not one (ignored, never thrown). */
function parseFrame(data: unknown): ParsedFrame | undefined {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) text = new TextDecoder().decode(data);
  else return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, id, room, seq, payload } = value as {
    type?: unknown;
    id?: unknown;
    room?: unknown;
    seq?: unknown;
    payload?: unknown;
  };
  if (typeof type !== 'string') return undefined;
  if (type === 'ack')
    return typeof id === 'number' ? { type, id, room: undefined, seq: undefined, payload } : undefined;
  return {
    type,
    id: undefined,
    room: typeof room === 'string' ? room : undefined,
    seq: typeof seq === 'number' ? seq : undefined,
    payload,
  };
}

/** The `room` of a `paired` or `partner-left` payload. */
function roomOf(payload: unknown): string | undefined {
  const room = typeof payload === 'object' && payload !== null ? (payload as { room?: unknown }).room : undefined;
  return typeof room === 'string' ? room : undefined;
}

function isAck(value: unknown): value is Ack<object> {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

function globalWebSocket(): WebSocketConstructor | undefined {
  const candidate: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === 'function' ? (candidate as WebSocketConstructor) : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
