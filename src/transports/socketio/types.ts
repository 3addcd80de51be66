import type { IncomingMessage } from 'node:http';
import type { Namespace, Server, Socket } from 'socket.io';
import type { ServerEvents } from '../../protocol/messages.js';
import type { SessionId } from '../../store/pairing-store.js';
import type { ClientConnection } from './connection.js';

/** Server → client events as socket.io listener signatures. */
export type ServerToClient = { [E in keyof ServerEvents]: (payload: ServerEvents[E]) => void };

/**
 * Client → server events are untrusted: every handler takes `unknown` and validates, so the
 * server-side typing deliberately promises nothing about their arguments.
 */
export type ClientToServer = Record<string, (...args: unknown[]) => void>;

export interface SocketData {
  session: SessionId;
  /** The client's address as admitted (see http/client-ip.ts). */
  ip: string;
  /** Who is behind it, for reports and bans (safety/subject.ts): its address and device token, hashed. */
  subject: string;
  /** This connection's state in the binding (connection.ts), from its `connection` event on; not enumerable. */
  client?: ClientConnection;
}

export type SignalingServer = Server<ClientToServer, ServerToClient, Record<string, never>, SocketData>;
/** The namespace pairwire serves: `/` of its own server, or one a host's server gives it (src/embed). */
export type SignalingNamespace = Namespace<ClientToServer, ServerToClient, Record<string, never>, SocketData>;
export type SignalingSocket = Socket<ClientToServer, ServerToClient, Record<string, never>, SocketData>;

/** engine.io's `allowRequest` hook: called with each handshake, answers whether it may go on. */
export type AllowRequest = (
  request: IncomingMessage,
  callback: (message: string | null | undefined, success: boolean) => void,
) => void;
