import { commandFrame, MAX_ACK_ID } from '../protocol/frames.js';
import type { Ack } from '../protocol/messages.js';
import { asksForRetry, retryPause } from './signal-retry.js';

/** Ack ids stay at most MAX_ACK_ID (src/protocol/frames.ts); after that they start again at 1. */
const MAX_ID = MAX_ACK_ID;

/** The longest frame a command can make: its real id and cseq are never longer. */
export function largestFrame(action: string, payload: unknown): string {
  return commandFrame(action, MAX_ID, payload, action === 'signal' ? Number.MAX_SAFE_INTEGER : undefined);
}

interface PendingCommand {
  action: string;
  payload: unknown;
  /** Set once sent: the id its ack will carry (a new one each time it is sent). */
  id: number | undefined;
  /** A signal's number in its session's order, set when first sent and kept for a resend. */
  cseq: number | undefined;
  resolve(ack: Ack<object>): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
  /** A signal's UNAVAILABLE answers so far: each doubles the pause before it goes again. */
  tries: number;
}

/**
 * The commands of a plain-WebSocket client, sent in the order issued, as API Gateway requires:
 * every frame runs in its own concurrent invocation, so two frames in flight may be handled in
 * either order. A command therefore waits until every earlier one is acked (a `signal` before
 * the `join` that paired it, a `next` after its pair's last candidates), except that signals
 * follow signals at once: each carries its number in the session's order (`cseq`), and the server
 * relays them in that order, so a handshake costs one round trip, not one per candidate.
 *
 * A connection that closes rejects the commands in flight (they may or may not have run), except
 * signals: they go out again, first and with the same number, once the session is resumed (the
 * server takes each number once), and reject only if the session did not survive.
 */
export class CommandQueue {
  readonly #ackTimeoutMs: number;
  /** Called when a command in flight gave up on its ack: what waited behind it may go now. */
  readonly #wake: () => void;
  /** Issued, not sent yet (or to be sent again), in order. */
  readonly #waiting: PendingCommand[] = [];
  /** Sent, not acked yet, by id. */
  readonly #inFlight = new Map<number, PendingCommand>();
  #lastId = 0;
  /** The last cseq given to a signal of this session. */
  #cseq = 0;

  constructor(ackTimeoutMs: number, wake: () => void) {
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#wake = wake;
  }

  /** A new frame id (commands, and the client's own frames that want an answer). */
  nextId(): number {
    this.#lastId = this.#lastId >= MAX_ID ? 1 : this.#lastId + 1;
    return this.#lastId;
  }

  /** Whether a command of this action is waiting or in flight. */
  has(action: string): boolean {
    return (
      this.#waiting.some((c) => c.action === action) || [...this.#inFlight.values()].some((c) => c.action === action)
    );
  }

  /** Queues a command; resolves with its ack, or rejects after the ack timeout (queueing included). */
  issue(action: string, payload: unknown): Promise<Ack<object>> {
    return new Promise((resolve, reject) => {
      const command: PendingCommand = {
        action,
        payload,
        id: undefined,
        cseq: undefined,
        tries: 0,
        resolve,
        reject,
        timer: setTimeout(() => {
          const sent = command.id !== undefined && this.#inFlight.get(command.id) === command;
          // Lost, or very late: the queue moves on (a late ack is recognised by its id and ignored).
          if (sent) this.#inFlight.delete(command.id as number);
          else this.#remove(command);
          const where = sent ? 'after it was sent' : 'while waiting for the connection';
          reject(new Error(`no "${action}" ack within ${this.#ackTimeoutMs} ms (timed out ${where})`));
          if (sent) this.#wake();
        }, this.#ackTimeoutMs),
      };
      this.#waiting.push(command);
    });
  }

  /**
   * Sends, through `send`, every command that may go now. A command `send` throws for is
   * rejected with the reason. Call again whenever an ack came in or the connection came up.
   */
  flush(send: (frame: string) => void): void {
    for (let command = this.#waiting[0]; command && this.#mayGo(command); command = this.#waiting[0]) {
      this.#waiting.shift();
      if (command.action === 'signal') command.cseq ??= ++this.#cseq;
      command.id = this.nextId();
      try {
        send(commandFrame(command.action, command.id, command.payload, command.cseq));
        this.#inFlight.set(command.id, command);
      } catch (error) {
        clearTimeout(command.timer);
        command.reject(new Error(`"${command.action}" not sent: ${errorMessage(error)}`, { cause: error }));
      }
    }
  }

  /**
   * Takes an ack frame: settles its command, and returns what it answered (`ack` undefined when
   * malformed), or undefined when nothing waits for it (a command that timed out, or junk).
   */
  answered(id: number, payload: unknown): { action: string; ack: Ack<object> | undefined } | undefined {
    const command = this.#inFlight.get(id);
    if (!command) return undefined;
    if (command.cseq !== undefined && isAck(payload) && asksForRetry(payload)) {
      this.#retryLater(id, command, payload);
      return undefined;
    }
    this.#inFlight.delete(id);
    clearTimeout(command.timer);
    if (!isAck(payload)) {
      command.reject(new Error(`malformed "${command.action}" ack`));
      return { action: command.action, ack: undefined };
    }
    command.resolve(payload);
    return { action: command.action, ack: payload };
  }

  /**
   * The connection closed. Signals in flight wait to go again, first, with their numbers; other
   * commands in flight reject (they may or may not have run).
   */
  disconnected(): void {
    const inFlight = [...this.#inFlight.values()];
    this.#inFlight.clear();
    const resend = inFlight.filter((c) => c.action === 'signal').sort((x, y) => (x.cseq ?? 0) - (y.cseq ?? 0));
    for (const command of inFlight) {
      if (command.action === 'signal') continue;
      clearTimeout(command.timer);
      command.reject(new Error(`the connection closed before the "${command.action}" ack`));
    }
    this.#waiting.unshift(...resend);
  }

  /**
   * The session is over (the server answered a resume with a new one): signals of the old one still
   * to be sent again reject, and numbering starts over.
   */
  sessionEnded(): void {
    for (const command of this.#waiting.filter((c) => c.cseq !== undefined)) {
      this.#remove(command);
      clearTimeout(command.timer);
      command.reject(new Error('the session ended before the "signal" ack'));
    }
    this.#cseq = 0;
  }

  /** Rejects every command, waiting or in flight. */
  close(error: Error): void {
    const pending = [...this.#inFlight.values(), ...this.#waiting.splice(0)];
    this.#inFlight.clear();
    for (const command of pending) {
      clearTimeout(command.timer);
      command.reject(error);
    }
  }

  /**
   * A numbered signal answered UNAVAILABLE goes again, first and with its number, after a pause
   * (src/client/signal-retry.ts), until another answer or its ack timeout. Until then it stays in
   * flight under its old id, so nothing that must follow it (a `next`) overtakes it. A connection
   * that closes meanwhile has queued it for the resume already.
   */
  #retryLater(id: number, command: PendingCommand, ack: Ack<object>): void {
    setTimeout(
      () => {
        if (this.#inFlight.get(id) !== command) return;
        this.#inFlight.delete(id);
        this.#waiting.unshift(command);
        this.#wake();
      },
      retryPause(command.tries++, ack),
    );
  }

  /** A signal may follow signals in flight; anything else goes only once every earlier command is acked. */
  #mayGo(command: PendingCommand): boolean {
    if (command.action !== 'signal') return this.#inFlight.size === 0;
    for (const inFlight of this.#inFlight.values()) if (inFlight.action !== 'signal') return false;
    return true;
  }

  #remove(command: PendingCommand): void {
    const index = this.#waiting.indexOf(command);
    if (index >= 0) this.#waiting.splice(index, 1);
  }
}

function isAck(value: unknown): value is Ack<object> {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
