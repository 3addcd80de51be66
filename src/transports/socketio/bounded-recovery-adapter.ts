import { randomBytes } from 'node:crypto';
import { Adapter, type BroadcastOptions, type PrivateSessionId, type Room, type Session } from 'socket.io-adapter';

/** How often the buffer is trimmed: an event is kept for the grace period plus at most this. */
const TRIM_EVERY_MS = 1000;

/** socket.io-parser's EVENT packet type. */
const EVENT = 2;

type SessionToPersist = Omit<Session, 'missedPackets'>;

/** What the adapter is given to broadcast (socket.io-parser's Packet, the fields used here). */
interface Packet {
  type: number;
  nsp: string;
  data?: unknown[];
  id?: number;
}

interface Encoder {
  encode(packet: Packet): unknown[];
}

/** One recoverable event as kept: its wire encoding, not the payload's object graph. */
interface BufferedEvent {
  emittedAt: number;
  /** The rooms it went to and those it skipped (a lone room is kept as a bare string). */
  rooms: Room | readonly Room[];
  except: Room | readonly Room[];
  /** The event's arguments as socket.io-parser encoded them after `prefix`, or as given (binary). */
  encoded: string | unknown[];
}

/**
 * socket.io's in-memory connection state recovery, made cheap enough for the relay path.
 *
 * socket.io's own SessionAwareAdapter keeps every emitted event, its payload object graph and its
 * room Sets included, in one array that a fixed 60 s timer sweeps. Relaying at 18,000 signals/s
 * that is hundreds of MB of small live objects, marked by every major GC and copied by every
 * scavenge: the garbage collector took a quarter of the server's CPU (docs/benchmarks.md).
 * This adapter keeps the same promise (a client that reconnects within the grace gets every event
 * sent to its rooms meanwhile, once, in order) with a cheaper buffer:
 * - an event is kept as the string the parser already produced to send it (a string: no object
 *   graph for the GC to trace), and parsed again only when a client recovers;
 * - the buffer holds the grace period, trimmed every second rather than every minute;
 * - offsets are this process's random prefix plus a sequence number, so finding where a client
 *   left off is arithmetic, not a scan, and an offset from another process never matches.
 */
export class BoundedRecoveryAdapter extends Adapter {
  readonly #sessions = new Map<PrivateSessionId, SessionToPersist & { disconnectedAt: number }>();
  readonly #events: BufferedEvent[] = [];
  /** Sequence number of `#events[0]`. */
  #firstSeq = 0;
  readonly #offsetPrefix = `${randomBytes(6).toString('base64url')}.`;
  readonly #graceMs: number;
  /** The parser's output for the packet being broadcast (set by the wrapped encoder). */
  #lastEncoding: unknown[] = [];
  readonly #eventPrefix: string;
  readonly #timer: NodeJS.Timeout;

  // socket.io constructs adapters with its Namespace; the typings call it `any`.
  constructor(nsp: ConstructorParameters<typeof Adapter>[0]) {
    super(nsp);
    this.#graceMs = nsp.server.opts.connectionStateRecovery.maxDisconnectionDuration;
    this.#eventPrefix = `${EVENT}${nsp.name === '/' ? '' : `${nsp.name},`}`;
    // The base adapter encodes each broadcast once, to write it; remembering that encoding saves
    // encoding it again for the buffer. `encoder` is private in the typings only.
    const self = this as unknown as { encoder: Encoder };
    const parserEncoder = self.encoder;
    self.encoder = {
      encode: (packet) => {
        this.#lastEncoding = parserEncoder.encode(packet);
        return this.#lastEncoding;
      },
    };
    this.#timer = setInterval(() => this.#trim(), TRIM_EVERY_MS);
    this.#timer.unref();
  }

  /** Events held for recovery right now. */
  get bufferedEvents(): number {
    return this.#events.length;
  }

  override close(): void {
    clearInterval(this.#timer);
    super.close();
  }

  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    // Events asking for an ack or sent volatile are not recoverable (as in socket.io's adapter).
    if (packet.type !== EVENT || packet.id !== undefined || opts.flags?.volatile !== undefined || !packet.data) {
      super.broadcast(packet, opts);
      return;
    }
    const seq = this.#firstSeq + this.#events.length;
    // The offset goes last in the event's arguments: the client hands it back when it reconnects.
    packet.data.push(`${this.#offsetPrefix}${seq.toString(36)}`);
    // Buffered before it is written, so the offset is taken even if writing throws part way.
    const event: BufferedEvent = {
      emittedAt: Date.now(),
      rooms: compactRooms(opts.rooms),
      except: compactRooms(opts.except),
      encoded: packet.data,
    };
    this.#events.push(event);
    this.#lastEncoding = [];
    super.broadcast(packet, opts);
    event.encoded = this.#argumentsJson(this.#lastEncoding) ?? packet.data;
  }

  override persistSession(session: SessionToPersist): void {
    this.#sessions.set(session.pid, { ...session, disconnectedAt: Date.now() });
  }

  // socket.io awaits this and treats null as "not recoverable" (its typings omit the null).
  override restoreSession(pid: PrivateSessionId, offset: string): Promise<Session> {
    return Promise.resolve(this.#restore(pid, offset) as Session);
  }

  #restore(pid: PrivateSessionId, offset: string): Session | null {
    const session = this.#sessions.get(pid);
    if (!session) return null;
    this.#sessions.delete(pid);
    if (session.disconnectedAt + this.#graceMs < Date.now()) return null;
    const index = this.#indexOf(offset);
    if (index === undefined) return null;
    const missedPackets: unknown[][] = [];
    for (let i = index + 1; i < this.#events.length; i++) {
      const event = this.#events[i] as BufferedEvent;
      if (reaches(event, session.rooms)) missedPackets.push(this.#decode(event));
    }
    const { disconnectedAt: _, ...persisted } = session;
    return { ...persisted, missedPackets };
  }

  /** Where `offset` sits in the buffer, or undefined when it is not (or no longer) in it. */
  #indexOf(offset: string): number | undefined {
    if (!offset.startsWith(this.#offsetPrefix)) return undefined;
    const digits = offset.slice(this.#offsetPrefix.length);
    if (!/^[0-9a-z]{1,11}$/.test(digits)) return undefined;
    const index = Number.parseInt(digits, 36) - this.#firstSeq;
    return index >= 0 && index < this.#events.length ? index : undefined;
  }

  /** The arguments' JSON from the parser's output, when it is the one plain-text frame expected. */
  #argumentsJson(encoding: unknown[]): string | undefined {
    const [frame] = encoding;
    if (encoding.length !== 1 || typeof frame !== 'string') return undefined;
    if (!frame.startsWith(this.#eventPrefix) || frame[this.#eventPrefix.length] !== '[') return undefined;
    return frame.slice(this.#eventPrefix.length);
  }

  #decode(event: BufferedEvent): unknown[] {
    return typeof event.encoded === 'string' ? (JSON.parse(event.encoded) as unknown[]) : event.encoded;
  }

  #trim(): void {
    const threshold = Date.now() - this.#graceMs;
    let expired = 0;
    while (expired < this.#events.length && (this.#events[expired] as BufferedEvent).emittedAt < threshold) expired++;
    if (expired > 0) {
      this.#events.splice(0, expired);
      this.#firstSeq += expired;
    }
    for (const [pid, session] of this.#sessions) if (session.disconnectedAt < threshold) this.#sessions.delete(pid);
  }
}

const NO_ROOMS: readonly Room[] = [];

function compactRooms(rooms: ReadonlySet<Room> | undefined): Room | readonly Room[] {
  if (!rooms || rooms.size === 0) return NO_ROOMS;
  if (rooms.size === 1) return rooms.values().next().value as Room;
  return [...rooms];
}

function includes(rooms: Room | readonly Room[], room: Room): boolean {
  return typeof rooms === 'string' ? rooms === room : rooms.includes(room);
}

/** socket.io's rule: an event reaches a session in one of its rooms (or sent to all) and in none it skipped. */
function reaches(event: BufferedEvent, sessionRooms: Room[]): boolean {
  const toAll = typeof event.rooms !== 'string' && event.rooms.length === 0;
  const included = toAll || sessionRooms.some((room) => includes(event.rooms, room));
  return included && sessionRooms.every((room) => !includes(event.except, room));
}
