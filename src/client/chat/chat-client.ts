import type {
  Ack,
  Command,
  CommandResults,
  EvidenceMessage,
  JoinPreferences,
  LeaveReason,
  PairedPayload,
  ReportReason,
  Signal,
  StatsPayload,
} from '../../protocol/messages.js';
import type { ConnectionRefusal, Signaling } from '../signaling.js';
import { SignalingClient, type SignalingClientOptions } from '../signaling-client.js';
import { MAX_TEXT_LENGTH } from './channel-messages.js';
import { ChatError } from './chat-error.js';
import { Emitter } from './emitter.js';
import { EvidenceRing, type EvidenceRingOptions } from './evidence-ring.js';
import { PeerSession } from './peer-session.js';
import type { PeerConnectionFactory } from './peer-types.js';

/**
 * `S` is the signaling transport's type: `SignalingClient` (socket.io, the default) unless a
 * `transport` says otherwise, so `chat.signaling` keeps the transport's own API.
 */
export interface ChatClientOptions<S extends Signaling = SignalingClient> {
  /** Makes the RTCPeerConnection. Default: the browser's; in Node pass one (werift, wrtc, ...). */
  createPeerConnection?: PeerConnectionFactory;
  /**
   * How long after `paired` the DataChannel may take to open before an `OPEN_TIMEOUT` error,
   * `beforePeerConnection` included. Default 15 s.
   */
  openTimeoutMs?: number;
  /**
   * Awaited before each peer connection is made. Chromium on a machine with no default route
   * gathers no candidate at all unless the page holds media permission: such a page can ask for
   * the microphone here (the demo does with `?loopback`). It counts against `openTimeoutMs`; if
   * it rejects, the attempt ends with `CONNECTION_FAILED`. Server events are handled meanwhile.
   */
  beforePeerConnection?: () => Promise<unknown>;
  /**
   * Queue on connecting (true, the default) or stay idle until `next()` (false), whatever the
   * server's AUTO_JOIN: over socket.io and `WebSocketSignalingClient` the server is asked in the
   * handshake, so no `join` is sent; over a transport that cannot ask, `join` is sent on connecting.
   *
   * On a transport without resume (`signaling.resumes` false) a
   * reconnection is a new session: a client that was waiting (or whose join never got through)
   * joins again by itself, and a pair it was in is over: `partner-left` with reason `disconnect`,
   * as its partner heard, after which it is idle until `next()`, like after any `partner-left`.
   */
  join?: boolean;
  /** Say goodbye on `pagehide`, so the partner hears at once rather than after the resume grace. Default true. */
  closeOnPageHide?: boolean;
  /**
   * Who to be paired with (docs/protocol.md, "Matching"): `interests`, `fallbackMs`, `lang`. Used
   * by every join this client makes; `join`, `next` and `block` with preferences replace them.
   */
  preferences?: JoinPreferences;
  /** Options of the underlying SignalingClient (unused with `transport`). */
  signaling?: SignalingClientOptions;
  /**
   * A ready signaling transport to use instead of a socket.io `SignalingClient` made from the
   * url (which is then ignored), e.g. a `WebSocketSignalingClient` for the API Gateway
   * deployment. The chat owns it from then on: `close()` closes it.
   */
  transport?: S;
  /**
   * How many of the last messages of the current (or last) chat are kept on this side, as
   * evidence `report` may attach when asked to: at most `maxMessages` (default 20) and
   * `maxBytes` as JSON (default 4096, the server's limit), the oldest dropped first. They never
   * leave this client otherwise; `{ maxMessages: 0 }` keeps none.
   */
  evidence?: EvidenceRingOptions;
}

/** What `report` sends besides its reason. */
export interface ReportOptions {
  /** What happened, in the user's words (at most 500 characters). */
  details?: string;
  /** Attach the messages kept (`keptMessages()`): only when the user chose to. Default false. */
  attachEvidence?: boolean;
}

/** Why a chat that was `open` ended. */
export type ClosedReason =
  | 'partner-left'
  | 'channel-closed'
  | 'failed'
  | 'next'
  | 'leave'
  | 'report'
  | 'banned'
  | 'close';

export type ChatState = 'idle' | 'waiting' | 'paired' | 'open';

/** The SDK's events and their payloads. Each `open` is followed by exactly one `closed`. */
export interface ChatEvents {
  /** In the queue, waiting for a partner (also again after a server restart, for a client that was waiting). */
  waiting: Record<string, never>;
  /**
   * A partner was found (or, `resumed`, the same partner announced again): the handshake starts.
   * `commonInterests`: what both sides gave (empty when matched by fallback, or without interests).
   */
  paired: { room: string; initiator: boolean; resumed: boolean; commonInterests: string[] };
  /** The DataChannel is open and both sides heard each other: `send` works. */
  open: { room: string };
  /** Text from the partner. Render it as text, never as HTML. */
  message: { room: string; id: number; text: string };
  /** The partner received message `id` (the value `send` returned; unique for this client's lifetime). */
  delivered: { room: string; id: number };
  typing: { room: string; active: boolean };
  /** The partner is gone (the server says why); this client is idle until `next()`. */
  'partner-left': { room: string; reason: LeaveReason };
  /**
   * The live counts (people online, waiting, pairs), every few seconds while this client waits,
   * on socket.io (docs/protocol.md, "Live counts"). Over API Gateway none come: poll GET /stats.
   */
  stats: StatsPayload;
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
  /** The pair the server last put us in, kept after it ended: the one `report` names. */
  #lastRoom: string | undefined;
  /** The last messages of the current or last chat, for `report` to attach. */
  readonly #evidence: EvidenceRing;
  /** When the ban the server announced ends (ms since the epoch; Infinity when it did not say). */
  #bannedUntil: number | undefined;
  #session: PeerSession | undefined;
  /** The pair's peer connection is not made yet (`beforePeerConnection` runs): its signals wait here. */
  #preparing: Preparation | undefined;
  /**
   * A pair whose chat was open when the server lost our session (a restart on the memory store):
   * the chat goes on peer to peer, but the server knows nothing of it, so no `partner-left` will
   * ever come for it: its end is the channel's.
   */
  #serverlessRoom: string | undefined;
  /** What the last connection asked the server: to queue a new session (true) or not. */
  #askedToJoin = false;
  /** A `session` event came before: a later one with `resumed: false` means the server lost ours. */
  #hadSession = false;
  /** The transport reports acks in order with events (`onAnswer`); else a command's continuation does. */
  readonly #answersInOrder: boolean;
  /** Pairs we ended ourselves: a late `paired` for one of them (a resume) must not revive it. */
  readonly #endedRooms = new Set<string>();
  #messageIds = 0;
  #closed = false;
  #preferences: JoinPreferences | undefined;
  /** This client means to be in the queue or in a pair (it joined, or the server queued it). */
  #wantsPartner = false;
  readonly #onPageHide = () => this.close();

  constructor(url: string, options: ChatClientOptions<S> = {}) {
    super();
    this.#createPeerConnection = options.createPeerConnection ?? browserPeerConnection;
    this.#openTimeoutMs = options.openTimeoutMs ?? 15_000;
    this.#beforePeerConnection = options.beforePeerConnection;
    this.#preferences = options.preferences;
    this.#evidence = new EvidenceRing(options.evidence);
    // Without a transport S is its default, SignalingClient (only an explicit type argument could say otherwise).
    this.signaling =
      options.transport ??
      (new SignalingClient(url, { preferences: options.preferences, ...options.signaling }) as Signaling as S);
    this.signaling.on('session', ({ resumed }) => this.#enqueue(() => this.#onSession(resumed)));
    this.signaling.on('waiting', () => this.#enqueue(() => this.#onWaiting()));
    this.signaling.on('paired', (paired) => this.#enqueue(() => this.#onPaired(paired)));
    this.signaling.on('signal', (signal) => this.#enqueue(() => this.#onSignal(signal)));
    this.signaling.on('partner-left', ({ room, reason }) => this.#enqueue(() => this.#onPartnerLeft(room, reason)));
    // Not on the chain: a count concerns no pair, and a late one is worth nothing.
    this.signaling.on('stats', (stats) => this.emit('stats', stats));
    this.signaling.on('error', (error) => {
      if (error.code !== 'BANNED') this.emit('error', new ChatError('SIGNALING', error.message));
      // The server disconnects next; a transport that reports refusals says then what it will do.
      else if (!this.signaling.onRefused) this.#onBanned(error.retryAfterMs, error.message);
    });
    this.signaling.onRefused?.((refusal) => this.#onRefused(refusal));
    if (this.#preferences) this.signaling.setPreferences?.(this.#preferences);
    this.#answersInOrder = typeof this.signaling.onAnswer === 'function';
    this.signaling.onAnswer?.((command, ack) => this.#onAnswer(command, ack));
    const autoJoin = options.join !== false;
    this.#wantsPartner = autoJoin;
    // Asked in the handshake, the server queues a new session itself: a `join` of ours would only
    // be refused with ALREADY_WAITING. After a lost session, a chat still open is kept, not queued.
    const asksOnConnect = typeof this.signaling.queueOnConnect === 'function';
    this.signaling.queueOnConnect?.(() => {
      this.#askedToJoin = this.#wantsPartner && !this.#session?.isOpen;
      return this.#askedToJoin;
    });
    let first = true;
    this.signaling.onConnect(() => {
      if (first && autoJoin && !asksOnConnect) void this.#join();
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

  /** The pair `report` would name: the current one, else the last one (until the next pair). */
  get reportableRoom(): string | undefined {
    return this.#lastRoom;
  }

  /** While banned: when the ban ends (ms since the epoch; Infinity when the server did not say). */
  get bannedUntil(): number | undefined {
    if (this.#bannedUntil !== undefined && this.#bannedUntil <= Date.now()) this.#bannedUntil = undefined;
    return this.#bannedUntil;
  }

  /**
   * The last messages of the current or last chat, oldest first, as `report` would attach them
   * (see the `evidence` option). Kept on this side only; cleared when the next pair starts.
   */
  keptMessages(): EvidenceMessage[] {
    return this.#evidence.messages();
  }

  /** Sends text to the partner over the DataChannel; returns its id (see `delivered`). */
  send(text: string): number {
    if (text.length > MAX_TEXT_LENGTH) {
      throw new ChatError('TOO_LONG', `a message is at most ${MAX_TEXT_LENGTH} characters`);
    }
    if (!this.#session) throw new ChatError('NOT_OPEN', 'no partner: wait for `open`');
    const id = this.#session.send(text);
    this.#evidence.add({ from: 'self', text, at: Date.now() });
    return id;
  }

  /** Tells the partner whether this side is typing (best effort, over the DataChannel). */
  typing(active: boolean): void {
    this.#session?.sendTyping(active);
  }

  /*
   * Commands change nothing here until the server has answered: a refused one (RATE_LIMITED for
   * quick clicks) changed nothing on the server either, and the pair goes on. What a command did
   * arrives as events before its ack (`waiting` or `paired` after `next`), and the ack itself
   * (`leave`'s is the only news of it) is handled on the chain in its place among them. Each
   * command resolves once the chain got that far, so `state` is the server's by then.
   */

  /** Queues for a partner (only needed with `join: false`, or after `leave`). */
  join(preferences?: JoinPreferences): Promise<Ack<CommandResults['join']>> {
    this.#wantsPartner = true;
    return this.#command('join', this.signaling.join(this.#prefer(preferences)));
  }

  /** Ends the current pair, if any, and queues for a new partner. */
  next(preferences?: JoinPreferences): Promise<Ack<CommandResults['next']>> {
    return this.#command('next', this.signaling.next(this.#prefer(preferences)));
  }

  /**
   * Ends the current pair like `next`, and is never paired with that partner again (NOT_PAIRED
   * without one). Over a transport without `block`, refused like the server refuses an unknown command.
   */
  block(preferences?: JoinPreferences): Promise<Ack<CommandResults['block']>> {
    const preferred = this.#prefer(preferences);
    if (!this.signaling.block) {
      return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_EVENT', message: 'this transport cannot block' } });
    }
    return this.#command('block', this.signaling.block(preferred));
  }

  /**
   * Reports the partner of the current pair, or of the last one (the server takes reports for a
   * while after a pair ended), with a reason and, if given, the user's `details`; the messages
   * kept here go along only with `attachEvidence: true`. That partner is never paired with this
   * client again. Reporting the current partner ends the pair (`closed` with reason `report` if
   * the chat was open) and leaves this client idle, as after `leave`: `next()` for someone new.
   * Refused without asking the server (`NOT_IN_ROOM`) when there was no pair; over a transport
   * without `report`, `UNKNOWN_EVENT`. The server answers `ALREADY_REPORTED` for a second report
   * of the same pair, and `NOT_IN_ROOM` once the pair ended too long ago.
   */
  async report(reason: ReportReason, options: ReportOptions = {}): Promise<Ack<CommandResults['report']>> {
    const room = this.#lastRoom;
    if (room === undefined) {
      return Promise.resolve({ ok: false, error: { code: 'NOT_IN_ROOM', message: 'no chat to report yet' } });
    }
    if (!this.signaling.report) {
      return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_EVENT', message: 'this transport cannot report' } });
    }
    const evidence = options.attachEvidence ? this.#evidence.messages() : [];
    const ack = await this.#command(
      'report',
      this.signaling.report({
        room,
        reason,
        ...(options.details ? { details: options.details } : {}),
        ...(evidence.length > 0 ? { evidence } : {}),
      }),
    );
    // The server ended a current pair and does not queue the reporter: the ack is all the news.
    // (By now a `next` sent meanwhile may have paired us anew: that pair is not the one reported.)
    if (ack.ok) {
      await this.#enqueue(() => {
        if (this.#room !== room) return;
        this.#wantsPartner = false;
        this.#endPair('report');
      });
    }
    return ack;
  }

  /** The preferences of this client's joins: these from now on, when given. */
  #prefer(preferences: JoinPreferences | undefined): JoinPreferences | undefined {
    if (preferences) {
      this.#preferences = preferences;
      this.signaling.setPreferences?.(preferences);
    }
    return this.#preferences;
  }

  /** Ends the current pair, if any, or leaves the queue. */
  leave(): Promise<Ack<CommandResults['leave']>> {
    return this.#command('leave', this.signaling.leave());
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

  /**
   * Runs `task` after every earlier one, in call order; a failure is reported, not propagated.
   * Resolves once it ran (or was skipped, once closed).
   */
  #enqueue(task: () => Promise<void> | void): Promise<void> {
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
    return this.#chain;
  }

  async #command<T extends object>(command: Command, answer: Promise<Ack<T>>): Promise<Ack<T>> {
    const ack = await answer;
    if (!this.#answersInOrder) this.#onAnswer(command, ack);
    await this.#chain;
    return ack;
  }

  /** A command's ack, in its place among the server's events. */
  #onAnswer(command: Command, ack: Ack<object>): void {
    if (!ack.ok) {
      if (ack.error.code === 'BANNED') this.#onBanned(ack.error.retryAfterMs, ack.error.message);
      return;
    }
    this.#enqueue(() => {
      if (command === 'leave') this.#onLeft();
      // A report changes nothing of this client's wishes: of a current pair, the server's events tell.
      else if (command !== 'signal' && command !== 'report') this.#wantsPartner = true;
    });
  }

  /**
   * The server banned this client (in the handshake, with an `error` before disconnecting, or in
   * a command's answer): one `BANNED` error per ban, however many of these said so.
   */
  #onBanned(retryAfterMs: number | undefined, message: string, retryInMs?: number): void {
    if (this.#closed) return;
    const until = retryAfterMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + retryAfterMs;
    const known = this.bannedUntil;
    // The same ban heard again (the answer, the event, the refused reconnection): not news.
    if (known !== undefined && (known === until || Math.abs(known - until) < BAN_SAME_WITHIN_MS)) return;
    this.#bannedUntil = until;
    // The server ended the session and told the partner: the chat is over on this side too, even
    // if the channel is still open (a ban is not for chatting on peer to peer).
    this.#enqueue(() => this.#endPair('banned'));
    const ends = Number.isFinite(until) ? `until ${new Date(until).toISOString()}` : 'with no end given';
    this.emit(
      'error',
      new ChatError('BANNED', `${message} (${ends})`, {
        ...(Number.isFinite(until) ? { bannedUntil: until } : {}),
        ...(retryInMs === undefined ? {} : { retryInMs }),
      }),
    );
  }

  async #join(): Promise<void> {
    const ack = await this.signaling.join(this.#preferences).catch((error: Error) => ({
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

  /**
   * The server named our session. `resumed: false` after an earlier one means it lost ours (a
   * restart on the memory store, or a claim past RESUME_GRACE_MS): it knows nothing of our pair.
   * A chat whose channel is open does not need the server: it goes on, and this client, idle on
   * the server (it asked not to be queued), queues again only on `next()`. A client that was
   * waiting or still shaking hands asked to be queued: its `waiting` or `paired` follows.
   */
  #onSession(resumed: boolean): void {
    const lost = this.#hadSession && !resumed;
    this.#hadSession = true;
    const room = this.#room;
    if (!lost || room === undefined) return;
    if (this.#session?.isOpen) this.#serverlessRoom = room;
    else if (!this.#askedToJoin) this.#onPartnerLeft(room, 'disconnect');
  }

  /** The server confirmed `leave`: out of the queue, out of the pair (the partner was told). */
  #onLeft(): void {
    this.#wantsPartner = false;
    this.#endPair('leave');
    this.#state = 'idle';
  }

  #onWaiting(): void {
    this.#wantsPartner = true;
    this.#endPair('next');
    this.#state = 'waiting';
    this.emit('waiting', {});
  }

  async #onPaired({ room, initiator, iceServers, commonInterests = [] }: PairedPayload): Promise<void> {
    if (this.#endedRooms.has(room)) return;
    this.#wantsPartner = true;
    const again = room === this.#room;
    if (room !== this.#lastRoom) {
      // A new partner: what was kept of the last chat goes, and reports name this pair now.
      this.#evidence.clear();
      this.#lastRoom = room;
    }
    // The same pair again (a server that lost what it had sent, or a client that resumed without its
    // last seq): an open channel never needed the server; keep it.
    if (again && this.#session?.isOpen) return;
    if (again) {
      this.#session?.close();
      this.#stopPreparing();
    } else this.#endPair('next');
    this.#room = room;
    this.#session = undefined;
    this.#state = 'paired';
    this.emit('paired', { room, initiator, resumed: again, commonInterests });
    const openBy = Date.now() + this.#openTimeoutMs;
    const before = this.#beforePeerConnection;
    if (!before) {
      await this.#startSession(room, initiator, iceServers, openBy, []);
      return;
    }
    // Not awaited on the chain: a permission prompt nobody answers must neither hold up the
    // server's events nor keep the open timeout from running.
    const preparation: Preparation = {
      signals: [],
      timer: setTimeout(() => {
        this.#enqueue(() => {
          if (this.#preparing !== preparation) return;
          this.#preparing = undefined;
          this.emit('error', openTimeout(this.#openTimeoutMs));
        });
      }, this.#openTimeoutMs),
    };
    this.#preparing = preparation;
    Promise.resolve()
      .then(before)
      .then(
        () =>
          this.#enqueue(async () => {
            if (this.#preparing !== preparation) return;
            this.#stopPreparing();
            await this.#startSession(room, initiator, iceServers, openBy, preparation.signals);
          }),
        (error: unknown) =>
          this.#enqueue(() => {
            if (this.#preparing !== preparation) return;
            this.#stopPreparing();
            const message = error instanceof Error ? error.message : String(error);
            this.emit(
              'error',
              new ChatError('CONNECTION_FAILED', `beforePeerConnection failed: ${message}`, { cause: error }),
            );
          }),
      );
  }

  /** A partner's signal: to the peer connection, or kept for it while it is being prepared. */
  async #onSignal(signal: Signal): Promise<void> {
    if (this.#preparing) this.#preparing.signals.push(signal);
    else await this.#session?.apply(signal);
  }

  #stopPreparing(): void {
    if (this.#preparing) clearTimeout(this.#preparing.timer);
    this.#preparing = undefined;
  }

  /** Makes the pair's peer connection, the initiator's offer, then applies what the partner already sent. */
  async #startSession(
    room: string,
    initiator: boolean,
    iceServers: PairedPayload['iceServers'],
    openBy: number,
    early: Signal[],
  ): Promise<void> {
    const session = new PeerSession({
      room,
      initiator,
      iceServers,
      createPeerConnection: this.#createPeerConnection,
      openTimeoutMs: Math.max(0, openBy - Date.now()),
      openTimeoutMessage: openTimeout(this.#openTimeoutMs).message,
      // Ids never restart, so a `delivered` always names one message, across partners and restarts.
      nextMessageId: () => ++this.#messageIds,
      sendSignal: (signal) => this.#sendSignal(signal),
      events: {
        open: () => {
          this.#state = 'open';
          this.emit('open', { room });
        },
        message: (id, text) => {
          this.#evidence.add({ from: 'partner', text, at: Date.now() });
          this.emit('message', { room, id, text });
        },
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
    for (const signal of early) await session.apply(signal);
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
    this.#stopPreparing();
    if (room === undefined) return;
    this.#room = undefined;
    if (this.#serverlessRoom === room) this.#serverlessRoom = undefined;
    this.#endedRooms.add(room);
    this.#state = 'idle';
    if (!session) return;
    const wasOpen = session.isOpen;
    session.close();
    if (wasOpen) this.emit('closed', { room, reason });
  }

  /**
   * The session closed itself (channel gone or failure): the pair stays until the server says,
   * unless the server no longer knows it (see `#serverlessRoom`): then the channel was all of it.
   */
  #sessionEnded(session: PeerSession, reason: ClosedReason, wasOpen: boolean): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    this.#state = 'paired';
    if (wasOpen) this.emit('closed', { room: session.room, reason });
    if (this.#serverlessRoom === session.room) {
      this.#enqueue(() => this.#onPartnerLeft(session.room, 'disconnect'));
    }
  }

  /** The connection was refused or got no answer: the app hears why, and whether it is retried. */
  #onRefused({ code, message, retryInMs, retryAfterMs }: ConnectionRefusal): void {
    if (this.#closed) return;
    if (code === 'BANNED') {
      this.#onBanned(retryAfterMs, message, retryInMs);
      return;
    }
    const known = code === 'RATE_LIMITED' || code === 'ORIGIN_NOT_ALLOWED' || code === 'UNREACHABLE';
    this.emit(
      'error',
      new ChatError(known ? code : 'SIGNALING', message, retryInMs === undefined ? {} : { retryInMs }),
    );
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

/** A pair's peer connection waiting for `beforePeerConnection`. */
interface Preparation {
  /** The partner's signals so far, applied in order once the peer connection exists. */
  signals: Signal[];
  /** The open timeout, running from `paired` while the preparation lasts. */
  timer: ReturnType<typeof setTimeout>;
}

/** Two ban notices whose ends differ by less than this are the same ban (clocks and transit). */
const BAN_SAME_WITHIN_MS = 5000;

function openTimeout(openTimeoutMs: number): ChatError {
  return new ChatError('OPEN_TIMEOUT', `no DataChannel within ${openTimeoutMs} ms of pairing`);
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
