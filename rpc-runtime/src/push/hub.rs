//! The hub: every open WebSocket connection, the groups they joined and the topics they
//! subscribed to, reachable from handlers and from anywhere else.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures_util::FutureExt;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::hooks::{ConnectHook, DisconnectHook, Refusal};
use super::{PushError, Topic, encode_notification};
use crate::peer::Pushed;
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

struct Inner {
    registry: RwLock<Registry>,
    topics: HashMap<Arc<str>, Topic>,
    aiohttp_names: bool,
    on_connect: Option<ConnectHook>,
    on_disconnect: Option<DisconnectHook>,
}

/// Who is where. Groups and topics are both named sets of connections; each connection also
/// lists the sets it is in, so that leaving them all on close costs what it joined.
#[derive(Default)]
struct Registry {
    connections: HashMap<ConnectionId, Member>,
    groups: HashMap<Arc<str>, Members>,
    subscribers: HashMap<Arc<str>, Members>,
    retained: HashMap<Arc<str>, Utf8Bytes>,
}

type Members = HashMap<ConnectionId, Connection>;

struct Member {
    connection: Connection,
    groups: HashSet<Arc<str>>,
    topics: HashSet<Arc<str>>,
}

#[derive(Clone, Copy)]
enum Kind {
    Group,
    Topic,
}

/// Configures a [`Hub`]: its topics and the connection lifecycle hooks.
#[derive(Default)]
pub struct HubBuilder {
    topics: HashMap<Arc<str>, Topic>,
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

    /// The hub.
    pub fn build(self) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                registry: RwLock::default(),
                topics: self.topics,
                aiohttp_names: self.aiohttp_names,
                on_connect: self.on_connect,
                on_disconnect: self.on_disconnect,
            }),
        }
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

    /// The open connection with this id.
    pub fn connection(&self, id: ConnectionId) -> Option<Connection> {
        let registry = self.read();
        Some(registry.connections.get(&id)?.connection.clone())
    }

    /// The ids of every open connection, in order.
    pub fn connections(&self) -> Vec<ConnectionId> {
        sorted(self.read().connections.keys().copied())
    }

    /// Sends one connection a notification; see [`Connection::notify`].
    pub fn notify(
        &self,
        id: ConnectionId,
        method: &str,
        params: impl Serialize,
    ) -> Result<(), PushError> {
        self.connection(id)
            .ok_or(PushError::UnknownConnection(id))?
            .notify(method, params)
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
    /// connections it was queued for (members that are closing or, under
    /// [`SlowReaderPolicy::Drop`](crate::SlowReaderPolicy::Drop), too slow are not counted).
    pub fn notify_group(
        &self,
        group: &str,
        method: &str,
        params: impl Serialize,
    ) -> Result<usize, PushError> {
        let message = encode_notification(method, &params)?;
        Ok(deliver(self.read().groups.get(group), &message))
    }

    /// The members of `group`, in order.
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
    pub fn groups(&self) -> Vec<String> {
        sorted(self.read().groups.keys().map(|name| name.to_string()))
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
    /// serialized once; returns how many connections it was queued for. A topic declared with
    /// [`Topic::retain_last`] keeps it for later subscribers.
    pub fn publish(&self, topic: &str, data: impl Serialize) -> Result<usize, PushError> {
        let declared = self.declared(topic)?;
        let message = encode_notification(topic, &data)?;
        if declared.retain_last {
            return Ok(self.retain(declared, message));
        }
        Ok(deliver(self.read().subscribers.get(topic), &message))
    }

    /// Like [`publish`](Self::publish), and keeps `data` as the topic's retained value: every
    /// later subscriber receives it at once, until the next retained publish replaces it.
    pub fn publish_retained(&self, topic: &str, data: impl Serialize) -> Result<usize, PushError> {
        let declared = self.declared(topic)?;
        let message = encode_notification(topic, &data)?;
        Ok(self.retain(declared, message))
    }

    fn retain(&self, topic: &Topic, message: Utf8Bytes) -> usize {
        // Under the write lock, so a subscriber gets the retained value or this publish, never
        // both and never neither.
        let mut registry = self.write();
        let reached = deliver(registry.subscribers.get(&*topic.name), &message);
        registry.retained.insert(topic.name.clone(), message);
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

    /// The connections subscribed to `topic`, in order.
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
        self.write().connections.insert(
            connection.id(),
            Member {
                connection: connection.clone(),
                groups: HashSet::new(),
                topics: HashSet::new(),
            },
        );
    }

    /// Takes a connection out of the hub and every group and topic it was in.
    pub(crate) fn unregister(&self, id: ConnectionId) {
        let mut registry = self.write();
        let Some(member) = registry.connections.remove(&id) else {
            return;
        };
        for group in &member.groups {
            registry.drop_member(Kind::Group, group, id);
        }
        for topic in &member.topics {
            registry.drop_member(Kind::Topic, topic, id);
        }
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

impl Member {
    /// The groups or the topics the connection is in.
    fn names(&self, kind: Kind) -> &HashSet<Arc<str>> {
        match kind {
            Kind::Group => &self.groups,
            Kind::Topic => &self.topics,
        }
    }

    fn names_mut(&mut self, kind: Kind) -> &mut HashSet<Arc<str>> {
        match kind {
            Kind::Group => &mut self.groups,
            Kind::Topic => &mut self.topics,
        }
    }
}

impl Registry {
    fn sets(&mut self, kind: Kind) -> &mut HashMap<Arc<str>, Members> {
        match kind {
            Kind::Group => &mut self.groups,
            Kind::Topic => &mut self.subscribers,
        }
    }

    fn add(&mut self, kind: Kind, name: &str, id: ConnectionId) -> Result<bool, PushError> {
        let Registry {
            connections,
            groups,
            subscribers,
            ..
        } = self;
        let member = connections
            .get_mut(&id)
            .ok_or(PushError::UnknownConnection(id))?;
        let sets = match kind {
            Kind::Group => groups,
            Kind::Topic => subscribers,
        };
        let names = member.names_mut(kind);
        if names.contains(name) {
            return Ok(false);
        }
        // One allocation of the name, shared by the set and its members' lists.
        let name = sets
            .get_key_value(name)
            .map_or_else(|| Arc::from(name), |(name, _)| name.clone());
        names.insert(name.clone());
        sets.entry(name)
            .or_default()
            .insert(id, member.connection.clone());
        Ok(true)
    }

    fn remove(&mut self, kind: Kind, name: &str, id: ConnectionId) -> bool {
        let Some(member) = self.connections.get_mut(&id) else {
            return false;
        };
        if !member.names_mut(kind).remove(name) {
            return false;
        }
        self.drop_member(kind, name, id);
        true
    }

    /// Removes `id` from one set, and the set once it is empty, so names do not pile up.
    fn drop_member(&mut self, kind: Kind, name: &str, id: ConnectionId) {
        let sets = self.sets(kind);
        if let Some(members) = sets.get_mut(name) {
            members.remove(&id);
            if members.is_empty() {
                sets.remove(name);
            }
        }
    }

    fn names_of(&self, kind: Kind, id: ConnectionId) -> Vec<String> {
        let Some(member) = self.connections.get(&id) else {
            return Vec::new();
        };
        sorted(member.names(kind).iter().map(|name| name.to_string()))
    }

    /// Adds a subscriber and sends it the topic's retained value, if any, at once.
    fn subscribe(&mut self, topic: &str, id: ConnectionId) -> Result<bool, PushError> {
        let added = self.add(Kind::Topic, topic, id)?;
        if let (true, Some(message), Some(member)) =
            (added, self.retained.get(topic), self.connections.get(&id))
        {
            member.connection.push(message.clone());
        }
        Ok(added)
    }
}

/// Queues one encoded message for every member; counts those it was queued for.
fn deliver(members: Option<&Members>, message: &Utf8Bytes) -> usize {
    members.map_or(0, |members| {
        members
            .values()
            .filter(|connection| connection.push(message.clone()) == Pushed::Queued)
            .count()
    })
}

fn sorted<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut items: Vec<T> = items.collect();
    items.sort_unstable();
    items
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
