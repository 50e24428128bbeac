-- Release due deliveries: at most one per account per call, only when the account has nothing
-- in flight, is not paused, and its pacing gap has passed. Accounts come out in order of when
-- they became eligible, so none starves another; the cost is O(limit * log n), whatever the
-- backlog.
--
-- KEYS[1]  outreach:accounts   ZSET account -> earliest time worth looking
-- KEYS[2]  outreach:inflight   ZSET account -> release time of its in-flight delivery
-- ARGV[1]  now (epoch seconds)
-- ARGV[2]  how many accounts to look at, at most
-- ARGV[3]  key prefix: the account's queue is <prefix>:queue:<account>, its state
--          <prefix>:pace:<account> (HASH inflight, inflight_since, inflight_due, next_at,
--          paused_until)
-- Returns  a flat list of triples: account, delivery id, when it became releasable (its score)

local now = tonumber(ARGV[1])
local prefix = ARGV[3]
local released = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0,
                      tonumber(ARGV[2]))
for i = 1, #due, 2 do
  local account, eligible_at = due[i], due[i + 1]
  local pace = prefix .. ':pace:' .. account
  local queue = prefix .. ':queue:' .. account
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
      redis.call('HSET', pace, 'inflight', head[1], 'inflight_since', now, 'inflight_due', head[2])
      redis.call('ZREM', KEYS[1], account)
      redis.call('ZADD', KEYS[2], now, account)
      released[#released + 1] = account
      released[#released + 1] = head[1]
      released[#released + 1] = math.max(tonumber(eligible_at), tonumber(head[2])) .. ''

    end
  end
end
return released
