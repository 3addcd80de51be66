import type { IceCandidateInit, IceServer, Signal } from '../../protocol/messages.js';
import { ChatError } from './chat-error.js';
import type { DataChannelLike, IceCandidateLike, PeerConnectionFactory, PeerConnectionLike } from './peer-types.js';
import { ReliableChannel } from './reliable-channel.js';

export interface PeerSessionOptions {
  room: string;
  initiator: boolean;
  iceServers: IceServer[];
  createPeerConnection: PeerConnectionFactory;
  /** From now: the caller counts from `paired`. */
  openTimeoutMs: number;
  /** What the OPEN_TIMEOUT error says. */
  openTimeoutMessage: string;
  /** Numbers this side's messages (see ReliableChannel). */
  nextMessageId(): number;
  /** Relays a signal to the partner through the server, in call order. */
  sendSignal(signal: Signal): void;
  events: PeerSessionEvents;
}

export interface PeerSessionEvents {
  open(): void;
  message(id: number, text: string): void;
  delivered(id: number): void;
  typing(active: boolean): void;
  /** The DataChannel closed under us (the partner's connection went away). */
  closed(): void;
  /** The session cannot reach or keep an open channel; it has closed itself. */
  failed(error: ChatError, wasOpen: boolean): void;
}

/** How long the peer connection outlives its closed channel, for the channel's close to reach the partner. */
const CHANNEL_CLOSE_GRACE_MS = 1000;

/**
 * One WebRTC handshake with one partner, in one room, with the role the server gave. The
 * initiator makes the DataChannel and the offer; the other side answers. Signals are applied by
 * the caller one at a time, in arrival order (`apply` returns when done).
 */
export class PeerSession {
  readonly room: string;
  readonly initiator: boolean;
  readonly #pc: PeerConnectionLike;
  readonly #options: PeerSessionOptions;
  #channel: ReliableChannel | undefined;
  /** Candidates that came before the remote description; added, in order, right after it. */
  #earlyCandidates: Array<IceCandidateInit | undefined> = [];
  #makingOffer = false;
  #sentEndOfCandidates = false;
  #closed = false;
  readonly #openTimer: ReturnType<typeof setTimeout>;

  constructor(options: PeerSessionOptions) {
    this.room = options.room;
    this.initiator = options.initiator;
    this.#options = options;
    this.#pc = options.createPeerConnection({ iceServers: options.iceServers });
    this.#pc.onicecandidate = ({ candidate }) => this.#trickle(candidate);
    this.#pc.onconnectionstatechange = () => {
      if (this.#pc.connectionState === 'failed') {
        this.#fail(new ChatError('CONNECTION_FAILED', 'the peer-to-peer connection failed'));
      }
    };
    this.#openTimer = setTimeout(() => {
      this.#fail(new ChatError('OPEN_TIMEOUT', options.openTimeoutMessage));
    }, options.openTimeoutMs);
    if (this.initiator) {
      this.#attach(this.#pc.createDataChannel('chat', { ordered: true }));
    } else {
      this.#pc.ondatachannel = ({ channel }) => this.#attach(channel);
    }
  }

  get isOpen(): boolean {
    return this.#channel?.isOpen ?? false;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** The initiator's first move: the offer. */
  async start(): Promise<void> {
    if (!this.initiator) return;
    this.#makingOffer = true;
    try {
      const offer = await this.#pc.createOffer();
      if (this.#closed) return;
      await this.#pc.setLocalDescription(offer);
      if (this.#closed || !offer.sdp) return;
      this.#options.sendSignal({ type: 'offer', sdp: offer.sdp });
    } finally {
      this.#makingOffer = false;
    }
  }

  /** Applies one signal from the partner; resolves once it is applied (or deliberately ignored). */
  async apply(signal: Signal): Promise<void> {
    if (this.#closed) return;
    switch (signal.type) {
      case 'offer': {
        // Perfect negotiation: the initiator is the impolite peer and ignores an offer that
        // collides with its own; the polite peer (which never offers first) always yields.
        const collision = this.#makingOffer || this.#pc.signalingState !== 'stable';
        if (collision && this.initiator) return;
        if (collision) await this.#pc.setLocalDescription({ type: 'rollback' });
        await this.#pc.setRemoteDescription({ type: 'offer', sdp: signal.sdp });
        await this.#addEarlyCandidates();
        const answer = await this.#pc.createAnswer();
        if (this.#closed) return;
        await this.#pc.setLocalDescription(answer);
        if (this.#closed || !answer.sdp) return;
        this.#options.sendSignal({ type: 'answer', sdp: answer.sdp });
        return;
      }
      case 'answer':
        // An answer to an offer we no longer have (a restarted handshake) would fail: drop it.
        if (this.#pc.signalingState !== 'have-local-offer') return;
        await this.#pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
        await this.#addEarlyCandidates();
        return;
      case 'candidate':
        return this.#addCandidate(signal.candidate);
      case 'end-of-candidates':
        return this.#addCandidate(undefined);
    }
  }

  /** Sends a chat message over the open channel; returns its id. */
  send(text: string): number {
    if (!this.#channel?.isOpen) throw new ChatError('NOT_OPEN', 'no open DataChannel: wait for `open`');
    return this.#channel.send(text);
  }

  sendTyping(active: boolean): void {
    if (this.#channel?.isOpen) this.#channel.sendTyping(active);
  }

  /** Closes the channel and the peer connection; no event follows. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#openTimer);
    const channel = this.#channel;
    this.#channel = undefined;
    channel?.close();
    this.#pc.onicecandidate = null;
    this.#pc.ondatachannel = null;
    this.#pc.onconnectionstatechange = null;
    if (!channel) {
      this.#pc.close();
      return;
    }
    // Closing the channel resets its stream, which is how the partner learns the chat is over
    // when no server will tell it (a pair the server lost in a restart). Some stacks (werift)
    // drop that reset when the connection closes right behind it: give it a moment.
    const pc = this.#pc;
    const timer = setTimeout(() => pc.close(), CHANNEL_CLOSE_GRACE_MS);
    (timer as { unref?: () => void }).unref?.();
  }

  #attach(dataChannel: DataChannelLike): void {
    if (this.#closed || this.#channel) return;
    const events = this.#options.events;
    this.#channel = new ReliableChannel(
      dataChannel,
      {
        open: () => {
          clearTimeout(this.#openTimer);
          events.open();
        },
        message: (id, text) => events.message(id, text),
        delivered: (id) => events.delivered(id),
        typing: (active) => events.typing(active),
        closed: () => {
          if (this.#closed) return;
          this.close();
          events.closed();
        },
      },
      this.#options.nextMessageId,
    );
  }

  #trickle(candidate: IceCandidateLike | null | undefined): void {
    if (this.#closed) return;
    // Gathering is over: a null candidate (the standard) or an empty one (older Chromium).
    if (!candidate?.candidate) {
      if (this.#sentEndOfCandidates) return;
      this.#sentEndOfCandidates = true;
      this.#options.sendSignal({ type: 'end-of-candidates' });
      return;
    }
    // Copy the four fields the protocol allows (its schema refuses anything else).
    const { candidate: line, sdpMid, sdpMLineIndex, usernameFragment } = candidate;
    this.#options.sendSignal({
      type: 'candidate',
      candidate: { candidate: line, sdpMid, sdpMLineIndex, usernameFragment },
    });
  }

  async #addCandidate(candidate: IceCandidateInit | undefined): Promise<void> {
    if (!this.#pc.remoteDescription) {
      this.#earlyCandidates.push(candidate);
      return;
    }
    await this.#addOneCandidate(candidate);
  }

  async #addEarlyCandidates(): Promise<void> {
    const early = this.#earlyCandidates;
    this.#earlyCandidates = [];
    for (const candidate of early) await this.#addOneCandidate(candidate);
  }

  async #addOneCandidate(candidate: IceCandidateInit | undefined): Promise<void> {
    try {
      await (candidate ? this.#pc.addIceCandidate(candidate) : this.#pc.addIceCandidate());
    } catch {
      // One unusable candidate (an address family or an mDNS name this side cannot resolve) is
      // not a failure: ICE goes on with the others, and the open timeout catches a dead end.
    }
  }

  #fail(error: ChatError): void {
    if (this.#closed) return;
    const wasOpen = this.isOpen;
    this.close();
    this.#options.events.failed(error, wasOpen);
  }
}
