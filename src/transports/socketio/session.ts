import { randomBytes } from 'node:crypto';
import type { SignalingCore } from '../../core/signaling-core.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { SessionId } from '../../store/pairing-store.js';
import { isPairRoom, pairRoom, sessionRoom } from './rooms.js';
import type { SignalingSocket } from './types.js';

/** 16 random bytes, base64url: a session id is a bearer secret (it resumes the session), never a counter. */
export const newSessionId = (): SessionId => randomBytes(16).toString('base64url');

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/** The session a reconnecting client claims in `auth: { session }`, if it is well formed. */
export function claimedSession(auth: unknown): SessionId | undefined {
  const session = (auth as { session?: unknown } | null | undefined)?.session;
  return typeof session === 'string' && SESSION_ID.test(session) ? session : undefined;
}

/**
 * Whether the client asks, in `auth: { join }`, for a new session to be queued at once (true) or
 * left idle (false), whatever AUTO_JOIN says; undefined when it leaves that to AUTO_JOIN. A client
 * whose claimed session was lost but whose DataChannel chat is still open says false: the chat
 * goes on peer to peer, and it queues again only when its user asks.
 */
export function requestedJoin(auth: unknown): boolean | undefined {
  const join = (auth as { join?: unknown } | null | undefined)?.join;
  return typeof join === 'boolean' ? join : undefined;
}

/**
 * Decides which session this connection is: the one socket.io recovered (graceful restart or a
 * short drop, with missed packets replayed), the one the client claims (the old server died:
 * the pair is resumed and its handshake restarted), or a fresh one, queued with AUTO_JOIN unless
 * the client asked otherwise (see `requestedJoin`).
 */
export async function establishSession(
  socket: SignalingSocket,
  core: SignalingCore,
  options: { autoJoin: boolean; onError: (error: unknown, context: { command: string }) => void },
): Promise<SessionId> {
  try {
    const recovered = socket.recovered ? socket.data.session : undefined;
    if (recovered) {
      const state = await core.resume(recovered);
      if (state) {
        // socket.io restores the rooms the socket had when it dropped; a pair that ended
        // meanwhile must not stay bound, or signals would still be relayed through it.
        const current = state.status === 'paired' ? pairRoom(state.pair.id) : undefined;
        for (const room of socket.rooms) if (isPairRoom(room) && room !== current) socket.leave(room);
        socket.emit('session', { id: recovered, resumed: true });
        if (state.status === 'idle' && state.requeue) await joinFor(socket, core, recovered);
        return recovered;
      }
      for (const room of socket.rooms) if (room !== socket.id) socket.leave(room);
    }

    const claimed = claimedSession(socket.handshake.auth);
    if (claimed) {
      const state = await core.resume(claimed);
      if (state) {
        socket.data.session = claimed;
        socket.join(sessionRoom(claimed));
        socket.emit('session', { id: claimed, resumed: true });
        if (state.status === 'paired') await core.restartHandshake(state.pair);
        else if (state.status === 'idle' && state.requeue) await joinFor(socket, core, claimed);
        return claimed;
      }
    }

    const fresh = newSessionId();
    socket.data.session = fresh;
    socket.join(sessionRoom(fresh));
    await core.connect(fresh);
    socket.emit('session', { id: fresh, resumed: false });
    if (requestedJoin(socket.handshake.auth) ?? options.autoJoin) await joinFor(socket, core, fresh);
    return fresh;
  } catch (error) {
    // The store is unreachable: the client stays connected with a session the next heartbeat
    // registers, and learns why it is not queued.
    options.onError(error, { command: 'connect' });
    socket.data.session ??= newSessionId();
    socket.join(sessionRoom(socket.data.session));
    socket.emit('error', {
      code: ErrorCode.UNAVAILABLE,
      message: 'pairing is unavailable right now; send join to retry',
    });
    return socket.data.session;
  }
}

/** A join the server makes on the client's behalf; a failure reaches it as an `error` event. */
async function joinFor(socket: SignalingSocket, core: SignalingCore, session: SessionId) {
  const result = await core.handle('join', session, undefined);
  if (!result.ok) socket.emit('error', result.error);
}
