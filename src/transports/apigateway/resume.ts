import type { Logger } from 'pino';
import type { SignalingCore } from '../../core/signaling-core.js';
import { ErrorCode } from '../../protocol/errors.js';
import { eventFrame, type ResumeClaim } from '../../protocol/frames.js';
import type { Ack, IceServer } from '../../protocol/messages.js';
import type { Attached, PairingStore, SessionId } from '../../store/pairing-store.js';
import { postReplay } from './delivery.js';
import type { ConnectionsApi } from './management-api.js';

export interface ResumeContext {
  core: SignalingCore;
  connections: ConnectionsApi;
  deps: {
    store: PairingStore;
    iceServers: (session: SessionId) => IceServer[];
    logger: Logger;
  };
  event: { connectionId: string };
}

const OK: Ack = { ok: true };
export const LOST: Ack = {
  ok: false,
  error: { code: ErrorCode.SESSION_LOST, message: 'this session is over: connect again for a new one' },
};

/**
 * `resume` on the connection that carries `current` (the new session it got at $connect, or one
 * it took up since). Answers with the `session` event, then what the session missed, in order;
 * the ack follows. Posted here rather than from $connect, where the connection is not open yet.
 *
 * - No claim: the connection's own session, `resumed: false` (queued at once with `join`, with the
 *   preferences the claim carries).
 * - A claim of `current` itself: what came after `lastSeq` again (a client that saw a gap).
 * - A claim of another session, known and within its grace: the connection carries it from now
 *   on, its events after `lastSeq` are replayed, and `current` is ended. Unknown, expired or
 *   lost: `current`, `resumed: false`, as a new session.
 */
export async function resumeSession(context: ResumeContext, current: SessionId, claim: ResumeClaim): Promise<Ack> {
  const { core, connections, deps, event } = context;
  const { connectionId } = event;
  let session = current;
  let attached: Attached | null = null;
  let requeue = false;
  let replaced: string | null = null;

  if (claim.session === current) {
    attached = await core.resume(current, claim.lastSeq);
    // The store lost the session this connection carries (overflow, lease, Redis data): the
    // connection is closed after this answer, and its client starts anew.
    if (!attached) return LOST;
  } else if (claim.session !== undefined) {
    const known = await core.resume(claim.session, claim.lastSeq);
    if (known) {
      // Carried by this connection first, then read again: an event appended meanwhile is either
      // in this replay or posted here live, never neither; and a $disconnect of the connection it
      // leaves, running meanwhile, cannot detach it once this one carries it (or is undone here).
      replaced = await deps.store.bindConnection(claim.session, connectionId);
      attached = await core.resume(claim.session, claim.lastSeq);
      if (attached) {
        session = claim.session;
        requeue = known.state.status === 'idle' && known.state.requeue === true;
      } else {
        await deps.store.bindConnection(current, connectionId);
      }
    }
  }

  const resumed = attached !== null;
  const state = attached?.state;
  if (state?.status === 'idle' && state.requeue) requeue = true;
  // Its place in the queue, when it dropped while waiting; a new session, when it asked to be queued.
  const join = requeue || (!resumed && claim.join);
  // With the bot gate on, that join waits for the proof (the challenge says so, and keeps its
  // preferences: the proof comes to another invocation).
  const challenge = await core.challengeFor(session, { join, fresh: !resumed, preferences: claim.preferences });
  await connections.post(
    connectionId,
    eventFrame('session', challenge === undefined ? { id: session, resumed } : { id: session, resumed, challenge }),
  );
  if (attached && (await postReplay(connections, connectionId, attached.replay, deps.iceServers)) === 'gone') return OK;
  if (session !== current) {
    // The new session this connection came with, never used: nothing to tell anyone.
    await core.disconnect(current);
    // The connection the session leaves may still be half open: it carries nothing now.
    if (replaced !== null) {
      await connections.drop(replaced).catch((err: unknown) => deps.logger.warn({ err }, 'old connection not closed'));
    }
  }
  // With the preferences the client sent, as a socket.io client's auth gives them to its joins.
  if (join && !challenge) await joinFor(context, session, claim.preferences);
  // A partner that is gone for good since (its grace ran out while this one was away) is told now.
  if (resumed) await core.heartbeat([session]);
  return OK;
}

/**
 * A join made on the client's behalf, with the preferences of its `resume` (checked there like any
 * `join`'s); a refusal (bad preferences among them) reaches it as an `error` event.
 */
export async function joinFor(
  { core, connections, event }: ResumeContext,
  session: SessionId,
  preferences?: Record<string, unknown>,
): Promise<void> {
  const result = await core.handle('join', session, preferences);
  if (!result.ok && result.error.code !== ErrorCode.ALREADY_WAITING && result.error.code !== ErrorCode.ALREADY_PAIRED) {
    await connections.post(event.connectionId, eventFrame('error', result.error));
  }
}
