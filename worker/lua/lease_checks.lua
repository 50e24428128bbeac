-- Take the OutX status checks that are due, leasing each rather than removing it: a check
-- whose task is lost (a crash between here and the worker) comes due again when the lease ends.
--
-- KEYS[1]  outreach:checks  ZSET delivery id -> when to check
-- ARGV[1]  now (epoch seconds)
-- ARGV[2]  how many, at most
-- ARGV[3]  lease in seconds
-- Returns  the delivery ids taken

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local lease_end = tonumber(ARGV[1]) + tonumber(ARGV[3])
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], lease_end, id)
end
return due
