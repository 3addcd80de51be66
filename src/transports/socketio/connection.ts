import type { Logger } from 'pino';
import type { SignalingCore } from '../../core/signaling-core.js';
import type { LocalDelivery, SessionLink } from '../../delivery/local-delivery.js';
import { wireEvent } from '../../delivery/wire-event.js';
import { CommandLimiter, type CommandLimits } from '../../limits/command-limiter.js';
import { addressTag } from '../../observability/address-tag.js';
import { bannedBody, type ErrorBody, ErrorCode } from '../../protocol/errors.js';
import { type Ack, type IceServer, isCommand, type StatsPayload } from '../../protocol/messages.js';
import { deviceToken } from '../../safety/subject.js';
import type { Ban, Outgoing, SessionId, SignalOrder, Subject } from '../../store/pairing-store.js';
import { SerialQueue } from './serial-queue.js';
import { establishSession, joinFor } from './session.js';
import type { SignalingNamespace, SignalingSocket } from './types.js';

export interface SocketIoBindingOptions {
  /** Queue every client as soon as it connects (it may also connect idle and send `join`). */
  autoJoin: boolean;
  /** Commands one client may have waiting for the store before further ones are refused. */
  maxInFlight: number;
  /** How often the sessions connected here renew their leases (a third of the resume grace). */
  heartbeatMs: number;
  /** Per-connection command budgets. */
  limits: CommandLimits;
  /** Where this process's sessions get their events. */
  delivery: LocalDelivery;
  /** ICE servers for a session's `paired` (TURN credentials are minted per delivery). */
  iceServers: (session: SessionId) => IceServer[];
  /** The subject of a client at this address with this device token (safety/subject.ts). */
  subjectOf: (address: string, device: string | undefined) => Subject;
  logger: Logger;
  /** Reports how long a client waited in the queue before `paired`. */
  observeWait: (seconds: number) => void;
  onError: (error: unknown, context: { command: string }) => void;
}

export interface SocketIoBinding {
  /** Stops the heartbeat and waits for every client's pending commands and disconnect handling. */
  drain(): Promise<void>;
  /** A ban was made (here or on another instance): the banned subject's connections here are told and closed. */
  disconnectBanned(ban: Ban): void;
}

type AckFn = (response: Ack<object>) => void;

/**
 * Disconnects after which the client will not come back: its pair ends at once. Any other reason
 * (network drop, ping timeout, our own shutdown) detaches the session for the grace period instead.
 * A lost session is disconnected by the server too: its pair ending is what it deserves.
 */
const GOODBYES = new Set(['client namespace disconnect', 'server namespace disconnect']);

/**
 * Binds the signaling core to socket.io. This file only translates: socket events in, acks out,
 * and tells the core when sessions come and go. Every rule lives in the core.
 */
export function bindSocketIo(
  io: SignalingNamespace,
  core: SignalingCore,
  options: SocketIoBindingOptions,
): SocketIoBinding {
  /** The queues with work pending: what a drain waits for. */
  const busy = new Set<SerialQueue>();
  const { logger } = options;
  const binding: Binding = { core, options };

  // Per-address admission happens before this, at the engine.io handshake (limits/socketio-admission.ts);
  // then a banned subject is refused: connect_error with data { code: 'BANNED', message, retryAfterMs }.
  io.use((socket, next) => {
    const device = deviceToken((socket.handshake.auth as { device?: unknown } | undefined)?.device);
    socket.data.subject = options.subjectOf(socket.data.ip ?? '', device);
    core.admit(socket.data.subject).then((refusal) => next(refusal ? connectError(refusal) : undefined));
  });

  // One listener of each kind for every connection (socket.io calls them with the socket as
  // `this`); the connection's own state is its ClientConnection, kept in `socket.data` (a slot in
  // an object every socket has already, where a WeakMap entry costs ~75 bytes a connection).
  function onCommand(this: SignalingSocket, event: string, ...args: unknown[]): void {
    const client = this.data.client;
    if (client) command(binding, client, event, args);
  }
  function onDisconnect(this: SignalingSocket, reason: string): void {
    const client = this.data.client;
    if (client) disconnected(binding, client, reason);
  }

  io.on('connection', (socket) => {
    const client = new ClientConnection(socket, binding, new SerialQueue(options.maxInFlight, busy));
    // Not enumerable: socket.io's cluster adapters serialize `socket.data` for `fetchSockets()`
    // (a host embedding pairwire may call it), and the client holds the socket itself.
    Object.defineProperty(socket.data, 'client', { value: client });
    client.queue.push(async () => {
      client.session = await establishSession(socket, core, options.delivery, client, options);
      logger.info({ socket: socket.id }, 'client connected');
    });
    socket.onAny(onCommand);
    fitAnyListeners(socket);
    socket.on('disconnect', onDisconnect);
  });

  const heartbeat = setInterval(() => {
    core
      .heartbeat(options.delivery.sessions())
      .catch((error: unknown) => options.onError(error, { command: 'heartbeat' }));
  }, options.heartbeatMs);
  heartbeat.unref();

  return {
    async drain() {
      clearInterval(heartbeat);
      await Promise.all([...busy].map((q) => q.drained()));
    },
    disconnectBanned(ban) {
      for (const socket of io.sockets.values()) {
        if (socket.data.subject !== ban.subject) continue;
        logger.info({ socket: socket.id }, 'disconnecting a banned client');
        socket.emit('error', bannedBody(ban));
        // A server disconnect is a goodbye: the session ends and its partner hears at once.
        socket.disconnect(true);
      }
    },
  };
}

/** What every connection of one binding shares. */
interface Binding {
  core: SignalingCore;
  options: SocketIoBindingOptions;
}

/**
 * One client connection: its session, its command queue and budgets, and the link its session's
 * events reach it through (`socket.emit(name, payload, seq)`; the seq is a second argument, so
 * every payload, a relayed signal above all, stays exactly what it was). Plain fields and
 * prototype methods: one object per connection, where closures would each bring their own.
 */
export class ClientConnection implements SessionLink {
  /** Set by the first task of the queue; every later task runs after it, so it is always set for them. */
  session: SessionId = '';
  /** The highest signal number this connection has taken in. */
  highestCseq = 0;
  /** Retries running beside the queue (see `command`). */
  retriesRunning = 0;
  /** Tasks in the queue that are relays already on their way to the store, waiting to ack (see `command`). */
  relaysQueued = 0;
  /** When this connection was told `waiting` (performance.now()), for the queue-time metric; 0 when it was not. */
  waitingSince = 0;
  /** Made at the first command: a connection that sends none needs no budget. */
  limiter: CommandLimiter | undefined = undefined;

  constructor(
    readonly socket: SignalingSocket,
    readonly binding: Binding,
    readonly queue: SerialQueue,
  ) {}

  write(out: Outgoing): void {
    const [name, payload] = wireEvent(out.event, () => this.binding.options.iceServers(out.to));
    // Queue time, on the waiting client's own instance: from `waiting` to `paired`.
    if (name === 'waiting') this.waitingSince = performance.now();
    else if (name === 'paired' && this.waitingSince > 0) {
      this.binding.options.observeWait((performance.now() - this.waitingSince) / 1000);
      this.waitingSince = 0;
    }
    // socket.io's typed emit cannot follow a union of event names; wireEvent ties each payload
    // to its name already.
    (this.socket.emit as (event: string, payload: unknown, seq: number) => boolean)(name, payload, out.seq);
  }

  writeStats(stats: StatsPayload): void {
    // No seq: a count is stale by the next one, so it is neither numbered nor kept for replay.
    this.socket.emit('stats', stats);
  }

  lose(): void {
    this.socket.emit('error', {
      code: ErrorCode.SESSION_LOST,
      message: 'this session is over (its events could not be kept): connect again for a new one',
    });
    // After the command that found it lost has been answered (its ack is on its way this turn).
    setImmediate(() => this.socket.disconnect(true));
  }
}

/** Answers a refusal made here, before the core; a numbered signal's turn passes with it. */
function refuse(
  { core }: Binding,
  client: ClientConnection,
  ack: AckFn | undefined,
  order: SignalOrder | undefined,
  error: ErrorBody,
): void {
  ack?.({ ok: false, error });
  if (order) client.queue.force(() => core.passSignalTurn(client.session, order.cseq, error.code));
}

/** One event from the client: budgets, then the relay's fast path, or its turn in the queue. */
function command(binding: Binding, client: ClientConnection, event: string, args: unknown[]): void {
  const { core, options } = binding;
  const { socket, queue } = client;
  const { payload, ack, order, extra } = splitArguments(event, args);
  // Budgets first: a flood is refused before anything is parsed or queued.
  client.limiter ??= new CommandLimiter(options.limits);
  const verdict = client.limiter.check(event, payload);
  if (!verdict.allowed) {
    refuse(binding, client, ack, order, {
      code: ErrorCode.RATE_LIMITED,
      message: 'too many messages',
      retryAfterMs: verdict.retryAfterMs,
    });
    if (verdict.abusive && socket.connected) {
      options.logger.warn(
        { socket: socket.id, address: addressTag(socket.data.ip) },
        'disconnecting an abusive client',
      );
      socket.disconnect(true);
    }
    return;
  }
  const session = client.session;
  if (order && !extra && session) {
    if (order.cseq <= client.highestCseq) {
      // A number already taken in: the retry of a signal answered UNAVAILABLE (its first try
      // may not have taken its turn). Its successors may be held in this queue for that turn
      // (the store keeps the sender's order); queued behind them, the retry would wait out
      // their hold and arrive after them. So it runs now: the store puts it in its place and
      // relays it at most once. The in-flight cap bounds these as it bounds the queue.
      if (client.retriesRunning >= options.maxInFlight) {
        refuse(binding, client, ack, order, {
          code: ErrorCode.RATE_LIMITED,
          message: 'too many retries in flight',
          retryAfterMs: 100,
        });
        return;
      }
      client.retriesRunning++;
      Promise.resolve(core.relayNow(session, payload, order)).then((result) => {
        client.retriesRunning--;
        ack?.(result);
      });
      return;
    }
    client.highestCseq = order.cseq;
  }
  // The relay hot path: with nothing of this client's pending, a signal goes to the store at
  // once (the memory store answers in this very turn, so it is written and acked here too). A
  // numbered signal also goes at once when all that is pending is relays of this client: the
  // store puts numbered signals in their sender's order itself, so a client's candidates sent back
  // to back reach Redis together (one call, one round trip) rather than one round trip after
  // another. Their acks still wait their turn in the queue, and so does any later command.
  if (
    event === 'signal' &&
    !extra &&
    (queue.idle || (order && client.relaysQueued === queue.size && queue.size < options.maxInFlight))
  ) {
    const relayed = core.relayNow(session, payload, order);
    // An answer in this turn is acked in this turn, unless acks of earlier relays are still to come.
    if (relayed instanceof Promise || !queue.idle) {
      client.relaysQueued++;
      queue.force(async () => {
        const result = await relayed;
        client.relaysQueued--;
        ack?.(result);
      });
    } else ack?.(relayed);
    return;
  }
  // Refusals of malformed calls wait their turn like any command, so acks keep the order sent.
  const accepted = queue.push(async () => {
    if (!isCommand(event)) {
      ack?.({ ok: false, error: { code: ErrorCode.UNKNOWN_EVENT, message: `unknown event "${event}"` } });
    } else if (extra) {
      const form = event === 'signal' ? 'a signal payload and an optional cseq' : 'one payload argument';
      ack?.({ ok: false, error: { code: ErrorCode.INVALID_PAYLOAD, message: `${event} takes ${form}` } });
    } else if (event === 'signal') {
      // Not `ack?.(await …)`: without an ack that would skip the relay itself.
      const result = await core.relayNow(client.session, payload, order);
      ack?.(result);
    } else if (event === 'proof') {
      // The bot gate: the automatic join this connection asked for waits for its proof.
      const { ack: result, join } = await core.prove(client.session, payload);
      ack?.(result);
      if (join) await joinFor(socket, core, client.session);
    } else {
      // Not `ack?.(await …)`: without an ack that would skip the command itself.
      const result = await core.handle(event, client.session, payload);
      ack?.(result);
    }
  });
  if (!accepted) {
    refuse(binding, client, ack, order, {
      code: ErrorCode.RATE_LIMITED,
      message: 'too many commands in flight',
      retryAfterMs: 100,
    });
  }
}

/** The connection closed: its session is ended (a goodbye) or detached for the grace period. */
function disconnected({ core, options }: Binding, client: ClientConnection, reason: string): void {
  options.logger.info({ socket: client.socket.id, reason }, 'client disconnected');
  // Goodbyes must not be refused for a full queue: bypass the in-flight limit.
  client.queue.force(async () => {
    const session = client.session;
    if (!session) return;
    // Only the connection that carries the session speaks for it. Not this one when the client
    // reconnected (here or elsewhere) before this drop was noticed, nor when the store lost
    // the session and it was closed for that: ending or detaching the session then would take
    // it from its new connection.
    if (!options.delivery.carries(session, client)) return;
    options.delivery.close(session, client);
    if (GOODBYES.has(reason)) await core.disconnect(session);
    else await core.detach(session);
  });
}

/**
 * socket.io's `onAny` pushes its listener onto a new empty array, which V8 grows to 17 slots for
 * the one listener: 152 bytes held by every connection for as long as it lasts. The same list in
 * an array of its own length costs 24. Only when the field is what socket.io 4 keeps there (its
 * `_anyListeners`, outside the typings): otherwise the list stays as `onAny` made it.
 */
function fitAnyListeners(socket: SignalingSocket): void {
  const internals = socket as unknown as { _anyListeners?: unknown };
  const listeners = internals._anyListeners;
  if (Array.isArray(listeners) && listeners.length === 1) internals._anyListeners = [listeners[0]];
}

/** A middleware refusal: socket.io sends `data` to the client with `connect_error`. */
function connectError(refusal: ErrorBody): Error {
  const error = new Error(refusal.message) as Error & { data?: ErrorBody };
  error.data = refusal;
  return error;
}

/**
 * socket.io passes the ack callback, when the client asked for one, as the last argument. A
 * `signal` may carry its sender's sequence number (`cseq`, a positive integer) as a second
 * argument: a retry after a resume then relays it at most once (docs/protocol.md, "Resuming").
 */
function splitArguments(
  event: string,
  args: unknown[],
): { payload: unknown; ack: AckFn | undefined; order: SignalOrder | undefined; extra: boolean } {
  const last = args[args.length - 1];
  const ack = typeof last === 'function' ? (last as AckFn) : undefined;
  const dataCount = ack ? args.length - 1 : args.length;
  const payload = args[0] === ack ? undefined : args[0];
  if (event === 'signal' && dataCount === 2 && isCseq(args[1])) {
    return { payload, ack, order: { cseq: args[1] }, extra: false };
  }
  return { payload, ack, order: undefined, extra: dataCount > 1 };
}

function isCseq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}
