//! Where each key and channel lives: on the one Redis, or on the master of a Redis Cluster
//! that serves its slot. The session sends every command through here, so it reads the same
//! for both; only the pub/sub commands differ (a cluster's are the sharded ones, `SPUBLISH`
//! and `SSUBSCRIBE`, so that a channel lives on one shard instead of being broadcast to all).
//!
//! Not the redis crate's cluster client: it subscribes again by itself after a reconnect or a
//! topology change, so the pushes missed in between would go uncounted, and its pipelines
//! must stay within one slot. Here a pipeline goes to each master at once, and anything that
//! goes wrong (a master lost, a `MOVED` answer, a slot taken away) ends the session, which
//! reads the topology anew and subscribes again, counting what it could not send.

use futures_util::future::try_join_all;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, ErrorKind, FromRedisValue,
    Pipeline, RedisError, RedisResult, Value,
};

/// The number of slots of a Redis Cluster.
const SLOTS: u16 = 16_384;

/// What a broker connects to.
#[derive(Clone)]
pub(super) enum Target {
    Single(ConnectionInfo),
    /// Nodes of a Redis Cluster: the first that answers says where the masters are.
    Cluster(Vec<ConnectionInfo>),
}

impl Target {
    /// Where, without passwords: for errors.
    pub(super) fn describe(&self) -> String {
        match self {
            Target::Single(info) => format!("Redis at {}", info.addr()),
            Target::Cluster(seeds) => {
                let seeds: Vec<String> = seeds.iter().map(|seed| seed.addr().to_string()).collect();
                format!("the Redis Cluster at {}", seeds.join(", "))
            }
        }
    }
}

/// A connection to every master, and which one serves each key.
pub(super) struct Shards {
    /// The masters, in the order `slots` names them: one for a single Redis.
    masters: Vec<ConnectionInfo>,
    conns: Vec<MultiplexedConnection>,
    /// On a cluster, the master serving each slot; empty on a single Redis.
    slots: Vec<u16>,
}

impl Shards {
    /// Connects to the one Redis, or to each master of the cluster as the first seed that
    /// answers lists them (`known` masters after the seeds: the cluster may have moved on
    /// from the seeds it was first reached through).
    pub(super) async fn open(
        target: &Target,
        known: &[ConnectionInfo],
        config: &AsyncConnectionConfig,
    ) -> RedisResult<Shards> {
        let seeds = match target {
            Target::Single(info) => {
                let mut conn = connect(info, config).await?;
                refuse_cluster_node(&mut conn).await?;
                return Ok(Shards {
                    masters: vec![info.clone()],
                    conns: vec![conn],
                    slots: Vec::new(),
                });
            }
            Target::Cluster(seeds) => seeds,
        };
        let mut last = RedisError::from((ErrorKind::InvalidClientConfig, "no cluster node given"));
        for seed in seeds.iter().chain(known) {
            match Shards::open_cluster(seed, config).await {
                Ok(shards) => return Ok(shards),
                Err(err) => last = err,
            }
        }
        Err(last)
    }

    async fn open_cluster(
        seed: &ConnectionInfo,
        config: &AsyncConnectionConfig,
    ) -> RedisResult<Shards> {
        let mut conn = connect(seed, config).await?;
        let reply = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query_async(&mut conn)
            .await?;
        let (masters, slots) = slot_map(seed, reply)?;
        let mut shards = Shards {
            masters,
            conns: Vec::new(),
            slots,
        };
        shards.conns = shards.connect(config).await?;
        Ok(shards)
    }

    /// A new connection to every master, in order, made with `config`: the subscriptions'
    /// connections, whose config carries where their messages go.
    pub(super) async fn connect(
        &self,
        config: &AsyncConnectionConfig,
    ) -> RedisResult<Vec<MultiplexedConnection>> {
        try_join_all(self.masters.iter().map(|master| connect(master, config))).await
    }

    pub(super) fn masters(&self) -> &[ConnectionInfo] {
        &self.masters
    }

    /// The master serving `key` (or a sharded channel).
    pub(super) fn of(&self, key: &str) -> usize {
        if !self.sharded() {
            return 0;
        }
        // A slot is below 16,384, the map's length.
        usize::from(self.slots[usize::from(slot(key.as_bytes()))])
    }

    /// The command connection to `key`'s master.
    pub(super) fn conn(&self, key: &str) -> MultiplexedConnection {
        self.conns[self.of(key)].clone()
    }

    /// Whether channels are sharded: on a cluster, a channel lives on its slot's master, as
    /// keys do.
    pub(super) fn sharded(&self) -> bool {
        !self.slots.is_empty()
    }

    pub(super) fn publish(&self) -> &'static str {
        if self.sharded() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    pub(super) fn subscribe(&self) -> &'static str {
        if self.sharded() {
            "SSUBSCRIBE"
        } else {
            "SUBSCRIBE"
        }
    }

    pub(super) fn unsubscribe(&self) -> &'static str {
        if self.sharded() {
            "SUNSUBSCRIBE"
        } else {
            "UNSUBSCRIBE"
        }
    }

    /// Commands for the command connections.
    pub(super) fn batch(&self) -> Batch<'_> {
        self.batch_on(&self.conns)
    }

    /// Commands for `conns`, one per master in order (the subscriptions' connections).
    pub(super) fn batch_on<'a>(&'a self, conns: &'a [MultiplexedConnection]) -> Batch<'a> {
        Batch {
            shards: self,
            conns,
            pipes: vec![Pipeline::new(); conns.len()],
            order: Vec::new(),
        }
    }
}

/// Commands for several masters, sent as one pipeline to each, all at once: one round trip
/// however many masters they go to. Within one master they keep the order they were added
/// in, and so every command on one key or channel does.
pub(super) struct Batch<'a> {
    shards: &'a Shards,
    conns: &'a [MultiplexedConnection],
    pipes: Vec<Pipeline>,
    /// The master of each command, in the order added: how the answers are put back in order.
    order: Vec<usize>,
}

impl Batch<'_> {
    /// The pipeline of `key`'s master, to add one command on `key` to. Its answer comes back
    /// from [`query`](Self::query) at the place it was added: not to be `ignore()`d.
    pub(super) fn on(&mut self, key: &str) -> &mut Pipeline {
        let master = self.shards.of(key);
        self.order.push(master);
        &mut self.pipes[master]
    }

    /// How many commands were added: the place of the next one's answer.
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// Sends every pipeline and waits for all; the answers in the order the commands were
    /// added. Any error fails the whole batch.
    pub(super) async fn query<T: FromRedisValue>(self) -> RedisResult<Vec<T>> {
        let sent = self
            .pipes
            .iter()
            .zip(self.conns)
            .enumerate()
            .filter(|(_, (pipe, _))| !pipe.is_empty())
            .map(|(master, (pipe, conn))| {
                let mut conn = conn.clone();
                async move {
                    let answers: Vec<Value> = pipe.query_async(&mut conn).await?;
                    RedisResult::Ok((master, answers))
                }
            });
        let mut answers: Vec<std::vec::IntoIter<Value>> =
            vec![Vec::new().into_iter(); self.pipes.len()];
        for (master, theirs) in try_join_all(sent).await? {
            answers[master] = theirs.into_iter();
        }
        self.order
            .iter()
            .map(|&master| {
                let answer = answers[master].next().ok_or((
                    ErrorKind::Parse,
                    "a pipeline answered fewer commands than it sent",
                ))?;
                Ok(T::from_redis_value(answer)?)
            })
            .collect()
    }

    /// Sends every pipeline and waits for all, the answers unread.
    pub(super) async fn exec(self) -> RedisResult<()> {
        self.query::<Value>().await.map(drop)
    }
}

async fn connect(
    info: &ConnectionInfo,
    config: &AsyncConnectionConfig,
) -> RedisResult<MultiplexedConnection> {
    Client::open(info.clone())?
        .get_multiplexed_async_connection_with_config(config)
        .await
}

/// A single Redis's broker on a cluster node would find its keys on other nodes (`MOVED`) and
/// miss the other shards' pushes: better said at once.
async fn refuse_cluster_node(conn: &mut MultiplexedConnection) -> RedisResult<()> {
    let info: String = redis::cmd("INFO").arg("cluster").query_async(conn).await?;
    if info.contains("cluster_enabled:1") {
        return Err(RedisError::from((
            ErrorKind::InvalidClientConfig,
            "this Redis is a node of a Redis Cluster: connect with RedisBroker::cluster",
        )));
    }
    Ok(())
}

/// The masters in `CLUSTER SLOTS`'s answer (each `[start, end, [host, port, ..], replicas..]`)
/// and the one serving each slot. Every slot must be served: a cluster that is still being
/// set up or failing over is tried again later.
fn slot_map(seed: &ConnectionInfo, reply: Value) -> RedisResult<(Vec<ConnectionInfo>, Vec<u16>)> {
    let unexpected = || RedisError::from((ErrorKind::Parse, "unexpected answer to CLUSTER SLOTS"));
    let Value::Array(ranges) = reply else {
        return Err(unexpected());
    };
    let mut addrs: Vec<(String, u16)> = Vec::new();
    let mut slots = vec![u16::MAX; usize::from(SLOTS)];
    for range in ranges {
        let Value::Array(range) = range else {
            return Err(unexpected());
        };
        let mut fields = range.into_iter();
        let (Some(start), Some(end), Some(Value::Array(master))) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(unexpected());
        };
        let (start, end) = (u16::from_redis_value(start)?, u16::from_redis_value(end)?);
        let mut master = master.into_iter();
        let (Some(host), Some(port)) = (master.next(), master.next()) else {
            return Err(unexpected());
        };
        let mut host = String::from_redis_value(host)?;
        if host.is_empty() || host == "?" {
            // A node that does not know its own address: it is where the seed is.
            host = seed_host(seed);
        }
        let addr = (host, u16::from_redis_value(port)?);
        let index = addrs
            .iter()
            .position(|known| *known == addr)
            .unwrap_or_else(|| {
                addrs.push(addr);
                addrs.len() - 1
            });
        let index = u16::try_from(index).map_err(|_| unexpected())?;
        for slot in slots
            .get_mut(usize::from(start)..=usize::from(end))
            .ok_or_else(unexpected)?
        {
            *slot = index;
        }
    }
    if slots.contains(&u16::MAX) {
        return Err(RedisError::from((
            ErrorKind::Client,
            "the cluster does not serve every slot (still being set up, or failing over)",
        )));
    }
    let masters = addrs
        .into_iter()
        .map(|(host, port)| seed.clone().set_addr(at(seed.addr(), host, port)))
        .collect();
    Ok((masters, slots))
}

fn seed_host(seed: &ConnectionInfo) -> String {
    match seed.addr() {
        ConnectionAddr::Tcp(host, _) | ConnectionAddr::TcpTls { host, .. } => host.clone(),
        _ => "127.0.0.1".to_owned(),
    }
}

/// `seed`'s kind of address (TLS or not, with its settings) for another node.
fn at(seed: &ConnectionAddr, host: String, port: u16) -> ConnectionAddr {
    match seed {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(host, port),
    }
}

/// The cluster slot of a key or sharded channel, as Redis computes it: CRC16 of its hash tag
/// (what stands between the first `{` and the next `}`, if that is not empty), else of the
/// whole name, modulo 16,384.
fn slot(key: &[u8]) -> u16 {
    let tag = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    crc16::State::<crc16::XMODEM>::calculate(tag.unwrap_or(key)) % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_redis_s() {
        // As `CLUSTER KEYSLOT` answers them.
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"123456789"), 12739);
        assert_eq!(slot(b"{rpc:t:news}"), 6282);
        assert_eq!(slot(b"{user1000}.following"), 3443);
        assert_eq!(slot(b"foo{bar}{zap}"), 5061, "the first tag");
        assert_eq!(slot(b"foo{}{bar}"), 8363, "an empty tag is no tag");
        assert_eq!(
            slot(b"foo{{bar}}zap"),
            4015,
            "up to the first closing brace"
        );
    }

    #[test]
    fn a_group_and_its_keys_share_a_slot_whatever_its_name() {
        use super::super::keys::Keys;
        use crate::push::broker::Kind;

        let keys = Keys::new("rpc", 1);
        for name in ["room", "a}b", "{x}", "", "}"] {
            let channel = keys.channel(Kind::Group, name);
            assert_eq!(
                slot(channel.as_bytes()),
                slot(keys.members(name).as_bytes()),
                "{name:?}"
            );
            let channel = keys.channel(Kind::Topic, name);
            assert_eq!(
                slot(channel.as_bytes()),
                slot(keys.retained(name).as_bytes()),
                "{name:?}"
            );
        }
    }

    fn range(start: i64, end: i64, host: &str, port: i64) -> Value {
        let node = Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ]);
        Value::Array(vec![Value::Int(start), Value::Int(end), node])
    }

    fn seed() -> ConnectionInfo {
        redis::IntoConnectionInfo::into_connection_info("redis://:secret@10.0.0.1:7000/").unwrap()
    }

    #[test]
    fn the_slot_map_names_each_master_once_and_keeps_the_seed_s_settings() {
        let reply = Value::Array(vec![
            range(0, 5460, "10.0.0.1", 7000),
            range(5461, 10922, "", 7001),
            range(10923, 16383, "10.0.0.1", 7000),
        ]);
        let (masters, slots) = slot_map(&seed(), reply).unwrap();
        assert_eq!(masters.len(), 2);
        assert_eq!(masters[1].addr().to_string(), "10.0.0.1:7001");
        assert_eq!(masters[1].redis_settings().password(), Some("secret"));
        assert_eq!((slots[0], slots[5461], slots[16383]), (0, 1, 0));
    }

    #[test]
    fn a_slot_map_with_a_hole_is_refused() {
        let reply = Value::Array(vec![range(0, 5460, "10.0.0.1", 7000)]);
        let err = slot_map(&seed(), reply).unwrap_err();
        assert!(err.to_string().contains("every slot"), "{err}");
        assert!(slot_map(&seed(), Value::Int(1)).is_err());
    }
}
