import type { Logger } from 'pino';
import type { SignalingCore } from '../../core/signaling-core.js';
import { originAllowedFor } from '../../http/origins.js';
import type { ConnectionGate } from '../../limits/connection-gate.js';
import { type ErrorBody, ErrorCode, ProtocolError, StoreUnavailableError } from '../../protocol/errors.js';
import { ackFrame, eventFrame, PING, parseClientFrame, salvageAckId } from '../../protocol/frames.js';
import { type Ack, isCommand } from '../../protocol/messages.js';
import { MAX_MESSAGE_BYTES } from './delivery.js';
import type { ApiLocation, PostToConnection } from './management-api.js';
import { parseWebSocketEvent, type WebSocketEvent } from './websocket-event.js';

/** The core and the management API of one API Gateway stage (all events of a Lambda share one). */
export interface StageBinding {
  core: SignalingCore;
  post: PostToConnection;
}

export interface WebSocketHandlerDeps {
  stage: (api: ApiLocation) => StageBinding;
  corsOrigins: readonly string[];
  /** Per-address connection limits (shared through Redis); none: unlimited. */
  gate?: ConnectionGate | undefined;
  logger: Logger;
}

/** What a Lambda behind a WebSocket route returns; for $connect a status ≥ 400 refuses the connection. */
export interface RouteResult {
  statusCode: number;
  body?: string;
}

export interface WebSocketHandlers {
  connect(event: unknown): Promise<RouteResult>;
  disconnect(event: unknown): Promise<RouteResult>;
  message(event: unknown): Promise<RouteResult>;
}

const OK: RouteResult = { statusCode: 200 };
const PONG: Ack = { ok: true };

/**
 * The three WebSocket routes, bound to the signaling core. The session id is API Gateway's
 * connectionId: a plain WebSocket has no resume, and a new connection is a new session.
 */
export function createWebSocketHandlers(deps: WebSocketHandlerDeps): WebSocketHandlers {
  const { logger } = deps;

  return {
    async connect(raw) {
      const event = parseWebSocketEvent(raw);
      // The connection is not open until this returns: nothing may be posted to it here.
      if (!originAllowedFor(event.headers.origin, event.headers.host, deps.corsOrigins)) {
        logger.info({ origin: event.headers.origin }, 'connection refused: origin not allowed');
        return { statusCode: 403, body: 'origin not allowed' };
      }
      if (deps.gate && event.sourceIp) {
        const admission = await deps.gate.admit(event.sourceIp);
        if (!admission.admitted) {
          logger.info({ reason: admission.reason }, 'connection refused');
          return { statusCode: 429, body: admission.reason };
        }
      }
      try {
        await deps.stage(event.api).core.connect(event.connectionId);
      } catch (err) {
        if (deps.gate && event.sourceIp) deps.gate.release(event.sourceIp);
        logger.warn({ err }, 'connection refused: store unavailable');
        return { statusCode: 503, body: 'pairing is unavailable right now' };
      }
      logger.info('connected');
      return OK;
    },

    async disconnect(raw) {
      const event = parseWebSocketEvent(raw);
      if (deps.gate && event.sourceIp) deps.gate.release(event.sourceIp);
      // Ends its pair at once: the partner hears partner-left with reason "disconnect".
      await deps.stage(event.api).core.disconnect(event.connectionId);
      logger.info('disconnected');
      return OK;
    },

    async message(raw) {
      const event = parseWebSocketEvent(raw);
      const { core, post } = deps.stage(event.api);
      const answer = await answerFrame(core, event, logger);
      if (!answer) return OK;
      try {
        // A sender gone before its answer needs nothing more: its $disconnect ends its session.
        await post(event.connectionId, answer);
      } catch (err) {
        logger.warn({ err }, 'answer not delivered');
      }
      return OK;
    },
  };
}

/** Runs one inbound frame and returns the frame to send back (an ack, or an error event), if any. */
async function answerFrame(core: SignalingCore, event: WebSocketEvent, logger: Logger): Promise<string | undefined> {
  const { body, connectionId } = event;
  let id: number | undefined;
  try {
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
      id = salvageAckId(body);
      throw new ProtocolError(ErrorCode.PAYLOAD_TOO_LARGE, `a message may be at most ${MAX_MESSAGE_BYTES} bytes`);
    }
    let frame: ReturnType<typeof parseClientFrame>;
    try {
      frame = parseClientFrame(body);
    } catch (error) {
      id = salvageAckId(body);
      throw error;
    }
    id = frame.id;
    let ack: Ack<object>;
    if (frame.action === PING) {
      // Renews the session's lease and tells it if its partner is gone without a goodbye.
      await core.heartbeat([connectionId]);
      ack = PONG;
    } else if (isCommand(frame.action)) {
      ack = await core.handle(frame.action, connectionId, frame.payload);
    } else {
      throw new ProtocolError(ErrorCode.UNKNOWN_EVENT, `unknown action "${frame.action.slice(0, 64)}"`);
    }
    return id === undefined ? undefined : ackFrame(id, ack);
  } catch (error) {
    const body = errorBody(error, logger);
    // A frame that names no ack id still deserves an answer: the error event.
    return id === undefined ? eventFrame('error', body) : ackFrame(id, { ok: false, error: body });
  }
}

function errorBody(error: unknown, logger: Logger): ErrorBody {
  if (error instanceof ProtocolError) return error.toBody();
  if (error instanceof StoreUnavailableError) {
    return { code: ErrorCode.UNAVAILABLE, message: 'pairing is unavailable right now; retry shortly' };
  }
  logger.error({ err: error }, 'frame failed');
  return { code: ErrorCode.INTERNAL, message: 'internal error' };
}
