import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import { EventAcknowledger } from '../../src/client/event-acknowledger.js';
import { SOLVER_SOURCE } from '../../src/client/proof/solver-source.js';
import type { Signal } from '../../src/protocol/messages.js';

/** How a server under test speaks: socket.io events, or `{ event, data }` JSON frames over `ws`. */
export type WireProtocol = 'socketio' | 'ws';

/** The server events the load generator reacts to; every server under test sends these. */
export type ServerEvent = 'waiting' | 'paired' | 'signal' | 'partner-left';

export interface BenchConnection {
  /** Sends a signal without asking for an acknowledgement: one frame in, one frame out, on every server. */
  signal(signal: Signal): void;
  close(): void;
}

export interface ConnectionHandlers {
  onEvent(event: ServerEvent, data: unknown): void;
  onError(error: Error): void;
}

/** Opens one client connection; events arrive through `handlers` from the moment it is open. */
export function connect(protocol: WireProtocol, url: string, handlers: ConnectionHandlers): BenchConnection {
  return protocol === 'socketio' ? connectSocketIo(url, handlers) : connectWs(url, handlers);
}

/** The SDK's own proof-of-work solver, run synchronously. */
const solver = new Function(`${SOLVER_SOURCE}; return { solve };`)() as { solve(challenge: string): string };

function connectSocketIo(url: string, handlers: ConnectionHandlers): BenchConnection {
  // forceNew: without it socket.io-client multiplexes every io(url) over one shared connection.
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000 });
  // A server that numbers its events (pairwire) is acknowledged as its own clients do, so its
  // figures include what acknowledging costs it; the baselines send no numbers and get no acks.
  // Its clients also number their signals (cseq, for an idempotent retry after a resume): so does
  // this one, once it has seen a numbered event.
  const acknowledger = new EventAcknowledger((seq) => socket.emit('ack', { seq }));
  let numbered = false;
  let cseq = 0;
  for (const event of ['waiting', 'paired', 'signal', 'partner-left'] as const) {
    socket.on(event, (data: unknown, seq: unknown) => {
      if (typeof seq === 'number') {
        numbered = true;
        acknowledger.receive(seq);
      }
      handlers.onEvent(event, data);
    });
  }
  // pairwire's bot gate (when on): the challenge is answered at once, here, on the load
  // generator's thread (the bench target asks for little work: its figures are the server's).
  socket.on('session', (session: { challenge?: unknown }) => {
    if (typeof session?.challenge === 'string') {
      socket.emit('proof', { challenge: session.challenge, nonce: solver.solve(session.challenge) });
    }
  });
  socket.on('connect_error', (error) => handlers.onError(error));
  return {
    signal: (signal) => {
      if (numbered) socket.emit('signal', signal, ++cseq);
      else socket.emit('signal', signal);
    },
    close: () => {
      acknowledger.stop();
      socket.close();
    },
  };
}

function connectWs(url: string, handlers: ConnectionHandlers): BenchConnection {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), { perMessageDeflate: false });
  ws.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as { event: ServerEvent; data: unknown };
    handlers.onEvent(message.event, message.data);
  });
  ws.on('error', (error) => handlers.onError(error));
  return {
    signal: (signal) => ws.send(JSON.stringify({ event: 'signal', data: signal })),
    close: () => ws.close(),
  };
}
