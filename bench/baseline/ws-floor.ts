/**
 * Baseline (b), the floor: the same pairing and relay as pairwire over the plain `ws` package,
 * JSON frames `{ event, data }` and nothing else (no HTTP framework, no rooms, no validation,
 * no acks). Whatever any socket.io server costs above this is the price of socket.io and of
 * what the server does per message.
 */
import { type WebSocket, WebSocketServer } from 'ws';

interface Peer {
  partner: WebSocket | undefined;
}

const peers = new Map<WebSocket, Peer>();
/** A Set iterates in insertion order: a FIFO with O(1) removal on disconnect. */
const queue = new Set<WebSocket>();
let pairCount = 0;

const send = (ws: WebSocket, event: string, data: unknown) => ws.send(JSON.stringify({ event, data }));

const wss = new WebSocketServer({ host: process.env.HOST ?? '0.0.0.0', port: Number(process.env.PORT ?? 3000) });

wss.on('connection', (ws) => {
  const peer: Peer = { partner: undefined };
  peers.set(ws, peer);
  const oldest = queue.values().next();
  if (oldest.done) {
    queue.add(ws);
    send(ws, 'waiting', {});
  } else {
    queue.delete(oldest.value);
    const other = peers.get(oldest.value);
    if (other) other.partner = ws;
    peer.partner = oldest.value;
    const room = String(++pairCount);
    send(oldest.value, 'paired', { room, initiator: true });
    send(ws, 'paired', { room, initiator: false });
  }

  ws.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as { event?: unknown; data?: unknown };
    if (message.event === 'signal' && peer.partner) send(peer.partner, 'signal', message.data);
  });

  ws.on('close', () => {
    queue.delete(ws);
    peers.delete(ws);
    const partner = peer.partner;
    if (!partner) return;
    const other = peers.get(partner);
    if (other) other.partner = undefined;
    send(partner, 'partner-left', { reason: 'disconnect' });
  });
});

wss.on('listening', () => {
  const address = wss.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(JSON.stringify({ port, msg: 'listening' }));
});
