import type { Delivery } from '../../core/delivery.js';
import { wireEvent } from '../../delivery/wire-event.js';
import { ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { eventFrame, signalFrame } from '../../protocol/frames.js';
import type { IceServer, Signal } from '../../protocol/messages.js';
import type { Outgoing, SessionId } from '../../store/pairing-store.js';
import type { ConnectionsApi } from './management-api.js';

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

/**
 * The Delivery port over API Gateway: every event is one PostToConnection, made by the invocation
 * whose command appended it (there is no process that holds connections, so nothing to route).
 *
 * `onGone` is told when a connection turns out to have vanished (410); it ends that session, so
 * its partner hears `partner-left` — and only that session: the sender's own command goes on.
 */
export function apiGatewayDelivery(
  connections: ConnectionsApi,
  iceServers: (session: SessionId) => IceServer[],
  onGone: (session: SessionId) => Promise<void>,
): Delivery {
  return {
    async deliver(events) {
      // In order: two events for one session (a lost partner's partner-left, then a waiting)
      // must not overtake each other on the way.
      for (const out of events) {
        if ((await connections.post(out.to, frameOf(out, iceServers))) === 'gone') await onGone(out.to);
      }
    },
    async lost(sessions) {
      const frame = eventFrame('error', {
        code: ErrorCode.SESSION_LOST,
        message: 'this session is over (its events could not be kept): connect again for a new one',
      });
      for (const session of sessions) {
        await connections.post(session, frame);
        await connections.drop(session);
      }
    },
    // Every event is posted by the invocation that appended it, to the connection itself: there is
    // no writer here that could fall behind the outbox.
    catchUp() {},
  };
}
