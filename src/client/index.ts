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
  type EvidenceMessage,
  type EvidenceRingOptions,
  MAX_REPORT_DETAILS_CHARS,
  MAX_REPORT_EVIDENCE_BYTES,
  MAX_TEXT_LENGTH,
  type PeerConnectionFactory,
  REPORT_REASONS,
  type ReportOptions,
  type ReportReason,
} from './chat/index.js';
export { DEVICE_STORAGE_KEY } from './device-token.js';
export type { SolveProof } from './proof/solve-proof.js';
export type { ConnectionRefusal, Signaling, SignalingListener } from './signaling.js';
export { SignalingClient, type SignalingClientOptions } from './signaling-client.js';
export {
  type WebSocketConstructor,
  type WebSocketLike,
  WebSocketSignalingClient,
  type WebSocketSignalingClientOptions,
} from './websocket-signaling-client.js';
