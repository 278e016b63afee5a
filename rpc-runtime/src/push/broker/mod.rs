//! The broker seam: how a hub reaches connections on other processes.
//!
//! Without a broker (the default) a hub is its process's alone and nothing here runs. With one,
//! the hub tells it which groups and topics have members on this process ([`Remote::interest`])
//! and hands it every push after delivering it here ([`Remote::forward`]); the broker sends the
//! push to the processes that need it and hands what they send back to the hub
//! ([`Inbound`]). The hub never waits for the broker.

// Without a broker built in, the hub's side of the seam is all there is.
#![cfg_attr(not(feature = "redis"), allow(dead_code))]

#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::sync::{Arc, Weak};

use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::ConnectionId;

/// The two kinds of named sets of connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Group,
    Topic,
}

/// Where a push goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Route<'a> {
    Group(&'a str),
    Topic(&'a str),
    /// A publish every process keeps as the topic's retained value.
    Retained(&'a str),
    Connection(ConnectionId),
}

/// What a hub needs of a broker.
pub(crate) trait Remote: Send + Sync + 'static {
    /// This process's node: the `node` of its connections' ids.
    fn node(&self) -> u64;

    /// The first member of a group or topic joined on this process (`present`), or the last
    /// one left. Called under the hub's lock: it must not block.
    fn interest(&self, kind: Kind, name: &Arc<str>, present: bool);

    /// What a connection that joined the group or topic waits for before its join returns:
    /// this process subscribed to the name in Redis. Called outside the hub's lock.
    fn routed(&self, kind: Kind, name: &str) -> Routed;

    /// Sends an encoded notification, already delivered here, to the other processes the route
    /// reaches. Must not block: a push the broker cannot take is counted as lost.
    fn forward(&self, route: Route<'_>, message: &Utf8Bytes);

    /// The groups or topics that have members on other live processes.
    fn remote_names(&self, kind: Kind) -> Vec<Arc<str>>;

    fn status(&self) -> BrokerStatus;

    /// The hub is gone: say goodbye and stop.
    fn close(&self);
}

/// The broker's word that pushes to a name reach this process, to wait for.
pub(crate) struct Routed(Option<watch::Receiver<bool>>);

impl Routed {
    /// Nothing to wait for.
    pub(crate) fn now() -> Self {
        Routed(None)
    }

    pub(crate) async fn wait(self) {
        if let Some(mut settled) = self.0 {
            let _ = settled.wait_for(|settled| *settled).await;
        }
    }
}

/// How a hub's broker is doing: [`Hub::broker_status`](crate::Hub::broker_status).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct BrokerStatus {
    /// This process's node: the `node` of its connections' ids.
    pub node: u64,
    /// Whether the broker reaches its server now. While it does not, pushes still reach this
    /// process's connections, and those meant for other processes are counted in `lost`.
    pub connected: bool,
    /// The other live processes this one knows.
    pub other_nodes: usize,
    /// Pushes that did not reach a process that was meant to get them: sent while the broker
    /// was disconnected, beyond its queue, or to a process that had gone; or, from other
    /// processes, arriving faster than this one took them in.
    pub lost: u64,
}

/// What a broker needs of its hub, which implements it (`push/inbound.rs`): brokers never
/// name the hub.
pub(crate) trait Local: Send + Sync + 'static {
    /// The groups or topics with members on this process, for the broker to announce.
    fn local_names(&self, kind: Kind) -> Vec<Arc<str>>;

    /// Delivers a push another process sent, to this process's connections alone.
    fn deliver(&self, route: Route<'_>, message: Utf8Bytes);
}

/// The hub as a broker holds it: weakly, so that dropping the last `Hub` stops the broker.
#[derive(Clone)]
pub(crate) struct Inbound(Weak<dyn Local>);

impl Inbound {
    pub(crate) fn new(hub: Weak<dyn Local>) -> Self {
        Inbound(hub)
    }

    /// The hub, while anyone else holds it.
    pub(crate) fn hub(&self) -> Option<Arc<dyn Local>> {
        self.0.upgrade()
    }
}
