/** The chat SDK: a one-to-one text chat over a WebRTC DataChannel, paired by a pairwire server. */

export type { JoinPreferences, StatsPayload } from '../../protocol/messages.js';
export {
  type EvidenceMessage,
  MAX_REPORT_DETAILS_CHARS,
  MAX_REPORT_EVIDENCE_BYTES,
  REPORT_REASONS,
  type ReportReason,
} from '../../protocol/messages.js';
// The bot gate's solver, for `signaling: { solveProof }` (docs/protocol.md, "Bot gate").
export type { SolveProof } from '../proof/solve-proof.js';
// The plain-WebSocket transport (API Gateway deployment), for `new ChatClient(url, { transport })`.
export {
  type WebSocketConstructor,
  type WebSocketLike,
  WebSocketSignalingClient,
  type WebSocketSignalingClientOptions,
} from '../websocket-signaling-client.js';
export { MAX_TEXT_LENGTH } from './channel-messages.js';
export {
  ChatClient,
  type ChatClientOptions,
  type ChatEvents,
  type ChatState,
  type ClosedReason,
  type ReportOptions,
} from './chat-client.js';
export { ChatError, type ChatErrorCode } from './chat-error.js';
export type { EvidenceRingOptions } from './evidence-ring.js';
export type { DataChannelLike, PeerConnectionFactory, PeerConnectionLike } from './peer-types.js';
