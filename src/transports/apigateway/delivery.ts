import type { Delivery } from '../../core/delivery.js';
import { ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { eventFrame, signalFrame } from '../../protocol/frames.js';
import { partnerOf, type SessionId } from '../../store/pairing-store.js';
import type { PostToConnection } from './management-api.js';

/** API Gateway's WebSocket message limit (a message may span several 32 KB frames). */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/**
 * The Delivery port over API Gateway: every message is one PostToConnection. There are no rooms
 * to bind: the core reads the pair from the store before relaying, so bind/unbind/unbindLost have
 * nothing to do.
 *
 * `onGone` is told when a connection turns out to have vanished (410); it ends that session, so
 * its partner hears `partner-left` — and only that session: the sender's own command goes on.
 */
export function apiGatewayDelivery(post: PostToConnection, onGone: (session: SessionId) => Promise<void>): Delivery {
  const deliver = async (to: SessionId, frame: string): Promise<void> => {
    if ((await post(to, frame)) === 'gone') await onGone(to);
  };
  return {
    send: (to, event, payload) => deliver(to, eventFrame(event, payload)),
    relay: async (pair, from, signal) => {
      const frame = signalFrame(pair.id, signal);
      // JSON escaping can make a frame several times its SDP's size: check what would be sent,
      // since API Gateway would refuse it and the partner would never know.
      if (Buffer.byteLength(frame) > MAX_MESSAGE_BYTES) {
        throw new ProtocolError(
          ErrorCode.PAYLOAD_TOO_LARGE,
          `this signal would be a ${Buffer.byteLength(frame)}-byte message; API Gateway carries at most ${MAX_MESSAGE_BYTES}`,
        );
      }
      return deliver(partnerOf(pair, from), frame);
    },
    bind: () => {},
    unbind: () => {},
    unbindLost: () => {},
  };
}
