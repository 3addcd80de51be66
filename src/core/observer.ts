import type { ErrorCode } from '../protocol/errors.js';
import type { LeaveReason, SignalType } from '../protocol/messages.js';
import type { Pair } from '../store/pairing-store.js';

/**
 * What the core reports as it works, for logs and metrics, without knowing either. Calls are
 * synchronous and must be cheap: `relayed` runs once per signal, on the hot path.
 */
export interface SignalingObserver {
  paired(pair: Pair): void;
  pairEnded(pair: Pair, reason: LeaveReason): void;
  relayed(type: SignalType): void;
  refused(command: string, code: ErrorCode): void;
}

export const silentObserver: SignalingObserver = {
  paired() {},
  pairEnded() {},
  relayed() {},
  refused() {},
};

/** Several observers as one: each call goes to every one of them, in order. */
export function allOf(...observers: SignalingObserver[]): SignalingObserver {
  return {
    paired: (pair) => {
      for (const o of observers) o.paired(pair);
    },
    pairEnded: (pair, reason) => {
      for (const o of observers) o.pairEnded(pair, reason);
    },
    relayed: (type) => {
      for (const o of observers) o.relayed(type);
    },
    refused: (command, code) => {
      for (const o of observers) o.refused(command, code);
    },
  };
}
