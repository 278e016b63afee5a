//! The Redis broker.
//!
//! Redis routes. A process subscribes to the channel of every group and topic it has members
//! in (`{PREFIX:g:NAME}`, `{PREFIX:t:NAME}`) before their joins return, and to its own
//! (`{PREFIX:node:ID}`, for pushes to its connections); a push is published once to its
//! channel and delivered on every process, the sender's included, as it comes back, so that
//! each group's pushes reach every member in the one order Redis gave them. No process holds
//! another's memberships: a group's members are a hash in Redis, and the live processes a
//! sorted set scored by their heartbeats, from which a process silent for five heartbeats is
//! taken out, and its members with it, by whichever process finds it first. On a Redis
//! Cluster the same runs on every master, with sharded channels (`shards`).

mod inbox;
mod keys;
mod link;
mod members;
mod recovery;
mod scripts;
mod session;
mod shards;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use keys::Keys;
use link::{Link, Outgoing};
use redis::{ConnectionInfo, IntoConnectionInfo, ProtocolVersion};
use session::Session;
use shards::Target;
use tokio::sync::mpsc;

use super::{Inbound, Remote};

/// Shares a [`Hub`](crate::Hub)'s groups, topics and connections with every process whose hub
/// has a broker on the same Redis or Redis Cluster (and prefix): a group notification, a topic
/// publish or a notification to a [`ConnectionId`](crate::ConnectionId) reaches the right
/// connections whichever process they are on. Behind the `redis` feature.
///
/// ```no_run
/// # async fn run() -> Result<(), rpc_runtime::BrokerError> {
/// use rpc_runtime::{Hub, RedisBroker};
///
/// let hub = Hub::builder().broker(RedisBroker::connect("redis://127.0.0.1/").await?).build();
/// # Ok(()) }
/// ```
///
/// On a Redis Cluster (7 or later), name any of its nodes; the broker finds the masters:
///
/// ```no_run
/// # async fn run() -> Result<(), rpc_runtime::BrokerError> {
/// # use rpc_runtime::{Hub, RedisBroker};
/// let nodes = ["redis://10.0.0.1:7000/", "redis://10.0.0.2:7000/"];
/// let hub = Hub::builder().broker(RedisBroker::cluster(nodes).connect().await?).build();
/// # Ok(()) }
/// ```
///
/// - **A join is visible everywhere before it returns**: [`Hub::join`](crate::Hub::join) and
///   [`Hub::subscribe`](crate::Hub::subscribe) (and the built-in `rpc.subscribe`) wait until
///   this process is subscribed to the name's Redis channel (one round trip, for the first
///   member of a name on a process) and the membership is written (one round trip, shared
///   with whatever else is being sent); every push sent afterwards, from any process, reaches
///   the member while Redis is up.
/// - **One order**: a group or topic push is published to its channel and delivered on every
///   process, the sender's included, as Redis hands it back, so every member sees a group's
///   pushes in the same order, whichever processes sent them. It costs this process's own
///   members a round trip through Redis. A push to a group with no members anywhere costs one
///   `PUBLISH`; at most once, never queued without bound.
/// - **Members across processes**: [`Hub::presence`](crate::Hub::presence) reads a group's
///   members, with what they joined with, from Redis.
/// - **Redis unreachable at start**: `connect` fails, saying where it tried.
/// - **Redis lost while serving**: local delivery goes on (this process's members get pushes
///   directly, as without a broker); pushes meant for other processes are counted as lost
///   ([`BrokerStatus::lost`](crate::BrokerStatus::lost)) and logged, not queued; the broker
///   reconnects with backoff (0.1 s doubling to 5 s), subscribes again and writes this
///   process's memberships anew. Nothing panics.
/// - **A process that dies** is taken out after five silent heartbeats (5 s by default, on
///   Redis's clock), with its members, by the next heartbeat of another process: within six
///   heartbeats. Pushes to its connections are counted as lost.
/// - **A process that falls behind** (more than
///   [`max_received`](RedisBrokerBuilder::max_received) messages from Redis waiting for it)
///   drops its subscription, counts what it missed as lost and subscribes again; its memory
///   stays bounded whatever the other processes publish.
///
/// - **On a Redis Cluster** each group and topic is a sharded channel (`SSUBSCRIBE`,
///   `SPUBLISH`) on the master serving its slot, beside its members and retained value (the
///   channel's name is their hash tag); each process holds two connections to every master,
///   and a push costs one `SPUBLISH` on one master. All of the above holds. When the cluster
///   changes under a process (a master lost or failed over, a slot moved), the process starts
///   over as it does when a single Redis is lost: it reads where the slots are, subscribes
///   again and counts what it could not send; pushes Redis sent meanwhile are lost, as with
///   any Redis pub/sub.
///
/// Needs Redis 6.2 or later (or another server that speaks RESP3, such as Valkey), 7 or later
/// for a cluster: the broker reads its subscriptions over RESP3, which lets it bound what it
/// holds.
pub struct RedisBroker {
    link: Arc<Link>,
    target: Target,
    session: Session,
    outgoing: mpsc::Receiver<Outgoing>,
    runtime: tokio::runtime::Handle,
}

/// Configures a [`RedisBroker`].
pub struct RedisBrokerBuilder {
    /// The URL of the one Redis, or (`cluster`) of some of the cluster's nodes.
    urls: Vec<String>,
    cluster: bool,
    prefix: String,
    heartbeat: Duration,
    max_queued: usize,
    max_received: usize,
}

/// Redis could not be reached, or the URL is not one.
#[derive(Debug, thiserror::Error)]
#[error("cannot use {target}: {source}")]
pub struct BrokerError {
    /// What and where, without the password: `Redis at HOST:PORT`.
    target: String,
    source: redis::RedisError,
}

impl RedisBroker {
    /// Connects with the defaults; see [`RedisBrokerBuilder`].
    pub async fn connect(url: &str) -> Result<RedisBroker, BrokerError> {
        RedisBroker::builder(url).connect().await
    }

    /// A broker to configure, for the Redis at `url` (`redis://[:password@]host[:port][/db]`).
    /// A node of a Redis Cluster is refused: see [`cluster`](Self::cluster).
    pub fn builder(url: &str) -> RedisBrokerBuilder {
        RedisBroker::on(vec![url.to_owned()], false)
    }

    /// A broker to configure, for the Redis Cluster that `nodes` (URLs, as for
    /// [`builder`](Self::builder), without a database) belong to. Any one of them will do: the
    /// first that answers says where the masters are, and the masters last seen are tried too
    /// when the broker reconnects. Needs Redis 7 or later (sharded pub/sub).
    pub fn cluster<I>(nodes: I) -> RedisBrokerBuilder
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let urls = nodes.into_iter().map(|url| url.as_ref().to_owned());
        RedisBroker::on(urls.collect(), true)
    }

    fn on(urls: Vec<String>, cluster: bool) -> RedisBrokerBuilder {
        RedisBrokerBuilder {
            urls,
            cluster,
            prefix: "rpc".to_owned(),
            heartbeat: Duration::from_secs(1),
            max_queued: 4096,
            max_received: 4096,
        }
    }

    /// The broker as the hub calls it.
    pub(crate) fn remote(&self) -> Arc<dyn Remote> {
        self.link.clone()
    }

    /// Starts serving the hub, on the runtime `connect` ran on.
    pub(crate) fn start(self, inbound: Inbound) {
        self.runtime.spawn(session::run(
            self.link,
            self.target,
            inbound,
            self.outgoing,
            self.session,
        ));
    }
}

impl RedisBrokerBuilder {
    /// Names the cluster: the processes with one prefix share groups, topics and connections;
    /// others on the same Redis are apart. `rpc` by default.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// How often a process says it is alive; after five silent heartbeats the others forget
    /// it and its members. 1 s by default.
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every.max(Duration::from_millis(10));
        self
    }

    /// How many pushes and membership changes may wait for Redis; pushes beyond are delivered
    /// to this process's members directly and counted as lost for the others. 4,096 by
    /// default.
    pub fn max_queued(mut self, pushes: usize) -> Self {
        self.max_queued = pushes.max(1);
        self
    }

    /// How many pushes from Redis may wait for this process to take them in. A process that
    /// falls further behind drops its subscriptions, counts the pushes it missed as lost, and
    /// subscribes again: what Redis itself does to a subscriber past its output buffer limit,
    /// only sooner. 4,096 by default.
    pub fn max_received(mut self, messages: usize) -> Self {
        self.max_received = messages.max(1);
        self
    }

    /// Connects and subscribes, so that an unreachable Redis is an error now rather than
    /// later. Must run on a tokio runtime, which then runs the broker.
    pub async fn connect(self) -> Result<RedisBroker, BrokerError> {
        let infos = self.urls.iter().map(|url| resp3(url));
        let infos = infos
            .collect::<redis::RedisResult<Vec<ConnectionInfo>>>()
            .map_err(|source| BrokerError {
                target: "Redis at an invalid URL".to_owned(),
                source,
            })?;
        let target = match (self.cluster, infos.as_slice()) {
            (false, [info]) => Target::Single(info.clone()),
            _ => Target::Cluster(infos),
        };
        let node = random_node();
        let keys = Keys::new(&self.prefix, node);
        let (link, outgoing) = Link::new(
            node,
            keys,
            self.heartbeat,
            self.max_queued,
            self.max_received,
        );
        let session = Session::open(&target, &[], &link)
            .await
            .map_err(|source| BrokerError {
                target: target.describe(),
                source,
            })?;
        // Pushes and joins are queued from now on; the session takes them once it has started.
        link.connected.store(true, Ordering::Release);
        Ok(RedisBroker {
            link: Arc::new(link),
            target,
            session,
            outgoing,
            runtime: tokio::runtime::Handle::current(),
        })
    }
}

/// Where `url` says, over RESP3 whatever the URL asks for: over RESP3 a subscription's
/// messages come through a connection's push sender, which the broker bounds (see `inbox`).
fn resp3(url: &str) -> redis::RedisResult<ConnectionInfo> {
    let info = url.into_connection_info()?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    Ok(info.set_redis_settings(settings))
}

/// A node id no other process will pick: 64 random bits, never 0 (the broker-less node).
fn random_node() -> u64 {
    crate::random::random_u64().max(1)
}

impl fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBroker")
            .field("node", &format_args!("{:x}", self.link.node))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisBrokerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("RedisBrokerBuilder")
            .field("cluster", &self.cluster)
            .field("prefix", &self.prefix)
            .field("heartbeat", &self.heartbeat)
            .field("max_queued", &self.max_queued)
            .field("max_received", &self.max_received)
            .finish_non_exhaustive()
    }
}
