-- The in-flight delivery of an account is done with (for now): clear it, set the next pacing
-- slot, optionally put it back in the queue and pause the account, then tell the release index
-- when the account is next worth looking at.
--
-- The gap counts from `now`, after the provider call ended: the request has certainly left by
-- then, so the next one (released no earlier than now + gap) reaches the provider at least
-- `gap` after it, however long either spent between release and the wire.
--
-- KEYS[1]  outreach:accounts          ZSET account -> earliest time worth looking
-- KEYS[2]  outreach:inflight          ZSET account -> release time of its in-flight delivery
-- KEYS[3]  outreach:{<account>}:pace   HASH
-- KEYS[4]  outreach:{<account>}:queue  ZSET delivery id -> due time
-- ARGV[1]  account
-- ARGV[2]  delivery id
-- ARGV[3]  gap in seconds from now until the account's next send
-- ARGV[4]  due time to put the delivery back in the queue with, or '' to leave it out
-- ARGV[5]  paused_until (epoch seconds), or '' to leave the pause as it is; a pause that
--          ends sooner than the one in force is ignored
-- ARGV[6]  pause reason
-- ARGV[7]  now (epoch seconds)
-- ARGV[8]  the account's gap bag after this draw (see worker.policy.draw_gap)
-- ARGV[9]  channel to publish a wake-up on, for schedulers sleeping until the next due time
-- ARGV[10] the send's step of the account's breaker (see worker.policy.decide_send):
--          'reset' clears breaker_failures and breaker_trips, 'count' adds one failure,
--          'trip' adds one failure and one trip, '' leaves them
-- Returns  1, or 0 when the delivery was not the one in flight (nothing changed)

if redis.call('HGET', KEYS[3], 'inflight') ~= ARGV[2] then
  return 0
end
local now = tonumber(ARGV[7])
local next_at = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[3], 'inflight', '', 'next_at', next_at, 'gap_bag', ARGV[8])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[4], tonumber(ARGV[4]), ARGV[2])
end
if ARGV[10] == 'reset' then
  redis.call('HSET', KEYS[3], 'breaker_failures', 0, 'breaker_trips', 0)
elseif ARGV[10] == 'count' or ARGV[10] == 'trip' then
  redis.call('HINCRBY', KEYS[3], 'breaker_failures', 1)
  if ARGV[10] == 'trip' then
    redis.call('HINCRBY', KEYS[3], 'breaker_trips', 1)
  end
end
-- A pause never shortens one already in force (an operator's, or a refused account's).
local current_pause = tonumber(redis.call('HGET', KEYS[3], 'paused_until')) or 0
if ARGV[5] ~= '' and tonumber(ARGV[5]) > current_pause then
  redis.call('HSET', KEYS[3], 'paused_until', ARGV[5], 'pause_reason', ARGV[6])
end
local paused_until = tonumber(redis.call('HGET', KEYS[3], 'paused_until')) or 0
local head = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if #head > 0 then
  redis.call('ZADD', KEYS[1], math.max(next_at, paused_until, tonumber(head[2])), ARGV[1])
  redis.call('PUBLISH', ARGV[9], ARGV[1])
end
return 1
