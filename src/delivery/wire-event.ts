import type { IceServer, ServerEvents } from '../protocol/messages.js';
import type { SessionEvent } from '../store/pairing-store.js';

/** One server event as a transport writes it: its name and payload (docs/protocol.md). */
export type WireEvent = { [E in keyof ServerEvents]: [E, ServerEvents[E]] }[keyof ServerEvents];

/**
 * An event as the store keeps it, as the client receives it. `paired` gets the ICE servers of the
 * session it is written to here, at delivery: TURN credentials are minted fresh for each delivery
 * (a replay too), and never stored.
 */
export function wireEvent(event: SessionEvent, iceServers: () => IceServer[]): WireEvent {
  switch (event.name) {
    case 'waiting':
      return ['waiting', {}];
    case 'paired':
      return [
        'paired',
        {
          room: event.room,
          initiator: event.initiator,
          iceServers: iceServers(),
          // Outboxes written before this field existed (a rolling deploy) have none.
          commonInterests: event.commonInterests ?? [],
        },
      ];
    case 'signal':
      return ['signal', event.signal];
    case 'partner-left':
      return ['partner-left', { room: event.room, reason: event.reason }];
  }
}
