export { ErrorCode } from '../protocol/errors.js';
export type {
  Ack,
  ClientStatus,
  IceServer,
  JoinPreferences,
  LeaveReason,
  PairedPayload,
  PartnerLeftPayload,
  ServerEvents,
  Signal,
  StatsPayload,
} from '../protocol/messages.js';
export {
  ChatClient,
  type ChatClientOptions,
  ChatError,
  type ChatErrorCode,
  type ChatEvents,
  type ChatState,
  type ClosedReason,
  MAX_TEXT_LENGTH,
  type PeerConnectionFactory,
} from './chat/index.js';
export type { Signaling, SignalingListener } from './signaling.js';
export { SignalingClient, type SignalingClientOptions } from './signaling-client.js';
export {
  type WebSocketConstructor,
  type WebSocketLike,
  WebSocketSignalingClient,
  type WebSocketSignalingClientOptions,
} from './websocket-signaling-client.js';
