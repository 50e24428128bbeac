-- A read has ended: the account's next read waits the minimum gap from this end, so two reads
-- are that far apart as the provider sees them however long a request took (the slot taken in
-- take_read.lua only spaced their starts). Never moves the next read earlier.
--
-- KEYS[1]  outreach:{<account>}:pace  HASH (read_next)
-- ARGV[1]  when the read ended (epoch seconds)
-- ARGV[2]  the minimum gap between two reads, in seconds
-- Returns  the account's next read time

local after = tonumber(ARGV[1]) + tonumber(ARGV[2])
local read_next = tonumber(redis.call('HGET', KEYS[1], 'read_next') or '0') or 0
if after > read_next then
  redis.call('HSET', KEYS[1], 'read_next', after)
  read_next = after
end
return tostring(read_next)
