-- Release due deliveries: at most one per account per call, only when the account has nothing
-- in flight, is not paused, and its pacing gap has passed. The caller names the accounts to
-- look at (those the index says are due, in the order they became eligible, so none starves
-- another); each is checked again here, so two schedulers naming the same account release it
-- once. The cost is O(accounts * log n), whatever the backlog.
--
-- KEYS[1]          outreach:accounts          ZSET account -> earliest time worth looking
-- KEYS[2]          outreach:inflight          ZSET account -> release time of its in-flight one
-- KEYS[2i+1]       outreach:{<account i>}:pace   HASH inflight, inflight_since, inflight_due,
--                                                  next_at, paused_until
-- KEYS[2i+2]       outreach:{<account i>}:queue  ZSET delivery id -> due time
-- ARGV[1]          now (epoch seconds)
-- ARGV[i+1]        account i (i = 1, 2, …), the one whose keys are KEYS[2i+1] and KEYS[2i+2]
-- Returns          a flat list of triples: account, delivery id, when it became releasable

local now = tonumber(ARGV[1])
local released = {}
for i = 1, #ARGV - 1 do
  local account = ARGV[i + 1]
  local pace, queue = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local eligible_at = tonumber(redis.call('ZSCORE', KEYS[1], account))
  if eligible_at and eligible_at <= now then
    local state = redis.call('HMGET', pace, 'inflight', 'next_at', 'paused_until')
    local next_at = tonumber(state[2]) or 0
    local paused_until = tonumber(state[3]) or 0
    if state[1] and state[1] ~= '' then
      redis.call('ZREM', KEYS[1], account)  -- finishing the in-flight send puts it back
    elseif paused_until > now then
      redis.call('ZADD', KEYS[1], paused_until, account)
    elseif next_at > now then
      redis.call('ZADD', KEYS[1], next_at, account)
    else
      local head = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
      if #head == 0 then
        redis.call('ZREM', KEYS[1], account)
      elseif tonumber(head[2]) > now then
        redis.call('ZADD', KEYS[1], head[2], account)
      else
        redis.call('ZREM', queue, head[1])
        redis.call('HSET', pace, 'inflight', head[1], 'inflight_since', now,
                   'inflight_due', head[2])
        redis.call('ZREM', KEYS[1], account)
        redis.call('ZADD', KEYS[2], now, account)
        released[#released + 1] = account
        released[#released + 1] = head[1]
        released[#released + 1] = math.max(eligible_at, tonumber(head[2])) .. ''
      end
    end
  end
end
return released
