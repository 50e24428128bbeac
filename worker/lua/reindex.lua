-- Index queued deliveries that Redis lost track of: a process died after writing a delivery's
-- row and before indexing it. A delivery already in its account's queue, or its account's
-- delivery in flight (released, not yet claimed), is left alone, so nothing is released twice.
--
-- KEYS[1]          outreach:accounts              ZSET account -> earliest time worth looking
-- KEYS[2i]         outreach:{<account i>}:queue   ZSET delivery id -> due time
-- KEYS[2i+1]       outreach:{<account i>}:pace    HASH (reads inflight)
-- ARGV[3i-2..3i]   delivery i (i = 1, 2, …): its account, id and due time
-- Returns          how many deliveries were indexed

local added = 0
for i = 1, #ARGV / 3 do
  local account, id, due = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  local queue, pace = KEYS[2 * i], KEYS[2 * i + 1]
  local in_queue = redis.call('ZSCORE', queue, id)
  local inflight = redis.call('HGET', pace, 'inflight')
  if not in_queue and inflight ~= id then
    redis.call('ZADD', queue, due, id)
    redis.call('ZADD', KEYS[1], 'LT', due, account)
    added = added + 1
  end
end
return added
