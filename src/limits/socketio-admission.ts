import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type ClientAddressRule, clientIp } from '../http/client-ip.js';
import { addressTag } from '../observability/address-tag.js';
import { type ErrorBody, ErrorCode } from '../protocol/errors.js';
import type { AllowRequest, SignalingServer, SignalingSocket } from '../transports/socketio/types.js';
import type { ConnectionGate } from './connection-gate.js';
import { dropSlowReader, type EngineConnection, SendBufferCap } from './send-buffer.js';

export interface SocketIoAdmissionOptions {
  /** Per-address admission. */
  gate: ConnectionGate;
  /** How the client's address is read behind proxies (CLIENT_IP_HEADER, TRUST_PROXY). */
  clientAddress: ClientAddressRule;
  /** Bytes one connection may have waiting to be sent before it is dropped as a client that does not read. */
  maxSendBufferBytes: number;
  logger: Logger;
}

/**
 * Refused handshakes per address that still get an engine.io connection, only to carry the typed
 * refusal (`connect_error` data) to a socket.io client, which cannot read an HTTP status. Beyond
 * them, a refused handshake gets HTTP 429 at once: an address cannot hold open connections by
 * being refused.
 */
const CARRIERS_PER_ADDRESS = 10;

/** How long a carrier waits for the CONNECT it is to refuse. */
const CARRIER_TTL_MS = 5000;

/** How long an admitted handshake may take to become an engine.io connection before its slot is given back. */
const HANDSHAKE_TTL_MS = 10_000;

/** What a handshake holds: an address slot (admitted), or a carrier's place (refused). */
type Held = { ip: string; id: string; refusal?: undefined } | { ip: string; id?: undefined; refusal: ErrorBody };

/** What an engine.io connection holds, and the session socket it carries once it sent its CONNECT. */
type Connected = Held & { session?: SignalingSocket };

/** A handshake between its admission and its engine.io connection. */
interface Pending {
  held: Held;
  /** Set when the handshake outlived its turn (see `#expect`): stops the wait for the connection. */
  stopWaiting?: () => void;
}

/**
 * The per-address connection limit, counted where connections really open: the engine.io
 * handshake. Every engine.io connection (WebSocket or long-polling, whether or not it ever sends
 * a socket.io CONNECT) holds an address slot from its handshake until it closes, whichever way it
 * closes; a handshake that never becomes a connection gives its slot back.
 *
 * Also here, because they are limits on what one connection may be: one socket.io session per
 * engine.io connection (a second CONNECT is refused), and a cap on the bytes waiting to be sent
 * to it (a client that stops reading is dropped, its partner told at once).
 */
export class SocketIoAdmission {
  readonly #options: SocketIoAdmissionOptions;
  readonly #pending = new WeakMap<IncomingMessage, Pending>();
  /** Every engine.io connection: its address and slot (admitted) or refusal (a carrier), and its session socket. */
  readonly #connections = new WeakMap<EngineConnection, Connected>();
  /** Carriers per address, from the refusal until the carrier closes. */
  readonly #carriers = new Map<string, number>();
  readonly #sendBuffers: SendBufferCap;
  /**
   * One `close` listener for every connection (engine.io calls it with the connection as `this`):
   * what a connection holds is found in #connections, so nothing is made per connection for it.
   */
  readonly #onClose: (this: EngineConnection) => void;

  constructor(options: SocketIoAdmissionOptions) {
    this.#options = options;
    this.#sendBuffers = new SendBufferCap(options.maxSendBufferBytes, (connection) => this.#dropSlowReader(connection));
    const admission = this;
    this.#onClose = function () {
      const held = admission.#connections.get(this);
      if (!held) return;
      admission.#connections.delete(this);
      admission.#settle(held);
    };
  }

  /** For engine.io's `allowRequest`, after any other check: handshakes only (upgrades and polls of a session are not). */
  readonly allowRequest: AllowRequest = (request, callback) => {
    const ip = clientIp(request, this.#options.clientAddress);
    const id = randomBytes(12).toString('base64url');
    this.#options.gate.admit(ip, id).then(
      (admission) => {
        if (admission.admitted) {
          // The client left while it was being counted: there is nothing to hold a slot for.
          if (request.socket.destroyed) {
            this.#options.gate.release(ip, id);
            return;
          }
          this.#expect(request, { ip, id });
          callback(null, true);
          return;
        }
        this.#options.logger.warn({ address: addressTag(ip), reason: admission.reason }, 'connection refused');
        this.#carry(request, callback, ip, 429, {
          code: ErrorCode.RATE_LIMITED,
          message: admission.reason,
          retryAfterMs: admission.retryAfterMs,
        });
      },
      (error: unknown) => {
        // Cannot happen (the gate answers from memory when Redis cannot), but never hang a handshake.
        this.#options.logger.error({ err: error }, 'connection admission failed');
        refuseHandshake(request, 503, { code: ErrorCode.UNAVAILABLE, message: 'admission is unavailable right now' });
      },
    );
  };

  /**
   * Refuses a handshake that another check turned away (a page of an origin not in CORS_ORIGINS),
   * saying why the same way as a refusal of its own: a carrier connection that refuses the CONNECT
   * with `refusal` as `connect_error` data and holds nothing, or `status` when the address has
   * carriers enough.
   */
  refuse(request: IncomingMessage, callback: Parameters<AllowRequest>[1], status: 403, refusal: ErrorBody): void {
    this.#carry(request, callback, clientIp(request, this.#options.clientAddress), status, refusal);
  }

  /**
   * A refused handshake still gets an engine.io connection, only to carry `refusal` to a socket.io
   * client, which cannot read an HTTP status; it holds no address slot and gets no session. Past
   * CARRIERS_PER_ADDRESS of them at once, the handshake is answered `status` instead.
   */
  #carry(
    request: IncomingMessage,
    callback: Parameters<AllowRequest>[1],
    ip: string,
    status: 403 | 429,
    refusal: ErrorBody,
  ): void {
    const carriers = this.#carriers.get(ip) ?? 0;
    if (carriers >= CARRIERS_PER_ADDRESS || request.socket.destroyed) {
      // The response is written here; engine.io's callback is left uncalled, so it writes none.
      refuseHandshake(request, status, refusal);
      return;
    }
    this.#carriers.set(ip, carriers + 1);
    this.#expect(request, { ip, refusal });
    callback(null, true);
  }

  /** Hooks into socket.io: engine.io connections take their slots, and sessions pass through `#admitSession`. */
  attach(io: SignalingServer): void {
    this.#sendBuffers.attach(io.engine);
    io.engine.on('connection', (connection: EngineConnection) => this.#onConnection(connection));
    io.use((socket, next) => {
      const refusal = this.#admitSession(socket);
      if (!refusal) {
        next();
        return;
      }
      const error = new Error(refusal.message) as Error & { data?: ErrorBody };
      error.data = refusal;
      next(error);
    });
  }

  /**
   * Waits for the handshake's engine.io connection; a handshake that never gets one gives back
   * what it took. engine.io makes the connection within the turn that admits the handshake (it
   * awaits only its id), so whatever is still pending a turn later is looked at then: its client
   * left (the slot is given back now), or it waits for its client to leave, at most
   * HANDSHAKE_TTL_MS. Watching every handshake's socket instead would leave each connection's
   * socket with a grown listener array for good.
   */
  #expect(request: IncomingMessage, held: Held): void {
    const pending: Pending = { held };
    this.#pending.set(request, pending);
    setImmediate(() => {
      if (this.#pending.get(request) !== pending) return;
      const abandon = () => {
        if (this.#pending.get(request) !== pending) return;
        this.#pending.delete(request);
        this.#settle(held);
      };
      if (request.socket.destroyed) {
        abandon();
        return;
      }
      const timer = setTimeout(abandon, HANDSHAKE_TTL_MS);
      timer.unref();
      request.socket.once('close', abandon);
      pending.stopWaiting = () => {
        clearTimeout(timer);
        request.socket.off('close', abandon);
      };
    });
  }

  /** Gives back what a handshake or connection held. */
  #settle(held: Held): void {
    if (held.id !== undefined) {
      this.#options.gate.release(held.ip, held.id);
      return;
    }
    const left = (this.#carriers.get(held.ip) ?? 1) - 1;
    if (left > 0) this.#carriers.set(held.ip, left);
    else this.#carriers.delete(held.ip);
  }

  #onConnection(connection: EngineConnection): void {
    const pending = this.#pending.get(connection.request);
    if (!pending) {
      // Every handshake passes allowRequest; a connection that did not was never counted.
      this.#options.logger.error('an engine.io connection was not admitted; closing it');
      connection.close(true);
      return;
    }
    this.#pending.delete(connection.request);
    pending.stopWaiting?.();
    const { held } = pending;
    this.#connections.set(connection, held);
    connection.on('close', this.#onClose);
    if (held.refusal) {
      const expiry = setTimeout(() => connection.close(true), CARRIER_TTL_MS);
      expiry.unref();
      connection.once('close', () => clearTimeout(expiry));
      return;
    }
    this.#sendBuffers.watch(connection);
  }

  /** Runs for every CONNECT: the refusal it gets, if any. */
  #admitSession(socket: SignalingSocket): ErrorBody | undefined {
    const connection = socket.conn;
    const held = this.#connections.get(connection);
    if (held?.refusal) {
      // The refusal is written after this returns; then the carrier has done its job.
      setImmediate(() => connection.close());
      return held.refusal;
    }
    // A second session on one connection would be queued and paired but never driven (and would
    // reset the per-client budgets): one CONNECT per connection.
    if (held?.session) {
      return { code: ErrorCode.INVALID_PAYLOAD, message: 'this connection already has a session' };
    }
    if (!held) return { code: ErrorCode.INTERNAL, message: 'connection not admitted' };
    held.session = socket;
    socket.data.ip = held.ip;
    return undefined;
  }

  #dropSlowReader(connection: EngineConnection): void {
    dropSlowReader(
      connection,
      this.#connections.get(connection)?.session,
      this.#options.maxSendBufferBytes,
      this.#options.logger,
    );
  }
}

/** A handshake refused at the transport: HTTP status with a JSON body, on a polling request or a WebSocket upgrade alike. */
function refuseHandshake(request: IncomingMessage, status: 403 | 429 | 503, body: ErrorBody): void {
  const json = JSON.stringify(body);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(json)),
    Connection: 'close',
  };
  if (body.retryAfterMs !== undefined) headers['Retry-After'] = String(Math.ceil(body.retryAfterMs / 1000));
  // engine.io keeps a polling request's response on it; an upgrade has only the socket.
  const response = (request as IncomingMessage & { res?: ServerResponse }).res;
  if (response) {
    if (!response.headersSent) response.writeHead(status, headers).end(json);
    return;
  }
  const socket = request.socket;
  if (socket.destroyed) return;
  const reason = status === 429 ? 'Too Many Requests' : 'Service Unavailable';
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${head.join('')}\r\n${json}`);
}
