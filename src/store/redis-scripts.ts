/**
 * The Redis store's atomic steps, one Lua script each (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/).
 * Scripts build their keys from the prefix passed in ARGV, so they need a single Redis primary
 * (a managed Redis, Upstash, ElastiCache non-cluster); Redis Cluster is not supported.
 *
 * Keys, for a prefix P:
 *   P s:<session>  STRING  owner instance id, or "detached" / "detached-waiting" (dropped while queued);
 *                          PX = lease (live) or grace (detached)
 *   P p:<session>  STRING  "<pairId>\n<initiator>\n<polite>", one per member; PX = lease + grace, renewed
 *   P q            ZSET    waiting sessions, scored by arrival (P seq): the FIFO queue
 *   P seq          STRING  arrival counter
 * A session with no `s:` key is gone: never matched, and its partner is told by heartbeat.
 */

/** Parses a pair record and names the member that is not `me`. */
const PARSE_PAIR = `
local function partner_in(pair, me)
  local _, a, b = string.match(pair, '^([^\\n]*)\\n([^\\n]*)\\n([^\\n]*)$')
  if a == me then return b end
  return a
end
`;

/**
 * ARGV: prefix, session, owner, leaseMs, pairTtlMs, resume ("1"/"0").
 * Returns nil (unknown) or {status[, pair]}; status "requeue" is an idle session dropped while waiting.
 */
export const ATTACH = `
local prefix, me = ARGV[1], ARGV[2]
local s = prefix .. 's:' .. me
local previous = redis.call('GET', s)
if ARGV[6] == '1' and not previous then return false end
redis.call('SET', s, ARGV[3], 'PX', ARGV[4])
local p = prefix .. 'p:' .. me
local pair = redis.call('GET', p)
if pair then
  redis.call('PEXPIRE', p, ARGV[5])
  return {'paired', pair}
end
if redis.call('ZSCORE', prefix .. 'q', me) then return {'waiting'} end
if previous == 'detached-waiting' then return {'requeue'} end
return {'idle'}
`;

/** ARGV: prefix, session, graceMs, pairTtlMs. */
export const DETACH = `
local prefix, me = ARGV[1], ARGV[2]
local was_waiting = redis.call('ZREM', prefix .. 'q', me) == 1
local s = prefix .. 's:' .. me
if redis.call('EXISTS', s) == 1 then
  redis.call('SET', s, was_waiting and 'detached-waiting' or 'detached', 'PX', ARGV[3])
end
redis.call('PEXPIRE', prefix .. 'p:' .. me, ARGV[4])
return 1
`;

/** ARGV: prefix, owner, leaseMs, pairTtlMs, session… Returns the sessions whose partner is gone. */
export const HEARTBEAT = `${PARSE_PAIR}
local prefix, owner, lease, pair_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local orphans = {}
for i = 5, #ARGV do
  local me = ARGV[i]
  redis.call('SET', prefix .. 's:' .. me, owner, 'PX', lease)
  local p = prefix .. 'p:' .. me
  local pair = redis.call('GET', p)
  if pair then
    redis.call('PEXPIRE', p, pair_ttl)
    if redis.call('EXISTS', prefix .. 's:' .. partner_in(pair, me)) == 0 then
      orphans[#orphans + 1] = me
    end
  end
end
return orphans
`;

/**
 * ARGV: prefix, session, new pair id, pairTtlMs, owner, leaseMs. Returns {status[, pair]}.
 * Pops the longest-waiting session; one whose lease is gone (or that is somehow paired) is dropped
 * and the next is tried, so a crashed instance's leftovers are never matched. The caller is live
 * by definition, so its own lease is renewed first (it may have been lost with Redis's data).
 */
export const ENQUEUE = `
local prefix, me = ARGV[1], ARGV[2]
redis.call('SET', prefix .. 's:' .. me, ARGV[5], 'PX', ARGV[6])
local q = prefix .. 'q'
local mine = redis.call('GET', prefix .. 'p:' .. me)
if mine then return {'already-paired', mine} end
if redis.call('ZSCORE', q, me) then return {'already-waiting'} end
while true do
  local head = redis.call('ZRANGE', q, 0, 0)
  local other = head[1]
  if not other then break end
  redis.call('ZREM', q, other)
  if other ~= me
    and redis.call('EXISTS', prefix .. 's:' .. other) == 1
    and redis.call('EXISTS', prefix .. 'p:' .. other) == 0 then
    local pair = ARGV[3] .. '\\n' .. other .. '\\n' .. me
    redis.call('SET', prefix .. 'p:' .. other, pair, 'PX', ARGV[4])
    redis.call('SET', prefix .. 'p:' .. me, pair, 'PX', ARGV[4])
    return {'paired', pair}
  end
end
redis.call('ZADD', q, redis.call('INCR', prefix .. 'seq'), me)
return {'waiting'}
`;

/** ARGV: prefix, session. Deletes both members' records of the session's pair; returns it or nil. */
export const UNPAIR = `${PARSE_PAIR}
local prefix, me = ARGV[1], ARGV[2]
local pair = redis.call('GET', prefix .. 'p:' .. me)
if not pair then return false end
redis.call('DEL', prefix .. 'p:' .. me)
local other = prefix .. 'p:' .. partner_in(pair, me)
-- Only the same pair: never a record the partner may hold for a later one.
if redis.call('GET', other) == pair then redis.call('DEL', other) end
return pair
`;
