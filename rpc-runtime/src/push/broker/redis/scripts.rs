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

/// `now`, Redis's time in milliseconds: the processes' clocks need not agree.
macro_rules! now {
    () => {
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"
    };
}

/// A stream with no epoch (new, or lost with Redis's data) starts `epoch`, from offset 0,
/// forgetting whatever its history held. KEYS[1] the stream's hash, KEYS[2] its history.
macro_rules! start_epoch {
    () => {
        r"
if redis.call('HSETNX', KEYS[1], 'epoch', epoch) == 1 then
  redis.call('HSET', KEYS[1], 'top', 0)
  redis.call('DEL', KEYS[2])
end"
    };
}

/// Numbers a push to a group or topic with history, keeps it in the set's stream and
/// publishes it, in one step, so that what a member coming back reads and what is delivered
/// agree. A stream with no epoch (new, or lost with Redis's data) starts one, from offset 1.
/// KEYS[1] the stream's hash, KEYS[2] its history; ARGV[1] the frame's head, ARGV[2] the rest
/// after the offset, ARGV[3] the channel, ARGV[4] the publish command, ARGV[5] how many pushes
/// to keep, ARGV[6] for how long (ms), ARGV[7] an epoch, should the stream need one. Answers
/// how many processes heard.
pub(super) const APPEND: &str = concat!(
    "local epoch = ARGV[7]\n",
    start_epoch!(),
    r"
local offset = redis.call('HINCRBY', KEYS[1], 'top', 1)
local frame = ARGV[1] .. '.' .. offset .. ARGV[2]
",
    now!(),
    r"redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], offset .. '-0', 't', now, 'f', frame)
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return redis.call(ARGV[4], ARGV[3], frame)
"
);

/// Reads a stream's epoch and last offset, and the pushes it keeps after an offset, with
/// Redis's time (ms) to judge their age by; starts an epoch for a stream with none. KEYS[1]
/// the stream's hash, KEYS[2] its history; ARGV[1] the offset to read after (empty: read
/// none), ARGV[2] an epoch, should the stream need one. Answers `{epoch, top, entries, now}`.
pub(super) const READ: &str = concat!(
    "local epoch = ARGV[2]\n",
    start_epoch!(),
    r"
local stream = redis.call('HMGET', KEYS[1], 'epoch', 'top')
local entries = {}
if ARGV[1] ~= '' then
  entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+')
end
",
    now!(),
    r"return {stream[1], tonumber(stream[2]), entries, now}
"
);

/// One heartbeat, on Redis's clock so that the processes' clocks need not agree: marks this
/// node alive, and takes out those silent for longer than the timeout. Each dead node is
/// taken out by exactly one process, which then clears its memberships. KEYS[1] the nodes;
/// ARGV[1] this node, ARGV[2] the timeout in milliseconds. Answers whether this node was new
/// (the others had taken it out), how many nodes live, and the nodes to clear.
pub(super) const HEARTBEAT: &str = concat!(
    now!(),
    r"local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local cleared = {}
for _, node in ipairs(dead) do
  if redis.call('ZREM', KEYS[1], node) == 1 then
    table.insert(cleared, node)
  end
end
return {added, redis.call('ZCARD', KEYS[1]), cleared}
"
);
