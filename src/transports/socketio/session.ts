import type { SignalingCore } from '../../core/signaling-core.js';
import type { LocalDelivery, SessionLink } from '../../delivery/local-delivery.js';
import { isSessionId, newSessionId } from '../../delivery/session-id.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Attached, SessionId } from '../../store/pairing-store.js';
import type { SignalingSocket } from './types.js';

/** What a reconnecting client claims in `auth`: its session, and the last event it processed. */
export interface Claim {
  session: SessionId;
  lastSeq: number;
}

/** The claim in `auth: { session, lastSeq }`, if it is well formed (`lastSeq` defaults to 0). */
export function claimedSession(auth: unknown): Claim | undefined {
  const { session, lastSeq } = (auth ?? {}) as { session?: unknown; lastSeq?: unknown };
  if (!isSessionId(session)) return undefined;
  if (lastSeq === undefined) return { session, lastSeq: 0 };
  return Number.isSafeInteger(lastSeq) && (lastSeq as number) >= 0
    ? { session, lastSeq: lastSeq as number }
    : undefined;
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
 * The matchmaking preferences in `auth: { interests, fallbackMs, lang }`, as the payload of the
 * join the server makes for the client (validated there like any `join`'s: a bad one reaches the
 * client as an `error` event, INVALID_PAYLOAD, and leaves it idle); undefined when there are none.
 */
export function requestedPreferences(auth: unknown): Record<string, unknown> | undefined {
  if (typeof auth !== 'object' || auth === null) return undefined;
  const preferences: Record<string, unknown> = {};
  for (const name of ['interests', 'fallbackMs', 'lang'] as const) {
    if (Object.hasOwn(auth, name)) preferences[name] = (auth as Record<string, unknown>)[name];
  }
  return Object.keys(preferences).length > 0 ? preferences : undefined;
}

/**
 * Decides which session this connection is: the one the client claims (after a drop, a restart
 * or a crash of its server; its missed events are replayed from the outbox, wherever it was
 * connected before), or a fresh one, queued with AUTO_JOIN unless the client asked otherwise (see
 * `requestedJoin`). Then links it to `delivery`, so its events reach it.
 */
export async function establishSession(
  socket: SignalingSocket,
  core: SignalingCore,
  delivery: LocalDelivery,
  link: SessionLink,
  options: { autoJoin: boolean; onError: (error: unknown, context: { command: string }) => void },
): Promise<SessionId> {
  try {
    const claim = claimedSession(socket.handshake.auth);
    if (claim) {
      const attached = await core.resume(claim.session, claim.lastSeq, socket.data.subject);
      if (attached) {
        const join = attached.state.status === 'idle' && attached.state.requeue === true;
        const challenge = await core.challengeFor(claim.session, { join, fresh: false });
        open(socket, delivery, link, claim.session, attached, claim.lastSeq, true, challenge);
        if (join && !challenge) await joinFor(socket, core, claim.session);
        return claim.session;
      }
    }

    const fresh = newSessionId();
    const attached = await core.connect(fresh, socket.data.subject);
    const join = requestedJoin(socket.handshake.auth) ?? options.autoJoin;
    // With the bot gate on, the automatic join waits for the proof (the challenge says so).
    const challenge = await core.challengeFor(fresh, { join, fresh: true });
    open(socket, delivery, link, fresh, attached ?? { state: { status: 'idle' }, replay: [] }, 0, false, challenge);
    if (join && !challenge) await joinFor(socket, core, fresh);
    return fresh;
  } catch (error) {
    // The store is unreachable, so the session could not be registered: say why, then cut the
    // transport (not a server disconnect, after which clients do not come back), so the client
    // reconnects with back-off and claims its session again.
    options.onError(error, { command: 'connect' });
    socket.emit('error', { code: ErrorCode.UNAVAILABLE, message: 'pairing is unavailable right now; reconnecting' });
    socket.conn.close();
    return '';
  }
}

/** Names the session to the client first, then writes what it missed: `session` is never sequenced. */
function open(
  socket: SignalingSocket,
  delivery: LocalDelivery,
  link: SessionLink,
  session: SessionId,
  attached: Attached,
  after: number,
  resumed: boolean,
  challenge: string | undefined,
): void {
  socket.data.session = session;
  socket.emit('session', challenge === undefined ? { id: session, resumed } : { id: session, resumed, challenge });
  delivery.open(session, link, after, attached.replay, attached.state.status);
}

/**
 * A join the server makes on the client's behalf, with the preferences in its `auth` (a resumed
 * session that was waiting takes its place again with them: its client sends them at every
 * connection); a failure reaches it as an `error` event.
 */
export async function joinFor(socket: SignalingSocket, core: SignalingCore, session: SessionId): Promise<void> {
  const result = await core.handle('join', session, requestedPreferences(socket.handshake.auth));
  if (!result.ok) socket.emit('error', result.error);
}
