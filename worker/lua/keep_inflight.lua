-- A worker still holds an account's in-flight delivery (it has the provider's answer and is
-- waiting for the database to record it): move its release time forward, so the scheduler's
-- sweep does not take the send for a silent one and mark it unknown meanwhile.
--
-- KEYS[1]  outreach:inflight           ZSET account -> release time of its in-flight delivery
-- KEYS[2]  outreach:{<account>}:pace   HASH (inflight)
-- ARGV[1]  account
-- ARGV[2]  delivery id
-- ARGV[3]  now (epoch seconds)
-- Returns  1, or 0 when the delivery is no longer the one in flight (nothing changed)

if redis.call('HGET', KEYS[2], 'inflight') ~= ARGV[2] then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[3]), ARGV[1])
return 1
