import type { Delivery } from '../../core/delivery.js';
import type { Signal } from '../../protocol/messages.js';
import { isPairRoom, pairIdOf, pairRoom, sessionRoom } from './rooms.js';
import type { SignalingServer } from './types.js';

/** socket.io-parser's EVENT packet type. */
const EVENT_PACKET = 2;

/**
 * Delivery over socket.io rooms. A relay goes to the pair's room minus the sender's session, so a
 * partner that has left the pair (and its room) can no longer be reached by a late signal.
 * Room joins and emits travel through the same adapter in order, on one instance or many.
 */
export function socketIoDelivery(io: SignalingServer): Delivery {
  /** To everyone in `room` but the sender's session room `fromRoom`. */
  const relayInRoom = (room: string, fromRoom: string, signal: Signal) => {
    // What `io.to(room).except(fromRoom).emit('signal', signal)` hands the adapter, without the
    // two BroadcastOperator copies it makes first (the relay's hot path).
    io.of('/').adapter.broadcast(
      { type: EVENT_PACKET, nsp: '/', data: ['signal', signal] },
      { rooms: new Set([room]), except: new Set([fromRoom]), flags: {} },
    );
  };
  return {
    send(to, event, payload) {
      // socket.io's typed emit cannot follow a generic event name; the Delivery signature already
      // ties `payload` to `event`, so widening here loses nothing.
      (io.to(sessionRoom(to)).emit as (event: string, payload: unknown) => boolean)(event, payload);
    },
    relay(pair, from, signal) {
      relayInRoom(pairRoom(pair.id), sessionRoom(from), signal);
    },
    relayBound(from, signal) {
      // The sender's socket is on this instance, and its rooms are this instance's view of its
      // binding, kept in order with every other emit by the adapter: no store round trip needed.
      const fromRoom = sessionRoom(from);
      if (io.of('/').adapter.rooms.get(fromRoom)?.size !== 1) return false;
      const bound = pairRoomsOf(io, fromRoom);
      // Bound to none, or to two pairs (a binding in flux): only the store can say which is current.
      if (bound.length !== 1) return false;
      relayInRoom(bound[0] as string, fromRoom, signal);
      return true;
    },
    bind(pair) {
      io.in([sessionRoom(pair.initiator), sessionRoom(pair.polite)]).socketsJoin(pairRoom(pair.id));
    },
    unbind(pair) {
      io.in(pairRoom(pair.id)).socketsLeave(pairRoom(pair.id));
    },
    unbindLost(session, reason) {
      // The session's commands run where its socket is, so this instance sees its rooms; the
      // partner may be anywhere, and the emit and the leave travel through the adapter in order.
      const fromRoom = sessionRoom(session);
      for (const room of pairRoomsOf(io, fromRoom)) {
        io.to(room)
          .except(fromRoom)
          .emit('partner-left', { room: pairIdOf(room), reason });
        io.in(room).socketsLeave(room);
      }
    },
  };
}

/** The pair rooms the sockets of `fromRoom` on this instance are in. */
function pairRoomsOf(io: SignalingServer, fromRoom: string): string[] {
  const adapter = io.of('/').adapter;
  const rooms: string[] = [];
  for (const socketId of adapter.rooms.get(fromRoom) ?? []) {
    for (const room of adapter.sids.get(socketId) ?? [])
      if (isPairRoom(room) && !rooms.includes(room)) rooms.push(room);
  }
  return rooms;
}
