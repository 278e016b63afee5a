//! The broker seam: how a hub reaches connections on other processes.
//!
//! Without a broker (the default) a hub is its process's alone and nothing here runs. With one,
//! Redis routes: the hub tells the broker which groups and topics have members on this process
//! ([`Remote::interest`]), and the broker subscribes this process to each one's channel before a
//! join returns ([`Remote::routed`]). A push is published to its channel ([`Remote::publish`])
//! and delivered, on every process this one included, as it comes back from Redis, so that
//! every member sees one group's pushes in the order Redis saw them; what comes back is handed
//! to the hub through [`Inbound`]. Group membership is kept in Redis too, for
//! [`Remote::presence`] across processes. A group or topic with history is appended to its
//! stream in Redis in the same step as its publish ([`Remote::append`]), which numbers it; a
//! member coming back is sent what it missed by the broker ([`Remote::recover`]), in order with
//! what it delivers. The hub never waits for the broker under its lock.

// Without a broker built in, the hub's side of the seam is all there is.
#![cfg_attr(not(feature = "redis"), allow(dead_code))]

#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::sync::{Arc, Weak};

use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{History, Presence, PushError, Recovery, StreamPosition};
use crate::ConnectionId;

/// The two kinds of named sets of connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Group,
    Topic,
}

/// Where a push goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    Group(&'a str),
    Topic(&'a str),
    /// A publish that the topic's subscribers keep as its retained value; `seq` orders them
    /// (Redis numbers them from 1), so that an older value never replaces a newer one. `0`
    /// is no number: one delivered here while Redis was away.
    Retained {
        topic: &'a str,
        seq: u64,
    },
    /// A push to a group or topic with history, which Redis numbered `offset` in its stream.
    Numbered {
        kind: Kind,
        name: &'a str,
        offset: u64,
    },
    Connection(ConnectionId),
}

impl<'a> Route<'a> {
    /// The unnumbered route of a group or topic.
    pub(crate) fn plain(kind: Kind, name: &'a str) -> Self {
        match kind {
            Kind::Group => Route::Group(name),
            Kind::Topic => Route::Topic(name),
        }
    }
}

/// What a hub needs of a broker.
pub(crate) trait Remote: Send + Sync + 'static {
    /// This process's node: the `node` of its connections' ids.
    fn node(&self) -> u64;

    /// The first member of a group or topic joined on this process (`present`), or the last
    /// one left. Called under the hub's lock: it must not block.
    fn interest(&self, kind: Kind, name: &Arc<str>, present: bool);

    /// A connection of this process joined a group (`present`, with the JSON `info` it joined
    /// with, if any) or left it; `edge` when it is the group's first member here or was its
    /// last. Called under the hub's lock, so that Redis hears of joins and leaves in the order
    /// they happened; must not block.
    fn membership(
        &self,
        group: &Arc<str>,
        id: ConnectionId,
        present: bool,
        edge: bool,
        info: Option<&Arc<str>>,
    );

    /// What a join waits for before it returns: this process subscribed to the name's channel
    /// and the memberships told so far written. Called outside the hub's lock.
    fn routed(&self, kind: Kind, name: &str) -> Routed;

    /// Hands an encoded notification to Redis, which brings it back to every process with
    /// members, this one included. `false` when the broker cannot take it (Redis unreachable,
    /// its queue full): the hub then delivers it to this process's members itself.
    fn publish(&self, route: Route<'_>, message: &Utf8Bytes) -> bool;

    /// Hands a push to a group or topic with history to Redis, which numbers it, keeps it in
    /// the set's stream and brings it back as `publish` does. `false` as for `publish`.
    fn append(&self, kind: Kind, name: &str, history: History, message: &Utf8Bytes) -> bool;

    /// Reads what a member joined from `since` missed, in order with the pushes the broker
    /// delivers, and hands it to the hub ([`Local::resume`]), with where the member now is.
    /// Called once the name is routed here and the member's floor is `u64::MAX`.
    fn recover(
        &self,
        kind: Kind,
        name: &str,
        id: ConnectionId,
        since: Option<StreamPosition>,
        history: History,
    ) -> BoxFuture<'static, Result<Recovery, PushError>>;

    /// Done once every push handed over before it has been written to Redis, or delivered
    /// here and counted as lost (Redis went away meanwhile).
    fn flush(&self) -> BoxFuture<'static, ()>;

    /// The members of a group on every live process, in order.
    fn presence(&self, group: &str) -> BoxFuture<'static, Result<Vec<Presence>, PushError>>;

    fn status(&self) -> BrokerStatus;

    /// The hub is gone: send what it handed over, say goodbye and stop.
    fn close(&self);
}

/// The broker's word that pushes to a name reach this process, to wait for: each part is done
/// when its watched value reaches the target, or when its sender goes (the broker lost Redis,
/// or stopped).
#[derive(Default)]
pub(crate) struct Routed {
    subscribed: Option<watch::Receiver<bool>>,
    written: Option<(watch::Receiver<u64>, u64)>,
}

impl Routed {
    /// Nothing to wait for.
    pub(crate) fn now() -> Self {
        Routed::default()
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn new(
        subscribed: Option<watch::Receiver<bool>>,
        written: Option<(watch::Receiver<u64>, u64)>,
    ) -> Self {
        Routed {
            subscribed,
            written,
        }
    }

    pub(crate) async fn wait(self) {
        if let Some(mut subscribed) = self.subscribed {
            let _ = subscribed.wait_for(|subscribed| *subscribed).await;
        }
        if let Some((mut written, target)) = self.written {
            let _ = written.wait_for(|written| *written >= target).await;
        }
    }
}

/// How a hub's broker is doing: [`Hub::broker_status`](crate::Hub::broker_status).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openrpc", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct BrokerStatus {
    /// This process's node: the `node` of its connections' ids.
    pub node: u64,
    /// Whether the broker reaches its server now. While it does not, pushes still reach this
    /// process's connections, and those meant for other processes are counted in `lost`.
    pub connected: bool,
    /// The other live processes, as of this process's last heartbeat.
    pub other_nodes: usize,
    /// Pushes that did not reach a process that was meant to get them: sent while the broker
    /// was disconnected, beyond its queue, or to a process that had gone; or, from other
    /// processes, arriving faster than this one took them in.
    pub lost: u64,
}

/// What a broker needs of its hub, which implements it (`push/inbound.rs`): brokers never
/// name the hub.
pub(crate) trait Local: Send + Sync + 'static {
    /// The groups or topics with members on this process, for the broker to subscribe to.
    fn local_names(&self, kind: Kind) -> Vec<Arc<str>>;

    /// Every group with members on this process, with them and what they joined with: what
    /// the broker writes anew after it has been away.
    fn local_members(&self) -> Vec<(Arc<str>, Vec<Member>)>;

    /// Whether a group's members are told of joins and leaves, those of dead processes' members
    /// included.
    fn presence_events(&self) -> bool;

    /// What every group keeps of its past, if anything: a dead process's members' leaves are
    /// kept with the rest.
    fn group_history(&self) -> Option<History>;

    /// Delivers a push that came back from Redis, to this process's connections alone.
    fn deliver(&self, route: Route<'_>, message: Utf8Bytes);

    /// Sends a member that came back what it `missed` (numbered), and from now on the pushes
    /// numbered above `floor`; nothing if it has left meanwhile.
    fn resume(&self, kind: Kind, name: &str, id: ConnectionId, missed: Vec<Utf8Bytes>, floor: u64);
}

/// A member of a group on this process, with what it joined with as JSON.
pub(crate) type Member = (ConnectionId, Option<Arc<str>>);

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
