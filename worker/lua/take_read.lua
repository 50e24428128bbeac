-- Take a read slot for an account: reads (a conversation, an inbox page) are LinkedIn activity
-- too, so one sender's reads are at least a minimum gap apart, and none is made while the
-- account is paused. Independent of the send pacing: a read neither waits for nor moves it.
--
-- KEYS[1]  outreach:{<account>}:pace  HASH (read_next, paused_until)
-- ARGV[1]  now (epoch seconds)
-- ARGV[2]  the minimum gap between two reads, in seconds
-- Returns  {'ok', now} when the read may go now (the next one not before now + gap);
--          {'wait', t} when the account's next read may go at t;
--          {'paused', t} when the account is paused until t

local now = tonumber(ARGV[1])
local paused_until = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0') or 0
if paused_until > now then
  return {'paused', tostring(paused_until)}
end
local read_next = tonumber(redis.call('HGET', KEYS[1], 'read_next') or '0') or 0
if read_next > now then
  return {'wait', tostring(read_next)}
end
redis.call('HSET', KEYS[1], 'read_next', now + tonumber(ARGV[2]))
return {'ok', tostring(now)}
