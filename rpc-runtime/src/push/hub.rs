//! The hub: every open WebSocket connection, the groups they joined and the topics they
//! subscribed to, reachable from handlers and from anywhere else.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures_util::FutureExt;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

#[cfg(feature = "redis")]
use super::broker::Inbound;
use super::broker::{BrokerStatus, Kind, Remote, Route};
use super::hooks::{ConnectHook, DisconnectHook, Refusal};
use super::registry::{Member, Registry, deliver, sorted};
use super::{PushError, Topic, encode_notification};
use crate::{Connection, ConnectionId, Context, RpcError};

/// Pushes to connections, groups and topics. Cheap to clone: clones share everything. A server
/// has one ([`ServerBuilder::hub`](crate::ServerBuilder::hub), [`Server::hub`](crate::Server::hub)),
/// and every handler reaches it through [`Context::hub`].
///
/// A connection that closes leaves its groups and topics by itself. A message sent to many
/// connections is serialized once and its bytes shared.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rpc_runtime::client::TestClient;
/// use rpc_runtime::{Connection, Context, Hub, RpcError, methods, rpc_method};
///
/// #[rpc_method]
/// fn join(cx: Context, conn: Connection, room: String) -> Result<bool, RpcError> {
///     Ok(cx.hub().join(&room, conn.id())?)
/// }
///
/// #[rpc_method]
/// fn say(cx: Context, room: String, text: String) -> Result<usize, RpcError> {
///     Ok(cx.hub().notify_group(&room, "said", (text,))?)
/// }
///
/// let hub = Hub::new();
/// let ann = TestClient::builder(methods![join, say]).hub(hub.clone()).build();
/// let bob = TestClient::builder(methods![join, say]).hub(hub.clone()).build();
/// ann.request(r#"{"jsonrpc":"2.0","method":"join","params":["lobby"],"id":1}"#).await;
/// bob.request(r#"{"jsonrpc":"2.0","method":"join","params":["lobby"],"id":1}"#).await;
/// assert_eq!(hub.notify_group("lobby", "said", ("hi",)).unwrap(), 2);
/// let note = bob.try_next_notification().unwrap();
/// assert_eq!(note.method(), "said");
/// assert_eq!(note.params::<(String,)>().unwrap().0, "hi");
/// # }
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    registry: RwLock<Registry>,
    /// Other processes' connections; `None` in-process.
    remote: Option<Arc<dyn Remote>>,
    topics: HashMap<Arc<str>, Topic>,
    aiohttp_names: bool,
    on_connect: Option<ConnectHook>,
    on_disconnect: Option<DisconnectHook>,
}

/// Configures a [`Hub`]: its topics and the connection lifecycle hooks.
#[derive(Default)]
pub struct HubBuilder {
    topics: HashMap<Arc<str>, Topic>,
    #[cfg(feature = "redis")]
    broker: Option<super::RedisBroker>,
    aiohttp_names: bool,
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
                on_connect: self.on_connect,
                on_disconnect: self.on_disconnect,
            }),
        };
        // Only now: the broker's task may hand pushes to the hub at once.
        #[cfg(feature = "redis")]
        if let Some(broker) = self.broker {
            broker.start(Inbound(Arc::downgrade(&hub.inner)));
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

    // The registry is changed one whole step at a time, so a panic elsewhere cannot leave it
    // inconsistent.
    fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.inner
            .registry
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The open connection with this id, on this process.
    pub fn connection(&self, id: ConnectionId) -> Option<Connection> {
        let registry = self.read();
        Some(registry.connections.get(&id)?.connection.clone())
    }

    /// The ids of every open connection on this process, in order.
    pub fn connections(&self) -> Vec<ConnectionId> {
        sorted(self.read().connections.keys().copied())
    }

    /// Sends one connection a notification; see [`Connection::notify`]. A connection of
    /// another process (with a broker) is sent it through the broker: `Ok` then says it was
    /// handed over, not that the connection is open.
    pub fn notify(
        &self,
        id: ConnectionId,
        method: &str,
        params: impl Serialize,
    ) -> Result<(), PushError> {
        match &self.inner.remote {
            // Node 0 is no broker's: an id on it (an HTTP call's, a client's) is looked up here.
            Some(remote) if id.node() != 0 && id.node() != remote.node() => {
                remote.forward(
                    Route::Connection(id),
                    &encode_notification(method, &params)?,
                );
                Ok(())
            }
            _ => self
                .connection(id)
                .ok_or(PushError::UnknownConnection(id))?
                .notify(method, params),
        }
    }

    /// Adds a connection to `group`; `Ok(false)` if it was a member already.
    pub fn join(&self, group: &str, id: ConnectionId) -> Result<bool, PushError> {
        self.write().add(Kind::Group, group, id)
    }

    /// Takes a connection out of `group`; `false` if it was not a member.
    pub fn leave(&self, group: &str, id: ConnectionId) -> bool {
        self.write().remove(Kind::Group, group, id)
    }

    /// Sends every member of `group` a notification, serialized once; returns how many
    /// connections of this process it was queued for (members that are closing or, under
    /// [`SlowReaderPolicy::Drop`](crate::SlowReaderPolicy::Drop), too slow are not counted).
    /// With a broker, members on other processes are sent it too, without waiting for them.
    pub fn notify_group(
        &self,
        group: &str,
        method: &str,
        params: impl Serialize,
    ) -> Result<usize, PushError> {
        let message = encode_notification(method, &params)?;
        let reached = deliver(self.read().groups.get(group), &message);
        self.forward(Route::Group(group), &message);
        Ok(reached)
    }

    fn forward(&self, route: Route<'_>, message: &Utf8Bytes) {
        if let Some(remote) = &self.inner.remote {
            remote.forward(route, message);
        }
    }

    /// The members of `group` on this process, in order.
    pub fn members(&self, group: &str) -> Vec<ConnectionId> {
        sorted(
            self.read()
                .groups
                .get(group)
                .into_iter()
                .flat_map(|m| m.keys().copied()),
        )
    }

    /// Every group with at least one member, in order: a group exists while it has members.
    /// With a broker, groups with members on other live processes are listed too.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<Arc<str>> = self.read().groups.keys().cloned().collect();
        if let Some(remote) = &self.inner.remote {
            groups.extend(remote.remote_names(Kind::Group));
        }
        groups.sort_unstable();
        groups.dedup();
        groups.iter().map(|name| name.to_string()).collect()
    }

    /// The groups a connection is in, in order.
    pub fn groups_of(&self, id: ConnectionId) -> Vec<String> {
        self.read().names_of(Kind::Group, id)
    }

    /// The declared topics, in order.
    pub fn topics(&self) -> Vec<String> {
        sorted(self.inner.topics.keys().map(|name| name.to_string()))
    }

    /// Sends `data` to the topic's subscribers as `{"jsonrpc":"2.0","method":TOPIC,"params":DATA}`,
    /// serialized once; returns how many connections of this process it was queued for (with a
    /// broker, other processes' subscribers are sent it too). A topic declared with
    /// [`Topic::retain_last`] keeps it for later subscribers.
    pub fn publish(&self, topic: &str, data: impl Serialize) -> Result<usize, PushError> {
        let declared = self.declared(topic)?;
        let message = encode_notification(topic, &data)?;
        if declared.retain_last {
            return Ok(self.retain(declared, message));
        }
        let reached = deliver(self.read().subscribers.get(topic), &message);
        self.forward(Route::Topic(topic), &message);
        Ok(reached)
    }

    /// Like [`publish`](Self::publish), and keeps `data` as the topic's retained value: every
    /// later subscriber receives it at once, until the next retained publish replaces it.
    pub fn publish_retained(&self, topic: &str, data: impl Serialize) -> Result<usize, PushError> {
        let declared = self.declared(topic)?;
        let message = encode_notification(topic, &data)?;
        Ok(self.retain(declared, message))
    }

    fn retain(&self, topic: &Topic, message: Utf8Bytes) -> usize {
        let reached = self.write().retain(&topic.name, message.clone());
        self.forward(Route::Retained(&topic.name), &message);
        reached
    }

    /// Subscribes a connection to a topic, as the server decides (no guard is asked); a
    /// retained value is sent to it at once. `Ok(false)` if it was subscribed already.
    pub fn subscribe(&self, topic: &str, id: ConnectionId) -> Result<bool, PushError> {
        self.declared(topic)?;
        self.write().subscribe(topic, id)
    }

    /// Unsubscribes a connection from a topic; `false` if it was not subscribed.
    pub fn unsubscribe(&self, topic: &str, id: ConnectionId) -> bool {
        self.write().remove(Kind::Topic, topic, id)
    }

    /// The connections of this process subscribed to `topic`, in order.
    pub fn subscribers(&self, topic: &str) -> Vec<ConnectionId> {
        let registry = self.read();
        sorted(
            registry
                .subscribers
                .get(topic)
                .into_iter()
                .flat_map(|m| m.keys().copied()),
        )
    }

    /// The topics a connection is subscribed to, in order.
    pub fn subscriptions(&self, id: ConnectionId) -> Vec<String> {
        self.read().names_of(Kind::Topic, id)
    }

    /// How the hub's broker is doing; `None` without one.
    pub fn broker_status(&self) -> Option<BrokerStatus> {
        self.inner.remote.as_ref().map(|remote| remote.status())
    }

    fn declared(&self, topic: &str) -> Result<&Topic, PushError> {
        self.inner
            .topics
            .get(topic)
            .ok_or_else(|| PushError::UnknownTopic(topic.to_owned()))
    }

    /// The declared topics the caller may subscribe to.
    pub(crate) fn topics_for(&self, cx: &Context) -> Vec<String> {
        let allowed = self.inner.topics.values().filter(|topic| topic.allows(cx));
        sorted(allowed.map(|topic| topic.name.to_string()))
    }

    /// Subscribes the calling connection to every topic in `names`, or to none when one is
    /// undeclared or its guard refuses the caller; answers the connection's subscriptions.
    pub(crate) fn subscribe_caller(
        &self,
        cx: &Context,
        connection: &Connection,
        names: &[String],
    ) -> Result<Vec<String>, RpcError> {
        let mut unknown = Vec::new();
        let mut forbidden = Vec::new();
        for name in names {
            match self.inner.topics.get(name.as_str()) {
                None => unknown.push(name),
                Some(topic) if !topic.allows(cx) => forbidden.push(name),
                Some(_) => {}
            }
        }
        if !unknown.is_empty() || !forbidden.is_empty() {
            return Err(
                RpcError::invalid_params("cannot subscribe: nothing was subscribed")
                    .with_data(serde_json::json!({ "unknown": unknown, "forbidden": forbidden })),
            );
        }
        let id = connection.id();
        let mut registry = self.write();
        for name in names {
            // Fails only for a connection that has ended, whose answer nobody reads.
            let _ = registry.subscribe(name, id);
        }
        Ok(registry.names_of(Kind::Topic, id))
    }

    pub(crate) fn aiohttp_names(&self) -> bool {
        self.inner.aiohttp_names
    }

    /// Tells every connection that a keepalive interval has ended; see
    /// `Outbox::keepalive_tick`.
    pub(crate) fn keepalive_tick(&self) {
        for member in self.read().connections.values() {
            member.connection.outbox().keepalive_tick();
        }
    }

    pub(crate) fn register(&self, connection: &Connection) {
        self.write()
            .connections
            .insert(connection.id(), Member::new(connection.clone()));
    }

    /// Takes a connection out of the hub and every group and topic it was in.
    pub(crate) fn unregister(&self, id: ConnectionId) {
        self.write().unregister(id);
    }

    /// An id for a new connection: on the broker's node, so that other processes route to it.
    pub(crate) fn next_connection_id(&self) -> ConnectionId {
        ConnectionId::on(self.inner.remote.as_ref().map_or(0, |remote| remote.node()))
    }

    pub(crate) async fn accept(&self, connection: &Connection) -> Result<(), Refusal> {
        match &self.inner.on_connect {
            Some(hook) => hook(connection.clone(), self.clone()).await,
            None => Ok(()),
        }
    }

    pub(crate) async fn disconnected(&self, connection: &Connection) {
        if let Some(hook) = &self.inner.on_disconnect {
            hook(connection.clone(), self.clone()).await;
        }
    }
}

/// What a broker calls: it alone uses them, so a build without one does not.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
impl Hub {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Hub { inner }
    }

    /// The groups or topics with members on this process, for the broker to announce.
    pub(crate) fn local_names(&self, kind: Kind) -> Vec<Arc<str>> {
        self.read().sets(kind).keys().cloned().collect()
    }

    /// Delivers a push another process sent, to this process's connections alone.
    pub(crate) fn deliver_remote(&self, route: Route<'_>, message: Utf8Bytes) {
        match route {
            Route::Group(group) => {
                deliver(self.read().groups.get(group), &message);
            }
            Route::Topic(topic) => {
                deliver(self.read().subscribers.get(topic), &message);
            }
            Route::Retained(topic) => {
                // A topic this process does not declare has no subscribers here to keep it for;
                // a value it has already (read again after a reconnect) is not sent twice.
                if let Ok(topic) = self.declared(topic) {
                    let mut registry = self.write();
                    if registry.retained.get(&topic.name) != Some(&message) {
                        registry.retain(&topic.name, message);
                    }
                }
            }
            Route::Connection(id) => {
                if let Some(connection) = self.connection(id) {
                    connection.push(message);
                }
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(remote) = &self.remote {
            remote.close();
        }
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registry = self.read();
        f.debug_struct("Hub")
            .field("connections", &registry.connections.len())
            .field("groups", &registry.groups.len())
            .field("topics", &self.inner.topics.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for HubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubBuilder")
            .field("topics", &self.topics.len())
            .field("aiohttp_names", &self.aiohttp_names)
            .finish_non_exhaustive()
    }
}
