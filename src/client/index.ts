export { ErrorCode } from '../protocol/errors.js';
export type {
  Ack,
  ClientStatus,
  IceServer,
  LeaveReason,
  PairedPayload,
  PartnerLeftPayload,
  ServerEvents,
  Signal,
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
export { SignalingClient, type SignalingClientOptions } from './signaling-client.js';
