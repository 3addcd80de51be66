import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Outgoing, SessionEvent, SessionId } from './pairing-store.js';

/** How long one XREAD waits for entries before it is sent again. */
const BLOCK_MS = 5_000;
/**
 * A connection silent this long while a read is pending is taken for dead (a half-open TCP
 * connection, which no close event reveals) and replaced: well past BLOCK_MS, so an idle inbox
 * never trips it.
 */
const DEAD_CONNECTION_MS = BLOCK_MS + 10_000;
/** Entries per read: a batch is parsed and handed over in one call. */
const BATCH = 500;
/** The pause after a failed read (Redis down or restarting) before the next. */
const RETRY_MS = 250;
/**
 * How long what was read may stay in the inbox before it is trimmed: one XTRIM per this long at
 * most, rather than one per read (a read under light load carries an entry or two, so a trim per
 * read was nearly a command per relayed signal). An inbox holds this long's entries at most.
 */
const TRIM_AFTER_MS = 200;

/** One outbox entry, "<seq>\t<event JSON>" (redis-scripts.ts), as the event it is for `to`. */
export function outgoing(to: SessionId, entry: string): Outgoing {
  // "<seq>\t<bytes it counts>\t<event JSON>" (redis-scripts.ts); the JSON may hold tabs of its own.
  const first = entry.indexOf('\t');
  const second = entry.indexOf('\t', first + 1);
  return { to, seq: Number(entry.slice(0, first)), event: JSON.parse(entry.slice(second + 1)) as SessionEvent };
}

/**
 * Reads one instance's inbox stream (`P i:<owner>`, redis-scripts.ts) and hands its events over in
 * order, trimming what it has read: only this process reads its inbox, so what it has read is
 * done with. Reads block, so they get a connection of their own (a duplicate of the store's
 * client) that waits for Redis through an outage instead of failing fast like store commands.
 */
export class InboxReader {
  readonly #key: string;
  readonly #onEvents: (events: Outgoing[]) => void;
  /** The store's connection: trims go on it, never behind a blocking read. */
  readonly #redis: Redis;
  readonly #reader: Redis;
  /** The last entry read and not yet trimmed, and the timer that trims up to it. */
  #untrimmed: string | undefined;
  #trimTimer: NodeJS.Timeout | undefined;
  readonly #stopping = new AbortController();
  readonly #done: Promise<void>;

  constructor(redis: Redis, key: string, onEvents: (events: Outgoing[]) => void) {
    this.#key = key;
    this.#onEvents = onEvents;
    this.#redis = redis;
    this.#reader = redis.duplicate({
      commandTimeout: undefined, // a blocking read outlasts any command timeout
      maxRetriesPerRequest: null, // wait in the offline queue while Redis is away
      socketTimeout: DEAD_CONNECTION_MS,
      connectionName: 'pairwire-inbox',
    });
    // Errors surface through reads, which retry; without a listener ioredis would log each one.
    this.#reader.on('error', () => {});
    // Reading starts at the inbox's end as of now: what a predecessor under the same owner id left
    // there is not ours. Asked on the store's own connection, so that it comes before any command
    // this process sends after it (an attach, then events for that session, cannot slip in first).
    const start = lastId(redis, key).catch(() => undefined);
    this.#done = this.#run(start);
  }

  /** Stops reading and closes the reader's connection; resolves once the loop has ended. */
  stop(): Promise<void> {
    this.#stopping.abort();
    clearTimeout(this.#trimTimer);
    this.#reader.disconnect();
    return this.#done;
  }

  async #run(start: Promise<string | undefined>): Promise<void> {
    let last = await start;
    const { signal } = this.#stopping;
    while (!signal.aborted) {
      try {
        // The start could not be asked on the store's connection (an outage): ask here once Redis is back.
        last ??= await lastId(this.#reader, this.#key);
        // https://redis.io/commands/xread/
        const reply = await this.#reader.xread('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.#key, last);
        const entries = reply?.[0]?.[1];
        if (!entries?.length || signal.aborted) continue;
        last = entries[entries.length - 1]?.[0] ?? last;
        this.#trimLater(last);
        this.#hand(entries);
      } catch {
        if (signal.aborted) break;
        // A client whose own retry strategy gave up has ended: start it again.
        if (this.#reader.status === 'end') this.#reader.connect().catch(() => {});
        await sleep(RETRY_MS, undefined, { signal }).catch(() => {});
      }
    }
  }

  /** Trims up to `read` (and whatever is read meanwhile) within TRIM_AFTER_MS: only this process reads its inbox. */
  #trimLater(read: string): void {
    this.#untrimmed = read;
    if (this.#trimTimer) return;
    this.#trimTimer = setTimeout(() => {
      this.#trimTimer = undefined;
      const upTo = this.#untrimmed;
      this.#untrimmed = undefined;
      // https://redis.io/commands/xtrim/ (a failed trim is redone by the next one, or the inbox's PX ends it)
      if (upTo) this.#redis.xtrim(this.#key, 'MINID', after(upTo)).catch(() => {});
    }, TRIM_AFTER_MS);
    this.#trimTimer.unref();
  }

  /** Parses a batch and hands it over; one bad entry or a throwing callback cannot stop the reader. */
  #hand(entries: [id: string, fields: string[]][]): void {
    const events: Outgoing[] = [];
    for (const [, fields] of entries) {
      const to = fieldOf(fields, 'to');
      const entry = fieldOf(fields, 'e');
      if (to === undefined || entry === undefined) continue;
      try {
        events.push(outgoing(to, entry));
      } catch {
        // Not written by our scripts: skip it.
      }
    }
    if (!events.length) return;
    try {
      this.#onEvents(events);
    } catch {
      // The callback's own fault; the next batch still comes.
    }
  }
}

/** The ID of the stream's last entry, or "0-0" when it has none. https://redis.io/commands/xrevrange/ */
async function lastId(redis: Redis, key: string): Promise<string> {
  const [newest] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  return newest?.[0] ?? '0-0';
}

/** The smallest stream ID after `id` ("<ms>-<seq>"): XTRIM MINID keeps IDs from it on. */
function after(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  return `${ms}-${BigInt(seq) + 1n}`;
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
