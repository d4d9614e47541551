/**
 * Lua scripts of the Redis bus, one per operation. Each touches keys of one
 * topic only (all keys share the `{topic}` hash tag, so they also run on a
 * cluster). Loaded with `defineCommand` (EVALSHA, falling back to EVAL).
 *
 * Fencing: a delivery is owned by (consumer name, times delivered) of its
 * entry in the group's pending-entries list. Every script that settles or
 * renews a delivery first checks, with `XPENDING key group id id 1`, that the
 * entry is still pending for this consumer with this delivery's count; when
 * it is not (the lease expired and another consumer, or a later delivery,
 * claimed it), the script does nothing and reports the delivery as fenced.
 */

/** `held(stream, group, id, consumer, times)`: does this delivery still own the entry? */
const HELD = `
local function held(stream, group, id, consumer, times)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  local e = p[1]
  return e ~= nil and e[2] == consumer and tonumber(e[4]) == tonumber(times)
end
`;

/**
 * Publish, bounded in time and size. KEYS: topic stream.
 * ARGV: deadline (server epoch ms), maxLen (0 = no limit), data.
 * A publish the client stopped waiting for (its bound passed, e.g. queued
 * while disconnected and sent on reconnect) is refused, so a caller told
 * BUS_UNAVAILABLE never has the work run later. A stream at `maxLen` refuses
 * new entries instead of trimming unread ones. Returns the length after the add.
 */
export const PUBLISH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[1]) then return redis.error_reply('PFLATE publish arrived after its deadline') end
local limit = tonumber(ARGV[2])
local len = redis.call('XLEN', KEYS[1])
if limit > 0 and len >= limit then return redis.error_reply('PFFULL ' .. len) end
redis.call('XADD', KEYS[1], '*', 'd', ARGV[3])
return len + 1
`;

/**
 * Ack many. KEYS: topic stream, group retry stream. ARGV: group, consumer,
 * then (stream index 1|2, entry id, times delivered) per delivery.
 * Acks (and, on the retry stream, deletes) each entry this consumer still
 * owns; returns the positions (1-based) of the fenced ones.
 */
export const ACK = `${HELD}
local fenced = {}
local n = 0
for i = 3, #ARGV, 3 do
  n = n + 1
  local key = KEYS[tonumber(ARGV[i])]
  if held(key, ARGV[1], ARGV[i + 1], ARGV[2], ARGV[i + 2]) then
    redis.call('XACK', key, ARGV[1], ARGV[i + 1])
    if key == KEYS[2] then redis.call('XDEL', key, ARGV[i + 1]) end
  else
    fenced[#fenced + 1] = n
  end
end
return fenced
`;

/**
 * Renew many (the lease follows the work). Same KEYS and ARGV as {@link ACK}.
 * `XCLAIM … <me> 0 <id> JUSTID` by the owner resets the entry's idle time
 * without bumping its delivery count. Returns the fenced positions.
 */
export const EXTEND = `${HELD}
local fenced = {}
local n = 0
for i = 3, #ARGV, 3 do
  n = n + 1
  local key = KEYS[tonumber(ARGV[i])]
  if held(key, ARGV[1], ARGV[i + 1], ARGV[2], ARGV[i + 2]) then
    redis.call('XCLAIM', key, ARGV[1], ARGV[2], 0, ARGV[i + 1], 'JUSTID')
  else
    fenced[#fenced + 1] = n
  end
end
return fenced
`;

/**
 * Takes over expired leases, each by its holder's own lease. KEYS: stream,
 * the group's lease hash (consumer → leaseMs, written by every live
 * consumer). ARGV: group, me, default lease ms (for consumers that did not
 * register one), most entries to claim. For each consumer of the group with
 * pending entries, claims those idle longer than that consumer's lease
 * (`XCLAIM … RETRYCOUNT n+1`, so the count is known). Consumers idle for an
 * hour with nothing pending are removed. Returns `{id, fields, times}` per claimed entry.
 */
export const RECLAIM = `
local out = {}
local left = tonumber(ARGV[4])
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  if left <= 0 then break end
  local name, pending, idle
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'pending' then pending = tonumber(c[i + 1]) elseif c[i] == 'idle' then idle = tonumber(c[i + 1]) end
  end
  if pending > 0 then
    local lease = tonumber(redis.call('HGET', KEYS[2], name) or ARGV[3])
    for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', lease, '-', '+', left, name)) do
      local times = tonumber(p[4]) + 1
      local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], lease, p[1], 'RETRYCOUNT', times)
      local e = claimed[1]
      if type(e) == 'table' and type(e[2]) == 'table' then
        out[#out + 1] = {e[1], e[2], times}
        left = left - 1
      end
    end
  elseif idle ~= nil and idle > 3600000 and name ~= ARGV[2] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    redis.call('HDEL', KEYS[2], name)
  end
end
return out
`;

/**
 * Nack with retry. KEYS: source stream, group retry stream, group delay zset.
 * ARGV: group, consumer, entry id, times delivered, data, deliveries so far,
 * due (epoch ms; 0 = now). When this delivery still owns the entry: acks it
 * and re-adds it (with its count) to the group's retry stream, at once or,
 * with a delay, via the zset (member `count|id|data`). Returns 1, or 0 when fenced.
 */
export const NACK_RETRY = `${HELD}
if not held(KEYS[1], ARGV[1], ARGV[3], ARGV[2], ARGV[4]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
if KEYS[1] == KEYS[2] then redis.call('XDEL', KEYS[1], ARGV[3]) end
if tonumber(ARGV[7]) == 0 then
  redis.call('XADD', KEYS[2], '*', 'd', ARGV[5], 'n', ARGV[6])
else
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[6] .. '|' .. ARGV[3] .. '|' .. ARGV[5])
end
return 1
`;

/**
 * Dead-letter. KEYS: source stream, dead-letter stream, group retry stream.
 * ARGV: group, consumer, entry id, times delivered, data, deliveries, error
 * code, error message, dead-at ms, undecodable flag ('1'/'0'), dead-letter maxLen.
 * Returns 1, or 0 when fenced.
 */
export const DEAD_LETTER = `${HELD}
if not held(KEYS[1], ARGV[1], ARGV[3], ARGV[2], ARGV[4]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
if KEYS[1] == KEYS[3] then redis.call('XDEL', KEYS[1], ARGV[3]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[11], '*', 'd', ARGV[5], 'g', ARGV[1], 'n', ARGV[6],
  'c', ARGV[7], 'm', ARGV[8], 't', ARGV[9], 'x', ARGV[10])
return 1
`;

/**
 * Moves due delayed retries into the group's retry stream. KEYS: delay zset,
 * group retry stream. ARGV: now ms, batch size. Returns the next due score
 * (or -1 when the zset is empty). Retry streams are never trimmed: each entry
 * is deleted when acked.
 */
export const PROMOTE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local a = string.find(member, '|', 1, true)
  local b = string.find(member, '|', a + 1, true)
  redis.call('XADD', KEYS[2], '*', 'd', string.sub(member, b + 1), 'n', string.sub(member, 1, a - 1))
  redis.call('ZREM', KEYS[1], member)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #nxt == 0 then return -1 end
return tonumber(nxt[2])
`;

/**
 * Puts a dead letter back with a fresh count (`n` 0: its next delivery is 1).
 * KEYS: dead-letter stream, key prefix of the topic's group retry streams
 * (`…:r:`), topic stream. ARGV: dead-letter id.
 * Returns 0 when the id is unknown or its group no longer exists.
 */
export const RETRY_DEAD = `
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local fields = found[1][2]
local data, group
for i = 1, #fields, 2 do
  if fields[i] == 'd' then data = fields[i + 1] end
  if fields[i] == 'g' then group = fields[i + 1] end
end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local exists = false
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[3])) do
  for i = 1, #g, 2 do
    if g[i] == 'name' and g[i + 1] == group then exists = true end
  end
end
if not exists then return 0 end
redis.call('XADD', KEYS[2] .. group, '*', 'd', data, 'n', '0')
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
`;

/** Deletes dead letters. KEYS: dead-letter stream. ARGV: ids (none = all). Returns how many were deleted. */
export const PURGE_DEAD = `
if #ARGV == 0 then
  local n = redis.call('XLEN', KEYS[1])
  redis.call('DEL', KEYS[1])
  return n
end
local n = 0
for i = 1, #ARGV, 500 do
  n = n + redis.call('XDEL', KEYS[1], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
return n
`;
