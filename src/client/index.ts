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
export { SignalingClient, type SignalingClientOptions } from './signaling-client.js';
