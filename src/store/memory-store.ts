import { randomUUID } from 'node:crypto';
import type { LeaveReason, Signal } from '../protocol/messages.js';
import {
  ANYONE,
  type Attached,
  type Ban,
  DEFAULT_MATCH_RULES,
  DEFAULT_OUTBOX_LIMITS,
  DEFAULT_REPORT_RULES,
  DEFAULT_SIGNAL_HOLD_MS,
  type DueFallbacks,
  type EnqueueResult,
  eventBytes,
  type Heartbeat,
  type LapsedDrops,
  type LiveStats,
  MATCH_SCAN_STEPS,
  MAX_MISSING_SIGNALS,
  type MatchPreferences,
  type MatchRules,
  type OutboxLimits,
  type Outgoing,
  type Pair,
  type PairingStore,
  partnerOf,
  REPORTABLE_ROOMS,
  type RelayResult,
  type RematchResult,
  type ReportInput,
  type ReportQuery,
  type ReportResult,
  type ReportRules,
  type SessionEvent,
  type SessionId,
  type SessionState,
  type SignalOrder,
  type StoredReport,
  type Subject,
  type SubjectConnectionLimits,
  TOP_INTERESTS,
} from './pairing-store.js';
import { SortedQueue } from './sorted-queue.js';

/** What a `paired` event counts against an outbox (the largest event a join appends). */
const PAIRED_BYTES = eventBytes({ name: 'paired', room: randomUUID(), initiator: false, commonInterests: [] });

/** A session in the queue. */
interface Waiter {
  /** Arrival order (the store-wide counter): lower waited longer. */
  seq: number;
  preferences: MatchPreferences;
  /** When it starts accepting anyone (it has interests and a fallback), until it is moved to #anyone. */
  due: number | null;
}

/**
 * One known session. Its collections are made when first written (undefined until then): most
 * sessions never fill most of them, and an empty Map or Set still costs ~180 bytes, several
 * times over for every connection held.
 */
interface SessionRecord {
  /** null while attached, else the time (ms) at which the detached session expires. */
  expiresAt: number | null;
  /** It was waiting when its connection dropped. */
  droppedWhileWaiting: boolean;
  /** The last seq handed out. */
  seq: number;
  /** Events not yet acknowledged, oldest first, with the bytes each counts. */
  outbox: { out: Outgoing; bytes: number }[];
  outboxBytes: number;
  /** The client's signal order (SignalOrder): the highest cseq whose turn was taken. */
  cseq: number;
  /** Cseqs passed over when a later signal's hold ran out: still relayed, once, if they come. */
  missing: Set<number> | undefined;
  /** Signals that came ahead of a predecessor, by cseq, until their turn or the hold's end. */
  held: Map<number, HeldSignal> | undefined;
  /** The connection that carries the session now (API Gateway), if any. */
  connection: string | undefined;
  /** Every connection that carried it: forgotten with the session. */
  connections: Set<string> | undefined;
  /**
   * Its last partners, oldest first, each followed by when it was paired: `[partner, at, …]`. A
   * flat array of two slots per partner costs a fraction of a Map, and most sessions have one.
   */
  recent: (SessionId | number)[] | undefined;
  /** The sessions it blocked. */
  blocked: Set<SessionId> | undefined;
  /** Who is behind it (reports and bans). */
  subject: Subject;
  /** Its last REPORTABLE_ROOMS ended pairs, oldest first, by room: what it may still report. */
  rooms: Map<string, EndedRoom> | undefined;
}

/** A pair a session was in, as a report needs it. */
interface EndedRoom {
  partner: SessionId;
  /** The partner's subject when the pair ended (the partner may be forgotten since). */
  partnerSubject: Subject;
  endedAt: number;
  reported: boolean;
}

/** A signal waiting for its turn; `signal` null for a turn that is only skipped. */
interface HeldSignal {
  signal: Signal | null;
  resolve(result: RelayResult): void;
  timer: ReturnType<typeof setTimeout>;
}

const NOT_PAIRED: RelayResult = Object.freeze({ status: 'not-paired' });
const DUPLICATE: RelayResult = Object.freeze({ status: 'duplicate' });

/**
 * The embedded default: one process, no dependencies. Every method runs to completion without
 * awaiting, so each one is atomic with respect to every other on the event loop. The process is
 * the only owner, so attached sessions need no lease; only detached ones expire.
 */
export class MemoryPairingStore implements PairingStore {
  /**
   * Waiting sessions; a Map iterates in insertion order, which is arrival order (a session enters
   * only when it starts waiting): a FIFO with O(1) removal. The same goes for each interest's set.
   */
  readonly #queue = new Map<SessionId, Waiter>();
  /** Waiting sessions by interest, in arrival order. */
  readonly #byInterest = new Map<string, Set<SessionId>>();
  /** Waiting sessions that accept anyone, by arrival (seq): no interests, or a fallback that passed. */
  readonly #anyone = new SortedQueue();
  /** Waiting sessions with interests and a fallback, by when it passes (then moved to #anyone). */
  readonly #fallbacks = new SortedQueue();
  /**
   * Sessions a join moved to #anyone when their fallback passed (#mature), owed a rematch of their
   * own: the join looked for its own partner only, so two of them could otherwise wait side by side
   * in #anyone until someone new came. The heartbeat and claimDueFallbacks hand them out.
   */
  readonly #owed = new Set<SessionId>();
  #arrivals = 0;
  /** Both members of every pair point at the same record. */
  readonly #pairs = new Map<SessionId, Pair>();
  readonly #sessions = new Map<SessionId, SessionRecord>();
  /**
   * Detached sessions by expiry time, oldest first: what the heartbeat sweeps. A session that
   * reattaches stays listed until its old expiry passes, and is then skipped as live.
   */
  readonly #expiries: { session: SessionId; at: number }[] = [];
  /** Sessions detached by their connection's close while paired → when their grace ends (claimLapsed). */
  readonly #lapses = new Map<SessionId, number>();
  /** Connection → the session it carries or carried last (API Gateway). */
  readonly #connections = new Map<string, SessionId>();
  /** Subject → its open connections (API Gateway) → when each expires (ms); in the order added, oldest first. */
  readonly #subjectConnections = new Map<Subject, Map<string, number>>();
  /** Connection → the subject it is open for (the other way round of #subjectConnections). */
  readonly #connectionSubjects = new Map<string, Subject>();
  /** `mark`'s records: key → when it expires (ms). Swept whenever it has doubled since the last sweep. */
  readonly #marks = new Map<string, number>();
  #marksSweptAt = 0;
  readonly #limits: OutboxLimits;
  readonly #signalHoldMs: number;
  readonly #rules: MatchRules;
  readonly #reportRules: ReportRules;
  /** Kept reports, oldest first: bounded by ReportRules.maxReports and retentionMs. */
  readonly #reports: StoredReport[] = [];
  /** Bans by subject; an expired one is dropped when met. */
  readonly #bans = new Map<Subject, Ban>();
  readonly #banWatchers = new Set<(ban: Ban) => void>();
  /** next/block counts by subject in the current window (#skipWindow, in units of its length). */
  readonly #skips = new Map<Subject, number>();
  #skipWindow = 0;
  /** Makes report ids unique within one millisecond, like a stream's "<ms>-<n>". */
  #lastReport = { at: 0, n: 0 };

  constructor(
    options: { outbox?: OutboxLimits; signalHoldMs?: number; matching?: MatchRules; reports?: ReportRules } = {},
  ) {
    this.#limits = options.outbox ?? DEFAULT_OUTBOX_LIMITS;
    this.#signalHoldMs = options.signalHoldMs ?? DEFAULT_SIGNAL_HOLD_MS;
    this.#rules = options.matching ?? DEFAULT_MATCH_RULES;
    this.#reportRules = options.reports ?? DEFAULT_REPORT_RULES;
  }

  async attach(
    session: SessionId,
    { resume, after = 0, subject }: { resume: boolean; after?: number; subject?: Subject },
  ): Promise<Attached | null> {
    const known = this.#live(session);
    if (resume && !known) return null;
    const record = known ?? this.#register(session);
    record.expiresAt = null;
    if (subject !== undefined) record.subject = subject;
    // What the client says it processed is acknowledged by saying so.
    if (resume) this.#trim(record, after);
    const replay = resume ? record.outbox.map(({ out }) => out) : [];
    if (record.droppedWhileWaiting) {
      record.droppedWhileWaiting = false;
      return { state: { status: 'idle', requeue: true }, replay };
    }
    return { state: this.#stateOf(session), replay };
  }

  async detach(session: SessionId, graceMs: number): Promise<void> {
    const record = this.#sessions.get(session);
    if (!record) return;
    if (this.#unqueue(session)) record.droppedWhileWaiting = true;
    const at = Date.now() + graceMs;
    record.expiresAt = at;
    // Graces are all alike in practice, so appending keeps the list in expiry order; a shorter one
    // is only swept a little late.
    this.#expiries.push({ session, at });
  }

  async release(session: SessionId): Promise<void> {
    this.#forget(session);
  }

  async heartbeat(sessions: SessionId[]): Promise<Heartbeat> {
    this.#sweep();
    const beat: Heartbeat = { orphans: [], lost: [], lastSeq: new Map(), due: [] };
    const now = Date.now();
    for (const session of sessions) {
      const record = this.#live(session);
      if (!record) {
        beat.lost.push(session);
        continue;
      }
      beat.lastSeq.set(session, record.seq);
      const due = this.#queue.get(session)?.due;
      if ((due !== undefined && due !== null && due <= now) || this.#owed.has(session)) beat.due.push(session);
      const pair = this.#pairs.get(session);
      if (pair && !this.#live(partnerOf(pair, session))) beat.orphans.push(session);
    }
    return beat;
  }

  async enqueue(session: SessionId, preferences: MatchPreferences = ANYONE): Promise<EnqueueResult> {
    // Attached by its transport: unknown means it was lost (its numbering would start over).
    const record = this.#live(session);
    if (!record) return { status: 'lost' };
    const current = this.#pairs.get(session);
    if (current) return { status: 'already-paired', pair: current };
    if (this.#queue.has(session)) return { status: 'already-waiting' };
    // Whatever happens next appends one event to the caller's outbox: it must have room for it.
    if (!this.#fits(record, PAIRED_BYTES)) {
      this.#forget(session);
      return { status: 'lost' };
    }

    const now = Date.now();
    const found = this.#findPartner(session, record, preferences, now);
    if (found) return { status: 'paired', ...this.#pair(found, session, record, preferences, now) };
    const seq = ++this.#arrivals;
    const accepts = preferences.interests.length === 0 || preferences.fallbackMs === 0;
    const due = accepts || preferences.fallbackMs === null ? null : now + preferences.fallbackMs;
    this.#queue.set(session, { seq, preferences, due });
    for (const tag of preferences.interests) {
      const waiting = this.#byInterest.get(tag);
      if (waiting) waiting.add(session);
      else this.#byInterest.set(tag, new Set([session]));
    }
    if (accepts) this.#anyone.add(session, seq);
    else if (due !== null) this.#fallbacks.add(session, due);
    return { status: 'waiting', events: [this.#push(session, record, { name: 'waiting' })] };
  }

  async rematch(session: SessionId): Promise<RematchResult> {
    const waiter = this.#queue.get(session);
    const record = this.#live(session);
    if (!waiter || !record) return { status: 'unchanged' };
    if (!this.#fits(record, PAIRED_BYTES)) {
      this.#forget(session);
      return { status: 'lost' };
    }
    const now = Date.now();
    this.#mature(now);
    this.#owed.delete(session);
    // Only a session that accepts anyone now has anything new to look for.
    if (waiter.due !== null || !this.#anyone.delete(session, waiter.seq)) return { status: 'unchanged' };
    this.#anyone.add(session, waiter.seq);
    const heads = this.#anyone.head(MATCH_SCAN_STEPS).map(({ id }) => id);
    const found = this.#firstCompatible(heads, session, record, waiter.preferences, now);
    if (!found) return { status: 'unchanged' };
    this.#unqueue(found.partner);
    this.#unqueue(session);
    const mine = { partner: session, record, waiter };
    // The longer waiter initiates, as in a join: there the one waiting is always the longer.
    const [first, second] = waiter.seq < found.waiter.seq ? [mine, found] : [found, mine];
    return {
      status: 'paired',
      ...this.#pair(first, second.partner, second.record, second.waiter.preferences, now, waiter.preferences),
    };
  }

  /**
   * The waiting session `session` is to be paired with (pairing-store.ts `enqueue` says how it is
   * chosen), already off the queue, or undefined. Leftovers met on the way (expired, or lost to a
   * full outbox) are dropped.
   */
  #findPartner(
    session: SessionId,
    record: SessionRecord,
    preferences: MatchPreferences,
    now: number,
  ): { partner: SessionId; record: SessionRecord; waiter: Waiter } | undefined {
    let best: { partner: SessionId; record: SessionRecord; waiter: Waiter } | undefined;
    for (const tag of preferences.interests) {
      const waiting = this.#byInterest.get(tag);
      if (!waiting) continue;
      const found = this.#firstCompatible([...take(waiting, MATCH_SCAN_STEPS)], session, record, preferences, now);
      if (found && (!best || found.waiter.seq < best.waiter.seq)) best = found;
    }
    if (!best && (preferences.interests.length === 0 || preferences.fallbackMs === 0)) {
      this.#mature(now);
      const heads = this.#anyone.head(MATCH_SCAN_STEPS).map(({ id }) => id);
      best = this.#firstCompatible(heads, session, record, preferences, now);
    }
    if (best) this.#unqueue(best.partner);
    return best;
  }

  /** The first of `candidates` that `session` may be paired with. */
  #firstCompatible(
    candidates: SessionId[],
    session: SessionId,
    record: SessionRecord,
    preferences: MatchPreferences,
    now: number,
  ): { partner: SessionId; record: SessionRecord; waiter: Waiter } | undefined {
    for (const partner of candidates) {
      const waiter = this.#queue.get(partner);
      if (!waiter || partner === session) continue;
      const other = this.#live(partner);
      if (!other) continue; // a leftover: #live dropped it
      const lang = waiter.preferences.lang;
      if (lang !== null && preferences.lang !== null && lang !== preferences.lang) continue;
      if (this.#isRecent(record, partner, now) || this.#isRecent(other, session, now)) continue;
      if (record.blocked?.has(partner) || other.blocked?.has(session)) continue;
      if (!this.#fits(other, PAIRED_BYTES)) {
        this.#forget(partner); // stopped reading: lost
        continue;
      }
      return { partner, record: other, waiter };
    }
    return undefined;
  }

  #isRecent(record: SessionRecord, partner: SessionId, now: number): boolean {
    const recent = record.recent;
    if (!recent) return false;
    const index = recent.indexOf(partner);
    return index >= 0 && (recent[index + 1] as number) > now - this.#rules.recentMs;
  }

  /** Moves waiting sessions whose fallback has passed to #anyone, a bounded number per join; each is owed a rematch. */
  #mature(now: number): void {
    for (const id of this.#moveDueFallbacks(now, MATCH_SCAN_STEPS)) this.#owed.add(id);
  }

  /** Moves up to `limit` waiting sessions whose fallback has passed (first due first) to #anyone; returns them. */
  #moveDueFallbacks(now: number, limit: number): SessionId[] {
    const moved: SessionId[] = [];
    for (const { id, key } of this.#fallbacks.head(limit)) {
      if (key > now) break;
      this.#fallbacks.delete(id, key);
      const waiter = this.#queue.get(id);
      if (!waiter) continue;
      waiter.due = null;
      this.#anyone.add(id, waiter.seq);
      moved.push(id);
    }
    return moved;
  }

  /** Records the pair of `session` (the polite side) with `found` (the initiator), remembers each as the other's recent partner, tells both. */
  #pair(
    found: { partner: SessionId; record: SessionRecord; waiter: Waiter },
    session: SessionId,
    record: SessionRecord,
    preferences: MatchPreferences,
    now: number,
    /** Whose interests' order `commonInterests` follows: the joiner's, or the rematched session's. */
    ordered: MatchPreferences = preferences,
  ): { pair: Pair; events: Outgoing[] } {
    const { partner, record: other, waiter } = found;
    const theirs = ordered === preferences ? waiter.preferences.interests : preferences.interests;
    const commonInterests = ordered.interests.filter((tag) => theirs.includes(tag));
    const pair: Pair = { id: randomUUID(), initiator: partner, polite: session };
    this.#pairs.set(pair.initiator, pair);
    this.#pairs.set(pair.polite, pair);
    this.#remember(record, partner, now);
    this.#remember(other, session, now);
    // The polite side hears first: the initiator answers `paired` with an offer, which must
    // not reach the polite side before its own `paired` where deliveries are unordered.
    const events = [
      this.#push(session, record, { name: 'paired', room: pair.id, initiator: false, commonInterests }),
      this.#push(partner, other, { name: 'paired', room: pair.id, initiator: true, commonInterests }),
    ];
    return { pair, events };
  }

  /** Ends `pair` for both sides; each live side remembers it, so it may still report it for a while. */
  #endPair(pair: Pair): void {
    this.#pairs.delete(pair.initiator);
    this.#pairs.delete(pair.polite);
    const now = Date.now();
    const initiator = this.#sessions.get(pair.initiator);
    const polite = this.#sessions.get(pair.polite);
    if (initiator) this.#rememberRoom(initiator, pair.id, pair.polite, polite?.subject ?? '', now);
    if (polite) this.#rememberRoom(polite, pair.id, pair.initiator, initiator?.subject ?? '', now);
  }

  #rememberRoom(record: SessionRecord, room: string, partner: SessionId, partnerSubject: Subject, now: number): void {
    record.rooms ??= new Map();
    const rooms = record.rooms;
    rooms.set(room, { partner, partnerSubject, endedAt: now, reported: false });
    if (rooms.size <= REPORTABLE_ROOMS) return;
    const oldest = rooms.keys().next().value;
    if (oldest !== undefined) rooms.delete(oldest);
  }

  /** Keeps `partner` as one of the last MatchRules.recentPartners of `record`. */
  #remember(record: SessionRecord, partner: SessionId, now: number): void {
    let recent = record.recent;
    if (recent) {
      const index = recent.indexOf(partner);
      if (index >= 0) recent.splice(index, 2);
      recent.push(partner, now);
    } else {
      // Made at its final size: an array grown from empty by a push reserves seventeen slots.
      recent = [partner, now];
      record.recent = recent;
    }
    if (recent.length > 2 * this.#rules.recentPartners) recent.splice(0, 2);
  }

  /** Takes `session` off every queue it is in; true when it was waiting. */
  #unqueue(session: SessionId): boolean {
    const waiter = this.#queue.get(session);
    if (!waiter) return false;
    this.#queue.delete(session);
    this.#owed.delete(session);
    for (const tag of waiter.preferences.interests) {
      const waiting = this.#byInterest.get(tag);
      waiting?.delete(session);
      if (waiting?.size === 0) this.#byInterest.delete(tag);
    }
    if (waiter.due !== null) this.#fallbacks.delete(session, waiter.due);
    else this.#anyone.delete(session, waiter.seq);
    return true;
  }

  async dequeue(session: SessionId): Promise<boolean> {
    return this.#unqueue(session);
  }

  async pairOf(session: SessionId): Promise<Pair | null> {
    return this.#pairs.get(session) ?? null;
  }

  async unpair(
    session: SessionId,
    reason: LeaveReason,
    { tell, block = false }: { tell: 'partner' | 'self'; block?: boolean } = { tell: 'partner' },
  ): Promise<{ pair: Pair; events: Outgoing[] } | null> {
    const pair = this.#pairs.get(session);
    if (!pair) return null;
    this.#endPair(pair);
    const record = block ? this.#sessions.get(session) : undefined;
    if (record) {
      record.blocked ??= new Set();
      record.blocked.add(partnerOf(pair, session));
    }
    const to = tell === 'self' ? session : partnerOf(pair, session);
    const told = this.#append(to, { name: 'partner-left', room: pair.id, reason });
    return { pair, events: told ? [told] : [] };
  }

  relay(session: SessionId, signal: Signal, order?: SignalOrder): RelayResult | Promise<RelayResult> {
    return order ? this.#inTurn(session, order.cseq, signal, false) : this.#relay(session, signal);
  }

  async skipSignal(session: SessionId, cseq: number): Promise<void> {
    await this.#inTurn(session, cseq, null, false);
  }

  /**
   * Takes signal `cseq`'s turn and relays it (or, `signal` null, only passes the turn): at once
   * when its predecessors have all had theirs; else held until they have, or until the hold ends
   * (`force`), when the predecessors still held go first, in order, and the others are missing.
   */
  #inTurn(session: SessionId, cseq: number, signal: Signal | null, force: boolean): RelayResult | Promise<RelayResult> {
    const record = this.#live(session);
    if (!record) return NOT_PAIRED;
    if (cseq <= record.cseq) {
      // Taken already, unless it is one a later signal's hold gave up on: that one goes now, once.
      return record.missing?.delete(cseq) ? this.#relayOrSkip(session, signal) : DUPLICATE;
    }
    if (cseq > record.cseq + 1 && !force) return this.#hold(session, record, cseq, signal);
    // The hold ran out: predecessors not here are given up on (up to a bound), those held go first.
    for (let passed = record.cseq + 1; passed < cseq && (record.missing?.size ?? 0) < MAX_MISSING_SIGNALS; passed++) {
      if (record.held?.has(passed)) continue;
      record.missing ??= new Set();
      record.missing.add(passed);
    }
    const held = record.held;
    const overtaken = held ? [...held.keys()].filter((seq) => seq < cseq).sort((a, b) => a - b) : [];
    for (const passed of overtaken) this.#release(session, record, passed, held?.get(passed) as HeldSignal);
    record.cseq = cseq;
    const result = this.#relayOrSkip(session, signal);
    // Its successors that came early go now, in order.
    for (let held = record.held?.get(record.cseq + 1); held; held = record.held?.get(record.cseq + 1)) {
      this.#release(session, record, record.cseq + 1, held);
    }
    return result;
  }

  #hold(session: SessionId, record: SessionRecord, cseq: number, signal: Signal | null): Promise<RelayResult> {
    // The same cseq twice while it waits: a retry of a signal that is already on its way.
    if (record.held?.has(cseq)) return Promise.resolve(DUPLICATE);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (record.held?.get(cseq)?.timer !== timer) return;
        record.held.delete(cseq);
        resolve(this.#inTurn(session, cseq, signal, true));
      }, this.#signalHoldMs);
      record.held ??= new Map();
      record.held.set(cseq, { signal, resolve, timer });
    });
  }

  /** A held signal's turn came: it is relayed (or skipped) now. */
  #release(session: SessionId, record: SessionRecord, cseq: number, held: HeldSignal): void {
    record.held?.delete(cseq);
    clearTimeout(held.timer);
    record.cseq = cseq;
    held.resolve(this.#relayOrSkip(session, held.signal));
  }

  #relayOrSkip(session: SessionId, signal: Signal | null): RelayResult {
    return signal ? this.#relay(session, signal) : NOT_PAIRED;
  }

  #relay(session: SessionId, signal: Signal): RelayResult {
    const pair = this.#pairs.get(session);
    if (!pair || !this.#live(session)) return { status: 'not-paired' };
    const event = this.#append(partnerOf(pair, session), { name: 'signal', room: pair.id, signal });
    if (event) return { status: 'relayed', event };
    // The partner stopped reading and is lost: end the pair and say so to the sender.
    this.#endPair(pair);
    const told = this.#append(session, { name: 'partner-left', room: pair.id, reason: 'disconnect' });
    return { status: 'partner-gone', pair, events: told ? [told] : [] };
  }

  async acknowledge(session: SessionId, seq: number): Promise<void> {
    const record = this.#sessions.get(session);
    if (record) this.#trim(record, seq);
  }

  async replay(session: SessionId, after: number): Promise<Outgoing[] | null> {
    const record = this.#live(session);
    if (!record) return null;
    return record.outbox.filter(({ out }) => out.seq > after).map(({ out }) => out);
  }

  async bindConnection(session: SessionId, connection: string): Promise<string | null> {
    const record = this.#live(session);
    if (!record) return null;
    const before = this.#connections.get(connection);
    const beforeRecord = before === undefined || before === session ? undefined : this.#sessions.get(before);
    if (beforeRecord?.connection === connection) beforeRecord.connection = undefined;
    const previous = record.connection ?? null;
    record.connection = connection;
    record.connections ??= new Set();
    record.connections.add(connection);
    this.#connections.set(connection, session);
    return previous === connection ? null : previous;
  }

  async sessionOfConnection(connection: string): Promise<SessionId | null> {
    return this.#connections.get(connection) ?? null;
  }

  async connectionsOf(sessions: readonly SessionId[]): Promise<Map<SessionId, string>> {
    const carried = new Map<SessionId, string>();
    for (const session of sessions) {
      const connection = this.#live(session)?.connection;
      if (connection !== undefined) carried.set(session, connection);
    }
    return carried;
  }

  async detachConnection(connection: string, graceMs: number): Promise<SessionId | null> {
    const session = this.#connections.get(connection);
    const record = session === undefined ? undefined : this.#sessions.get(session);
    if (session === undefined || record?.connection !== connection) return null;
    record.connection = undefined;
    await this.detach(session, graceMs);
    if (this.#pairs.has(session)) this.#lapses.set(session, Date.now() + graceMs);
    return session;
  }

  async addSubjectConnection(subject: Subject, connection: string, limits: SubjectConnectionLimits): Promise<void> {
    const before = this.#connectionSubjects.get(connection);
    if (before !== undefined) this.#subjectConnections.get(before)?.delete(connection);
    const open = this.#openOf(subject) ?? new Map<string, number>();
    // Deleted first, so that an added-again connection counts as the newest.
    open.delete(connection);
    open.set(connection, Date.now() + limits.ttlMs);
    this.#connectionSubjects.set(connection, subject);
    for (const oldest of open.keys()) {
      if (open.size <= limits.max) break;
      open.delete(oldest);
      this.#connectionSubjects.delete(oldest);
    }
    this.#subjectConnections.set(subject, open);
  }

  async removeSubjectConnection(connection: string): Promise<Subject | null> {
    const subject = this.#connectionSubjects.get(connection);
    if (subject === undefined) return null;
    const open = this.#openOf(subject);
    this.#connectionSubjects.delete(connection);
    if (!open?.delete(connection)) return null;
    if (open.size === 0) this.#subjectConnections.delete(subject);
    return subject;
  }

  async subjectConnections(subject: Subject): Promise<string[]> {
    return [...(this.#openOf(subject)?.keys() ?? [])];
  }

  /** A subject's open connections, without those whose time ran out (forgotten as they are met). */
  #openOf(subject: Subject): Map<string, number> | undefined {
    const open = this.#subjectConnections.get(subject);
    if (!open) return undefined;
    const now = Date.now();
    for (const [connection, expires] of open) {
      if (expires > now) continue;
      open.delete(connection);
      this.#connectionSubjects.delete(connection);
    }
    if (open.size > 0) return open;
    this.#subjectConnections.delete(subject);
    return undefined;
  }

  async fileReport(reporter: SessionId, input: ReportInput): Promise<ReportResult> {
    const record = this.#live(reporter);
    if (!record) return { status: 'not-in-room' };
    const now = Date.now();
    const current = this.#pairs.get(reporter);
    let ended: { pair: Pair; events: Outgoing[] } | null = null;
    if (current?.id === input.room) {
      this.#endPair(current);
      const told = this.#append(partnerOf(current, reporter), {
        name: 'partner-left',
        room: current.id,
        reason: 'next',
      });
      ended = { pair: current, events: told ? [told] : [] };
    }
    const room = record.rooms?.get(input.room);
    if (!room || room.endedAt < now - this.#reportRules.windowMs) return { status: 'not-in-room' };
    if (room.reported) return { status: 'already-reported' };
    room.reported = true;
    record.blocked ??= new Set();
    record.blocked.add(room.partner);
    const report: StoredReport = {
      id: this.#reportId(now),
      at: now,
      ...input,
      reporter: record.subject,
      reported: room.partnerSubject,
    };
    this.#keepReport(report);
    return { status: 'filed', report, partner: room.partner, ended, reporters: this.#reportersOf(report, reporter) };
  }

  async reports({ reason, since = 0, until = Number.POSITIVE_INFINITY, limit }: ReportQuery): Promise<StoredReport[]> {
    this.#expireReports(Date.now());
    const found: StoredReport[] = [];
    for (let i = this.#reports.length - 1; i >= 0 && found.length < limit; i--) {
      const report = this.#reports[i] as StoredReport;
      if (report.at < since) break;
      if (report.at > until || (reason !== undefined && report.reason !== reason)) continue;
      found.push(report);
    }
    return found;
  }

  #reportId(now: number): string {
    this.#lastReport =
      now > this.#lastReport.at ? { at: now, n: 0 } : { at: this.#lastReport.at, n: this.#lastReport.n + 1 };
    return `${this.#lastReport.at}-${this.#lastReport.n}`;
  }

  #keepReport(report: StoredReport): void {
    this.#reports.push(report);
    if (this.#reports.length > this.#reportRules.maxReports) this.#reports.shift();
    this.#expireReports(report.at);
  }

  #expireReports(now: number): void {
    const oldest = now - this.#reportRules.retentionMs;
    let drop = 0;
    while (drop < this.#reports.length && (this.#reports[drop] as StoredReport).at < oldest) drop++;
    if (drop > 0) this.#reports.splice(0, drop);
  }

  /** Distinct reporters of the subject `report` names within the window (a reporter without a subject counts by session). */
  #reportersOf(report: StoredReport, reporter: SessionId): number {
    if (report.reported === '') return 0;
    const from = report.at - this.#reportRules.reportersWindowMs;
    const reporters = new Set<string>([report.reporter || reporter]);
    for (let i = this.#reports.length - 2; i >= 0; i--) {
      const earlier = this.#reports[i] as StoredReport;
      if (earlier.at < from) break;
      // Earlier reports without a subject cannot be told apart: each counts once.
      if (earlier.reported === report.reported) reporters.add(earlier.reporter || earlier.id);
    }
    return reporters.size;
  }

  async ban(ban: Ban): Promise<void> {
    this.#bans.set(ban.subject, ban);
    for (const watcher of this.#banWatchers) watcher(ban);
  }

  async unban(subject: Subject): Promise<boolean> {
    const had = this.#activeBan(subject) !== null;
    this.#bans.delete(subject);
    return had;
  }

  async banOf(subject: Subject): Promise<Ban | null> {
    return this.#activeBan(subject);
  }

  async banOfSession(session: SessionId): Promise<Ban | null> {
    const subject = this.#sessions.get(session)?.subject;
    return subject ? this.#activeBan(subject) : null;
  }

  async bans(): Promise<Ban[]> {
    for (const subject of this.#bans.keys()) this.#activeBan(subject);
    return [...this.#bans.values()].sort((a, b) => a.until - b.until);
  }

  watchBans(onBan: (ban: Ban) => void): () => void {
    this.#banWatchers.add(onBan);
    return () => this.#banWatchers.delete(onBan);
  }

  async countSkip(session: SessionId, windowMs: number): Promise<{ subject: Subject; count: number } | null> {
    const subject = this.#sessions.get(session)?.subject;
    if (!subject) return null;
    // Windows are fixed and shared by every subject: when one starts, every older count is moot.
    const window = Math.floor(Date.now() / windowMs);
    if (window !== this.#skipWindow) {
      this.#skips.clear();
      this.#skipWindow = window;
    }
    const count = (this.#skips.get(subject) ?? 0) + 1;
    this.#skips.set(subject, count);
    return { subject, count };
  }

  #activeBan(subject: Subject): Ban | null {
    const ban = this.#bans.get(subject);
    if (!ban) return null;
    if (ban.until > Date.now()) return ban;
    this.#bans.delete(subject);
    return null;
  }

  async claimLapsed(limit: number): Promise<LapsedDrops> {
    const now = Date.now();
    const sessions: SessionId[] = [];
    let next: number | null = null;
    for (const [session, at] of this.#lapses) {
      if (at < now && sessions.length < limit) {
        sessions.push(session);
        this.#lapses.delete(session);
      } else if (next === null || at < next) {
        next = at;
      }
    }
    return { sessions, nextInMs: next === null ? null : Math.max(0, next - now) };
  }

  async claimDueFallbacks(limit: number): Promise<DueFallbacks> {
    const now = Date.now();
    const sessions = this.#moveDueFallbacks(now, limit);
    for (const id of this.#owed) {
      if (sessions.length >= limit) break;
      this.#owed.delete(id);
      sessions.push(id);
    }
    const [next] = this.#fallbacks.head(1);
    return { sessions, nextInMs: next === undefined ? null : Math.max(0, next.key - now) };
  }

  /** One process: every event comes back in the result of the call that appended it. */
  watch(): () => void {
    return () => {};
  }

  async mark(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (this.#isMarkedAt(key, now)) return false;
    this.#marks.set(key, now + ttlMs);
    // Expired records are dropped in bulk, so the map stays within twice what is alive, in O(1) amortised.
    if (this.#marks.size > 2 * this.#marksSweptAt + 1024) {
      for (const [marked, expiresAt] of this.#marks) if (expiresAt <= now) this.#marks.delete(marked);
      this.#marksSweptAt = this.#marks.size;
    }
    return true;
  }

  async isMarked(key: string): Promise<boolean> {
    return this.#isMarkedAt(key, Date.now());
  }

  #isMarkedAt(key: string, now: number): boolean {
    const expiresAt = this.#marks.get(key);
    return expiresAt !== undefined && expiresAt > now;
  }

  async queueLength(): Promise<number> {
    return this.#queue.size;
  }

  async stats(): Promise<LiveStats> {
    return {
      online: this.#sessions.size,
      waiting: this.#queue.size,
      pairs: this.#pairs.size / 2,
      topInterests: this.#topInterests(),
    };
  }

  /** A pass over the interests waited on (not the sessions): O(tags), asked at most every STATS_CACHE_MS. */
  #topInterests(): LiveStats['topInterests'] {
    const top: LiveStats['topInterests'] = [];
    for (const [tag, waiting] of this.#byInterest) {
      top.push({ tag, waiting: waiting.size });
      if (top.length > 4 * TOP_INTERESTS) trim(top);
    }
    return trim(top);
    function trim(list: LiveStats['topInterests']): LiveStats['topInterests'] {
      list.sort((a, b) => b.waiting - a.waiting || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
      list.length = Math.min(list.length, TOP_INTERESTS);
      return list;
    }
  }

  /** What the store holds, for tests and gauges: sessions known, sessions in a pair, sessions queued. */
  get size(): { sessions: number; paired: number; queued: number } {
    return { sessions: this.#sessions.size, paired: this.#pairs.size, queued: this.#queue.size };
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    for (const record of this.#sessions.values()) this.#dropHeld(record);
    this.#queue.clear();
    this.#byInterest.clear();
    this.#anyone.clear();
    this.#fallbacks.clear();
    this.#pairs.clear();
    this.#sessions.clear();
    this.#connections.clear();
    this.#subjectConnections.clear();
    this.#connectionSubjects.clear();
    this.#expiries.length = 0;
    this.#reports.length = 0;
    this.#bans.clear();
    this.#banWatchers.clear();
    this.#skips.clear();
  }

  #register(session: SessionId): SessionRecord {
    const record: SessionRecord = {
      expiresAt: null,
      droppedWhileWaiting: false,
      seq: 0,
      outbox: [],
      outboxBytes: 0,
      cseq: 0,
      missing: undefined,
      held: undefined,
      connection: undefined,
      connections: undefined,
      recent: undefined,
      blocked: undefined,
      subject: '',
      rooms: undefined,
    };
    this.#sessions.set(session, record);
    return record;
  }

  /** A session that is gone relays nothing more: its held signals are answered now. */
  #dropHeld(record: SessionRecord): void {
    if (!record.held) return;
    for (const held of record.held.values()) {
      clearTimeout(held.timer);
      held.resolve(NOT_PAIRED);
    }
    record.held.clear();
  }

  /**
   * Numbers `event` and keeps it in `to`'s outbox; null when `to` is gone or its outbox is full.
   * A full outbox means its client stopped reading: the session is lost (forgotten, never matched
   * or resumed), rather than an event silently dropped from the middle of its stream.
   */
  #append(to: SessionId, event: SessionEvent): Outgoing | null {
    const record = this.#live(to);
    if (!record) return null;
    if (!this.#fits(record, eventBytes(event))) {
      this.#forget(to);
      return null;
    }
    return this.#push(to, record, event);
  }

  /** Forgets the outbox's events up to `seq`. */
  #trim(record: SessionRecord, seq: number): void {
    let drop = 0;
    for (const { out, bytes } of record.outbox) {
      if (out.seq > seq) break;
      record.outboxBytes -= bytes;
      drop++;
    }
    record.outbox.splice(0, drop);
  }

  #fits(record: SessionRecord, bytes: number): boolean {
    return record.outbox.length < this.#limits.maxEvents && record.outboxBytes + bytes <= this.#limits.maxBytes;
  }

  /** Appends without checking: the caller made sure it fits. */
  #push(to: SessionId, record: SessionRecord, event: SessionEvent): Outgoing {
    const bytes = eventBytes(event);
    const out: Outgoing = { to, seq: ++record.seq, event };
    record.outbox.push({ out, bytes });
    record.outboxBytes += bytes;
    return out;
  }

  /** The record of a session that is alive: attached, or detached within its grace. */
  #live(session: SessionId): SessionRecord | undefined {
    const record = this.#sessions.get(session);
    if (!record) return undefined;
    if (record.expiresAt === null || record.expiresAt > Date.now()) return record;
    this.#forget(session);
    return undefined;
  }

  /**
   * Drops a session's record, its queue place and its connections; its pair is left for the
   * partner's heartbeat to end.
   */
  #forget(session: SessionId): void {
    const record = this.#sessions.get(session);
    if (record) {
      this.#dropHeld(record);
      for (const connection of record.connections ?? []) {
        // Unless it carries another session since (it claimed an earlier one on resume).
        if (this.#connections.get(connection) === session) this.#connections.delete(connection);
      }
    }
    this.#sessions.delete(session);
    this.#lapses.delete(session);
    this.#unqueue(session);
  }

  /**
   * Forgets sessions whose grace ran out: a session that dropped without a goodbye is otherwise
   * only forgotten when something asks about it, and nothing does once both sides of a pair are
   * gone. A pair is dropped once neither side is alive; while one is, that side's heartbeat
   * reports its partner gone and the core ends the pair and tells it.
   */
  #sweep(): void {
    const now = Date.now();
    let swept = 0;
    for (const { session, at } of this.#expiries) {
      if (at > now) break;
      swept++;
      if (this.#live(session)) continue; // reattached since, or detached again later
      const pair = this.#pairs.get(session);
      if (pair && !this.#live(partnerOf(pair, session))) {
        this.#pairs.delete(pair.initiator);
        this.#pairs.delete(pair.polite);
      }
    }
    this.#expiries.splice(0, swept);
  }

  #stateOf(session: SessionId): SessionState {
    const pair = this.#pairs.get(session);
    if (pair) return { status: 'paired', pair };
    return this.#queue.has(session) ? { status: 'waiting' } : { status: 'idle' };
  }
}

/** The first `count` items of `items`, without copying the rest. */
function* take<T>(items: Iterable<T>, count: number): Generator<T> {
  if (count <= 0) return;
  let taken = 0;
  for (const item of items) {
    yield item;
    if (++taken >= count) return;
  }
}
