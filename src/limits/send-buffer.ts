import type { SignalingSocket } from '../transports/socketio/types.js';

/** One engine.io connection (socket.io's `socket.conn`). */
export type EngineConnection = SignalingSocket['conn'];

/** The engine.io server of a socket.io server. */
export type EngineServer = SignalingSocket['nsp']['server']['engine'];

/** An engine.io packet as its `packetCreate` and `flush` events hand it out. */
interface EnginePacket {
  data?: unknown;
}

/**
 * Calls `onOverflow(connection)` (once per connection) when more than `maxBytes` wait to be
 * written to a watched connection: a client that stops reading would otherwise have its
 * partner's signals pile up in the server until the ping timeout. What waits is engine.io's
 * packet buffer (packets queue there while the transport is busy with the previous batch) plus,
 * on a WebSocket, what ws has not handed to the kernel. Kept as a running sum, so each packet
 * costs O(1). One `packetCreate` listener serves every connection (engine.io calls it with the
 * connection as `this`) and one `flush` listener on the engine.io server (which says whose buffer
 * it hands over); each connection's sum is a number in a WeakMap: nothing is made per connection
 * but that entry. `attach` the engine.io server before watching its connections.
 */
export class SendBufferCap {
  /** Bytes in each watched connection's engine.io buffer; -1 once it overflowed. */
  readonly #queued = new WeakMap<EngineConnection, number>();
  readonly #onPacketCreate: (this: EngineConnection, packet: EnginePacket) => void;

  constructor(maxBytes: number, onOverflow: (connection: EngineConnection) => void) {
    const queued = this.#queued;
    this.#onPacketCreate = function (packet) {
      const before = queued.get(this);
      if (before === undefined || before < 0) return;
      const now = before + byteSize(packet.data);
      if (now + webSocketBuffered(this) <= maxBytes) {
        queued.set(this, now);
        return;
      }
      queued.set(this, -1);
      // Not from inside the emit that queued the packet (it may be a broadcast in mid-loop).
      process.nextTick(onOverflow, this);
    };
  }

  /** Follows what `engine` hands to its connections' transports (its whole buffer, each time). */
  attach(engine: EngineServer): void {
    const queued = this.#queued;
    engine.on('flush', (connection: EngineConnection, packets: EnginePacket[]) => {
      let now = queued.get(connection);
      if (now === undefined || now < 0) return;
      for (const packet of packets) now -= byteSize(packet.data);
      queued.set(connection, now);
    });
  }

  /** Watches `connection` from now on (again: nothing more). */
  watch(connection: EngineConnection): void {
    if (this.#queued.has(connection)) return;
    this.#queued.set(connection, 0);
    connection.on('packetCreate', this.#onPacketCreate);
  }
}

/**
 * Closes `connection` now, dropping whatever it still has to send: engine.io's buffer and the
 * WebSocket's own (a plain close would wait for a client that does not read to drain them).
 */
export function dropConnection(connection: EngineConnection): void {
  connection.close(true);
  const ws = webSocketOf(connection);
  if (typeof ws?.terminate === 'function') ws.terminate();
}

/** Bytes of one packet's payload: string length (signals are ASCII JSON) or buffer size. */
function byteSize(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/** What ws holds for this connection and has not written to the kernel yet (0 when polling). */
export function webSocketBuffered(connection: EngineConnection): number {
  const buffered = webSocketOf(connection)?.bufferedAmount;
  return typeof buffered === 'number' ? buffered : 0;
}

interface WsLike {
  bufferedAmount?: unknown;
  terminate?: () => void;
}

/**
 * engine.io 6's WebSocket transport keeps the ws socket as `transport.socket`, outside its public
 * typings; read defensively, so another transport (or version) only means this part counts 0.
 */
function webSocketOf(connection: EngineConnection): WsLike | undefined {
  const transport = connection.transport as unknown as { name?: string; socket?: WsLike };
  return transport.name === 'websocket' ? transport.socket : undefined;
}

/**
 * A client that does not read: its session ends as a goodbye (the partner is told now, no resume),
 * and nothing it was sent stays queued.
 */
export function dropSlowReader(
  connection: EngineConnection,
  session: { id: string; connected: boolean; disconnect(close: boolean): unknown } | undefined,
  maxSendBufferBytes: number,
  logger: { warn(fields: object, message: string): void },
): void {
  logger.warn({ socket: session?.id, maxSendBufferBytes }, 'disconnecting a client that does not read');
  if (session?.connected) session.disconnect(true);
  dropConnection(connection);
}
