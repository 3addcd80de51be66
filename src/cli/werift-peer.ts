import { RTCPeerConnection } from 'werift';
import type { PeerConnectionFactory } from '../client/chat/index.js';

/** RTCPeerConnection for Node, from werift (pure TypeScript: nothing native to install). */
export const weriftPeerConnection: PeerConnectionFactory = ({ iceServers }) => new RTCPeerConnection({ iceServers });
