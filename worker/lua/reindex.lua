-- Index queued deliveries that Redis lost track of: a process died after writing a delivery's
-- row and before indexing it. A delivery already in its account's queue, or its account's
-- delivery in flight (released, not yet claimed), is left alone, so nothing is released twice.
--
-- KEYS[1]  outreach:accounts   ZSET account -> earliest time worth looking
-- ARGV[1]  key prefix (<prefix>:queue:<account>, <prefix>:pace:<account>)
-- ARGV[2…] triples: account, delivery id, due time
-- Returns  how many deliveries were indexed

local prefix = ARGV[1]
local added = 0
for i = 2, #ARGV, 3 do
  local account, id, due = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local queue = prefix .. ':queue:' .. account
  local in_queue = redis.call('ZSCORE', queue, id)
  local inflight = redis.call('HGET', prefix .. ':pace:' .. account, 'inflight')
  if not in_queue and inflight ~= id then
    redis.call('ZADD', queue, due, id)
    redis.call('ZADD', KEYS[1], 'LT', due, account)
    added = added + 1
  end
end
return added
