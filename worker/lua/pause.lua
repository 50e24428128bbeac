-- Pause an account, unless a pause already in force ends later (an operator's, or a refused
-- account's "until resumed"): a shorter pause never cuts a longer one short.
--
-- KEYS[1]  outreach:{<account>}:pace   HASH paused_until, pause_reason
-- KEYS[2]  outreach:accounts           ZSET account -> earliest time worth looking
-- ARGV[1]  account
-- ARGV[2]  paused_until (epoch seconds)
-- ARGV[3]  reason
-- Returns  1 when the pause was set, 0 when a longer one stays

local current = tonumber(redis.call('HGET', KEYS[1], 'paused_until')) or 0
local wanted = tonumber(ARGV[2])
if wanted <= current then
  return 0
end
redis.call('HSET', KEYS[1], 'paused_until', ARGV[2], 'pause_reason', ARGV[3])
redis.call('ZADD', KEYS[2], wanted, ARGV[1])
return 1
