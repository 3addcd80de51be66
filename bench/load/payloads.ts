import type { Signal } from '../../src/protocol/messages.js';

/**
 * Signals that carry their own tracking stamp, so the receiver can tell which couple and side sent
 * it, in what order, and when, without any field the protocol does not allow (objects are strict).
 * The stamp rides inside the SDP text and the candidate string, where any server relays it as is.
 */
export interface Stamp {
  couple: number;
  /** The sending side: the couple's initiator or its polite peer. */
  from: 'i' | 'p';
  /** Per-sender sequence number: the receiver checks that it only ever grows (order, no duplicates). */
  seq: number;
  handshake: number;
  /** performance.now() in the generator when sent: one process, one clock, so one-way latency is exact. */
  sentAt: number;
}

export const SDP_BYTES = 4096;

const encode = (s: Stamp) => `${s.couple}_${s.from}_${s.seq}_${s.handshake}_${s.sentAt.toFixed(3)}`;

function decode(text: string): Stamp | undefined {
  const [couple, from, seq, handshake, sentAt] = text.split('_');
  if ((from !== 'i' && from !== 'p') || sentAt === undefined) return undefined;
  return { couple: Number(couple), from, seq: Number(seq), handshake: Number(handshake), sentAt: Number(sentAt) };
}

/** A 4 KB offer or answer: a minimal SDP head, the stamp, then attribute lines up to SDP_BYTES. */
export function sessionDescription(type: 'offer' | 'answer', stamp: Stamp): Signal {
  const head = `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nx=${encode(stamp)}\r\n`;
  const padLine = 'a=x-bench-padding:0123456789abcdef0123456789abcdef0123456789abcdef\r\n';
  let sdp = head;
  while (sdp.length + padLine.length <= SDP_BYTES) sdp += padLine;
  sdp += 'a=x'.padEnd(SDP_BYTES - sdp.length - 2, 'x');
  sdp += '\r\n';
  return { type, sdp };
}

/** A host candidate as browsers serialise it, stamped in the foundation field. */
export function candidate(stamp: Stamp): Signal {
  return {
    type: 'candidate',
    candidate: {
      candidate: `candidate:${encode(stamp)} 1 udp 2122260223 192.0.2.10 50000 typ host generation 0 ufrag bnch network-id 1`,
      sdpMid: '0',
      sdpMLineIndex: 0,
      usernameFragment: 'bnch',
    },
  };
}

/** The stamp of a received signal, or undefined when it carries none (someone else's message). */
export function stampOf(signal: Signal): Stamp | undefined {
  if (signal.type === 'offer' || signal.type === 'answer') {
    const start = signal.sdp.indexOf('\r\nx=');
    if (start === -1) return undefined;
    return decode(signal.sdp.slice(start + 4, signal.sdp.indexOf('\r\n', start + 4)));
  }
  if (signal.type === 'candidate') {
    const text = signal.candidate.candidate;
    return decode(text.slice('candidate:'.length, text.indexOf(' ')));
  }
  return undefined;
}
