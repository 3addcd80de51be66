import type { Logger } from 'pino';
import type { SignalingCore } from '../../core/signaling-core.js';
import { originAllowedFor } from '../../http/origins.js';
import type { ConnectionGate } from '../../limits/connection-gate.js';
import type { SharedCommandLimiter } from '../../limits/shared-command-limiter.js';
import { addressTag } from '../../observability/address-tag.js';
import { type ErrorBody, ErrorCode, ProtocolError, StoreUnavailableError } from '../../protocol/errors.js';
import { ackFrame, type ClientFrame, eventFrame, PING, parseClientFrame, salvageAckId } from '../../protocol/frames.js';
import { type Ack, isCommand } from '../../protocol/messages.js';
import { MAX_MESSAGE_BYTES } from './delivery.js';
import type { ApiLocation, ConnectionsApi } from './management-api.js';
import { parseWebSocketEvent, type WebSocketEvent } from './websocket-event.js';

/** The core and the management API of one API Gateway stage (all events of a Lambda share one). */
export interface StageBinding {
  core: SignalingCore;
  connections: ConnectionsApi;
}

export interface WebSocketHandlerDeps {
  stage: (api: ApiLocation) => StageBinding;
  corsOrigins: readonly string[];
  /** Per-address connection limits (shared through Redis); none: unlimited. */
  gate?: ConnectionGate | undefined;
  /** Per-connection message budgets (shared through Redis: every frame may land on another container). */
  limiter: SharedCommandLimiter;
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
        const admission = await deps.gate.admit(event.sourceIp, event.connectionId);
        if (!admission.admitted) {
          logger.info({ address: addressTag(event.sourceIp), reason: admission.reason }, 'connection refused');
          return { statusCode: 429, body: admission.reason };
        }
      }
      try {
        await deps.stage(event.api).core.connect(event.connectionId);
      } catch (err) {
        if (deps.gate && event.sourceIp) deps.gate.release(event.sourceIp, event.connectionId);
        logger.warn({ err }, 'connection refused: store unavailable');
        return { statusCode: 503, body: 'pairing is unavailable right now' };
      }
      logger.info('connected');
      return OK;
    },

    async disconnect(raw) {
      const event = parseWebSocketEvent(raw);
      if (deps.gate && event.sourceIp) deps.gate.release(event.sourceIp, event.connectionId);
      // Ends its pair at once: the partner hears partner-left with reason "disconnect".
      await deps.stage(event.api).core.disconnect(event.connectionId);
      logger.info('disconnected');
      return OK;
    },

    async message(raw) {
      const event = parseWebSocketEvent(raw);
      const { core, connections } = deps.stage(event.api);
      const { answer, abusive } = await answerFrame(core, deps.limiter, event, logger);
      try {
        // A sender gone before its answer needs nothing more: its $disconnect ends its session.
        if (answer) await connections.post(event.connectionId, answer);
        if (abusive) {
          logger.warn({ address: addressTag(event.sourceIp) }, 'disconnecting an abusive client');
          await connections.drop(event.connectionId);
        }
      } catch (err) {
        logger.warn({ err }, 'answer not delivered');
      }
      return OK;
    },
  };
}

interface Answer {
  /** The frame to send back (an ack, or an error event), if any. */
  answer?: string;
  /** The sender exhausted its abuse budget: close its connection. */
  abusive: boolean;
}

/** Runs one inbound frame: budget first, then parsing, then the core. */
async function answerFrame(
  core: SignalingCore,
  limiter: SharedCommandLimiter,
  event: WebSocketEvent,
  logger: Logger,
): Promise<Answer> {
  const { body, connectionId } = event;
  let frame: ClientFrame | undefined;
  let refusal: unknown;
  if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
    refusal = new ProtocolError(ErrorCode.PAYLOAD_TOO_LARGE, `a message may be at most ${MAX_MESSAGE_BYTES} bytes`);
  } else {
    try {
      frame = parseClientFrame(body);
    } catch (error) {
      refusal = error;
    }
  }
  const id = frame ? frame.id : salvageAckId(body);
  const refuse = (body: ErrorBody) =>
    // A frame that names no ack id still deserves an answer: the error event.
    id === undefined ? eventFrame('error', body) : ackFrame(id, { ok: false, error: body });
  const reply = (ack: Ack<object>) => {
    // A refusal is always answered; a success only when the client asked (an id).
    if (!ack.ok) return refuse(ack.error);
    return id === undefined ? undefined : ackFrame(id, ack);
  };

  // Junk draws from a budget too (the candidates one), so a flood of it is limited like any other.
  const verdict = await limiter.check(connectionId, frame?.action ?? '', frame?.payload);
  if (!verdict.allowed) {
    const body = { code: ErrorCode.RATE_LIMITED, message: 'too many messages', retryAfterMs: verdict.retryAfterMs };
    return { answer: refuse(body), abusive: verdict.abusive };
  }
  try {
    if (!frame) throw refusal;
    if (frame.action === PING) {
      // Renews the session's lease and tells it if its partner is gone without a goodbye.
      await core.heartbeat([connectionId]);
      return { answer: reply(PONG), abusive: false };
    }
    if (!isCommand(frame.action)) {
      throw new ProtocolError(ErrorCode.UNKNOWN_EVENT, `unknown action "${frame.action.slice(0, 64)}"`);
    }
    return { answer: reply(await core.handle(frame.action, connectionId, frame.payload)), abusive: false };
  } catch (error) {
    return { answer: refuse(errorBody(error, logger)), abusive: false };
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
