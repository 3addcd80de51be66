import type { Ack, CommandResults, LeaveReason, PairedPayload, Signal } from '../../protocol/messages.js';
import type { Signaling } from '../signaling.js';
import { SignalingClient, type SignalingClientOptions } from '../signaling-client.js';
import { MAX_TEXT_LENGTH } from './channel-messages.js';
import { ChatError } from './chat-error.js';
import { Emitter } from './emitter.js';
import { PeerSession } from './peer-session.js';
import type { PeerConnectionFactory } from './peer-types.js';

/**
 * `S` is the signaling transport's type: `SignalingClient` (socket.io, the default) unless a
 * `transport` says otherwise, so `chat.signaling` keeps the transport's own API.
 */
export interface ChatClientOptions<S extends Signaling = SignalingClient> {
  /** Makes the RTCPeerConnection. Default: the browser's; in Node pass one (werift, wrtc, ...). */
  createPeerConnection?: PeerConnectionFactory;
  /** How long after `paired` the DataChannel may take to open before an `OPEN_TIMEOUT` error. Default 15 s. */
  openTimeoutMs?: number;
  /**
   * Awaited before each peer connection is made. Chromium on a machine with no default route
   * gathers no candidate at all unless the page holds media permission: such a page can ask for
   * the microphone here (the demo does with `?loopback`).
   */
  beforePeerConnection?: () => Promise<unknown>;
  /**
   * Queue on the first connection with `join` (harmless when the server's AUTO_JOIN did). Default true.
   *
   * On a transport without resume (`signaling.resumes` false, e.g. `WebSocketSignalingClient`) a
   * reconnection is a new session: a client that was waiting (or whose join never got through)
   * joins again by itself, and a pair it was in is over: `partner-left` with reason `disconnect`,
   * as its partner heard, after which it is idle until `next()`, like after any `partner-left`.
   */
  join?: boolean;
  /** Say goodbye on `pagehide`, so the partner hears at once rather than after the resume grace. Default true. */
  closeOnPageHide?: boolean;
  /** Options of the underlying SignalingClient (unused with `transport`). */
  signaling?: SignalingClientOptions;
  /**
   * A ready signaling transport to use instead of a socket.io `SignalingClient` made from the
   * url (which is then ignored), e.g. a `WebSocketSignalingClient` for the API Gateway
   * deployment. The chat owns it from then on: `close()` closes it.
   */
  transport?: S;
}

/** Why a chat that was `open` ended. */
export type ClosedReason = 'partner-left' | 'channel-closed' | 'failed' | 'next' | 'leave' | 'close';

export type ChatState = 'idle' | 'waiting' | 'paired' | 'open';

/** The SDK's events and their payloads. Each `open` is followed by exactly one `closed`. */
export interface ChatEvents {
  /** In the queue, waiting for a partner. */
  waiting: Record<string, never>;
  /** A partner was found (or, `resumed`, the same partner after a server crash): the handshake starts. */
  paired: { room: string; initiator: boolean; resumed: boolean };
  /** The DataChannel is open and both sides heard each other: `send` works. */
  open: { room: string };
  /** Text from the partner. Render it as text, never as HTML. */
  message: { room: string; id: number; text: string };
  /** The partner received message `id` (the value `send` returned; unique for this client's lifetime). */
  delivered: { room: string; id: number };
  typing: { room: string; active: boolean };
  /** The partner is gone (the server says why); this client is idle until `next()`. */
  'partner-left': { room: string; reason: LeaveReason };
  /** The open chat ended; `send` throws until the next `open`. */
  closed: { room: string; reason: ClosedReason };
  error: ChatError;
}

/**
 * A one-to-one text chat over WebRTC: pairs through a pairwire server, opens a DataChannel with
 * the partner, then chats peer to peer. Server events, local commands and the partner's signals
 * are all handled on one promise chain, in the order they happened, so nothing is applied to a
 * peer connection that does not exist yet or no longer matters.
 */
export class ChatClient<S extends Signaling = SignalingClient> extends Emitter<ChatEvents> {
  readonly signaling: S;
  readonly #createPeerConnection: PeerConnectionFactory;
  readonly #openTimeoutMs: number;
  readonly #beforePeerConnection: (() => Promise<unknown>) | undefined;
  #chain: Promise<void> = Promise.resolve();
  #state: ChatState = 'idle';
  /** The pair the server last put us in, while it lasts. */
  #room: string | undefined;
  #session: PeerSession | undefined;
  /** Pairs we ended ourselves: a late `paired` for one of them (a resume) must not revive it. */
  readonly #endedRooms = new Set<string>();
  #messageIds = 0;
  #closed = false;
  /** This client means to be in the queue or in a pair (it joined, or the server queued it). */
  #wantsPartner = false;
  readonly #onPageHide = () => this.close();

  constructor(url: string, options: ChatClientOptions<S> = {}) {
    super();
    this.#createPeerConnection = options.createPeerConnection ?? browserPeerConnection;
    this.#openTimeoutMs = options.openTimeoutMs ?? 15_000;
    this.#beforePeerConnection = options.beforePeerConnection;
    // Without a transport S is its default, SignalingClient (only an explicit type argument could say otherwise).
    this.signaling = options.transport ?? (new SignalingClient(url, options.signaling) as Signaling as S);
    this.signaling.on('waiting', () => this.#enqueue(() => this.#onWaiting()));
    this.signaling.on('paired', (paired) => this.#enqueue(() => this.#onPaired(paired)));
    this.signaling.on('signal', (signal) => this.#enqueue(() => this.#session?.apply(signal)));
    this.signaling.on('partner-left', ({ room, reason }) => this.#enqueue(() => this.#onPartnerLeft(room, reason)));
    this.signaling.on('error', (error) => this.emit('error', new ChatError('SIGNALING', error.message)));
    const autoJoin = options.join !== false;
    this.#wantsPartner = autoJoin;
    let first = true;
    this.signaling.onConnect(() => {
      if (first && autoJoin) void this.#join();
      else if (!first && !this.signaling.resumes) this.#enqueue(() => this.#onNewSession());
      first = false;
    });
    if (options.closeOnPageHide !== false && typeof globalThis.addEventListener === 'function') {
      globalThis.addEventListener('pagehide', this.#onPageHide);
    }
  }

  get state(): ChatState {
    return this.#state;
  }

  /** The current pair's id, while paired. */
  get room(): string | undefined {
    return this.#room;
  }

  /** Sends text to the partner over the DataChannel; returns its id (see `delivered`). */
  send(text: string): number {
    if (text.length > MAX_TEXT_LENGTH) {
      throw new ChatError('TOO_LONG', `a message is at most ${MAX_TEXT_LENGTH} characters`);
    }
    if (!this.#session) throw new ChatError('NOT_OPEN', 'no partner: wait for `open`');
    return this.#session.send(text);
  }

  /** Tells the partner whether this side is typing (best effort, over the DataChannel). */
  typing(active: boolean): void {
    this.#session?.sendTyping(active);
  }

  /** Queues for a partner (only needed when the server does not auto-join, or after `leave`). */
  join(): Promise<Ack<CommandResults['join']>> {
    this.#wantsPartner = true;
    return this.signaling.join();
  }

  /** Ends the current pair, if any, and queues for a new partner. */
  next(): Promise<Ack<CommandResults['next']>> {
    this.#wantsPartner = true;
    this.#enqueue(() => this.#endPair('next'));
    return this.signaling.next();
  }

  /** Ends the current pair, if any, or leaves the queue. */
  leave(): Promise<Ack<CommandResults['leave']>> {
    this.#wantsPartner = false;
    this.#enqueue(() => this.#endPair('leave'));
    return this.signaling.leave();
  }

  /** Says goodbye to the server (the partner is told at once) and stops; after `closed`, if a chat was open, no event follows. */
  close(): void {
    if (this.#closed) return;
    if (typeof globalThis.removeEventListener === 'function') {
      globalThis.removeEventListener('pagehide', this.#onPageHide);
    }
    this.#endPair('close');
    this.#closed = true;
    this.signaling.close();
    this.removeAllListeners();
  }

  /** Runs `task` after every earlier one, in call order; a failure is reported, not propagated. */
  #enqueue(task: () => Promise<void> | void): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) return;
      try {
        await task();
      } catch (error) {
        if (this.#closed) return;
        const message = error instanceof Error ? error.message : String(error);
        this.emit('error', new ChatError('NEGOTIATION_FAILED', message, { cause: error }));
      }
    });
  }

  async #join(): Promise<void> {
    const ack = await this.signaling.join().catch((error: Error) => ({
      ok: false as const,
      error: { code: 'UNAVAILABLE', message: error.message },
    }));
    // Already queued or paired: the server's AUTO_JOIN got there first.
    if (ack.ok || ack.error.code === 'ALREADY_WAITING' || ack.error.code === 'ALREADY_PAIRED') return;
    this.emit('error', new ChatError('SIGNALING', `join refused: ${ack.error.message}`));
  }

  /**
   * A reconnection on a transport without resume: the server knows nothing of the old session.
   * Its pair ended when the old connection closed (the partner heard `partner-left`), so this
   * side hears it too and, like any client after `partner-left`, is idle until `next()`; a client
   * that was waiting (or whose join never got through) joins again.
   */
  #onNewSession(): void {
    const room = this.#room;
    if (room !== undefined) this.#onPartnerLeft(room, 'disconnect');
    else if (this.#wantsPartner) void this.#join();
  }

  #onWaiting(): void {
    this.#wantsPartner = true;
    this.#endPair('next');
    this.#state = 'waiting';
    this.emit('waiting', {});
  }

  async #onPaired({ room, initiator, iceServers, resumed }: PairedPayload): Promise<void> {
    if (this.#endedRooms.has(room)) return;
    this.#wantsPartner = true;
    const again = room === this.#room;
    // The same pair again after a server crash: an open channel never needed the server; keep it.
    if (again && this.#session?.isOpen) return;
    if (again) this.#session?.close();
    else this.#endPair('next');
    this.#room = room;
    this.#session = undefined;
    this.#state = 'paired';
    this.emit('paired', { room, initiator, resumed: again || resumed === true });
    await this.#beforePeerConnection?.();
    if (this.#room !== room || this.#closed) return;
    const session = new PeerSession({
      room,
      initiator,
      iceServers,
      createPeerConnection: this.#createPeerConnection,
      openTimeoutMs: this.#openTimeoutMs,
      // Ids never restart, so a `delivered` always names one message, across partners and restarts.
      nextMessageId: () => ++this.#messageIds,
      sendSignal: (signal) => this.#sendSignal(signal),
      events: {
        open: () => {
          this.#state = 'open';
          this.emit('open', { room });
        },
        message: (id, text) => this.emit('message', { room, id, text }),
        delivered: (id) => this.emit('delivered', { room, id }),
        typing: (active) => this.emit('typing', { room, active }),
        closed: () => this.#sessionEnded(session, 'channel-closed', true),
        failed: (error, wasOpen) => {
          this.emit('error', error);
          this.#sessionEnded(session, 'failed', wasOpen);
        },
      },
    });
    this.#session = session;
    await session.start();
  }

  #onPartnerLeft(room: string, reason: LeaveReason): void {
    // A late notice about a pair we already left is not news.
    if (room !== this.#room) return;
    this.#wantsPartner = false;
    this.#endPair('partner-left');
    this.#state = 'idle';
    this.emit('partner-left', { room, reason });
  }

  /** Tears down the current pair locally; the server side is the caller's business. */
  #endPair(reason: ClosedReason): void {
    const room = this.#room;
    const session = this.#session;
    this.#session = undefined;
    if (room === undefined) return;
    this.#room = undefined;
    this.#endedRooms.add(room);
    this.#state = 'idle';
    if (!session) return;
    const wasOpen = session.isOpen;
    session.close();
    if (wasOpen) this.emit('closed', { room, reason });
  }

  /** The session closed itself (channel gone or failure): the pair stays until the server says. */
  #sessionEnded(session: PeerSession, reason: ClosedReason, wasOpen: boolean): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    this.#state = 'paired';
    if (wasOpen) this.emit('closed', { room: session.room, reason });
  }

  #sendSignal(signal: Signal): void {
    this.signaling.signal(signal).then(
      (ack) => {
        // NOT_PAIRED: the partner left while this signal was on its way; partner-left follows.
        if (ack.ok || ack.error.code === 'NOT_PAIRED' || this.#closed) return;
        this.emit('error', new ChatError('SIGNALING', `${signal.type} refused: ${ack.error.message}`));
      },
      (error: Error) => {
        if (!this.#closed) this.emit('error', new ChatError('SIGNALING', error.message, { cause: error }));
      },
    );
  }
}

function browserPeerConnection(config: RTCConfiguration) {
  if (typeof RTCPeerConnection !== 'function') {
    throw new ChatError(
      'NEGOTIATION_FAILED',
      'no RTCPeerConnection here: pass createPeerConnection (in Node, werift or @roamhq/wrtc)',
    );
  }
  return new RTCPeerConnection(config);
}
