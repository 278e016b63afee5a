//! Making a hub: its topics, the connection hooks and, across processes, a broker.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};

use futures_util::FutureExt;

use super::History;
#[cfg(feature = "redis")]
use super::broker::{Inbound, Local};
use super::hub::{ConnectHook, DisconnectHook, Hub, Inner};
use super::refusal::Refusal;
use super::registry::Registry;
use super::topic::Topic;
use crate::Connection;

/// Configures a [`Hub`]: its topics and the connection lifecycle hooks.
#[derive(Default)]
pub struct HubBuilder {
    topics: HashMap<Arc<str>, Topic>,
    #[cfg(feature = "redis")]
    broker: Option<super::RedisBroker>,
    aiohttp_names: bool,
    presence_events: bool,
    group_history: Option<History>,
    on_connect: Option<ConnectHook>,
    on_disconnect: Option<DisconnectHook>,
}

impl HubBuilder {
    /// Declares a topic; a second declaration of one name replaces the first.
    pub fn topic(mut self, topic: Topic) -> Self {
        self.topics.insert(topic.name.clone(), topic);
        self
    }

    /// Also serves the built-in topic methods under aiohttp-json-rpc's names, `subscribe`,
    /// `unsubscribe`, `get_topics` and `get_subscriptions`, so that its clients subscribe
    /// unchanged. They then take a bare string as params too, as those clients send it.
    pub fn aiohttp_names(mut self) -> Self {
        self.aiohttp_names = true;
        self
    }

    /// Tells a group's members whenever a member joins or leaves it, on every process:
    /// `{"jsonrpc":"2.0","method":"rpc.joined","params":{"group":G,"id":ID,"info":INFO}}`,
    /// and `rpc.left` alike (`info` is what [`Hub::join_with`] was given, or `null`). The
    /// member itself hears its own join. With a broker, the members of a process that dies
    /// leave within six heartbeats, told by the process that finds it dead.
    pub fn presence_events(mut self) -> Self {
        self.presence_events = true;
        self
    }

    /// Every group keeps its history: its notifications are numbered in the group's stream
    /// and the last ones kept, so that a member coming back gets what it missed
    /// ([`Hub::join_from`]). Kept in this process, or in Redis with a broker. Members that
    /// join with a position receive each notification with its offset as one more member,
    /// `{"jsonrpc":"2.0","method":M,"params":P,"offset":N}`; others, as before. Presence
    /// events are notifications of the group, numbered with the rest.
    pub fn group_history(mut self, history: History) -> Self {
        self.group_history = Some(history);
        self
    }

    /// Runs before a WebSocket handshake is answered, with the new connection and the hub: read
    /// its headers and peer address, keep values with it ([`Connection::insert`]), or refuse it.
    /// The connection joins groups and topics only once the handshake is answered.
    ///
    /// ```
    /// use rpc_runtime::{Connection, Hub, Refusal};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    ///
    /// let hub = Hub::builder()
    ///     .on_connect(|conn: Connection, _hub: Hub| async move {
    ///         let user = conn.headers().get("x-user").and_then(|value| value.to_str().ok());
    ///         let user = user.ok_or_else(|| Refusal::new(401, "send x-user"))?.to_owned();
    ///         conn.insert(User(user));
    ///         Ok(())
    ///     })
    ///     .on_disconnect(|conn: Connection, hub: Hub| async move {
    ///         if let Some(User(name)) = conn.get::<User>() {
    ///             let _ = hub.notify_group("lobby", "left", [name]);
    ///         }
    ///     })
    ///     .build();
    /// ```
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Connection, Hub) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Refusal>> + Send + 'static,
    {
        self.on_connect = Some(Arc::new(move |conn, hub| hook(conn, hub).boxed()));
        self
    }

    /// Runs once a connection has ended and left its groups and topics, with the hub, for
    /// cleanup and for telling others (what it had joined, keep with it as a value).
    pub fn on_disconnect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Connection, Hub) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_disconnect = Some(Arc::new(move |conn, hub| hook(conn, hub).boxed()));
        self
    }

    /// Shares groups, topics and connections with every other process whose hub has a broker
    /// on the same Redis; see [`RedisBroker`](super::RedisBroker).
    #[cfg(feature = "redis")]
    pub fn broker(mut self, broker: super::RedisBroker) -> Self {
        self.broker = Some(broker);
        self
    }

    /// The hub.
    pub fn build(self) -> Hub {
        #[cfg(feature = "redis")]
        let remote = self.broker.as_ref().map(super::RedisBroker::remote);
        #[cfg(not(feature = "redis"))]
        let remote = None;
        let hub = Hub {
            inner: Arc::new(Inner {
                registry: RwLock::new(Registry::new(remote.clone())),
                remote,
                topics: self.topics,
                aiohttp_names: self.aiohttp_names,
                presence_events: self.presence_events,
                group_history: self.group_history,
                on_connect: self.on_connect,
                on_disconnect: self.on_disconnect,
            }),
        };
        // Only now: the broker's task may hand pushes to the hub at once.
        #[cfg(feature = "redis")]
        if let Some(broker) = self.broker {
            let local: Arc<dyn Local> = hub.inner.clone();
            broker.start(Inbound::new(Arc::downgrade(&local)));
        }
        hub
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    /// A hub with no topics and no hooks.
    pub fn new() -> Self {
        Hub::builder().build()
    }

    /// A hub to configure.
    pub fn builder() -> HubBuilder {
        HubBuilder::default()
    }
}

impl fmt::Debug for HubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubBuilder")
            .field("topics", &self.topics.len())
            .field("aiohttp_names", &self.aiohttp_names)
            .field("presence_events", &self.presence_events)
            .field("group_history", &self.group_history)
            .finish_non_exhaustive()
    }
}
