import { createHash, randomUUID } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import { StoreUnavailableError } from '../protocol/errors.js';
import type { EvidenceMessage, LeaveReason, ReportReason, Signal } from '../protocol/messages.js';
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
  EVENT_OVERHEAD_BYTES,
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
  type RelayResult,
  type RematchResult,
  type ReportInput,
  type ReportQuery,
  type ReportResult,
  type ReportRules,
  type SessionId,
  type SessionState,
  type SignalOrder,
  type StoredReport,
  type Subject,
  type SubjectConnectionLimits,
  TOP_INTERESTS,
} from './pairing-store.js';
import { InboxReader, outgoing } from './redis-inbox.js';
import {
  ACKNOWLEDGE,
  ADD_SUBJECT_CONNECTION,
  ATTACH,
  BAN,
  BAN_OF_SESSION,
  BIND_CONNECTION,
  CLAIM_DUE_FALLBACKS,
  CLAIM_LAPSED,
  COUNT_SKIP,
  DEQUEUE,
  DETACH,
  DETACH_CONNECTION,
  ENQUEUE,
  FILE_REPORT,
  HEARTBEAT,
  RELAY_SIGNALS,
  RELEASE,
  REMOVE_SUBJECT_CONNECTION,
  REPLAY,
  STATS,
  SUBJECT_CONNECTIONS,
  UNBAN,
  UNPAIR,
} from './redis-scripts.js';
import { TurnBatch } from './turn-batch.js';

export interface RedisStoreOptions {
  /** The ioredis client for store commands. Give it a command timeout so an outage fails fast. */
  redis: Redis;
  /** Prepended to every key, so several deployments can share one Redis. Default "pairwire:". */
  prefix?: string;
  /**
   * Who owns the sessions this process attaches (written into their records, and names its inbox).
   * Unique per process; never "detached" or "detached-waiting". Default: a random id.
   */
  owner?: string;
  /**
   * How long a live session survives without a heartbeat: the bound on how long a crashed
   * instance's sessions linger. Heartbeats must come more often (the app uses a third). Default 10 s.
   */
  leaseMs?: number;
  /** Bounds of each session's outbox. Default DEFAULT_OUTBOX_LIMITS. */
  outbox?: OutboxLimits;
  /** Close the client on `close()`: true when the store created it (see createRedisStore). Default false. */
  ownsClient?: boolean;
  /** How long a signal that came ahead of its predecessor waits for it (SignalOrder). Default DEFAULT_SIGNAL_HOLD_MS. */
  signalHoldMs?: number;
  /** Recent partners never paired again. Default DEFAULT_MATCH_RULES. */
  matching?: MatchRules;
  /** Report window, bounds and retention. Default DEFAULT_REPORT_RULES. */
  reports?: ReportRules;
}

/** Heartbeats carry many sessions; chunks keep each script short so Redis never stalls on one. */
const HEARTBEAT_CHUNK = 500;
/**
 * The approximate bound (XADD MAXLEN ~) on an instance's inbox: its reader trims what it read, so
 * this only caps an inbox whose reader lags or died. Events trimmed unread are still in their
 * outboxes: the owner's heartbeat shows it the gap (`lastSeq`) and it replays them.
 */
const INBOX_MAX_LEN = 10_000;
/**
 * How long an ENQUEUE's reply is kept for #afterLostEnqueue, which asks right after the timeout
 * on the same connection: seconds are ample, and at 1,000 joins/s it holds a few MB.
 */
const ENQUEUE_REPLY_TTL_MS = 10_000;
/**
 * How long which connection carries a session is remembered (API Gateway): API Gateway ends every
 * connection within 2 hours, and its $disconnect (which reads this) comes soon after.
 */
const CONNECTION_TTL_MS = 2 * 60 * 60_000 + 10 * 60_000;
/** A signal waiting for its turn asks again after this long, doubling up to MAX_TURN_POLL_MS. */
const FIRST_TURN_POLL_MS = 2;
const MAX_TURN_POLL_MS = 50;

/** A script and its SHA1, which EVALSHA names it by. */
interface Script {
  lua: string;
  sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const SCRIPTS = {
  attach: script(ATTACH),
  detach: script(DETACH),
  heartbeat: script(HEARTBEAT),
  enqueue: script(ENQUEUE),
  relaySignals: script(RELAY_SIGNALS),
  bindConnection: script(BIND_CONNECTION),
  detachConnection: script(DETACH_CONNECTION),
  claimLapsed: script(CLAIM_LAPSED),
  claimDueFallbacks: script(CLAIM_DUE_FALLBACKS),
  unpair: script(UNPAIR),
  acknowledge: script(ACKNOWLEDGE),
  replay: script(REPLAY),
  dequeue: script(DEQUEUE),
  release: script(RELEASE),
  stats: script(STATS),
  fileReport: script(FILE_REPORT),
  ban: script(BAN),
  unban: script(UNBAN),
  banOfSession: script(BAN_OF_SESSION),
  countSkip: script(COUNT_SKIP),
  addSubjectConnection: script(ADD_SUBJECT_CONNECTION),
  removeSubjectConnection: script(REMOVE_SUBJECT_CONNECTION),
  subjectConnections: script(SUBJECT_CONNECTIONS),
};

/** How many stream entries one XREVRANGE of GET /admin/reports reads while filtering. */
const REPORTS_PAGE = 500;

/** What the appending scripts return: status, pair record or '', then to, entry, to, entry, … */
type AppendReply = [status: string, pair: string, ...appended: string[]];

/** One signal of a RELAY_SIGNALS batch: cseq null for a signal relayed without an order. */
interface SignalToRelay {
  session: SessionId;
  signal: string;
  bytes: number;
  cseq: number | null;
  force: boolean;
}

/**
 * The most signals one RELAY_SIGNALS call carries: enough to take a busy turn's signals in a few
 * calls, few enough that one script call stays well under a millisecond of Redis's time.
 */
const MAX_SIGNALS_PER_CALL = 64;
/** The most acknowledgements one ACKNOWLEDGE call carries (each trims one outbox). */
const MAX_ACKS_PER_CALL = 128;

/**
 * PairingStore on Redis, shared by every instance. Each state change is one Lua script (see
 * redis-scripts.ts) that also appends the events it causes to the outboxes and routes each to
 * its recipient's owner, so instances racing on the same queue can never pair a session twice,
 * and no outcome is decided without its announcement being kept.
 */
export class RedisPairingStore implements PairingStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #limits: OutboxLimits;
  readonly #ownsClient: boolean;
  readonly #signalHoldMs: number;
  readonly #rules: MatchRules;
  readonly #reportRules: ReportRules;
  readonly #inboxes = new Set<InboxReader>();
  /** The pub/sub connections of watchBans (a subscribed connection can do nothing else). */
  readonly #subscribers = new Set<Redis>();
  /** The acknowledgements of one event-loop turn go to Redis in one call. */
  readonly #acknowledging = new TurnBatch<[SessionId, number], void>(async (acks) => {
    await this.#eval(SCRIPTS.acknowledge, acks.flat());
    return acks.map(() => undefined);
  }, MAX_ACKS_PER_CALL);
  /** Signals relayed in one event-loop turn go to Redis in one call. */
  readonly #relaying = new TurnBatch<SignalToRelay, AppendReply>(
    (signals) => this.#relaySignals(signals),
    MAX_SIGNALS_PER_CALL,
  );

  constructor(options: RedisStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'pairwire:';
    this.#owner = options.owner ?? randomUUID();
    if (this.#owner.startsWith('detached')) throw new Error('a Redis store owner id may not start with "detached"');
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#limits = options.outbox ?? DEFAULT_OUTBOX_LIMITS;
    this.#ownsClient = options.ownsClient ?? false;
    this.#signalHoldMs = options.signalHoldMs ?? DEFAULT_SIGNAL_HOLD_MS;
    this.#rules = options.matching ?? DEFAULT_MATCH_RULES;
    this.#reportRules = options.reports ?? DEFAULT_REPORT_RULES;
  }

  async attach(
    session: SessionId,
    { resume, after = 0, subject = '' }: { resume: boolean; after?: number; subject?: Subject },
  ): Promise<Attached | null> {
    const reply = (await this.#eval(SCRIPTS.attach, [
      session,
      this.#owner,
      this.#leaseMs,
      this.#pairTtl(0),
      resume ? '1' : '0',
      seqArg(after),
      subject,
    ])) as [string, string, ...string[]] | null;
    if (!reply) return null;
    const [status, pair, ...entries] = reply;
    return { state: stateOf(status, pair), replay: entries.map((entry) => outgoing(session, entry)) };
  }

  async detach(session: SessionId, graceMs: number): Promise<void> {
    await this.#eval(SCRIPTS.detach, [session, this.#owner, graceMs, this.#pairTtl(graceMs)]);
  }

  async release(session: SessionId): Promise<void> {
    await this.#eval(SCRIPTS.release, [session]);
  }

  async heartbeat(sessions: SessionId[]): Promise<Heartbeat> {
    const beat: Heartbeat = { orphans: [], lost: [], lastSeq: new Map(), due: [] };
    for (let i = 0; i < sessions.length; i += HEARTBEAT_CHUNK) {
      const chunk = sessions.slice(i, i + HEARTBEAT_CHUNK);
      const [orphans, lost, last, due] = (await this.#eval(SCRIPTS.heartbeat, [
        this.#owner,
        this.#leaseMs,
        this.#pairTtl(0),
        ...chunk,
      ])) as [string[], string[], string[], string[]];
      beat.due.push(...due);
      beat.orphans.push(...orphans);
      beat.lost.push(...lost);
      for (let j = 0; j + 1 < last.length; j += 2) beat.lastSeq.set(last[j] as string, Number(last[j + 1]));
    }
    return beat;
  }

  async enqueue(session: SessionId, preferences: MatchPreferences = ANYONE): Promise<EnqueueResult> {
    // Also this call's id: the script keeps its reply under it, for #afterLostEnqueue.
    const pairId = randomUUID();
    let reply: AppendReply;
    try {
      reply = (await this.#eval(
        SCRIPTS.enqueue,
        this.#enqueueArgs(session, pairId, 'join', preferences),
      )) as AppendReply;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return this.#afterLostEnqueue(pairId, error);
    }
    return enqueueResult(reply);
  }

  /**
   * The enqueue script's reply was lost: a command timeout, under load, does not mean the script
   * did not run (a reply late past the timeout, or a script run after it). A pair made that way
   * would be announced to no one, and both sides would wait forever. The script keeps its reply
   * under this call's id, so ask for it (on the same connection, hence after the script) and
   * answer exactly what the script did, events included. Only when there is none is the failure
   * passed on: then the script never ran (nothing changed), or Redis is gone.
   */
  async #afterLostEnqueue(call: string, lost: StoreUnavailableError): Promise<EnqueueResult> {
    // https://redis.io/commands/get/
    const kept = await this.#run(() => this.#redis.get(this.#key(`r:${call}`))).catch(() => null);
    if (kept === null) throw lost;
    return enqueueResult(JSON.parse(kept) as AppendReply);
  }

  async rematch(session: SessionId): Promise<RematchResult> {
    const pairId = randomUUID();
    // A rematch keeps the preferences the session joined with: the script reads them from its entry.
    const [status, pair, ...appended] = (await this.#eval(
      SCRIPTS.enqueue,
      this.#enqueueArgs(session, pairId, 'rematch', ANYONE),
    )) as AppendReply;
    if (status === 'paired') return { status, pair: parsePair(pair), events: appendedEvents(appended) };
    return status === 'lost' ? { status } : { status: 'unchanged' };
  }

  /** ENQUEUE's ARGV (redis-scripts.ts), for a join and for a rematch alike. */
  #enqueueArgs(
    session: SessionId,
    pairId: string,
    mode: 'join' | 'rematch',
    { interests, fallbackMs, lang }: MatchPreferences,
  ): (string | number)[] {
    return [
      ...this.#outboxContext(),
      session,
      pairId,
      this.#pairTtl(0),
      this.#leaseMs,
      ENQUEUE_REPLY_TTL_MS,
      lang ?? '',
      fallbackMs ?? '',
      this.#rules.recentPartners,
      this.#rules.recentMs,
      MATCH_SCAN_STEPS,
      mode,
      interests.length,
      ...interests,
      ...interests.map((tag) => JSON.stringify(tag)),
    ];
  }

  async dequeue(session: SessionId): Promise<boolean> {
    return (await this.#eval(SCRIPTS.dequeue, [session])) === 1;
  }

  async pairOf(session: SessionId): Promise<Pair | null> {
    // https://redis.io/commands/get/
    const pair = await this.#run(() => this.#redis.get(this.#key(`p:${session}`)));
    return pair ? parsePair(pair) : null;
  }

  async unpair(
    session: SessionId,
    reason: LeaveReason,
    { tell, block = false }: { tell: 'partner' | 'self'; block?: boolean } = { tell: 'partner' },
  ): Promise<{ pair: Pair; events: Outgoing[] } | null> {
    const reply = (await this.#eval(SCRIPTS.unpair, [
      ...this.#outboxContext(),
      session,
      JSON.stringify(reason),
      tell,
      block ? '1' : '0',
    ])) as AppendReply | null;
    if (!reply) return null;
    const [, pair, ...appended] = reply;
    return { pair: parsePair(pair), events: appendedEvents(appended) };
  }

  async relay(session: SessionId, signal: Signal, order?: SignalOrder): Promise<RelayResult> {
    const json = JSON.stringify(signal);
    const bytes = eventBytes({ name: 'signal', room: '', signal });
    const reply = order
      ? await this.#inTurn(session, json, bytes, order.cseq)
      : await this.#relaying.add({ session, signal: json, bytes, cseq: null, force: false });
    const [status, pairOrRoom, ...rest] = reply;
    if (status === 'relayed') {
      const [to = '', seq] = rest;
      return { status, event: { to, seq: Number(seq), event: { name: 'signal', room: pairOrRoom, signal } } };
    }
    if (status === 'partner-gone') return { status, pair: parsePair(pairOrRoom), events: appendedEvents(rest) };
    if (status === 'duplicate') return { status };
    return { status: 'not-paired' };
  }

  async skipSignal(session: SessionId, cseq: number): Promise<void> {
    await this.#inTurn(session, '', 0, cseq);
  }

  /**
   * The signal's turn (`signal` '' to skip it), asked until it comes: a predecessor still on its
   * way (another invocation, another instance) takes its turn in Redis, so this watches the
   * session's `cseq`, backing off (an HGET, not the signal sent again each time), and at the end of
   * the hold takes the turn anyway.
   */
  async #inTurn(session: SessionId, signal: string, bytes: number, cseq: number): Promise<AppendReply> {
    const holdEnds = Date.now() + this.#signalHoldMs;
    let pause = FIRST_TURN_POLL_MS;
    for (;;) {
      const force = Date.now() >= holdEnds;
      const reply = await this.#relaying.add({ session, signal, bytes, cseq: seqArg(cseq), force });
      if (reply[0] !== 'early') return reply;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(pause, holdEnds - Date.now()))));
        pause = Math.min(pause * 2, MAX_TURN_POLL_MS);
        if (Date.now() >= holdEnds) break;
        // https://redis.io/commands/hget/
        const last = await this.#run(() => this.#redis.hget(this.#key(`c:${session}`), 'cseq'));
        if (Number(last ?? 0) >= cseq - 1) break;
      }
    }
  }

  /** One RELAY_SIGNALS call for the signals of one event-loop turn (see TurnBatch). */
  async #relaySignals(signals: readonly SignalToRelay[]): Promise<AppendReply[]> {
    const args: (string | number)[] = [...this.#outboxContext(), MAX_MISSING_SIGNALS];
    for (const { session, signal, bytes, cseq, force } of signals) {
      args.push(session, signal, bytes, cseq ?? '', force ? '1' : '0');
    }
    return (await this.#eval(SCRIPTS.relaySignals, args)) as AppendReply[];
  }

  async acknowledge(session: SessionId, seq: number): Promise<void> {
    await this.#acknowledging.add([session, seqArg(seq)]);
  }

  async replay(session: SessionId, after: number): Promise<Outgoing[] | null> {
    const entries = (await this.#eval(SCRIPTS.replay, [session, seqArg(after)])) as string[] | null;
    return entries ? entries.map((entry) => outgoing(session, entry)) : null;
  }

  async bindConnection(session: SessionId, connection: string): Promise<string | null> {
    const replaced = await this.#eval(SCRIPTS.bindConnection, [session, connection, CONNECTION_TTL_MS]);
    return typeof replaced === 'string' ? replaced : null;
  }

  async sessionOfConnection(connection: string): Promise<SessionId | null> {
    // https://redis.io/commands/get/
    return this.#run(() => this.#redis.get(this.#key(`conn:${connection}`)));
  }

  async connectionsOf(sessions: readonly SessionId[]): Promise<Map<SessionId, string>> {
    const carried = new Map<SessionId, string>();
    if (sessions.length === 0) return carried;
    // https://redis.io/commands/mget/
    const connections = await this.#run(() => this.#redis.mget(sessions.map((session) => this.#key(`at:${session}`))));
    sessions.forEach((session, i) => {
      const connection = connections[i];
      if (connection) carried.set(session, connection);
    });
    return carried;
  }

  async detachConnection(connection: string, graceMs: number): Promise<SessionId | null> {
    const session = await this.#eval(SCRIPTS.detachConnection, [
      connection,
      this.#owner,
      graceMs,
      this.#pairTtl(graceMs),
    ]);
    return typeof session === 'string' ? session : null;
  }

  async addSubjectConnection(subject: Subject, connection: string, limits: SubjectConnectionLimits): Promise<void> {
    await this.#eval(SCRIPTS.addSubjectConnection, [subject, connection, limits.max, limits.ttlMs]);
  }

  async removeSubjectConnection(connection: string): Promise<Subject | null> {
    const subject = await this.#eval(SCRIPTS.removeSubjectConnection, [connection]);
    return typeof subject === 'string' ? subject : null;
  }

  async subjectConnections(subject: Subject): Promise<string[]> {
    return (await this.#eval(SCRIPTS.subjectConnections, [subject])) as string[];
  }

  async claimLapsed(limit: number): Promise<LapsedDrops> {
    const [sessions, wait] = (await this.#eval(SCRIPTS.claimLapsed, [limit])) as [string[], number];
    return { sessions, nextInMs: wait < 0 ? null : wait };
  }

  async claimDueFallbacks(limit: number): Promise<DueFallbacks> {
    const [sessions, wait] = (await this.#eval(SCRIPTS.claimDueFallbacks, [limit])) as [string[], number];
    return { sessions, nextInMs: wait < 0 ? null : wait };
  }

  /**
   * Reads this process's inbox (`P i:<owner>`), where the other instances' scripts write the
   * events they append for sessions this process owns, from its end as of now.
   */
  watch(onEvents: (events: Outgoing[]) => void): () => void {
    const inbox = new InboxReader(this.#redis, this.#key(`i:${this.#owner}`), onEvents);
    this.#inboxes.add(inbox);
    return () => {
      this.#inboxes.delete(inbox);
      void inbox.stop();
    };
  }

  async fileReport(reporter: SessionId, input: ReportInput): Promise<ReportResult> {
    const rules = this.#reportRules;
    const reply = (await this.#eval(SCRIPTS.fileReport, [
      ...this.#outboxContext(),
      reporter,
      input.room,
      rules.windowMs,
      rules.maxReports,
      rules.retentionMs,
      rules.reportersWindowMs,
      input.reason,
      input.details ?? '',
      input.evidence ? JSON.stringify(input.evidence) : '',
    ])) as string[];
    const [status, pair = '', id = '', reporterSubject = '', reported = '', partner = '', at = '0', reporters = '0'] =
      reply;
    if (status !== 'filed') return { status: status === 'already-reported' ? status : 'not-in-room' };
    return {
      status,
      report: { id, at: Number(at), ...input, reporter: reporterSubject, reported },
      partner,
      ended: pair ? { pair: parsePair(pair), events: appendedEvents(reply.slice(8)) } : null,
      reporters: Number(reporters),
    };
  }

  async reports({ reason, since, until, limit }: ReportQuery): Promise<StoredReport[]> {
    const found: StoredReport[] = [];
    let end = until === undefined ? '+' : String(Math.floor(until));
    // XTRIM MINID ~ trims whole stream nodes only: older entries may linger, and are never shown.
    const oldest = Date.now() - this.#reportRules.retentionMs;
    const start = String(Math.ceil(Math.max(since ?? 0, oldest)));
    while (found.length < limit) {
      // https://redis.io/commands/xrevrange/
      const page = await this.#run(() =>
        this.#redis.xrevrange(this.#key('reports'), end, start, 'COUNT', REPORTS_PAGE),
      );
      for (const [id, fields] of page) {
        const report = storedReport(id, fields);
        if (reason === undefined || report.reason === reason) found.push(report);
        if (found.length === limit) break;
      }
      const last = page[page.length - 1];
      if (page.length < REPORTS_PAGE || !last) break;
      end = `(${last[0]}`;
    }
    return found;
  }

  async ban(ban: Ban): Promise<void> {
    const ttl = Math.max(1, ban.until - Date.now());
    await this.#eval(SCRIPTS.ban, [ban.subject, JSON.stringify(ban), ban.until, ttl]);
  }

  async unban(subject: Subject): Promise<boolean> {
    return (await this.#eval(SCRIPTS.unban, [subject])) === 1;
  }

  async banOf(subject: Subject): Promise<Ban | null> {
    // https://redis.io/commands/get/
    return parseBan(await this.#run(() => this.#redis.get(this.#key(`ban:${subject}`))));
  }

  async banOfSession(session: SessionId): Promise<Ban | null> {
    return parseBan((await this.#eval(SCRIPTS.banOfSession, [session])) as string | null);
  }

  async bans(): Promise<Ban[]> {
    // https://redis.io/commands/zrangebyscore/
    const subjects = await this.#run(() => this.#redis.zrangebyscore(this.#key('bans'), `(${Date.now()}`, '+inf'));
    if (subjects.length === 0) return [];
    // https://redis.io/commands/mget/
    const records = await this.#run(() => this.#redis.mget(subjects.map((subject) => this.#key(`ban:${subject}`))));
    return records.map(parseBan).filter((ban): ban is Ban => ban !== null);
  }

  /** Subscribes to the `P bans` channel on a connection of its own (https://redis.io/commands/subscribe/). */
  watchBans(onBan: (ban: Ban) => void): () => void {
    const subscriber = this.#redis.duplicate();
    subscriber.on('error', () => {});
    this.#subscribers.add(subscriber);
    const channel = this.#key('bans');
    subscriber.on('message', (from: string, message: string) => {
      const ban = from === channel ? parseBan(message) : null;
      if (ban) onBan(ban);
    });
    void subscriber.subscribe(channel).catch(() => {});
    return () => {
      if (this.#subscribers.delete(subscriber)) subscriber.disconnect();
    };
  }

  async countSkip(session: SessionId, windowMs: number): Promise<{ subject: Subject; count: number } | null> {
    const window = Math.floor(Date.now() / windowMs);
    const counted = (await this.#eval(SCRIPTS.countSkip, [session, window, windowMs])) as [string, number] | null;
    return counted ? { subject: counted[0], count: Number(counted[1]) } : null;
  }

  async mark(key: string, ttlMs: number): Promise<boolean> {
    // https://redis.io/commands/set/ (NX: only when absent; PX: expires by itself)
    const set = await this.#run(() => this.#redis.set(this.#key(`m:${key}`), '1', 'PX', ttlMs, 'NX'));
    return set === 'OK';
  }

  async isMarked(key: string): Promise<boolean> {
    // https://redis.io/commands/exists/
    return (await this.#run(() => this.#redis.exists(this.#key(`m:${key}`)))) === 1;
  }

  async queueLength(): Promise<number> {
    // https://redis.io/commands/zcard/
    return this.#run(() => this.#redis.zcard(this.#key('q')));
  }

  async stats(): Promise<LiveStats> {
    const [online, waiting, pairs, top] = (await this.#eval(SCRIPTS.stats, [TOP_INTERESTS])) as [
      number,
      number,
      number,
      string[],
    ];
    const topInterests: LiveStats['topInterests'] = [];
    // {tag, -count, …}: qtn keeps counts negative so that its ascending order is most waited on first.
    for (let i = 0; i + 1 < top.length; i += 2)
      topInterests.push({ tag: top[i] as string, waiting: -Number(top[i + 1]) });
    return { online, waiting, pairs, topInterests };
  }

  async ready(): Promise<void> {
    // https://redis.io/commands/ping/
    await this.#run(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    const inboxes = [...this.#inboxes];
    this.#inboxes.clear();
    await Promise.all(inboxes.map((inbox) => inbox.stop()));
    for (const subscriber of this.#subscribers) subscriber.disconnect();
    this.#subscribers.clear();
    if (this.#ownsClient) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** A pair record outlives the lease by the grace, so a detached member can still resume it. */
  #pairTtl(graceMs: number): number {
    return this.#leaseMs + Math.max(graceMs, this.#leaseMs);
  }

  /**
   * The first ARGV of every script that appends events (redis-scripts.ts OUTBOX). An inbox lives a
   * lease past its last write: a live owner reads within moments, and a dead one's sessions have
   * lost their leases by then, so nothing writes to it any more.
   */
  #outboxContext(): (string | number)[] {
    return [
      this.#owner,
      this.#limits.maxEvents,
      this.#limits.maxBytes,
      INBOX_MAX_LEN,
      this.#leaseMs,
      EVENT_OVERHEAD_BYTES,
    ];
  }

  #key(name: string): string {
    return this.#prefix + name;
  }

  /**
   * https://redis.io/commands/evalsha/, falling back to https://redis.io/commands/eval/ (which
   * caches the script) when Redis does not know it yet: after its start, or a SCRIPT FLUSH.
   */
  #eval({ lua, sha }: Script, args: (string | number)[]): Promise<unknown> {
    return this.#run(async () => {
      try {
        return await this.#redis.evalsha(sha, 0, this.#prefix, ...args);
      } catch (error) {
        const unknownScript =
          error instanceof Error && error instanceof ReplyError && error.message.startsWith('NOSCRIPT');
        if (!unknownScript) throw error;
        return this.#redis.eval(lua, 0, this.#prefix, ...args);
      }
    });
  }

  /** Connection trouble becomes StoreUnavailableError (→ UNAVAILABLE); a script error stays a bug. */
  async #run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      if (error instanceof ReplyError) throw error;
      throw new StoreUnavailableError(`redis: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  }
}

/** Records are written by our own scripts, so the three fields are always there. */
function parsePair(record: string): Pair {
  const [id = '', initiator = '', polite = ''] = record.split('\n');
  return { id, initiator, polite };
}

/** A ban as kept (JSON of Ban), or null for none or one that has ended. */
function parseBan(json: string | null): Ban | null {
  if (!json) return null;
  const ban = JSON.parse(json) as Ban;
  return ban.until > Date.now() ? ban : null;
}

/** A stream entry of P reports as the report it is (written by FILE_REPORT: the fields are there). */
function storedReport(id: string, flat: string[]): StoredReport {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
  const evidence = fields.get('evidence');
  return {
    id,
    at: Number(id.split('-')[0]),
    room: fields.get('room') ?? '',
    reason: (fields.get('reason') ?? 'other') as ReportReason,
    details: fields.get('details') ?? null,
    evidence: evidence ? (JSON.parse(evidence) as EvidenceMessage[]) : null,
    reporter: fields.get('reporter') ?? '',
    reported: fields.get('reported') ?? '',
  };
}

/** to, entry, to, entry, … as the events they are. */
function appendedEvents(appended: string[]): Outgoing[] {
  const events: Outgoing[] = [];
  for (let i = 0; i + 1 < appended.length; i += 2)
    events.push(outgoing(appended[i] as string, appended[i + 1] as string));
  return events;
}

function enqueueResult([status, pair, ...appended]: AppendReply): EnqueueResult {
  switch (status) {
    case 'paired':
      return { status, pair: parsePair(pair), events: appendedEvents(appended) };
    case 'already-paired':
      return { status, pair: parsePair(pair) };
    case 'already-waiting':
    case 'lost':
      return { status };
    default:
      return { status: 'waiting', events: appendedEvents(appended) };
  }
}

function stateOf(status: string, pair: string): SessionState {
  if (status === 'paired') return { status, pair: parsePair(pair) };
  if (status === 'requeue') return { status: 'idle', requeue: true };
  return { status: status === 'waiting' ? 'waiting' : 'idle' };
}

/**
 * A seq from a caller as a script argument: a whole number ≥ 0, where the memory store's
 * comparisons would treat anything else the same way (beyond every seq, or before them).
 */
function seqArg(seq: number): number {
  if (Number.isSafeInteger(seq)) return Math.max(seq, 0);
  return seq > 0 ? Number.MAX_SAFE_INTEGER : 0;
}

/**
 * A client for store commands: a command waits at most `commandTimeoutMs` (during an outage the
 * client gets UNAVAILABLE quickly rather than hanging), and reconnects by itself.
 */
export function createStoreClient(url: string, commandTimeoutMs = 2000): Redis {
  const client = new Redis(url, {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 1,
    // Reconnect forever, backing off to 1 s: an outage ends by itself.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  return client;
}

/** A store that owns its own client, for entrypoints that only have a URL. */
export function createRedisStore(
  url: string,
  options: Omit<RedisStoreOptions, 'redis' | 'ownsClient'> = {},
): RedisPairingStore {
  const redis = createStoreClient(url);
  // Errors surface through commands as UNAVAILABLE; without a listener ioredis would log each one.
  redis.on('error', () => {});
  return new RedisPairingStore({ ...options, redis, ownsClient: true });
}
