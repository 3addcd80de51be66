import type { Logger } from 'pino';
import { type ClientAddressRule, clientIp } from '../http/client-ip.js';
import { originAllowed } from '../http/origins.js';
import { addressTag } from '../observability/address-tag.js';
import { type ErrorBody, ErrorCode } from '../protocol/errors.js';
import { ORIGIN_REFUSAL } from '../protocol/origin-check.js';
import type { SignalingNamespace, SignalingSocket } from '../transports/socketio/types.js';
import type { ConnectionGate } from './connection-gate.js';
import { dropSlowReader, type EngineConnection, SendBufferCap } from './send-buffer.js';

export interface NamespaceAdmissionOptions {
  gate: ConnectionGate;
  clientAddress: ClientAddressRule;
  /** CORS_ORIGINS: pages of other origins are refused. */
  corsOrigins: readonly string[];
  maxSendBufferBytes: number;
  logger: Logger;
}

/**
 * Admission for pairwire embedded in a namespace of a host's socket.io server. The host owns the
 * engine (its handshakes, transports, frame size and codec), so the limits that
 * SocketIoAdmission applies at the engine.io handshake apply here at the namespace's CONNECT:
 * the origin check, the per-address limits (counting pairwire sessions, not the host's engine
 * connections) and one session per connection. A refusal is `connect_error` data, as ever. The cap
 * on bytes waiting to be sent stays on the connection: a client that does not read is dropped
 * with whatever else of the host's it carries, as nothing could be sent to it anyway.
 */
export class NamespaceAdmission {
  readonly #options: NamespaceAdmissionOptions;
  /** Connections that hold a session of this namespace (a second CONNECT on one is refused). */
  readonly #sessions = new WeakMap<EngineConnection, SignalingSocket>();
  /** The cap on bytes waiting to be sent, on every connection that held a session here. */
  readonly #sendBuffers: SendBufferCap;
  #closed = false;

  constructor(options: NamespaceAdmissionOptions) {
    this.#options = options;
    this.#sendBuffers = new SendBufferCap(options.maxSendBufferBytes, (connection) => this.#dropSlowReader(connection));
  }

  attach(namespace: SignalingNamespace): void {
    this.#sendBuffers.attach(namespace.server.engine);
    namespace.use((socket, next) => {
      this.#admit(socket).then((refusal) => {
        if (!refusal) {
          next();
          return;
        }
        const error = new Error(refusal.message) as Error & { data?: ErrorBody };
        error.data = refusal;
        next(error);
      });
    });
  }

  /** From now on every CONNECT is refused (UNAVAILABLE): the embedding is shutting down. */
  close(): void {
    this.#closed = true;
  }

  /** The refusal for this CONNECT, if any; an admitted one holds an address slot until it is gone. */
  async #admit(socket: SignalingSocket): Promise<ErrorBody | undefined> {
    if (this.#closed) return { code: ErrorCode.UNAVAILABLE, message: 'this server is shutting down' };
    const request = socket.request;
    if (!originAllowed(request, this.#options.corsOrigins)) return ORIGIN_REFUSAL;
    const connection = socket.conn;
    if (this.#sessions.has(connection)) {
      return { code: ErrorCode.INVALID_PAYLOAD, message: 'this connection already has a session' };
    }
    const ip = clientIp(request, this.#options.clientAddress);
    const id = socket.id;
    const admission = await this.#options.gate.admit(ip, id).catch(() => undefined);
    if (!admission) return { code: ErrorCode.UNAVAILABLE, message: 'admission is unavailable right now' };
    if (!admission.admitted) {
      this.#options.logger.warn({ address: addressTag(ip), reason: admission.reason }, 'connection refused');
      return { code: ErrorCode.RATE_LIMITED, message: admission.reason, retryAfterMs: admission.retryAfterMs };
    }
    // The slot is given back once, whichever comes first: the session leaves the namespace, or
    // the connection closes (also when it closed while it was being counted, so never connected).
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.#options.gate.release(ip, id);
      if (this.#sessions.get(connection) === socket) this.#sessions.delete(connection);
    };
    socket.once('disconnect', release);
    connection.once('close', release);
    if (connection.readyState !== 'open') {
      release();
      return { code: ErrorCode.UNAVAILABLE, message: 'the connection closed' };
    }
    this.#sessions.set(connection, socket);
    socket.data.ip = ip;
    // Once per connection, however often a client CONNECTs again on it after leaving.
    this.#sendBuffers.watch(connection);
    return undefined;
  }

  #dropSlowReader(connection: EngineConnection): void {
    dropSlowReader(connection, this.#sessions.get(connection), this.#options.maxSendBufferBytes, this.#options.logger);
  }
}
