import type { Logger } from 'pino';
import type { SignalingCore } from '../../core/signaling-core.js';
import { CommandLimiter, type CommandLimits } from '../../limits/command-limiter.js';
import { addressTag } from '../../observability/address-tag.js';
import { ErrorCode } from '../../protocol/errors.js';
import { type Ack, isCommand } from '../../protocol/messages.js';
import type { SessionId } from '../../store/pairing-store.js';
import { sessionRoom } from './rooms.js';
import { SerialQueue } from './serial-queue.js';
import { establishSession } from './session.js';
import type { SignalingServer, SignalingSocket } from './types.js';

export interface SocketIoBindingOptions {
  /** Queue every client as soon as it connects (it may also connect idle and send `join`). */
  autoJoin: boolean;
  /** Commands one client may have waiting for the store before further ones are refused. */
  maxInFlight: number;
  /** How often the sessions connected here renew their leases (a third of the resume grace). */
  heartbeatMs: number;
  /** Per-connection command budgets. */
  limits: CommandLimits;
  logger: Logger;
  /** Reports how long a client waited in the queue before `paired`. */
  observeWait: (seconds: number) => void;
  onError: (error: unknown, context: { command: string }) => void;
}

export interface SocketIoBinding {
  /** Stops the heartbeat and waits for every client's pending commands and disconnect handling. */
  drain(): Promise<void>;
}

type AckFn = (response: Ack<object>) => void;

/**
 * Disconnects after which the client will not come back: its pair ends at once. Any other reason
 * (network drop, ping timeout, our own shutdown) detaches the session for the grace period instead.
 */
const GOODBYES = new Set(['client namespace disconnect', 'server namespace disconnect']);

/**
 * Binds the signaling core to socket.io. This file only translates: socket events in, acks out,
 * and tells the core when sessions come and go. Every rule lives in the core.
 */
export function bindSocketIo(
  io: SignalingServer,
  core: SignalingCore,
  options: SocketIoBindingOptions,
): SocketIoBinding {
  const queues = new Set<SerialQueue>();
  const { logger } = options;

  // Per-address admission happens before this, at the engine.io handshake (limits/socketio-admission.ts).
  io.on('connection', (socket) => {
    const queue = new SerialQueue(options.maxInFlight);
    queues.add(queue);
    const limiter = new CommandLimiter(options.limits);
    watchQueueTime(socket, options.observeWait);
    // Resolved by the first task; every later task runs after it, so it is always set for them.
    let session: SessionId = '';
    queue.push(async () => {
      session = await establishSession(socket, core, options);
      logger.info({ socket: socket.id, resumed: socket.recovered }, 'client connected');
    });

    socket.onAny((event: string, ...args: unknown[]) => {
      const { payload, ack, extra } = splitArguments(args);
      // Budgets first: a flood is refused before anything is parsed or queued.
      const verdict = limiter.check(event, payload);
      if (!verdict.allowed) {
        ack?.({
          ok: false,
          error: { code: ErrorCode.RATE_LIMITED, message: 'too many messages', retryAfterMs: verdict.retryAfterMs },
        });
        if (verdict.abusive && socket.connected) {
          logger.warn({ socket: socket.id, address: addressTag(socket.data.ip) }, 'disconnecting an abusive client');
          socket.disconnect(true);
        }
        return;
      }
      // The relay hot path: with nothing of this client's pending, a signal whose pair this
      // instance knows is relayed now, in order by construction, with no queue or store turn.
      if (event === 'signal' && !extra && queue.idle) {
        const relayed = core.relayNow(session, payload);
        if (relayed) {
          ack?.(relayed);
          return;
        }
      }
      // Refusals of malformed calls wait their turn like any command, so acks keep the order sent.
      const accepted = queue.push(async () => {
        if (!isCommand(event)) {
          ack?.({ ok: false, error: { code: ErrorCode.UNKNOWN_EVENT, message: `unknown event "${event}"` } });
        } else if (extra) {
          ack?.({
            ok: false,
            error: { code: ErrorCode.INVALID_PAYLOAD, message: `${event} takes one payload argument` },
          });
        } else {
          // Not `ack?.(await …)`: without an ack that would skip the command itself.
          const result = await core.handle(event, session, payload);
          ack?.(result);
        }
      });
      if (!accepted) {
        ack?.({
          ok: false,
          error: { code: ErrorCode.RATE_LIMITED, message: 'too many commands in flight', retryAfterMs: 100 },
        });
      }
    });

    socket.on('disconnect', (reason) => {
      logger.info({ socket: socket.id, reason }, 'client disconnected');
      // Goodbyes must not be refused for a full queue: bypass the in-flight limit.
      queue.force(async () => {
        if (!session) return;
        if (GOODBYES.has(reason)) await core.disconnect(session);
        else if (!connectedHere(io, session)) await core.detach(session);
      });
      queue.drained().then(() => queues.delete(queue));
    });
  });

  const heartbeat = setInterval(() => {
    const sessions: SessionId[] = [];
    for (const socket of io.of('/').sockets.values()) if (socket.data.session) sessions.push(socket.data.session);
    core.heartbeat(sessions).catch((error: unknown) => options.onError(error, { command: 'heartbeat' }));
  }, options.heartbeatMs);
  heartbeat.unref();

  return {
    async drain() {
      clearInterval(heartbeat);
      await Promise.all([...queues].map((q) => q.drained()));
    },
  };
}

/** Measures queue time on the waiting client's own instance: from `waiting` to a new `paired`. */
function watchQueueTime(socket: SignalingSocket, observeWait: (seconds: number) => void): void {
  let waitingSince = 0;
  socket.onAnyOutgoing((event: string, payload: unknown) => {
    if (event === 'waiting') waitingSince = performance.now();
    else if (event === 'paired' && waitingSince > 0 && !(payload as { resumed?: boolean }).resumed) {
      observeWait((performance.now() - waitingSince) / 1000);
      waitingSince = 0;
    }
  });
}

/** Another socket of this process already carries the session (the client reconnected before we noticed the drop). */
function connectedHere(io: SignalingServer, session: SessionId): boolean {
  return (io.of('/').adapter.rooms.get(sessionRoom(session))?.size ?? 0) > 0;
}

/** socket.io passes the ack callback, when the client asked for one, as the last argument. */
function splitArguments(args: unknown[]): { payload: unknown; ack: AckFn | undefined; extra: boolean } {
  const last = args[args.length - 1];
  const ack = typeof last === 'function' ? (last as AckFn) : undefined;
  const dataCount = ack ? args.length - 1 : args.length;
  return { payload: args[0] === ack ? undefined : args[0], ack, extra: dataCount > 1 };
}
