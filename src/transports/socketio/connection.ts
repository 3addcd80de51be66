import { randomBytes } from 'node:crypto';
import type { SignalingCore } from '../../core/signaling-core.js';
import { ErrorCode } from '../../protocol/errors.js';
import { type Ack, isCommand } from '../../protocol/messages.js';
import { sessionRoom } from './rooms.js';
import { SerialQueue } from './serial-queue.js';
import type { SignalingServer } from './types.js';

export interface SocketIoBindingOptions {
  /** Queue every client as soon as it connects (it may also connect idle and send `join`). */
  autoJoin: boolean;
  /** Commands one client may have waiting for the store before further ones are refused. */
  maxInFlight: number;
}

type AckFn = (response: Ack<object>) => void;

/** A session id is a bearer secret (it may later resume the session), so it is random, not a counter. */
export const newSessionId = (): string => randomBytes(16).toString('base64url');

/**
 * Binds the signaling core to socket.io. This file only translates: socket events in, acks out.
 * Every rule lives in the core.
 */
export function bindSocketIo(io: SignalingServer, core: SignalingCore, options: SocketIoBindingOptions): void {
  io.on('connection', (socket) => {
    const session = newSessionId();
    socket.data.session = session;
    socket.join(sessionRoom(session));
    const queue = new SerialQueue(options.maxInFlight);

    socket.onAny((event: string, ...args: unknown[]) => {
      const { payload, ack, extra } = splitArguments(args);
      if (!isCommand(event)) {
        ack?.({ ok: false, error: { code: ErrorCode.UNKNOWN_EVENT, message: `unknown event "${event}"` } });
        return;
      }
      if (extra) {
        ack?.({
          ok: false,
          error: { code: ErrorCode.INVALID_PAYLOAD, message: `${event} takes one payload argument` },
        });
        return;
      }
      const accepted = queue.push(async () => {
        const result = await core.handle(event, session, payload);
        ack?.(result);
      });
      if (!accepted) {
        ack?.({
          ok: false,
          error: { code: ErrorCode.RATE_LIMITED, message: 'too many commands in flight', retryAfterMs: 100 },
        });
      }
    });

    socket.on('disconnect', (reason) => {
      // On a graceful shutdown the client will reconnect; its pairing must outlive this process
      // (a shared store keeps it, a memory store dies with the process anyway).
      if (reason === 'server shutting down') return;
      queue.push(() => core.disconnect(session));
    });

    if (options.autoJoin) queue.push(() => core.handle('join', session, undefined));
  });
}

/** socket.io passes the ack callback, when the client asked for one, as the last argument. */
function splitArguments(args: unknown[]): { payload: unknown; ack: AckFn | undefined; extra: boolean } {
  const last = args[args.length - 1];
  const ack = typeof last === 'function' ? (last as AckFn) : undefined;
  const dataCount = ack ? args.length - 1 : args.length;
  return { payload: args[0] === ack ? undefined : args[0], ack, extra: dataCount > 1 };
}
