/**
 * The Redis store's atomic steps, one Lua script each (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/).
 * Scripts build their keys from the prefix passed in ARGV, so they need a single Redis primary
 * (a managed Redis, Upstash, ElastiCache non-cluster); Redis Cluster is not supported.
 *
 * Keys, for a prefix P:
 *   P s:<session>  STRING  owner instance id, or "detached" / "detached-waiting" (dropped while queued);
 *                          PX = lease (live) or grace (detached). No `s:` key = gone: never matched,
 *                          renewed or resumed, and its partner is told by heartbeat.
 *   P o:<session>  LIST    the outbox: "<seq>\t<bytes>\t<event JSON>" per event not yet acknowledged,
 *                          oldest first; seqs are consecutive; <bytes> is what the event counts
 *                          against the outbox (eventBytes in pairing-store.ts, computed in JS)
 *   P c:<session>  HASH    the outbox's counters: `seq` (the last seq handed out), `bytes` (the sum of
 *                          its entries' <bytes>, what OutboxLimits.maxBytes bounds); and the client's
 *                          signal order (SignalOrder): `cseq` (the highest cseq whose turn was taken),
 *                          `m<cseq>` for each one given up on (MAX_MISSING_SIGNALS, counted in `missing`)
 *   P p:<session>  STRING  "<pairId>\n<initiator>\n<polite>", one per member; PX = lease + grace, renewed
 *   P q            ZSET    waiting sessions, scored by arrival (P seq): the FIFO queue, and the
 *                          truth about who waits (an entry below whose session is not here is a leftover)
 *   P qt:<tag>     ZSET    waiting sessions with that interest, scored by arrival
 *   P qtn          ZSET    tag → minus the size of its qt: (negative so that ZRANGE lists the most
 *                          waited-on first, ties by tag); kept with every ZADD/ZREM of a qt:, so
 *                          GET /stats reads the top interests in O(log N) (leftovers counted until skipped)
 *   P qa           ZSET    waiting sessions that accept anyone (no interests, fallbackMs 0, or a
 *                          fallback that passed), scored by arrival
 *   P qf           ZSET    waiting sessions with interests and a fallback, scored by when it passes
 *                          (ms, Redis's clock); a join moves those due to qa (no timers), and so
 *                          does CLAIM_DUE_FALLBACKS (API Gateway's sweep, which rematches them)
 *   P qm           ZSET    sessions a join moved from qf to qa, owed a rematch of their own (the join
 *                          looked for its own partner only), scored by when: HEARTBEAT reports them
 *                          due and CLAIM_DUE_FALLBACKS hands them out; a rematch or unqueue removes them
 *   P m:<session>  HASH    a waiting session's preferences: `w` its arrival, `l` its lang, `i` its
 *                          interests in order (tab-separated: a tag has no control characters),
 *                          `#<tag>` → that tag as JSON (made by JS); deleted when it stops waiting
 *   P h:<session>  ZSET    its recent partners, scored by when they were paired (ms); the last N kept
 *   P b:<session>  SET     the sessions it blocked
 *   P u:<session>  STRING  its subject (reports and bans: a salted hash, never an address)
 *   P e:<session>  HASH    its last REPORTABLE_ROOMS ended pairs, by room: "<partner>\t<partner's
 *                          subject>\t<ended at, ms>\t<0|1 reported>": what it may still report
 *   P reports      STREAM  reports, fields `room`, `reason`, `details`, `evidence` (JSON), `reporter`,
 *                          `reported` (subjects); MAXLEN ~ REPORTS_MAX and MINID ~ now − REPORT_RETENTION_MS
 *                          at every XADD; the entry id is the report's id
 *   P rs:<subject> ZSET    the subjects that reported it, scored by when (ms); PX = the counting window
 *   P ban:<subject> STRING the subject's ban (JSON: Ban in pairing-store.ts); PX = until it ends
 *   P bans         ZSET    banned subjects, scored by when their ban ends (ms): GET /admin/bans
 *   P bans         CHANNEL (pub/sub) each ban as it is made, JSON: every instance disconnects the subject's sessions
 *   P sk:<window>:<subject> STRING its next/block count in that fixed window; PX = the window
 *   P live         ZSET    every session, scored by when its s: expires (ms): ZCOUNT from now is
 *                          how many are alive, cluster-wide (GET /stats); set wherever s: is
 *   P pairs        ZSET    every pair id, scored by when its p: records expire; removed when it ends
 *   P seq          STRING  arrival counter
 *   P i:<owner>    STREAM  an instance's inbox: the events other instances append for its sessions
 *                          (fields `to`, `e` = the outbox entry), read and trimmed by that instance
 *                          alone; MAXLEN ~ 10,000 and PX = the lease, both set by every write
 *                          (INBOX_MAX_LEN and #outboxContext in redis-store.ts say why)
 *   P r:<call>     STRING  an ENQUEUE's reply (cjson array of its strings, which JSON.parse gives back
 *                          exactly), PX 10 s: the answer to give when that reply is lost on its way back
 *   P at:<session> STRING  the connection that carries the session now (API Gateway), PX 2 h + 10 min
 *                          (no connection outlives API Gateway's 2 h); deleted on release and when the
 *                          connection closes without a goodbye (DETACH_CONNECTION)
 *   P conn:<conn>  STRING  the session a connection carries or carried last, same PX: frames still on
 *                          their way after the close count for it
 *   P lapse        ZSET    sessions DETACH_CONNECTION detached while paired, scored by when their grace
 *                          ends (ms, Redis's clock); CLAIM_LAPSED hands each out once, when it is due
 *   P sc:<subject> ZSET    the subject's open connections (API Gateway), scored by when each is
 *                          forgotten (ms, Redis's clock): what a ban closes; at most the per-address
 *                          cap (the oldest go first); PX = that time, refreshed by each add
 *   P cs:<conn>    STRING  the subject a connection is open for, same PX: what its $disconnect removes
 * A session's o:, c:, m:, h:, b:, u: and e: live exactly as long as its s: (set to the same PX whenever s: is set or
 * renewed, given s:'s remaining time when a write creates them, deleted with it on release or loss),
 * so nothing of a session outlives it.
 *
 * The outbox is a LIST rather than a STREAM: it is only ever cut at the head (acknowledge) and read
 * from some seq to the tail (replay), and its seqs are consecutive, so the head entry's seq turns
 * both into index arithmetic for LTRIM and LRANGE; and a list of short strings is the most compact
 * thing Redis stores (listpacks), where a stream spends an ID and field names per entry on
 * machinery (consumer groups, blocking reads) that an outbox never uses. The inbox, which is read
 * by blocking, is the stream.
 *
 * Events are JSON built by concatenation, byte for byte what JSON.stringify makes of the same
 * SessionEvent in the memory store (cjson orders keys as it likes and escapes `/`): the pair id is
 * a UUID (nothing to escape), and the signal and the leave reason come in as JSON from JS and are
 * embedded verbatim.
 */

import { REPORTABLE_ROOMS } from './pairing-store.js';

/** Key names and the lifetime of a session's keys. ARGV[1] is always the prefix. */
const SESSIONS = `
local prefix = ARGV[1]
local function key(kind, id) return prefix .. kind .. id end

-- Whether an s: value names an instance (a live session's owner) rather than a detached marker.
local function is_instance(holder)
  return holder and holder ~= 'detached' and holder ~= 'detached-waiting'
end

-- Redis's clock, in ms.
local function clock_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Sets the session's s: and gives its other keys the same lifetime.
local function hold(session, holder, ttl)
  redis.call('SET', key('s:', session), holder, 'PX', ttl)
  redis.call('ZADD', prefix .. 'live', clock_ms() + tonumber(ttl), session)
  redis.call('PEXPIRE', key('o:', session), ttl)
  redis.call('PEXPIRE', key('c:', session), ttl)
  redis.call('PEXPIRE', key('m:', session), ttl)
  redis.call('PEXPIRE', key('h:', session), ttl)
  redis.call('PEXPIRE', key('b:', session), ttl)
  redis.call('PEXPIRE', key('u:', session), ttl)
  redis.call('PEXPIRE', key('e:', session), ttl)
end

-- Gives a key a write just created the session's remaining lifetime.
local function expire_with(session, k)
  local ttl = redis.call('PTTL', key('s:', session))
  if ttl > 0 then redis.call('PEXPIRE', k, ttl) end
end

-- Puts the session in the queue of one interest, or takes it out, keeping that tag's count (qtn).
local function join_tag(tag, arrival, session)
  if redis.call('ZADD', prefix .. 'qt:' .. tag, arrival, session) == 1 then
    redis.call('ZINCRBY', prefix .. 'qtn', -1, tag)
  end
end
local function leave_tag(tag, session)
  if redis.call('ZREM', prefix .. 'qt:' .. tag, session) == 1 then
    if tonumber(redis.call('ZINCRBY', prefix .. 'qtn', 1, tag)) >= 0 then redis.call('ZREM', prefix .. 'qtn', tag) end
  end
end

-- Takes the session off every queue it is in; true when it was waiting.
local function unqueue(session)
  local m = key('m:', session)
  for _, field in ipairs(redis.call('HKEYS', m)) do
    if string.sub(field, 1, 1) == '#' then leave_tag(string.sub(field, 2), session) end
  end
  redis.call('DEL', m)
  redis.call('ZREM', prefix .. 'qa', session)
  redis.call('ZREM', prefix .. 'qf', session)
  redis.call('ZREM', prefix .. 'qm', session)
  return redis.call('ZREM', prefix .. 'q', session) == 1
end

-- A lost session: never matched, renewed or resumed again. Its pair, if any, is its partner's to end.
local function forget(session)
  unqueue(session)
  redis.call('DEL', key('s:', session), key('o:', session), key('c:', session), key('h:', session), key('b:', session), key('at:', session), key('u:', session), key('e:', session))
  redis.call('ZREM', prefix .. 'live', session)
end

-- The pair record's id, and the member that is not me.
local function parse_pair(pair, me)
  local id, a, b = string.match(pair, '^([^\\n]*)\\n([^\\n]*)\\n([^\\n]*)$')
  if a == me then return id, b end
  return id, a
end

-- Forgets the outbox's entries up to seq (a number), and their bytes; returns how many.
local function trim(session, seq)
  local o, c = key('o:', session), key('c:', session)
  local head = redis.call('LINDEX', o, 0)
  if not head then return 0 end
  local drop = math.min(seq - tonumber(string.match(head, '^(%d+)')) + 1, redis.call('LLEN', o))
  if drop <= 0 then return 0 end
  local freed = 0
  for _, entry in ipairs(redis.call('LRANGE', o, 0, drop - 1)) do
    freed = freed + tonumber(string.match(entry, '^%d+\\t(%d+)\\t'))
  end
  redis.call('LTRIM', o, drop, -1)
  -- Never recreate a counters key that is gone (it would outlive the session).
  if redis.call('EXISTS', c) == 1 then redis.call('HINCRBY', c, 'bytes', -freed) end
  return drop
end

-- Appends to into the outbox entries of session after seq after (a number), oldest first.
-- Seqs in o: are consecutive, so the head's seq says where after+1 sits.
local function outbox_after(session, after, into)
  local o = key('o:', session)
  local head = redis.call('LINDEX', o, 0)
  if not head then return end
  local from = math.max(after - tonumber(string.match(head, '^(%d+)')) + 1, 0)
  if from >= redis.call('LLEN', o) then return end
  for _, entry in ipairs(redis.call('LRANGE', o, from, -1)) do into[#into + 1] = entry end
end
`;

/**
 * Appending events, for the scripts that do. Their ARGV starts with this context: prefix, the
 * calling instance's owner id, maxEvents, maxBytes, the inbox MAXLEN, the inbox PX (ms), and the
 * bytes an event without a signal counts (EVENT_OVERHEAD_BYTES; a signal's own count comes with it).
 * `appended` collects {to, entry, to, entry, …}: what the script returns to its caller.
 */
const OUTBOX = `${SESSIONS}
local caller = ARGV[2]
local max_events, max_bytes = tonumber(ARGV[3]), tonumber(ARGV[4])
local inbox_max_len, inbox_ttl = ARGV[5], ARGV[6]
local overhead = tonumber(ARGV[7])
local appended = {}

-- The outbox's counters (last seq, bytes held) when it has room for an event of this many bytes;
-- nil when it is full.
local function room_for(session, bytes)
  if redis.call('LLEN', key('o:', session)) >= max_events then return nil end
  local counters = redis.call('HMGET', key('c:', session), 'seq', 'bytes')
  local seq, held = tonumber(counters[1] or '0'), tonumber(counters[2] or '0')
  if held + bytes > max_bytes then return nil end
  return seq, held
end

-- Numbers the event and keeps it in the session's outbox, counting bytes against it; returns its seq. seq and
-- held are what room_for said.
-- holder is the session's s: value: when it is another instance, the event is also written to
-- that instance's inbox, which only it reads (targeted routing). The caller's own sessions'
-- events, and a detached session's, go to no inbox: the caller delivers them from this script's
-- reply, and a detached session gets them on resume.
local function push(session, holder, json, bytes, seq, held)
  local o, c = key('o:', session), key('c:', session)
  seq = seq + 1
  redis.call('HSET', c, 'seq', seq, 'bytes', held + bytes)
  local entry = seq .. '\t' .. bytes .. '\t' .. json
  local length = redis.call('RPUSH', o, entry)
  -- A key this write created must expire with the session. An acknowledgement that empties the
  -- outbox deletes the list, so it is made again often; c: only by the first event (seq 1) or
  -- relay_in_turn, which expire it then.
  if seq == 1 or length == 1 then
    local ttl = redis.call('PTTL', key('s:', session))
    if ttl > 0 then
      redis.call('PEXPIRE', o, ttl)
      if seq == 1 then redis.call('PEXPIRE', c, ttl) end
    end
  end
  if holder ~= caller and is_instance(holder) then
    local inbox = key('i:', holder)
    redis.call('XADD', inbox, 'MAXLEN', '~', inbox_max_len, '*', 'to', session, 'e', entry)
    redis.call('PEXPIRE', inbox, inbox_ttl)
  end
  appended[#appended + 1] = session
  appended[#appended + 1] = entry
  return seq
end

-- push, if the session is alive and its outbox has room: the event's seq, or false. A full outbox
-- means its client stopped reading: the session is lost, rather than an event silently dropped from
-- the middle of its stream.
local function append(session, json, bytes)
  local holder = redis.call('GET', key('s:', session))
  if not holder then return false end
  local seq, held = room_for(session, bytes)
  if not seq then
    forget(session)
    return false
  end
  return push(session, holder, json, bytes, seq, held)
end

-- {status, pair record or '', to, entry, to, entry, …}
local function reply(status, pair)
  local out = {status, pair or ''}
  for _, item in ipairs(appended) do out[#out + 1] = item end
  return out
end

-- common: the JSON array of the interests both share (built from JSON made in JS).
local function paired_event(room, initiator, common)
  return '{"name":"paired","room":"' .. room .. '","initiator":' .. (initiator and 'true' or 'false')
    .. ',"commonInterests":' .. common .. '}'
end

local function partner_left_event(room, reason_json)
  return '{"name":"partner-left","room":"' .. room .. '","reason":' .. reason_json .. '}'
end

-- The most ended pairs a session remembers (REPORTABLE_ROOMS in pairing-store.ts).
local reportable_rooms = ${REPORTABLE_ROOMS}

-- A live session remembers a pair that ended, so it may still report it for a while.
local function remember_room(of, room, other, now)
  if redis.call('EXISTS', key('s:', of)) == 0 then return end
  local e = key('e:', of)
  local subject = redis.call('GET', key('u:', other)) or ''
  redis.call('HSET', e, room, other .. '\t' .. subject .. '\t' .. now .. '\t0')
  expire_with(of, e)
  if redis.call('HLEN', e) <= reportable_rooms then return end
  local entries, oldest, oldest_at = redis.call('HGETALL', e), nil, nil
  for i = 1, #entries, 2 do
    local at = tonumber(string.match(entries[i + 1], '^[^\t]*\t[^\t]*\t([^\t]*)'))
    if not oldest_at or at < oldest_at then oldest, oldest_at = entries[i], at end
  end
  redis.call('HDEL', e, oldest)
end

-- Deletes both members' records of the pair; the partner's only if it is the same pair, never a
-- record it may hold for a later one. Each side remembers the pair (remember_room).
local function end_pair(me, pair, partner)
  local room = parse_pair(pair, me)
  redis.call('ZREM', prefix .. 'pairs', room)
  redis.call('DEL', key('p:', me))
  local other = key('p:', partner)
  if redis.call('GET', other) == pair then redis.call('DEL', other) end
  local now = clock_ms()
  remember_room(me, room, partner, now)
  remember_room(partner, room, me, now)
end
`;

/**
 * ARGV: prefix, session, owner, leaseMs, pairTtlMs, resume ("1"/"0"), after (a seq), subject ('' keeps it).
 * Returns nil (unknown, when resuming) or {status, pair record or '', outbox entries after `after`…};
 * status "requeue" is an idle session dropped while waiting. Entries only when resuming.
 */
export const ATTACH = `${SESSIONS}
local me, owner, lease, pair_ttl = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local after = tonumber(ARGV[7])
local resume = ARGV[6] == '1'
local previous = redis.call('GET', key('s:', me))
if resume and not previous then return false end
-- A session the store does not know starts afresh: leftovers of an earlier one under this id
-- (expiring a moment after its s:) must not number its events.
if not previous then redis.call('DEL', key('o:', me), key('c:', me), key('m:', me), key('h:', me), key('b:', me), key('u:', me), key('e:', me)) end
if ARGV[8] ~= '' then redis.call('SET', key('u:', me), ARGV[8]) end
hold(me, owner, lease)
local out
local pair = redis.call('GET', key('p:', me))
if pair then
  redis.call('PEXPIRE', key('p:', me), pair_ttl)
  out = {'paired', pair}
elseif redis.call('ZSCORE', prefix .. 'q', me) then
  out = {'waiting', ''}
elseif previous == 'detached-waiting' then
  out = {'requeue', ''}
else
  out = {'idle', ''}
end
if resume then
  -- What the client says it processed is acknowledged by saying so.
  trim(me, after)
  outbox_after(me, after, out)
end
return out
`;

/**
 * Detaching a session, for DETACH and DETACH_CONNECTION: it leaves the queue and starts the grace.
 * A session that another instance has taken up since (its client reconnected there before this
 * instance noticed the drop) is left alone: the drop is of a connection it no longer has.
 */
const DETACHING = `${SESSIONS}
local function detach(me, owner, grace, pair_ttl)
  local holder = redis.call('GET', key('s:', me))
  if not holder then return 0 end
  if holder ~= owner and is_instance(holder) then return 0 end
  local was_waiting = unqueue(me)
  local marker = 'detached'
  if was_waiting or holder == 'detached-waiting' then marker = 'detached-waiting' end
  hold(me, marker, grace)
  redis.call('PEXPIRE', key('p:', me), pair_ttl)
  return 1
end
`;

/** ARGV: prefix, session, owner, graceMs, pairTtlMs. Returns 1 when detached (see DETACHING), else 0. */
export const DETACH = `${DETACHING}
return detach(ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`;

/**
 * ARGV: prefix, connection, owner, graceMs, pairTtlMs. The connection closed without a goodbye:
 * if it still carries its session, the session is carried by none and detached, in one step, so a
 * resume on another connection that came first is never undone (on API Gateway every invocation
 * has the same owner id: the connection is what tells them apart). Returns the session, or nil.
 */
export const DETACH_CONNECTION = `${DETACHING}
local connection, owner, grace, pair_ttl = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local me = redis.call('GET', key('conn:', connection))
if not me or redis.call('GET', key('at:', me)) ~= connection then return false end
redis.call('DEL', key('at:', me))
if detach(me, owner, grace, pair_ttl) == 1 and redis.call('EXISTS', key('p:', me)) == 1 then
  redis.call('ZADD', prefix .. 'lapse', clock_ms() + tonumber(grace), me)
end
return me
`;

/**
 * ARGV: prefix, limit. Takes up to `limit` sessions off lapse whose grace has ended (strictly
 * before now, so their s: has expired), and returns them with the ms until the next one's ends (-1
 * when none is left).
 */
export const CLAIM_LAPSED = `${SESSIONS}
local lapse, now = prefix .. 'lapse', clock_ms()
local due = redis.call('ZRANGEBYSCORE', lapse, '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', lapse, unpack(due)) end
local first = redis.call('ZRANGE', lapse, 0, 0, 'WITHSCORES')
local wait = -1
if first[2] then wait = math.max(0, tonumber(first[2]) - now) end
return {due, wait}
`;

/**
 * ARGV: prefix, limit. Takes up to `limit` sessions off qf whose fallback has passed (the first due
 * first) and moves each that still waits to qa, as a join's mature() would, then off qm (moved by a
 * join, owed a rematch); returns those whose
 * session lives (a leftover moved with them is dropped when met, as any is), with the ms until the
 * next fallback in qf passes (-1 when qf is empty).
 */
export const CLAIM_DUE_FALLBACKS = `${SESSIONS}
local qf, now = prefix .. 'qf', clock_ms()
local claimed = {}
for _, me in ipairs(redis.call('ZRANGEBYSCORE', qf, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  redis.call('ZREM', qf, me)
  local arrival = redis.call('ZSCORE', prefix .. 'q', me)
  if arrival then
    redis.call('ZADD', prefix .. 'qa', arrival, me)
    if redis.call('EXISTS', key('s:', me)) == 1 then claimed[#claimed + 1] = me end
  end
end
-- Then those a join moved to qa, owed a rematch (qm).
local room = tonumber(ARGV[2]) - #claimed
if room > 0 then
  for _, me in ipairs(redis.call('ZRANGE', prefix .. 'qm', 0, room - 1)) do
    redis.call('ZREM', prefix .. 'qm', me)
    if redis.call('EXISTS', key('s:', me)) == 1 then claimed[#claimed + 1] = me end
  end
end
local first = redis.call('ZRANGE', qf, 0, 0, 'WITHSCORES')
local wait = -1
if first[2] then wait = math.max(0, tonumber(first[2]) - now) end
return {claimed, wait}
`;

/**
 * ARGV: prefix, session, connection, ttlMs. The connection carries the live session from now on,
 * and no longer the one it carried before; returns the connection the session leaves, or nil
 * (also for a session the store does not know: then nothing is bound).
 */
export const BIND_CONNECTION = `${SESSIONS}
local me, connection, ttl = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', key('s:', me)) == 0 then return false end
local before = redis.call('GET', key('conn:', connection))
if before and before ~= me and redis.call('GET', key('at:', before)) == connection then
  redis.call('DEL', key('at:', before))
end
local previous = redis.call('GET', key('at:', me))
redis.call('SET', key('at:', me), connection, 'PX', ttl)
redis.call('SET', key('conn:', connection), me, 'PX', ttl)
if previous == connection then return false end
return previous
`;

/**
 * ARGV: prefix, owner, leaseMs, pairTtlMs, session…
 * Returns {orphans, lost, {session, last seq, session, last seq, …}, due}: due are its waiting
 * sessions whose fallback has passed, for `rematch`. Renews only the sessions
 * this owner holds: a missing s: is lost (never recreated: its outbox is gone or overflowed), and
 * one detached or taken up by another instance since is no longer this owner's to renew.
 */
export const HEARTBEAT = `${SESSIONS}
local owner, lease, pair_ttl = ARGV[2], ARGV[3], ARGV[4]
local orphans, lost, last, due = {}, {}, {}, {}
local now = clock_ms()
-- What the stats count expires with what it counts (a crashed instance's sessions, say).
redis.call('ZREMRANGEBYSCORE', prefix .. 'live', '-inf', now)
redis.call('ZREMRANGEBYSCORE', prefix .. 'pairs', '-inf', now)
for i = 5, #ARGV do
  local me = ARGV[i]
  local holder = redis.call('GET', key('s:', me))
  if not holder then
    lost[#lost + 1] = me
  elseif holder == owner then
    hold(me, owner, lease)
    last[#last + 1] = me
    last[#last + 1] = redis.call('HGET', key('c:', me), 'seq') or '0'
    local at = redis.call('ZSCORE', prefix .. 'qf', me)
    if (at and tonumber(at) <= now) or redis.call('ZSCORE', prefix .. 'qm', me) then due[#due + 1] = me end
    local p = key('p:', me)
    local pair = redis.call('GET', p)
    if pair then
      redis.call('PEXPIRE', p, pair_ttl)
      local room, partner = parse_pair(pair, me)
      redis.call('ZADD', prefix .. 'pairs', 'XX', now + tonumber(pair_ttl), room)
      if redis.call('EXISTS', key('s:', partner)) == 0 then orphans[#orphans + 1] = me end
    end
  end
end
return {orphans, lost, last, due}
`;

/**
 * ARGV: outbox context (see OUTBOX), session, new pair id (also this call's id), pairTtlMs,
 * leaseMs, replyTtlMs, lang ('' for none), fallbackMs ('' for never), recent partners kept, how
 * long they count (ms), entries read per queue, "join" or "rematch", the number n of interests,
 * the n interests, and the same n as JSON strings (made by JS, so `commonInterests` is what
 * JSON.stringify makes). With "rematch" (no interests passed), the waiting session's own are read
 * from its m:, and the reply is "unchanged" unless it was paired.
 * Returns {status, pair record or '', to, entry, …}, and keeps that reply under r:<call id> so a
 * caller whose reply was lost can be told what happened.
 *
 * The rules are pairing-store.ts `enqueue`'s, step for step as memory-store.ts takes them: the
 * head of each interest's queue (qt:) and, only when none of them has a compatible session and
 * the caller accepts anyone, the head of qa (after moving the fallbacks that are due to it), each
 * read for at most `steps` entries. A leftover met on the way (its lease gone, or somehow paired)
 * is dropped and one whose outbox is full is lost, so a crashed instance's sessions are never
 * matched. The caller is live by definition, so its own lease is renewed first (it may have been
 * lost with Redis's data).
 */
export const ENQUEUE = `${OUTBOX}
local me, pair_id, pair_ttl, lease, reply_ttl = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local lang, fallback = ARGV[13], ARGV[14]
local recent_n, recent_ms, steps = tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ARGV[17])
local rematch = ARGV[18] == 'rematch'
local n = tonumber(ARGV[19])
local tags, tag_json = {}, {}
for i = 1, n do
  tags[i] = ARGV[19 + i]
  tag_json[i] = ARGV[19 + n + i]
end
local function answer(status, pair)
  local out = reply(status, pair)
  redis.call('SET', key('r:', pair_id), cjson.encode(out), 'PX', reply_ttl)
  return out
end

local q = prefix .. 'q'
local my_arrival
if rematch then
  -- A waiting session of the caller's, with its preferences as it queued them (see pairing-store.ts rematch).
  my_arrival = redis.call('ZSCORE', q, me)
  if not my_arrival or not redis.call('GET', key('s:', me)) then return answer('unchanged') end
  my_arrival = tonumber(my_arrival)
  local m = key('m:', me)
  lang = redis.call('HGET', m, 'l') or ''
  local order = redis.call('HGET', m, 'i') or ''
  for tag in string.gmatch(order, '[^\t]+') do
    n = n + 1
    tags[n] = tag
    tag_json[n] = redis.call('HGET', m, '#' .. tag)
  end
end
-- Attached by its transport: unknown means it was lost (Redis lost it, or its lease ran out while
-- this instance stalled), and its numbering would start over under its client.
if not redis.call('GET', key('s:', me)) then
  forget(me)
  return answer('lost')
end
hold(me, caller, lease)
local mine = redis.call('GET', key('p:', me))
if mine then return answer('already-paired', mine) end
if not rematch and redis.call('ZSCORE', q, me) then return answer('already-waiting') end
-- Whatever happens next appends one event to the caller's outbox.
local my_seq, my_held = room_for(me, overhead)
if not my_seq then
  forget(me)
  return answer('lost')
end

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local function is_recent(of, other)
  local at = redis.call('ZSCORE', key('h:', of), other)
  return at and tonumber(at) > now - recent_ms
end

-- Drops a leftover entry of queue (qa, or an interest's qt:, whose count follows).
local tag_queue = prefix .. 'qt:'
local function drop_entry(queue, other)
  if string.sub(queue, 1, #tag_queue) == tag_queue then
    leave_tag(string.sub(queue, #tag_queue + 1), other)
  else
    redis.call('ZREM', queue, other)
  end
end

-- {other, arrival, holder, seq, held} when the caller may be paired with this entry of queue.
local function compatible(queue, other)
  if other == me then return nil end
  local holder = redis.call('GET', key('s:', other))
  if not holder or redis.call('EXISTS', key('p:', other)) == 1 then
    -- A leftover: its lease ran out (a crashed instance), or it is somehow paired.
    unqueue(other)
    drop_entry(queue, other)
    return nil
  end
  local arrival = redis.call('ZSCORE', q, other)
  if not arrival then
    drop_entry(queue, other) -- no longer waiting: an entry its leaving missed
    return nil
  end
  local theirs = redis.call('HGET', key('m:', other), 'l')
  if lang ~= '' and theirs and theirs ~= lang then return nil end
  if is_recent(me, other) or is_recent(other, me) then return nil end
  if redis.call('SISMEMBER', key('b:', me), other) == 1 then return nil end
  if redis.call('SISMEMBER', key('b:', other), me) == 1 then return nil end
  local other_seq, other_held = room_for(other, overhead)
  if not other_seq then
    forget(other) -- stopped reading: lost
    return nil
  end
  return {other, tonumber(arrival), holder, other_seq, other_held}
end

local function first_compatible(queue)
  for _, other in ipairs(redis.call('ZRANGE', queue, 0, steps - 1)) do
    local found = compatible(queue, other)
    if found then return found end
  end
  return nil
end

-- Moves waiting sessions whose fallback has passed to qa, a bounded number per call.
local function mature()
  local due = prefix .. 'qf'
  for _, other in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, steps)) do
    redis.call('ZREM', due, other)
    local arrival = redis.call('ZSCORE', q, other)
    if arrival then
      redis.call('ZADD', prefix .. 'qa', arrival, other)
      redis.call('ZADD', prefix .. 'qm', now, other)
    end
  end
end

local best
local accepts = n == 0 or fallback == '0'
if rematch then
  mature()
  redis.call('ZREM', prefix .. 'qm', me)
  -- Only a session that accepts anyone now has anything new to look for.
  if not redis.call('ZSCORE', prefix .. 'qa', me) then return answer('unchanged') end
  best = first_compatible(prefix .. 'qa')
  if not best then return answer('unchanged') end
else
  -- The heads of the caller's interests' queues, merged by arrival: the first compatible entry is
  -- the longest-waiting compatible one among them (what taking each queue's first and the oldest
  -- of those would find), and a session waiting with several of them is checked once.
  local heads = {}
  for i = 1, n do
    local queue = tag_queue .. tags[i]
    local head = redis.call('ZRANGE', queue, 0, steps - 1, 'WITHSCORES')
    for j = 1, #head, 2 do heads[#heads + 1] = {tonumber(head[j + 1]), head[j], queue} end
  end
  if n > 1 then table.sort(heads, function(x, y) return x[1] < y[1] end) end
  local checked = {}
  for _, head in ipairs(heads) do
    if not checked[head[2]] then
      checked[head[2]] = true
      best = compatible(head[3], head[2])
      if best then break end
    end
  end
  if not best and accepts then
    mature()
    best = first_compatible(prefix .. 'qa')
  end
end

-- Keeps other as one of the last recent_n partners of of.
local function remember(of, other)
  local h = key('h:', of)
  redis.call('ZADD', h, now, other)
  redis.call('ZREMRANGEBYRANK', h, 0, -(recent_n + 1))
  expire_with(of, h)
end

-- Records the pair of polite and initiator (each {session, holder, seq, held}) and tells both,
-- the polite side first.
local function make_pair(polite, initiator, common)
  local pair = pair_id .. '\\n' .. initiator[1] .. '\\n' .. polite[1]
  redis.call('SET', key('p:', polite[1]), pair, 'PX', pair_ttl)
  redis.call('SET', key('p:', initiator[1]), pair, 'PX', pair_ttl)
  redis.call('ZADD', prefix .. 'pairs', now + tonumber(pair_ttl), pair_id)
  push(polite[1], polite[2], paired_event(pair_id, false, common), overhead, polite[3], polite[4])
  push(initiator[1], initiator[2], paired_event(pair_id, true, common), overhead, initiator[3], initiator[4])
  return answer('paired', pair)
end

if best then
  local other, holder, other_seq, other_held = best[1], best[3], best[4], best[5]
  -- The caller's interests the other has too, from the other's list in one read (not a call per tag).
  local common = {}
  local theirs = {}
  for tag in string.gmatch(redis.call('HGET', key('m:', other), 'i') or '', '[^\t]+') do theirs[tag] = true end
  for i = 1, n do
    if theirs[tags[i]] then common[#common + 1] = tag_json[i] end
  end
  common = '[' .. table.concat(common, ',') .. ']'
  unqueue(other)
  if rematch then unqueue(me) end
  remember(me, other)
  remember(other, me)
  -- The longer waiter initiates (in a join, the one that waits is always the longer). The polite
  -- side hears first: the initiator answers paired with an offer, which must not reach the polite
  -- side before its own paired where deliveries are unordered.
  local me_entry = {me, caller, my_seq, my_held}
  local other_entry = {other, holder, other_seq, other_held}
  if rematch and my_arrival < best[2] then
    return make_pair(other_entry, me_entry, common)
  end
  return make_pair(me_entry, other_entry, common)
end

local arrival = redis.call('INCR', prefix .. 'seq')
redis.call('ZADD', q, arrival, me)
local m = key('m:', me)
local fields = {'w', arrival, 'i', table.concat(tags, '\\t')}
if lang ~= '' then
  fields[#fields + 1] = 'l'
  fields[#fields + 1] = lang
end
for i = 1, n do
  fields[#fields + 1] = '#' .. tags[i]
  fields[#fields + 1] = tag_json[i]
  join_tag(tags[i], arrival, me)
end
redis.call('HSET', m, unpack(fields))
expire_with(me, m)
if accepts then
  redis.call('ZADD', prefix .. 'qa', arrival, me)
elseif fallback ~= '' then
  redis.call('ZADD', prefix .. 'qf', now + tonumber(fallback), me)
end
push(me, caller, '{"name":"waiting"}', overhead, my_seq, my_held)
return answer('waiting')
`;

/**
 * Relaying signals, for RELAY_SIGNALS. relay_signal returns {"not-paired", ''},
 * {"relayed", room, to, seq} or {"partner-gone", pair, to, entry}. The pair is read here, in the
 * same step as the append, so a signal never reaches a session that is no longer its sender's
 * partner; a sender the store no longer knows (lost) relays nothing. A partner that is gone or
 * whose outbox is full ends the pair, and the sender is told.
 * A relayed signal's reply names its seq, not its entry: the caller has the signal, and sending it
 * back would double the bytes each relay moves through the Redis socket.
 */
const RELAYING = `${OUTBOX}
-- alive: the caller has just seen the sender's s: key in this script.
local function relay_signal(me, signal, bytes, alive)
  local pair = redis.call('GET', key('p:', me))
  if not pair or not (alive or redis.call('GET', key('s:', me))) then return reply('not-paired') end
  local room, partner = parse_pair(pair, me)
  local seq = append(partner, '{"name":"signal","room":"' .. room .. '","signal":' .. signal .. '}', bytes)
  if seq then return {'relayed', room, partner, seq} end
  end_pair(me, pair, partner)
  append(me, partner_left_event(room, '"disconnect"'), overhead)
  return reply('partner-gone', pair)
end

-- Signal cseq (a number) takes its turn in its sender's order (SignalOrder), then is relayed as by
-- relay_signal ('' to skip the turn without relaying). Returns {"early"} when a predecessor has
-- not had its turn (the caller waits and asks again, with force at the end of its hold: then the
-- predecessors are given up on, up to max_missing, each still relayed once if it comes),
-- {"duplicate"} for a cseq whose turn was taken, {"skipped"}, or what relay_signal returns.
local function relay_in_turn(me, signal, bytes, cseq, force, max_missing)
  local ttl = redis.call('PTTL', key('s:', me))
  if ttl < 0 then return reply('not-paired') end
  local c = key('c:', me)
  -- c: always holds seq (push) or cseq (here) once it exists, so all three nil means it does not.
  local counters = redis.call('HMGET', c, 'cseq', 'missing', 'seq')
  local created = not counters[1] and not counters[3]
  local last = tonumber(counters[1] or '0')
  if cseq <= last then
    if redis.call('HDEL', c, 'm' .. cseq) == 0 then return reply('duplicate') end
    redis.call('HINCRBY', c, 'missing', -1)
  elseif cseq == last + 1 or force then
    local missing = tonumber(counters[2] or '0')
    for passed = last + 1, cseq - 1 do
      if missing >= max_missing then break end
      redis.call('HSET', c, 'm' .. passed, 1)
      missing = missing + 1
    end
    redis.call('HSET', c, 'cseq', cseq, 'missing', missing)
    -- A key this write created must expire with the session.
    if created then redis.call('PEXPIRE', c, ttl) end
  else
    return reply('early')
  end
  if signal == '' then return reply('skipped') end
  return relay_signal(me, signal, bytes, true)
end
`;

/**
 * ARGV: outbox context, MAX_MISSING_SIGNALS, then five for each signal of the batch: session,
 * signal JSON ('' to skip its turn without relaying), the bytes it counts, its cseq ('' for a
 * signal without one: relayed at once), force ("1" once the caller's hold ran out). The signals
 * of one event-loop turn, in the order they came (TurnBatch in turn-batch.ts), each as
 * relay_in_turn or relay_signal says; returns one reply per signal, in the same order.
 */
export const RELAY_SIGNALS = `${RELAYING}
local max_missing = tonumber(ARGV[8])
local replies = {}
for i = 9, #ARGV, 5 do
  -- Each signal's reply carries only the events its own relay appended.
  appended = {}
  local me, signal, bytes, cseq = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  if cseq == '' then
    replies[#replies + 1] = relay_signal(me, signal, bytes)
  else
    replies[#replies + 1] = relay_in_turn(me, signal, bytes, tonumber(cseq), ARGV[i + 4] == '1', max_missing)
  end
end
return replies
`;

/**
 * ARGV: outbox context, session, leave reason JSON, who is told ("partner", or "self" when the
 * partner is the one that is gone), "1" when the session blocks its partner. Ends the session's
 * pair for both sides; returns nil when there was none, else {"ended", pair, to, entry}.
 */
export const UNPAIR = `${OUTBOX}
local me, reason, tell, block = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local pair = redis.call('GET', key('p:', me))
if not pair then return false end
local room, partner = parse_pair(pair, me)
end_pair(me, pair, partner)
if block == '1' and redis.call('EXISTS', key('s:', me)) == 1 then
  redis.call('SADD', key('b:', me), partner)
  expire_with(me, key('b:', me))
end
local told = partner
if tell == 'self' then told = me end
append(told, partner_left_event(room, reason), overhead)
return reply('ended', pair)
`;

/**
 * ARGV: outbox context, reporter, room, window ms, max reports, retention ms, reporters window ms,
 * reason, details ('' for none), evidence JSON ('' for none). Files the report (see
 * PairingStore.fileReport). Returns {"not-in-room"}, {"already-reported"}, or {"filed", pair record
 * or '' (the pair it ended), report id, reporter subject, reported subject, partner, at, distinct
 * reporters, to, entry, …}.
 */
export const FILE_REPORT = `${OUTBOX}
local me, room = ARGV[8], ARGV[9]
local window, max_reports, retention, reporters_window = tonumber(ARGV[10]), ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])
local reason, details, evidence = ARGV[14], ARGV[15], ARGV[16]
if redis.call('EXISTS', key('s:', me)) == 0 then return {'not-in-room'} end
local ended = ''
local pair = redis.call('GET', key('p:', me))
if pair then
  local current, partner = parse_pair(pair, me)
  if current == room then
    end_pair(me, pair, partner)
    append(partner, partner_left_event(room, '"next"'), overhead)
    ended = pair
  end
end
local e = key('e:', me)
local entry = redis.call('HGET', e, room)
if not entry then return {'not-in-room'} end
local partner, reported, ended_at, flag = string.match(entry, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$')
local now = clock_ms()
if tonumber(ended_at) < now - window then return {'not-in-room'} end
if flag == '1' then return {'already-reported'} end
redis.call('HSET', e, room, partner .. '\t' .. reported .. '\t' .. ended_at .. '\t1')
redis.call('SADD', key('b:', me), partner)
expire_with(me, key('b:', me))
local reporter = redis.call('GET', key('u:', me)) or ''
local fields = {'room', room, 'reason', reason, 'reporter', reporter, 'reported', reported}
if details ~= '' then fields[#fields + 1] = 'details'; fields[#fields + 1] = details end
if evidence ~= '' then fields[#fields + 1] = 'evidence'; fields[#fields + 1] = evidence end
local reports = prefix .. 'reports'
local id = redis.call('XADD', reports, 'MAXLEN', '~', max_reports, '*', unpack(fields))
redis.call('XTRIM', reports, 'MINID', '~', now - retention)
local reporters = 0
if reported ~= '' then
  local rs = key('rs:', reported)
  local who = reporter
  if who == '' then who = 'session:' .. me end
  redis.call('ZADD', rs, now, who)
  redis.call('ZREMRANGEBYSCORE', rs, '-inf', now - reporters_window)
  redis.call('PEXPIRE', rs, reporters_window)
  reporters = redis.call('ZCARD', rs)
end
-- The report's time is its id's (XADD's clock may have passed into the next ms since \`now\`).
local out = {'filed', ended, id, reporter, reported, partner, string.match(id, '^(%d+)'), reporters}
for _, item in ipairs(appended) do out[#out + 1] = item end
return out
`;

/** ARGV: prefix, subject, ban JSON, until (ms), ttl (ms). Keeps the ban and announces it to every instance. */
export const BAN = `${SESSIONS}
local subject, ban, ends, ttl = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call('SET', key('ban:', subject), ban, 'PX', ttl)
local bans = prefix .. 'bans'
redis.call('ZADD', bans, ends, subject)
redis.call('ZREMRANGEBYSCORE', bans, '-inf', clock_ms())
redis.call('PUBLISH', bans, ban)
return 1
`;

/** ARGV: prefix, subject. Lifts its ban; returns 1 when it had one. */
export const UNBAN = `${SESSIONS}
redis.call('ZREM', prefix .. 'bans', ARGV[2])
return redis.call('DEL', key('ban:', ARGV[2]))
`;

/** ARGV: prefix, session. The ban of the subject behind the session, or nil. */
export const BAN_OF_SESSION = `${SESSIONS}
local subject = redis.call('GET', key('u:', ARGV[2]))
if not subject or subject == '' then return false end
return redis.call('GET', key('ban:', subject))
`;

/**
 * ARGV: prefix, session, window (its number), window ms. Counts one next/block of the session's
 * subject; returns {subject, count in the window}, or nil when the session has no subject.
 */
export const COUNT_SKIP = `${SESSIONS}
local subject = redis.call('GET', key('u:', ARGV[2]))
if not subject or subject == '' then return false end
local k = prefix .. 'sk:' .. ARGV[3] .. ':' .. subject
local count = redis.call('INCR', k)
if count == 1 then redis.call('PEXPIRE', k, ARGV[4]) end
return {subject, count}
`;

/**
 * ARGV: prefix, limit. Returns {online, waiting, pairs, top}, cluster-wide: the sessions and pairs
 * whose records have not expired (dropping the scores of those that have), the queue's length, and
 * the `limit` interests most waited on, as {tag, -count, …} (qtn): one O(log N + limit) read.
 */
export const STATS = `${SESSIONS}
local now = clock_ms()
local live, pairs = prefix .. 'live', prefix .. 'pairs'
redis.call('ZREMRANGEBYSCORE', live, '-inf', now)
redis.call('ZREMRANGEBYSCORE', pairs, '-inf', now)
return {
  redis.call('ZCARD', live),
  redis.call('ZCARD', prefix .. 'q'),
  redis.call('ZCARD', pairs),
  redis.call('ZRANGE', prefix .. 'qtn', 0, tonumber(ARGV[2]) - 1, 'WITHSCORES'),
}
`;

/** ARGV: prefix, session. Takes it off every queue; returns 1 when it was waiting. */
export const DEQUEUE = `${SESSIONS}
if unqueue(ARGV[2]) then return 1 end
return 0
`;

/** ARGV: prefix, session. Forgets it: its queue places, its outbox, its recent partners and blocks. */
export const RELEASE = `${SESSIONS}
forget(ARGV[2])
return 1
`;

/**
 * ARGV: prefix, then session, seq for each acknowledgement of the batch (those of one event-loop
 * turn: TurnBatch in turn-batch.ts). Each outbox forgets every event up to its seq, and their bytes.
 */
export const ACKNOWLEDGE = `${SESSIONS}
for i = 2, #ARGV, 2 do trim(ARGV[i], tonumber(ARGV[i + 1])) end
return 0
`;

/** ARGV: prefix, session, after. Returns nil for a session the store does not know, else its outbox after `after`. */
export const REPLAY = `${SESSIONS}
local me = ARGV[2]
if redis.call('EXISTS', key('s:', me)) == 0 then return false end
local out = {}
outbox_after(me, tonumber(ARGV[3]), out)
return out
`;

/**
 * ARGV: prefix, subject, connection, max, ttlMs. The connection is open for the subject (and no
 * longer for any other) until it is removed or ttlMs has passed; the subject keeps its newest max.
 */
export const ADD_SUBJECT_CONNECTION = `${SESSIONS}
local subject, connection, max, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local open, now = key('sc:', subject), clock_ms()
local before = redis.call('GET', key('cs:', connection))
if before and before ~= subject then redis.call('ZREM', key('sc:', before), connection) end
redis.call('ZREMRANGEBYSCORE', open, '-inf', now)
redis.call('ZADD', open, now + ttl, connection)
redis.call('SET', key('cs:', connection), subject, 'PX', ttl)
local over = redis.call('ZCARD', open) - max
if over > 0 then
  for _, oldest in ipairs(redis.call('ZRANGE', open, 0, over - 1)) do
    if redis.call('GET', key('cs:', oldest)) == subject then redis.call('DEL', key('cs:', oldest)) end
  end
  redis.call('ZREMRANGEBYRANK', open, 0, over - 1)
end
redis.call('PEXPIRE', open, ttl)
return 1
`;

/** ARGV: prefix, connection. Forgets the connection; returns the subject it was open for, or nil. */
export const REMOVE_SUBJECT_CONNECTION = `${SESSIONS}
local connection = ARGV[2]
local subject = redis.call('GET', key('cs:', connection))
if not subject then return false end
redis.call('DEL', key('cs:', connection))
if redis.call('ZREM', key('sc:', subject), connection) == 0 then return false end
return subject
`;

/** ARGV: prefix, subject. Its open connections whose time has not run out, oldest first. */
export const SUBJECT_CONNECTIONS = `${SESSIONS}
return redis.call('ZRANGEBYSCORE', key('sc:', ARGV[2]), '(' .. clock_ms(), '+inf')
`;
