import type { Logger } from 'pino';
import type { SignalingObserver } from '../core/observer.js';

/**
 * One info line per pairing event. Signals are never logged: SDPs and candidates carry users' IP
 * addresses, and the relay path must not pay for logging.
 */
export function logObserver(logger: Logger): SignalingObserver {
  return {
    paired: (pair) => logger.info({ room: pair.id }, 'paired'),
    pairEnded: (pair, reason) => logger.info({ room: pair.id, reason }, 'pair ended'),
    relayed: () => {},
    refused: (command, code) => logger.debug({ command, code }, 'command refused'),
  };
}
