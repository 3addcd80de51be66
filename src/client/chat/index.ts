/** The chat SDK: a one-to-one text chat over a WebRTC DataChannel, paired by a pairwire server. */

export type { JoinPreferences, StatsPayload } from '../../protocol/messages.js';
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
} from './chat-client.js';
export { ChatError, type ChatErrorCode } from './chat-error.js';
export type { DataChannelLike, PeerConnectionFactory, PeerConnectionLike } from './peer-types.js';
