/**
 * Lua scripts of the Redis bus, one per operation. Each touches keys of one
 * topic only (all keys share the `{topic}` hash tag, so they also run on a
 * cluster). Loaded with `defineCommand` (EVALSHA, falling back to EVAL).
 */

/**
 * Nack with retry. KEYS: source stream, group retry stream, group delay zset.
 * ARGV: group, entry id, data, deliveries so far, due (epoch ms; 0 = now), maxLen.
 * Acks the entry and re-adds it (with its count) to the group's retry stream,
 * at once or, with a delay, via the zset (member `count|id|data`).
 */
export const NACK_RETRY = `
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if KEYS[1] == KEYS[2] then redis.call('XDEL', KEYS[1], ARGV[2]) end
if tonumber(ARGV[5]) == 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'd', ARGV[3], 'n', ARGV[4])
else
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4] .. '|' .. ARGV[2] .. '|' .. ARGV[3])
end
return 1
`;

/**
 * Dead-letter. KEYS: source stream, dead-letter stream, group retry stream.
 * ARGV: group, entry id, data, deliveries, error code, error message, dead-at ms,
 * undecodable flag ('1'/'0'), maxLen.
 */
export const DEAD_LETTER = `
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if KEYS[1] == KEYS[3] then redis.call('XDEL', KEYS[1], ARGV[2]) end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*', 'd', ARGV[3], 'g', ARGV[1], 'n', ARGV[4],
  'c', ARGV[5], 'm', ARGV[6], 't', ARGV[7], 'x', ARGV[8])
`;

/**
 * Moves due delayed retries into the group's retry stream. KEYS: delay zset,
 * group retry stream. ARGV: now ms, batch size, maxLen. Returns the next due
 * score (or -1 when the zset is empty).
 */
export const PROMOTE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local a = string.find(member, '|', 1, true)
  local b = string.find(member, '|', a + 1, true)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'd', string.sub(member, b + 1), 'n', string.sub(member, 1, a - 1))
  redis.call('ZREM', KEYS[1], member)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #nxt == 0 then return -1 end
return tonumber(nxt[2])
`;

/**
 * Puts a dead letter back. KEYS: dead-letter stream, key prefix of the topic's
 * group retry streams (`…:r:`). ARGV: dead-letter id, maxLen.
 * Returns 0 when the id is unknown.
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
redis.call('XADD', KEYS[2] .. group, 'MAXLEN', '~', ARGV[2], '*', 'd', data, 'n', '0')
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
`;
