/**
 * Where sessions, pairs and what each session is owed live: the only truth about who is paired
 * with whom. The signaling core talks only to this interface, so the in-memory store (one
 * process) and the Redis store (many instances) are interchangeable; both pass the same contract
 * suite (pairing-store.contract.ts).
 *
 * Every event a session is sent (`waiting`, `paired`, `signal`, `partner-left`) is appended to
 * that session's outbox, numbered by a per-session sequence, in the same atomic step as the state
 * change that caused it. So an outcome is never lost between deciding it and announcing it: a
 * pair made by a command whose reply was lost is still announced to both sides, and an event
 * whose delivery was cut (a drop, a crash of either side's instance) is replayed on resume. The
 * client acknowledges what it processed and the outbox forgets it.
 */
import type { EvidenceMessage, LeaveReason, ReportReason, Signal, StatsResponse } from '../protocol/messages.js';

/** Opaque, unguessable id of one client session; never shown to the partner. */
export type SessionId = string;

export interface Pair {
  /** Opaque id, also the name the clients know the pair by (`room`). */
  id: string;
  /** The side that waited longer: it creates the DataChannel and sends the first offer. */
  initiator: SessionId;
  /** The other side: it answers (the polite peer of "perfect negotiation"). */
  polite: SessionId;
}

/**
 * What a session is told, as the store records it. The owner adds what is its own to add when it
 * writes the event out (the ICE servers of `paired`: TURN credentials are minted per delivery).
 */
export type SessionEvent =
  | { name: 'waiting' }
  | { name: 'paired'; room: string; initiator: boolean; commonInterests: string[] }
  | { name: 'signal'; room: string; signal: Signal }
  | { name: 'partner-left'; room: string; reason: LeaveReason };

/**
 * What a session asks of its partner (docs/protocol.md, "Matching"), normalised by the protocol
 * layer, with the server's default fallback applied.
 */
export interface MatchPreferences {
  /** Normalised, distinct, at most 10; empty: anyone. */
  interests: readonly string[];
  /** How long after it starts waiting a session with interests accepts anyone; null: never. */
  fallbackMs: number | null;
  /** BCP 47 primary subtag; partners must have the same one, or either none. */
  lang: string | null;
}

export const ANYONE: MatchPreferences = Object.freeze({ interests: [], fallbackMs: null, lang: null });

/** Who may not be paired again, and how far a join looks. */
export interface MatchRules {
  /** A session's last this many partners are never its partner again… */
  recentPartners: number;
  /** …for this long after they were paired. */
  recentMs: number;
}

export const DEFAULT_MATCH_RULES: MatchRules = { recentPartners: 20, recentMs: 10 * 60_000 };

/** The rules as configured (MATCH_RECENT_PARTNERS, MATCH_RECENT_MS). */
export function matchRules(config: { matchRecentPartners: number; matchRecentMs: number }): MatchRules {
  return { recentPartners: config.matchRecentPartners, recentMs: config.matchRecentMs };
}

/**
 * How many waiting entries a join looks at in each queue it reads (each of its interests' queues,
 * and the queue of those who accept anyone) before it gives up and waits: what keeps a join's cost
 * independent of the queue's length. Dead entries are dropped as they are met, so they count once.
 */
export const MATCH_SCAN_STEPS = 16;

/** An event in `to`'s outbox, numbered `seq` (1, 2, 3, … per session, never reused). */
export interface Outgoing {
  to: SessionId;
  seq: number;
  event: SessionEvent;
}

/** Bounds of one session's outbox: events not yet acknowledged, by count and by encoded bytes. */
export interface OutboxLimits {
  maxEvents: number;
  maxBytes: number;
}

export type EnqueueResult =
  | { status: 'waiting'; events: Outgoing[] }
  | { status: 'paired'; pair: Pair; events: Outgoing[] }
  | { status: 'already-waiting' }
  | { status: 'already-paired'; pair: Pair }
  /** The caller's own outbox is full (it stopped reading): its session is lost, nothing changed for anyone else. */
  | { status: 'lost' };

/**
 * What relaying a signal did. `partner-gone`: the partner's outbox was full (it stopped reading),
 * so the partner is lost and the pair ended; `events` tells the sender (never a silent drop).
 */
export type RelayResult =
  | { status: 'relayed'; event: Outgoing }
  | { status: 'not-paired' }
  | { status: 'partner-gone'; pair: Pair; events: Outgoing[] }
  /** Relayed with `order`: the sender's signal `cseq` was taken before (a retry): nothing appended. */
  | { status: 'duplicate' };

/**
 * A signal's place in its sender's own order: a client that sends its signals without waiting for
 * each ack (over API Gateway, where every frame runs in its own concurrent invocation) numbers
 * them 1, 2, 3, … per session, and the store relays them in that order.
 */
export interface SignalOrder {
  cseq: number;
}

/**
 * How long a signal that arrived ahead of a predecessor is held for it. A predecessor is late only
 * when its invocation is (a cold start) or was lost with its connection; then the held signal is
 * relayed anyway, and the predecessor, if it comes, still once.
 */
export const DEFAULT_SIGNAL_HOLD_MS = 3000;

/** The most predecessors one session may have given up on at a time (see SignalOrder): a bound on what is kept for them. */
export const MAX_MISSING_SIGNALS = 64;

/**
 * Where a known session stands. `requeue` marks an idle session that was waiting when its
 * connection dropped: it left the queue so nobody was paired with a ghost, and wants its place back.
 */
export type SessionState =
  | { status: 'idle'; requeue?: true }
  | { status: 'waiting' }
  | { status: 'paired'; pair: Pair };

export interface Heartbeat {
  /** Sessions whose partner is gone for good (released, lost, or detached or unrenewed past its lease). */
  orphans: SessionId[];
  /** Sessions the store no longer knows (its lease ran out, its outbox overflowed, or Redis lost it): never renewed. */
  lost: SessionId[];
  /** The last seq handed out for each renewed session. */
  lastSeq: Map<SessionId, number>;
  /** Renewed sessions waiting with interests whose fallback has passed: the owner calls `rematch` for each. */
  due: SessionId[];
}

/**
 * Who is behind a session, for reports and bans: a salted hash of its client's address and device
 * token (src/safety/subject.ts), never the address itself. '' when the transport gave none.
 */
export type Subject = string;

/** A report as the reporter made it (validated by the protocol layer). */
export interface ReportInput {
  room: string;
  reason: ReportReason;
  details: string | null;
  /** Only what the reporter chose to attach. */
  evidence: EvidenceMessage[] | null;
}

/** What `claimLapsed` hands out. */
export interface LapsedDrops {
  sessions: SessionId[];
  nextInMs: number | null;
}

/** What `claimDueFallbacks` hands out. */
export interface DueFallbacks {
  sessions: SessionId[];
  /** How long until the next waiting session's fallback passes (0: more are due now); null when none waits for one. */
  nextInMs: number | null;
}

/** A report as the operator reads it (GET /admin/reports). Session ids never appear: they are bearer secrets. */
export interface StoredReport extends ReportInput {
  /** Opaque and unique; ordered by time in both stores (a Redis stream id, "<ms>-<n>"). */
  id: string;
  /** When it was filed, ms since the epoch (the store's clock). */
  at: number;
  reporter: Subject;
  reported: Subject;
}

/** Bounds and windows of reports (REPORT_WINDOW_MS, REPORTS_MAX, REPORT_RETENTION_MS, AUTO_BAN_REPORTS_WINDOW_MS). */
export interface ReportRules {
  /** How long after a pair ended either side may still report it. */
  windowMs: number;
  /** The most reports kept (the oldest go first). */
  maxReports: number;
  /** How long a report is kept at most. */
  retentionMs: number;
  /** How far back `reporters` counts the distinct reporters of the reported subject. */
  reportersWindowMs: number;
}

export const DEFAULT_REPORT_RULES: ReportRules = {
  windowMs: 10 * 60_000,
  maxReports: 10_000,
  retentionMs: 90 * 24 * 60 * 60_000,
  reportersWindowMs: 24 * 60 * 60_000,
};

/** The rules as configured (REPORT_WINDOW_MS, REPORTS_MAX, REPORT_RETENTION_MS). */
export function reportRules(config: {
  reportWindowMs: number;
  reportsMax: number;
  reportRetentionMs: number;
}): ReportRules {
  return {
    ...DEFAULT_REPORT_RULES,
    windowMs: config.reportWindowMs,
    maxReports: config.reportsMax,
    retentionMs: config.reportRetentionMs,
  };
}

/** How many ended pairs of a session stay reportable (within ReportRules.windowMs): the newest ones. */
export const REPORTABLE_ROOMS = 32;

/** A report the store filed, as the core hands it on (ReportResult's `filed`). */
export type FiledReport = Extract<ReportResult, { status: 'filed' }>;

export type ReportResult =
  /** The reporter was never in that room, or it ended more than the window ago, or the reporter is gone. */
  | { status: 'not-in-room' }
  /** The reporter reported that room before. */
  | { status: 'already-reported' }
  | {
      status: 'filed';
      report: StoredReport;
      /** The reported partner, now blocked for the reporter. */
      partner: SessionId;
      /** The pair the report ended (it was current), with `partner-left` for the partner; null when it had ended. */
      ended: { pair: Pair; events: Outgoing[] } | null;
      /** Distinct reporters of `report.reported` within ReportRules.reportersWindowMs, this one included (0 for subject ''). */
      reporters: number;
    };

/** GET /admin/reports: newest first, at most `limit`. */
export interface ReportQuery {
  reason?: ReportReason;
  /** At or after this time (ms). */
  since?: number;
  /** At or before this time (ms). */
  until?: number;
  limit: number;
}

/** A ban of a subject: no session, no pairing, until `until`. */
export interface Ban {
  subject: Subject;
  reason: string;
  /** Who made it: the operator (admin API), or an automatic rule (docs/security.md). */
  by: 'operator' | 'auto-reports' | 'auto-skips';
  /** When it was made and when it ends, ms since the epoch. */
  at: number;
  until: number;
}

/** How many open connections a subject's index keeps, and for how long (PairingStore.addSubjectConnection). */
export interface SubjectConnectionLimits {
  max: number;
  ttlMs: number;
}

/** The longest ban: ten years (an operator's "for good"). */
export const MAX_BAN_MS = 10 * 365 * 24 * 60 * 60_000;

/** What GET /stats shows (docs/protocol.md, "Live counts"). */
export type LiveStats = StatsResponse;

/** How many interests GET /stats lists (the most waited on). */
export const TOP_INTERESTS = 10;

/** What `rematch` did: paired the session, or nothing (it is not waiting, or nobody it may meet is). */
export type RematchResult =
  | { status: 'paired'; pair: Pair; events: Outgoing[] }
  | { status: 'unchanged' }
  /** Its own outbox is full: its session is lost. */
  | { status: 'lost' };

/** A session taken up by a connection: where it stands, and what it is owed since `after`. */
export interface Attached {
  state: SessionState;
  /** The outbox's events after the `after` the connection presented, in order (empty for a new session). */
  replay: Outgoing[];
}

/**
 * Sessions are leased: a live session's record is kept alive by its owner's heartbeat. When the
 * owner process dies (even by SIGKILL) its sessions simply stop being renewed, expire, and are
 * never matched again; their partners are told by their own instances' heartbeat. A session whose
 * outbox overflowed is lost the same way: never matched, renewed or resumed again.
 */
export interface PairingStore {
  /**
   * Marks `session` live and owned by this process, behind `subject` (kept with the session, for
   * reports; a resumed session takes the subject of its new connection). With `resume`, the session must already be
   * known, unexpired and not lost: returns where it stands and its outbox after `after` (the
   * highest seq the client processed, which counts as acknowledged), or null (then it is lost and
   * a new one is needed).
   */
  attach(session: SessionId, options: { resume: boolean; after?: number; subject?: Subject }): Promise<Attached | null>;
  /**
   * The connection dropped without a goodbye: the session leaves the queue but keeps its pair and
   * its outbox for `graceMs`, during which `attach(…, { resume: true })` brings it back.
   */
  detach(session: SessionId, graceMs: number): Promise<void>;
  /**
   * The session is over for good (the core has ended its pair): forget it, its outbox, its place
   * in the queue, and which connection carries it.
   */
  release(session: SessionId): Promise<void>;
  /**
   * Renews the leases of these live sessions of this process, and says which of them have a
   * partner that is gone, which are lost themselves, and the last seq of each one's outbox (so
   * an owner that missed an event, say to a lost reply, notices and replays it).
   */
  heartbeat(sessions: SessionId[]): Promise<Heartbeat>;
  /**
   * Queues the live `session` with its `preferences` (appending `waiting` to its outbox; `lost`
   * when the store does not know it, or its outbox is full), or, when a compatible session is
   * waiting, takes it off the queue, records the pair and appends `paired` to both outboxes (the
   * polite side's first), all in one atomic step: no session is ever paired twice, with itself,
   * with a session whose lease is gone, or after it left the queue.
   *
   * The rules (the same in every store, docs/protocol.md "Matching"): compatible means the same
   * `lang` or either none, neither among the other's recent partners, neither blocked by the
   * other. Among compatible waiting sessions sharing one of the caller's interests, the longest
   * waiting wins; only when there is none, and the caller accepts anyone (it has no interests, or
   * a `fallbackMs` of 0), the longest-waiting compatible session that accepts anyone does. A waiting
   * session accepts anyone when it has no interests, or once its `fallbackMs` has passed: that is
   * checked here, by the joiner (no timers in the store), and by `rematch`. Each queue is read from
   * its head for at most MATCH_SCAN_STEPS entries.
   */
  enqueue(session: SessionId, preferences?: MatchPreferences): Promise<EnqueueResult>;
  /**
   * A waiting session whose fallback has passed (heartbeat's `due`) is paired now with the
   * longest-waiting compatible session that accepts anyone, if there is one, keeping its place
   * otherwise. Without it, two sessions whose fallbacks passed while both waited would wait until
   * a third joined: the store has no timers, so the owner's heartbeat asks. The longer waiter is
   * the initiator; `commonInterests` are this session's that the other shares.
   */
  rematch(session: SessionId): Promise<RematchResult>;
  /** Takes `session` off the queue; true when it was waiting. */
  dequeue(session: SessionId): Promise<boolean>;
  /** The pair `session` is in, or null. */
  pairOf(session: SessionId): Promise<Pair | null>;
  /**
   * Ends the pair `session` is in, for both sides at once, and appends `partner-left` with
   * `reason` to the partner's outbox (or, with `tell: 'self'`, to `session`'s own: its partner is
   * the one that is gone); returns the pair and that event, or null when there was none. With
   * `block`, `session` also blocks its partner in the same step: the two are never paired again
   * while both sessions live.
   */
  unpair(
    session: SessionId,
    reason: LeaveReason,
    options?: { tell: 'partner' | 'self'; block?: boolean },
  ): Promise<{ pair: Pair; events: Outgoing[] } | null>;
  /**
   * Appends `signal` to the outbox of `session`'s partner, if `session` is live and in a pair now:
   * the pair is read in the same atomic step, so a signal can never reach a session that is no
   * longer its sender's partner, whatever any instance remembers. A store that can answer at once
   * (the memory store) does, without a promise: this is the relay's hot path.
   *
   * With `order`, the signal also takes its turn in its sender's order, in the same atomic step:
   * it is relayed only once every earlier `cseq` of the session was (relayed, refused or skipped),
   * waiting for them for at most the store's signal hold (DEFAULT_SIGNAL_HOLD_MS), after which it
   * is relayed anyway and a predecessor that comes later is still relayed, once. A `cseq` taken
   * before is a `duplicate`: nothing is appended. Signals without `order` are not counted.
   */
  relay(session: SessionId, signal: Signal, order?: SignalOrder): RelayResult | Promise<RelayResult>;
  /**
   * Signal `cseq` of `session` was refused before it reached the store (a budget, a malformed
   * payload): its turn passes, as if it had been relayed, so its successors are not held for it.
   */
  skipSignal(session: SessionId, cseq: number): Promise<void>;
  /** The client processed every event up to `seq`: its outbox forgets them. */
  acknowledge(session: SessionId, seq: number): Promise<void>;
  /** The outbox after `after`, in order, or null when the session is lost (for a connection that saw a gap). */
  replay(session: SessionId, after: number): Promise<Outgoing[] | null>;
  /**
   * Calls `onEvents` with the events that other instances append for sessions this process owns
   * (targeted routing: each instance hears only about its own sessions). Events this process
   * appends itself come back in the results of its own calls instead. Returns a stop function.
   */
  watch(onEvents: (events: Outgoing[]) => void): () => void;
  /*
   * Connections, for a transport whose connections no process holds (API Gateway: any invocation
   * posts to any connection). A session is carried by one connection at a time; a resumed one moves
   * to its new connection, and its events are posted there.
   */
  /**
   * `connection` carries the live `session` from now on, and no longer the session it carried
   * before (it claimed this one on resume); the session stays known to the connection it leaves,
   * for frames still on their way. Returns that connection, or null. Nothing for a session the
   * store does not know.
   */
  bindConnection(session: SessionId, connection: string): Promise<string | null>;
  /**
   * The session `connection` carries, or carried last (which the store may have forgotten since:
   * a command for it then finds it lost); null when it carried none.
   */
  sessionOfConnection(connection: string): Promise<SessionId | null>;
  /** The connection that carries each of these sessions now; a detached or unknown one has none. */
  connectionsOf(sessions: readonly SessionId[]): Promise<Map<SessionId, string>>;
  /**
   * `connection` closed without a goodbye. If it still carries its session, in one atomic step the
   * session is carried by none and detached for `graceMs` (see `detach`); returns that session.
   * Null when the session moved to another connection since (its client resumed there first, and
   * that must not be undone), or when there is none.
   */
  detachConnection(connection: string, graceMs: number): Promise<SessionId | null>;
  /**
   * The open connections of each subject (API Gateway), so that a ban closes them at once from
   * wherever it is made: the HTTP function's operator API holds no connection and no session.
   * `connection` is open for `subject` from now on, for at most `ttlMs` (API Gateway ends every
   * connection within 2 hours, so a lost $disconnect leaks nothing past that); a subject keeps at
   * most `max` (the oldest go first: the per-address cap bounds the ones really open anyway). A
   * connection is open for one subject: added for another, it leaves the first.
   */
  addSubjectConnection(subject: Subject, connection: string, limits: SubjectConnectionLimits): Promise<void>;
  /** `connection` closed: forgets it; returns the subject it was open for, or null (never added, capped out or expired). */
  removeSubjectConnection(connection: string): Promise<Subject | null>;
  /** The open connections of `subject`: added, not removed, not capped out, within their `ttlMs`; oldest first. */
  subjectConnections(subject: Subject): Promise<string[]>;
  /**
   * `reporter` reports its partner in `input.room`: the pair it is in now, or one of its last
   * REPORTABLE_ROOMS pairs that ended within `windowMs`. In one atomic step: a current pair ends
   * (`partner-left` "next" to the partner, as `unpair` with `block`), the partner is blocked for the
   * reporter, and the report is kept (bounded by `maxReports` and `retentionMs`). One report per
   * reporter and room.
   */
  fileReport(reporter: SessionId, input: ReportInput): Promise<ReportResult>;
  /** Kept reports, newest first, filtered. */
  reports(query: ReportQuery): Promise<StoredReport[]>;
  /**
   * Bans `ban.subject` until `ban.until` (replacing a ban it has), for every instance: each one's
   * `watchBans` hears of it at once.
   */
  ban(ban: Ban): Promise<void>;
  /** Lifts the ban of `subject`; false when it had none. */
  unban(subject: Subject): Promise<boolean>;
  /** The ban of `subject` in force now, or null. */
  banOf(subject: Subject): Promise<Ban | null>;
  /** The ban in force now of the subject behind `session` (attach's `subject`), or null. */
  banOfSession(session: SessionId): Promise<Ban | null>;
  /** Every ban in force now, the soonest to end first. */
  bans(): Promise<Ban[]>;
  /** Calls `onBan` with each ban made from now on, by any instance (this one included). Returns a stop function. */
  watchBans(onBan: (ban: Ban) => void): () => void;
  /**
   * Counts one `next`/`block` of the subject behind `session` in the current window of `windowMs`
   * (fixed windows, shared by every instance and every session of the subject); returns the
   * subject and its count so far in the window, or null when the session has no subject.
   */
  countSkip(session: SessionId, windowMs: number): Promise<{ subject: Subject; count: number } | null>;
  /**
   * Records `key` for `ttlMs` unless it is recorded already, in one atomic step (Redis `SET NX
   * PX`): true when this call recorded it, false while an earlier record lives. The bot gate's
   * memory, shared by every instance: a proof-of-work challenge spent once, a session verified.
   */
  mark(key: string, ttlMs: number): Promise<boolean>;
  /** Whether `key` is recorded by `mark` and its time has not run out. */
  isMarked(key: string): Promise<boolean>;
  /**
   * Sessions that `detachConnection` detached while they were paired, whose grace has run out
   * since: up to `limit`, each handed to one caller only (it tells the partner, unless the client
   * came back). Recorded in the same atomic step as the detach, so a detach whose reply was lost
   * (a stalled Redis that ran the command after the caller gave up) is still recorded: on API
   * Gateway no process keeps a timer, and this is how a drop's end is never lost (docs/deploy.md).
   * `nextInMs`: how long until the next recorded one lapses; null when none is recorded.
   */
  claimLapsed(limit: number): Promise<LapsedDrops>;
  /**
   * Waiting sessions whose fallback has passed (they wait with interests and a `fallbackMs`), up to
   * `limit`, the first due first, each handed to one caller only: in the same atomic step each is
   * moved among those who accept anyone, so the caller's `rematch` of each can pair it (with
   * another one claimed here too). The heartbeat's `due` does this for a process that holds its
   * sessions; on API Gateway none does, and nothing runs when nobody sends a frame, so the
   * scheduled sweep claims them (src/transports/apigateway/fallbacks.ts). One that is claimed is no
   * longer in the heartbeat's `due`: it was moved already. `nextInMs`: how long until the next
   * fallback passes (0: more are due now); null when no waiting session has one pending.
   */
  claimDueFallbacks(limit: number): Promise<DueFallbacks>;
  /** How many sessions wait in the queue (leftovers of a crashed instance included until skipped). */
  queueLength(): Promise<number>;
  /**
   * Live counts across every instance, cheap (a few counters, never a scan of the sessions):
   * sessions alive (connected, or dropped within their grace), sessions waiting, pairs, and the
   * TOP_INTERESTS interests with the most sessions waiting (most first, ties by tag).
   */
  stats(): Promise<LiveStats>;
  /** Resolves when the backend answers; rejects with StoreUnavailableError when it does not. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function partnerOf(pair: Pair, session: SessionId): SessionId {
  return pair.initiator === session ? pair.polite : pair.initiator;
}

/** What every event counts for its envelope (names, room, seq), whatever it carries. */
export const EVENT_OVERHEAD_BYTES = 128;

/**
 * The bytes an event counts against its outbox: what it carries as the client sent it (the
 * UTF-8 bytes of an SDP or a candidate's fields) plus a fixed envelope. Not its JSON: escaping can
 * make that six times larger, and a sender must not be able to overflow its partner's outbox with
 * a burst the per-client budgets allow, just by choosing characters that escape.
 */
export function eventBytes(event: SessionEvent): number {
  if (event.name !== 'signal') return EVENT_OVERHEAD_BYTES;
  const { signal } = event;
  switch (signal.type) {
    case 'offer':
    case 'answer':
      return EVENT_OVERHEAD_BYTES + Buffer.byteLength(signal.sdp);
    case 'candidate': {
      const { candidate, sdpMid, usernameFragment } = signal.candidate;
      return (
        EVENT_OVERHEAD_BYTES +
        Buffer.byteLength(candidate) +
        Buffer.byteLength(sdpMid ?? '') +
        Buffer.byteLength(usernameFragment ?? '')
      );
    }
    case 'end-of-candidates':
      return EVENT_OVERHEAD_BYTES;
  }
}

/**
 * Defaults that hold what the default per-client budgets let a partner send in a burst (ten of the
 * largest offers and eighty of the largest candidates: 0.8 MiB), while its client acknowledges
 * every half second.
 */
export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = { maxEvents: 512, maxBytes: 1024 * 1024 };
