//! The steps the broker needs Redis to take in one piece.

/// Keeps a topic's retained value and publishes it, numbered, in one step: the number orders
/// the values however their publishes and a first subscriber's read of the kept one meet.
/// KEYS[1] the retained hash; ARGV[1] the frame's head (`rNODE`), ARGV[2] the rest after the
/// number, ARGV[3] the channel, ARGV[4] the publish command. Answers how many processes heard.
pub(super) const RETAIN: &str = r"
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local frame = ARGV[1] .. '.' .. seq .. ARGV[2]
redis.call('HSET', KEYS[1], 'frame', frame)
return redis.call(ARGV[4], ARGV[3], frame)
";

/// One heartbeat, on Redis's clock so that the processes' clocks need not agree: marks this
/// node alive, and takes out those silent for longer than the timeout. Each dead node is
/// taken out by exactly one process, which then clears its memberships. KEYS[1] the nodes;
/// ARGV[1] this node, ARGV[2] the timeout in milliseconds. Answers whether this node was new
/// (the others had taken it out), how many nodes live, and the nodes to clear.
pub(super) const HEARTBEAT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local cleared = {}
for _, node in ipairs(dead) do
  if redis.call('ZREM', KEYS[1], node) == 1 then
    table.insert(cleared, node)
  end
end
return {added, redis.call('ZCARD', KEYS[1]), cleared}
";
