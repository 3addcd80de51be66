import type { Logger } from 'pino';
import type { SignalingCore } from '../../core/signaling-core.js';
import { newSessionId } from '../../delivery/session-id.js';
import { originAllowedFor } from '../../http/origins.js';
import type { ConnectionGate } from '../../limits/connection-gate.js';
import type { SharedCommandLimiter } from '../../limits/shared-command-limiter.js';
import { addressTag } from '../../observability/address-tag.js';
import { type ErrorBody, ErrorCode, ProtocolError, StoreUnavailableError } from '../../protocol/errors.js';
import { parseClientFrame, parseResume, salvageAckId } from '../../protocol/frame-parsing.js';
import { ackFrame, BYE, type ClientFrame, eventFrame, PING, RESUME } from '../../protocol/frames.js';
import { type Ack, type IceServer, isCommand } from '../../protocol/messages.js';
import { deviceToken } from '../../safety/subject.js';
import type { PairingStore, SessionId, Subject, SubjectConnectionLimits } from '../../store/pairing-store.js';
import { MAX_MESSAGE_BYTES } from './delivery.js';
import { pairDueFallbacks } from './fallbacks.js';
import { tellLapsed } from './lapsed.js';
import type { ApiLocation, ConnectionsApi } from './management-api.js';
import { joinFor, LOST, resumeSession } from './resume.js';
import { budgetOf, type LambdaContext, retryWithin, sleep } from './time-budget.js';
import { parseWebSocketEvent, type WebSocketEvent } from './websocket-event.js';

/** The core and the management API of one API Gateway stage (all events of a Lambda share one). */
export interface StageBinding {
  core: SignalingCore;
  connections: ConnectionsApi;
}

export interface WebSocketHandlerDeps {
  stage: (api: ApiLocation) => StageBinding;
  /** The API the scheduled `sweep` posts to (its event names none): from the function's environment. */
  scheduledApi: ApiLocation;
  /** The store the core uses: which connection carries which session, and the signals' order. */
  store: PairingStore;
  /** How long a session whose connection dropped stays resumable (RESUME_GRACE_MS). */
  resumeGraceMs: number;
  /** ICE servers for a session's `paired` (TURN credentials are minted per delivery, a replay too). */
  iceServers: (session: SessionId) => IceServer[];
  corsOrigins: readonly string[];
  /** Per-address connection limits (shared through Redis); none: unlimited. */
  gate?: ConnectionGate | undefined;
  /** The subject of a client at this address with this device token (safety/subject.ts). */
  subjectOf: (address: string, device: string | undefined) => Subject;
  /** How many open connections the store keeps per subject, and how long: what a ban closes (banned-connections.ts). */
  subjectConnections: SubjectConnectionLimits;
  /**
   * Resolves once what a frame set going in the background is done (an automatic ban and the
   * closing of its subject's connections): awaited before the invocation returns, since Lambda
   * freezes a container between invocations and would hold it until the next one.
   */
  settle?: () => Promise<void>;
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
  disconnect(event: unknown, context?: LambdaContext): Promise<RouteResult>;
  message(event: unknown): Promise<RouteResult>;
  /**
   * Scheduled (serverless.yml): tells the partners of drops whose grace ran out, and pairs waiting
   * clients whose fallback passed, keeping watch while more come due within its run.
   */
  sweep(event: unknown, context?: LambdaContext): Promise<RouteResult>;
}

const OK: RouteResult = { statusCode: 200 };
const PONG: Ack = { ok: true };
/** An invocation that comes by tells the partners of lapsed drops at most this often per container. */
const PASS_INTERVAL_MS = 1000;
/** How often a sweep looks again while drops or fallbacks are pending. */
const SWEEP_POLL_MS = 1000;
/** The most connections one container remembers it could not detach (a long outage must not grow it without bound). */
const MAX_UNDETACHED = 1000;

/**
 * The three WebSocket routes and the scheduled sweep, bound to the signaling core. A session is not its connection: each
 * connection starts with a new session of its own (a bearer secret, as on socket.io), and its
 * first frame, `resume`, either names that one to the client or claims an earlier session, which
 * the connection carries from then on (docs/protocol.md, "Plain WebSocket"). Which connection
 * carries which session lives in the store, since any invocation may post to any connection.
 */
export function createWebSocketHandlers(deps: WebSocketHandlerDeps): WebSocketHandlers {
  const { logger, store } = deps;
  /**
   * Connections whose $disconnect found the store down for its whole time budget: detached by the
   * next invocation of this container (a warm one serves many). Only this container knows them;
   * should it never run again, their sessions end when their lease does (SERVERLESS_LEASE_MS).
   */
  const undetached = new Set<string>();
  let lastPass = 0;

  const remember = (connection: string) => {
    if (undetached.size < MAX_UNDETACHED) undetached.add(connection);
  };
  const detachEarlier = async () => {
    for (const connection of undetached) {
      try {
        await store.detachConnection(connection, deps.resumeGraceMs);
        undetached.delete(connection);
        logger.info('an earlier disconnect recorded');
      } catch {
        return;
      }
    }
  };
  /** Tells the partners of lapsed drops, at most once per PASS_INTERVAL_MS per container. */
  const passBy = async (core: () => SignalingCore) => {
    const now = Date.now();
    if (now - lastPass < PASS_INTERVAL_MS) return;
    lastPass = now;
    try {
      await tellLapsed(core(), store);
    } catch (err) {
      logger.warn({ err }, 'lapsed drops not told');
    }
  };

  /**
   * The connection closed; if its subject is banned (the ban closed it, or its client left while
   * banned), its session ends now, as after a goodbye, and its partner hears `partner-left` at
   * once: a banned client cannot come back to resume it. True when it did; false (and the drop
   * goes the usual way) when the subject is not banned, the session moved to another connection,
   * or the store did not answer.
   */
  const endBanned = async (event: WebSocketEvent): Promise<boolean> => {
    try {
      const subject = await store.removeSubjectConnection(event.connectionId);
      if (subject === null || !(await store.banOf(subject))) return false;
      const session = await store.sessionOfConnection(event.connectionId);
      if (session === null) return false;
      if ((await store.connectionsOf([session])).get(session) !== event.connectionId) return false;
      await deps.stage(event.api).core.disconnect(session);
      logger.info('a banned client disconnected; its session ended');
      return true;
    } catch (err) {
      logger.warn({ err }, 'ban not checked at disconnect');
      return false;
    }
  };

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
      // A banned subject is refused before anything is kept for it: 403 (no body reaches a
      // browser's WebSocket; docs/protocol.md, "Bans").
      const { core } = deps.stage(event.api);
      const subject = deps.subjectOf(event.sourceIp ?? '', deviceToken(event.query.device));
      const banned = await core.admit(subject);
      if (banned) {
        if (deps.gate && event.sourceIp) deps.gate.release(event.sourceIp, event.connectionId);
        logger.info({ address: addressTag(event.sourceIp) }, 'connection refused: banned');
        return { statusCode: 403, body: JSON.stringify(banned) };
      }
      try {
        const session = newSessionId();
        await core.connect(session, subject);
        await store.bindConnection(session, event.connectionId);
        // So that a ban made anywhere (the HTTP function included) finds and closes this connection.
        await store.addSubjectConnection(subject, event.connectionId, deps.subjectConnections);
      } catch (err) {
        if (deps.gate && event.sourceIp) deps.gate.release(event.sourceIp, event.connectionId);
        logger.warn({ err }, 'connection refused: store unavailable');
        return { statusCode: 503, body: 'pairing is unavailable right now' };
      }
      logger.info('connected');
      await detachEarlier();
      await passBy(() => deps.stage(event.api).core);
      return OK;
    },

    async disconnect(raw, context) {
      const event = parseWebSocketEvent(raw);
      if (deps.gate && event.sourceIp) deps.gate.release(event.sourceIp, event.connectionId);
      await detachEarlier();
      if (await endBanned(event)) {
        await passBy(() => deps.stage(event.api).core);
        return OK;
      }
      let session: SessionId | null;
      try {
        // A drop, unless a `bye` ended the session first: it stays resumable for the grace, and the
        // store records the drop so that whoever comes by after the grace tells the partner (no
        // Lambda waits it out). API Gateway sends $disconnect once: a store that stalls (a failover,
        // a slow command) is tried again while this invocation has time. A try that timed out may
        // still have run (a stalled server runs what it was sent; the retry then finds nothing to
        // detach): the drop is recorded in the same atomic step as the detach, so it counts either way.
        session = await retryWithin(budgetOf(context, 0), () =>
          store.detachConnection(event.connectionId, deps.resumeGraceMs),
        );
      } catch (err) {
        remember(event.connectionId);
        logger.warn({ err }, 'disconnect not recorded: store unavailable; tried again at the next invocation here');
        return OK;
      }
      logger.info(session ? 'connection dropped; its session stays resumable for the grace' : 'disconnected');
      await passBy(() => deps.stage(event.api).core);
      return OK;
    },

    async sweep(_raw, context) {
      await detachEarlier();
      try {
        const { core } = deps.stage(deps.scheduledApi);
        // While a drop will lapse or a fallback pass within this run, keep watch: each is handled
        // within SWEEP_POLL_MS of its time (looking every SWEEP_POLL_MS also finds the fallbacks of
        // clients who join meanwhile). What comes due after the run is the next run's.
        for (;;) {
          const lapsed = await tellLapsed(core, store);
          const fallbacks = await pairDueFallbacks(core, store);
          const nextInMs = soonest(lapsed, fallbacks);
          const budget = budgetOf(context, 0);
          if (nextInMs === null || nextInMs > budget) break;
          const wait = Math.min(nextInMs, SWEEP_POLL_MS);
          if (budget < wait) break;
          await sleep(wait);
        }
      } catch (err) {
        logger.warn({ err }, 'sweep stopped');
      }
      return OK;
    },

    async message(raw) {
      const event = parseWebSocketEvent(raw);
      const binding = deps.stage(event.api);
      const { answer, close } = await answerFrame({
        ...binding,
        deps,
        event,
        passBy: () => passBy(() => binding.core),
      });
      const { connections } = binding;
      try {
        // A sender gone before its answer needs nothing more: its $disconnect detaches its session.
        if (answer) await connections.post(event.connectionId, answer);
        if (close === 'abusive')
          logger.warn({ address: addressTag(event.sourceIp) }, 'disconnecting an abusive client');
        if (close) await connections.drop(event.connectionId);
      } catch (err) {
        logger.warn({ err }, 'answer not delivered');
      }
      await deps.settle?.();
      return OK;
    },
  };
}

interface FrameContext extends StageBinding {
  deps: WebSocketHandlerDeps;
  event: WebSocketEvent;
  /** Tells the partners of lapsed drops, if no invocation of this container did lately. */
  passBy: () => Promise<void>;
}

interface Answer {
  /** The frame to send back (an ack, or an error event), if any. */
  answer?: string;
  /** Close the connection after the answer: its client exhausted its abuse budget, it has no session, or it is banned. */
  close?: 'abusive' | 'no-session' | 'banned';
}

/** Runs one inbound frame: budget first, then parsing, then the core. */
async function answerFrame(context: FrameContext): Promise<Answer> {
  const { core, deps, event } = context;
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
  // A signal in its sender's order whose turn is refused passes its turn, so its successors go.
  const ordered = frame?.action === 'signal' ? frame.cseq : undefined;
  const passTurn = async (code: ErrorCode) => {
    if (ordered === undefined) return;
    const session = await deps.store.sessionOfConnection(connectionId);
    if (session) await core.passSignalTurn(session, ordered, code);
  };

  // Junk draws from a budget too (the candidates one), so a flood of it is limited like any other.
  // A resume replays what its session missed: it costs what a pairing command does.
  const budget = frame?.action === RESUME ? 'join' : (frame?.action ?? '');
  const verdict = await deps.limiter.check(connectionId, budget, frame?.payload);
  if (!verdict.allowed) {
    const body = { code: ErrorCode.RATE_LIMITED, message: 'too many messages', retryAfterMs: verdict.retryAfterMs };
    await passTurn(body.code).catch((err: unknown) => deps.logger.warn({ err }, 'signal turn not passed'));
    return { answer: refuse(body), ...(verdict.abusive ? { close: 'abusive' as const } : {}) };
  }
  try {
    if (!frame) throw refusal;
    const session = await deps.store.sessionOfConnection(connectionId);
    if (!session) {
      const lost = new ProtocolError(ErrorCode.SESSION_LOST, 'this connection carries no session: connect again');
      return { answer: refuse(lost.toBody()), close: 'no-session' };
    }
    if (frame.cseq !== undefined && frame.action !== 'signal') {
      throw new ProtocolError(ErrorCode.INVALID_PAYLOAD, 'cseq: only a signal has one');
    }
    switch (frame.action) {
      case PING: {
        // A ban closes its subject's open connections when it is made (banned-connections.ts);
        // one it missed (opened while the ban was being made, or whose index entry was lost) is
        // found by the keep-alive (every 5 minutes from the SDK): it ends the session (its
        // partner hears at once) and closes the connection.
        const banned = await core.bannedSession(session);
        if (!banned) return { answer: reply(await ping(context, session)) };
        await core.disconnect(session);
        return { answer: eventFrame('error', banned), close: 'banned' };
      }
      case RESUME: {
        const ack = await resumeSession(context, session, parseResume(frame.payload));
        return { answer: reply(ack), ...(ack === LOST ? { close: 'no-session' as const } : {}) };
      }
      case BYE:
        return { answer: reply(await goodbye(context, session)) };
    }
    if (!isCommand(frame.action)) {
      throw new ProtocolError(ErrorCode.UNKNOWN_EVENT, `unknown action "${frame.action.slice(0, 64)}"`);
    }
    if (ordered !== undefined) {
      // The core passes the turn of a signal it refuses.
      return { answer: reply(await core.relayNow(session, frame.payload, { cseq: ordered })) };
    }
    if (frame.action === 'proof') {
      // The bot gate: the automatic join the `resume` asked for waits for the proof; its events follow
      // the ack. The preferences that resume carried came to another invocation: the challenge
      // kept them.
      const { ack, join, preferences } = await core.prove(session, frame.payload);
      const answer = reply(ack);
      if (!join) return { answer };
      if (answer) await context.connections.post(connectionId, answer);
      await joinFor(context, session, preferences);
      return {};
    }
    return { answer: reply(await core.handle(frame.action, session, frame.payload)) };
  } catch (error) {
    const body = errorBody(error, deps.logger);
    await passTurn(body.code).catch((err: unknown) => deps.logger.warn({ err }, 'signal turn not passed'));
    return { answer: refuse(body) };
  }
}

/** The sooner of two waits, either of which may be none (null). */
function soonest(x: number | null, y: number | null): number | null {
  if (x === null) return y;
  return y === null ? x : Math.min(x, y);
}

/**
 * Renews the session's lease, tells it if its partner is gone without a goodbye, and, when it waits
 * and its fallback has passed, matches it again with anyone (the heartbeat's `due`: the SDK pings
 * when its fallback passes, docs/protocol.md); every client pings every few minutes, so pings also
 * come by for other sessions' lapsed drops.
 */
async function ping({ core, passBy }: FrameContext, session: SessionId): Promise<Ack> {
  await core.heartbeat([session]);
  await passBy();
  return PONG;
}

/** `bye`: the client leaves for good; its pair ends now (the partner hears at once) and the session is forgotten. */
async function goodbye({ core, deps, event }: FrameContext, session: SessionId): Promise<Ack> {
  // Its client may have claimed it on another connection since: this one has no say then.
  const carrier = (await deps.store.connectionsOf([session])).get(session);
  if (carrier === undefined || carrier === event.connectionId) await core.disconnect(session);
  return PONG;
}

function errorBody(error: unknown, logger: Logger): ErrorBody {
  if (error instanceof ProtocolError) return error.toBody();
  if (error instanceof StoreUnavailableError) {
    return { code: ErrorCode.UNAVAILABLE, message: 'pairing is unavailable right now; retry shortly' };
  }
  logger.error({ err: error }, 'frame failed');
  return { code: ErrorCode.INTERNAL, message: 'internal error' };
}
