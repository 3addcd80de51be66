import { type ChannelMessage, encodeChannelMessage, parseChannelMessage } from './channel-messages.js';
import type { DataChannelLike } from './peer-types.js';

export interface ReliableChannelEvents {
  /** Both sides heard each other: what is sent from now on is received. */
  open(): void;
  message(id: number, text: string): void;
  delivered(id: number): void;
  typing(active: boolean): void;
  /** The DataChannel closed (the partner's side went away, or close() was called). */
  closed(): void;
}

/** The hello travels as message 0, so it is receipted (and resent) like any text. */
const HELLO_ID = 0;

/**
 * Chat over one RTCDataChannel with no lost message. The channel is reliable and ordered, yet a
 * message sent the moment it opens has been seen to vanish on the receiving side (a few in two
 * hundred Chromium runs). So: each side says hello when its channel opens and `open` is reported
 * only when both hellos have been receipted; every text is receipted too, and whatever has no
 * receipt is resent every `resendIntervalMs`. The receiver drops duplicates by id.
 */
export class ReliableChannel {
  readonly #channel: DataChannelLike;
  readonly #events: ReliableChannelEvents;
  readonly #resendIntervalMs: number;
  /** Sent but not yet receipted, by id, in sending order: what the resend timer sends again. */
  readonly #unreceipted = new Map<number, string>();
  readonly #received = new Set<number>();
  #heardPartner = false;
  #partnerHeardUs = false;
  /** Written before our side of the channel reported open: the partner's side can be open first. */
  #outbox: string[] = [];
  #open = false;
  #closed = false;
  #resendTimer: ReturnType<typeof setTimeout> | undefined;

  readonly #nextId: () => number;

  /** `nextId` numbers outgoing texts: increasing and above 0 (the hello's), unique for the app's lifetime. */
  constructor(channel: DataChannelLike, events: ReliableChannelEvents, nextId: () => number, resendIntervalMs = 1000) {
    this.#nextId = nextId;
    this.#channel = channel;
    this.#events = events;
    this.#resendIntervalMs = resendIntervalMs;
    channel.onmessage = (event) => this.#receive(event.data);
    channel.onclose = () => this.close();
    // The answering side may get its channel already open (the `datachannel` event can come late).
    if (channel.readyState === 'open') this.#channelOpened();
    else channel.onopen = () => this.#channelOpened();
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Sends a chat message; returns its id (the `delivered` event names it). Only once open. */
  send(text: string): number {
    const id = this.#nextId();
    this.#sendReliably({ type: 'text', id, text });
    return id;
  }

  /** Best effort: a lost typing hint is corrected by the next one. */
  sendTyping(active: boolean): void {
    this.#write(encodeChannelMessage({ type: 'typing', active }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#resendTimer);
    this.#channel.onmessage = null;
    this.#channel.onopen = null;
    this.#channel.onclose = null;
    this.#channel.close();
    this.#events.closed();
  }

  #channelOpened(): void {
    const outbox = this.#outbox;
    this.#outbox = [];
    for (const encoded of outbox) this.#write(encoded);
    this.#sendReliably({ type: 'hello', id: HELLO_ID });
  }

  #sendReliably(message: Extract<ChannelMessage, { id: number }>): void {
    const encoded = encodeChannelMessage(message);
    this.#unreceipted.set(message.id, encoded);
    this.#write(encoded);
    this.#scheduleResend();
  }

  #scheduleResend(): void {
    if (this.#resendTimer !== undefined || this.#closed) return;
    this.#resendTimer = setTimeout(() => {
      this.#resendTimer = undefined;
      if (this.#unreceipted.size === 0) return;
      for (const encoded of this.#unreceipted.values()) this.#write(encoded);
      this.#scheduleResend();
    }, this.#resendIntervalMs);
  }

  #write(encoded: string): void {
    if (this.#closed) return;
    // The side that created the channel learns it is open a moment after the other side, which
    // may already have said hello: the receipt waits here rather than being lost.
    if (this.#channel.readyState === 'connecting') this.#outbox.push(encoded);
    else if (this.#channel.readyState === 'open') this.#channel.send(encoded);
  }

  #receive(data: unknown): void {
    const message = parseChannelMessage(data);
    if (!message || this.#closed) return;
    switch (message.type) {
      case 'hello':
        this.#write(encodeChannelMessage({ type: 'receipt', id: HELLO_ID }));
        this.#heardPartner = true;
        this.#openIfReady();
        return;
      case 'receipt':
        this.#unreceipted.delete(message.id);
        if (message.id === HELLO_ID) {
          this.#partnerHeardUs = true;
          this.#openIfReady();
        } else {
          this.#events.delivered(message.id);
        }
        return;
      case 'text':
        this.#write(encodeChannelMessage({ type: 'receipt', id: message.id }));
        if (this.#received.has(message.id)) return;
        this.#received.add(message.id);
        // The partner sends text only once open, that is once it heard our hello and we heard its
        // own: a text proves both, even if our copy of its hello was the message that vanished.
        this.#heardPartner = true;
        this.#partnerHeardUs = true;
        this.#openIfReady();
        this.#events.message(message.id, message.text);
        return;
      case 'typing':
        if (this.#open) this.#events.typing(message.active);
        return;
    }
  }

  #openIfReady(): void {
    if (this.#open || !this.#heardPartner || !this.#partnerHeardUs) return;
    this.#open = true;
    this.#events.open();
  }
}
