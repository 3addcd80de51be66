/**
 * The slice of WebRTC the chat SDK uses, typed structurally so that the browser's
 * RTCPeerConnection and a Node implementation (werift, node-datachannel, wrtc) all fit without
 * adapters: the SDK never names a concrete class.
 */
import type { IceCandidateInit, IceServer } from '../../protocol/messages.js';

/**
 * An event handler property. Declared through a method so its parameter is checked bivariantly:
 * the browser's handlers take DOM events, Node implementations take plain objects, and both
 * carry the few fields read here.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

export interface SessionDescriptionInit {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp?: string;
}

/** What `icecandidate` hands over: a candidate, or none when gathering is complete. */
export interface IceCandidateLike {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface DataChannelLike {
  readonly readyState: string;
  send(data: string): void;
  close(): void;
  onopen?: Handler<unknown> | null;
  onclose?: Handler<unknown> | null;
  onmessage?: Handler<{ data: unknown }> | null;
}

export interface PeerConnectionLike {
  readonly connectionState: string;
  readonly signalingState: string;
  readonly remoteDescription: unknown;
  onicecandidate?: Handler<{ candidate?: IceCandidateLike | null }> | null;
  ondatachannel?: Handler<{ channel: DataChannelLike }> | null;
  onconnectionstatechange?: Handler<unknown> | null;
  createDataChannel(label: string, init?: { ordered?: boolean }): DataChannelLike;
  createOffer(): Promise<SessionDescriptionInit>;
  createAnswer(): Promise<SessionDescriptionInit>;
  setLocalDescription(description: SessionDescriptionInit): Promise<unknown>;
  setRemoteDescription(description: SessionDescriptionInit): Promise<unknown>;
  /** No argument: the remote side has sent all its candidates. */
  addIceCandidate(candidate?: IceCandidateInit): Promise<unknown>;
  close(): unknown;
}

/** Makes a peer connection; the SDK passes the ICE servers the server sent with `paired`. */
export type PeerConnectionFactory = (config: { iceServers: IceServer[] }) => PeerConnectionLike;
