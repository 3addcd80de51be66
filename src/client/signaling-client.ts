import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { Ack, CommandResults, ServerEvents, Signal } from '../protocol/messages.js';
import { nextEvent } from './chat/emitter.js';
import { EventAcknowledger } from './event-acknowledger.js';
import type { Signaling, SignalingListener } from './signaling.js';

export interface SignalingClientOptions {
  /** How long a command waits for its acknowledgement before rejecting. Default 10 s. */
  ackTimeoutMs?: number;
  /** A session id from an earlier connection (`sessionId`), to resume it. */
  session?: string;
  /** Passed to socket.io-client; `transports` defaults to WebSocket only (no sticky sessions needed). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

/**
 * A typed wrapper of socket.io-client for the pairwire protocol (docs/protocol.md), for Node and
 * the browser. It carries signaling only; the WebRTC side is the chat SDK's job.
 */
export class SignalingClient implements Signaling {
  /** The underlying socket, for what the wrapper does not cover (and for tests sending junk). */
  readonly socket: Socket;
  /** A reconnection claims the session (docs/protocol.md, "Resuming"): no need to join again. */
  readonly resumes = true;
  readonly #ackTimeoutMs: number;
  #session: string | undefined;
  readonly #acknowledger: EventAcknowledger;
  /** Set while the event being dispatched is one this client has processed already. */
  #duplicate = false;

  constructor(url: string, options: SignalingClientOptions = {}) {
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#session = options.session;
    this.#acknowledger = new EventAcknowledger((seq) => {
      if (this.socket.connected) this.socket.emit('ack', { seq });
    });
    // auth is read on every (re)connection: after a drop or a server restart the client claims
    // its session and the last event it processed, and the server replays what came after
    // (docs/protocol.md, "Resuming").
    this.socket = io(url, {
      transports: ['websocket'],
      ...options.socket,
      auth: (send) => send(this.#session ? { session: this.#session, lastSeq: this.#acknowledger.last } : {}),
    });
    // Runs before the event's own listeners (socket.io-client calls catch-all listeners first).
    this.socket.onAny((event: string, _payload: unknown, seq: unknown) => {
      this.#duplicate = typeof seq === 'number' && !this.#acknowledger.receive(seq);
      if (event === 'session') this.#duplicate = false;
    });
    this.socket.on('session', ({ id, resumed }: { id: string; resumed: boolean }) => {
      this.#session = id;
      if (!resumed) this.#acknowledger.reset();
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
  }

  /** The server-issued session id (a secret: it resumes this session), once connected. */
  get sessionId(): string | undefined {
    return this.#session;
  }

  join(): Promise<Ack<CommandResults['join']>> {
    return this.#command('join');
  }

  signal(signal: Signal): Promise<Ack<CommandResults['signal']>> {
    return this.#command('signal', signal);
  }

  next(): Promise<Ack<CommandResults['next']>> {
    return this.#command('next');
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

  close(): void {
    this.#acknowledger.stop();
    this.socket.disconnect();
  }

  #command<T extends object>(event: string, payload?: unknown): Promise<Ack<T>> {
    const timed = this.socket.timeout(this.#ackTimeoutMs);
    return (payload === undefined ? timed.emitWithAck(event) : timed.emitWithAck(event, payload)) as Promise<Ack<T>>;
  }
}
