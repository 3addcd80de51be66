import { networkInterfaces } from 'node:os';
import { RTCPeerConnection } from 'werift';
import type { IceServer, PeerConnectionFactory } from '../client/index.js';

/**
 * RTCPeerConnection for Node, from werift (pure TypeScript: nothing native to install).
 * werift skips loopback when gathering, so a machine with no other address would offer no
 * candidate at all; there, loopback is added, as Chromium does with --allow-loopback-in-peer-connection.
 */
export const weriftPeerConnection: PeerConnectionFactory = ({ iceServers }) => createWeriftPeerConnection(iceServers);

/** The same, typed as werift's own class (for code that drives werift directly). */
export function createWeriftPeerConnection(iceServers: IceServer[]): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers,
    ...(hasExternalIpv4() ? {} : { iceAdditionalHostAddresses: ['127.0.0.1'] }),
  });
}

function hasExternalIpv4(): boolean {
  return Object.values(networkInterfaces()).some((addresses) =>
    addresses?.some((address) => address.family === 'IPv4' && !address.internal),
  );
}
