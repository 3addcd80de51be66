import type { Delivery } from '../../core/delivery.js';
import { wireEvent } from '../../delivery/wire-event.js';
import { ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { eventFrame, signalFrame } from '../../protocol/frames.js';
import type { IceServer, Signal } from '../../protocol/messages.js';
import type { Outgoing, SessionId } from '../../store/pairing-store.js';
import type { ConnectionsApi, PostOutcome } from './management-api.js';

/** API Gateway's WebSocket message limit (a message may span several 32 KB frames). */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/** The largest seq and a pair id as long as ours, for measuring a signal's frame before relaying it. */
const WORST_ROOM = '00000000-0000-0000-0000-000000000000';

/**
 * Refuses a signal whose frame would exceed an API Gateway message: JSON escaping can make a
 * frame several times its SDP's size, API Gateway would refuse it, and the partner would never
 * know. Checked before the signal is relayed (CoreOptions.checkSignal).
 */
export function checkSignalFrame(signal: Signal): void {
  const bytes = Buffer.byteLength(signalFrame(WORST_ROOM, signal, Number.MAX_SAFE_INTEGER));
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new ProtocolError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `this signal would be a ${bytes}-byte message; API Gateway carries at most ${MAX_MESSAGE_BYTES}`,
    );
  }
}

/** An event as the plain-WebSocket frame of docs/protocol.md. */
export function frameOf(out: Outgoing, iceServers: (session: SessionId) => IceServer[]): string {
  if (out.event.name === 'signal') return signalFrame(out.event.room, out.event.signal, out.seq);
  const [type, payload] = wireEvent(out.event, () => iceServers(out.to));
  return eventFrame(type, payload, out.seq);
}

/** Posts a replay makes at once: a full outbox (hundreds of events) within a Lambda's time, without a burst. */
const REPLAY_POSTS_AT_ONCE = 8;

/**
 * Posts a session's replay to one connection, a few posts at a time, since the client puts
 * events in seq order anyway (posts from concurrent invocations to one connection can overtake
 * each other); stops at a 410.
 */
export async function postReplay(
  connections: ConnectionsApi,
  connection: string,
  events: readonly Outgoing[],
  iceServers: (session: SessionId) => IceServer[],
): Promise<PostOutcome> {
  for (let i = 0; i < events.length; i += REPLAY_POSTS_AT_ONCE) {
    const batch = events.slice(i, i + REPLAY_POSTS_AT_ONCE);
    const outcomes = await Promise.all(batch.map((out) => connections.post(connection, frameOf(out, iceServers))));
    if (outcomes.includes('gone')) return 'gone';
  }
  return 'sent';
}

const LOST_FRAME = eventFrame('error', {
  code: ErrorCode.SESSION_LOST,
  message: 'this session is over (its events could not be kept): connect again for a new one',
});

/** Tells a connection that its session is over, then closes it: its client starts anew. */
export async function loseConnection(connections: ConnectionsApi, connection: string): Promise<void> {
  await connections.post(connection, LOST_FRAME);
  await connections.drop(connection);
}

/**
 * The Delivery port over API Gateway: every event is one PostToConnection, made by the invocation
 * whose command appended it, to the connection that carries its session now (`carriers`: the
 * store's connectionsOf). A session carried by none (detached: its client dropped) gets its events
 * from its outbox when it resumes.
 *
 * `onGone` is told when a connection turns out to have vanished (410): it detaches that session
 * for the grace, as a drop does, and only that one: the sender's own command goes on.
 */
export function apiGatewayDelivery(
  connections: ConnectionsApi,
  carriers: (sessions: readonly SessionId[]) => Promise<Map<SessionId, string>>,
  iceServers: (session: SessionId) => IceServer[],
  onGone: (connection: string) => Promise<void>,
): Delivery {
  return {
    async deliver(events) {
      if (events.length === 0) return;
      const carrying = await carriers([...new Set(events.map((out) => out.to))]);
      // In order: two events for one session (a lost partner's partner-left, then a waiting)
      // go one after the other.
      for (const out of events) {
        const connection = carrying.get(out.to);
        if (connection === undefined) continue;
        if ((await connections.post(connection, frameOf(out, iceServers))) === 'gone') {
          carrying.delete(out.to);
          await onGone(connection);
        }
      }
    },
    async lost(sessions) {
      const carrying = await carriers(sessions);
      for (const connection of carrying.values()) await loseConnection(connections, connection);
    },
    // Every event is posted by the invocation that appended it: there is no writer here that
    // could fall behind the outbox. (A `ping` re-posts what its session has not acknowledged.)
    catchUp() {},
    // No process holds API Gateway's connections: nobody here sends them `stats` (they poll GET /stats).
    idle() {},
  };
}
