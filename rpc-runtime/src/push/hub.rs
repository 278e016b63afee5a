//! The hub: every open WebSocket connection, the groups they joined and the topics they
//! subscribed to, reachable from handlers and from anywhere else; here its state and the
//! pushes and queries users call. It is made by `builder.rs`; the server drives it through
//! `lifecycle.rs`, the built-in methods through `builtins.rs`, a broker through `inbound.rs`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::broker::{BrokerStatus, Kind, Remote, Route};
use super::presence::{JOINED, LEFT, presence_event};
use super::refusal::Refusal;
use super::registry::{Registry, deliver, deliver_burst, sorted};
use super::{History, Presence, PushError, Recovery, StreamPosition, Topic};
use crate::peer::Burst;
use crate::protocol::encode_notification;
use crate::{Connection, ConnectionId};

/// Pushes to connections, groups and topics. Cheap to clone: clones share everything. A server
/// has one ([`ServerBuilder::hub`](crate::ServerBuilder::hub), [`Server::hub`](crate::Server::hub)),
/// and every handler reaches it through [`Context::hub`](crate::Context::hub).
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
/// async fn join(cx: Context, conn: Connection, room: String) -> Result<bool, RpcError> {
///     Ok(cx.hub().join(&room, conn.id()).await?)
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
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub registry: RwLock<Registry>,
    /// Other processes' connections; `None` in-process.
    pub remote: Option<Arc<dyn Remote>>,
    pub topics: HashMap<Arc<str>, Topic>,
    pub aiohttp_names: bool,
    pub presence_events: bool,
    /// What every group keeps of its past; `None`: nothing.
    pub group_history: Option<History>,
    pub on_connect: Option<ConnectHook>,
    pub on_disconnect: Option<DisconnectHook>,
}

/// Runs before a handshake is answered; see [`HubBuilder::on_connect`](super::HubBuilder::on_connect).
pub(super) type ConnectHook =
    Arc<dyn Fn(Connection, Hub) -> BoxFuture<'static, Result<(), Refusal>> + Send + Sync>;
/// Runs once a connection has ended; see [`HubBuilder::on_disconnect`](super::HubBuilder::on_disconnect).
pub(super) type DisconnectHook =
    Arc<dyn Fn(Connection, Hub) -> BoxFuture<'static, ()> + Send + Sync>;

impl Inner {
    // The registry is changed one whole step at a time, so a panic elsewhere cannot leave it
    // inconsistent.
    pub fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.registry
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Hub {
    pub(super) fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.inner.read()
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.inner.write()
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
            // One the broker cannot take is counted as lost.
            Some(remote) if id.node() != 0 && id.node() != remote.node() => {
                remote.publish(
                    Route::Connection(id),
                    &encode_notification(method, &params).map_err(PushError::serialize)?,
                );
                Ok(())
            }
            _ => self
                .connection(id)
                .ok_or(PushError::UnknownConnection(id))?
                .notify(method, params),
        }
    }

    /// Adds a connection to `group`; `Ok(false)` if it was a member already. Once it returns,
    /// every push to the group sent afterwards reaches the member, from whichever process
    /// (with a broker, while it reaches Redis): waiting is for the broker, which subscribes
    /// this process to the group when it gains its first member here; without one it is
    /// ready at once.
    pub async fn join(&self, group: &str, id: ConnectionId) -> Result<bool, PushError> {
        self.enter(group, id, None).await
    }

    /// Like [`join`](Self::join), keeping `info` (a name, a status) with the membership, for
    /// [`presence`](Self::presence) to answer on every process; a member joining again
    /// replaces its info.
    pub async fn join_with(
        &self,
        group: &str,
        id: ConnectionId,
        info: impl Serialize,
    ) -> Result<bool, PushError> {
        let info = serde_json::to_string(&info).map_err(PushError::serialize)?;
        self.enter(group, id, Some(info.into())).await
    }

    /// Adds a connection to `group` keeping its position in the group's stream, for a hub
    /// whose groups keep history ([`HubBuilder::group_history`](super::HubBuilder::group_history));
    /// see [`subscribe_from`](Self::subscribe_from), which it is for groups.
    pub async fn join_from(
        &self,
        group: &str,
        id: ConnectionId,
        since: Option<StreamPosition>,
    ) -> Result<Recovery, PushError> {
        self.enter_from(group, id, None, since).await
    }

    /// [`join_from`](Self::join_from) with `info`, as [`join_with`](Self::join_with).
    pub async fn join_with_from(
        &self,
        group: &str,
        id: ConnectionId,
        info: impl Serialize,
        since: Option<StreamPosition>,
    ) -> Result<Recovery, PushError> {
        let info = serde_json::to_string(&info).map_err(PushError::serialize)?;
        self.enter_from(group, id, Some(info.into()), since).await
    }

    async fn enter(
        &self,
        group: &str,
        id: ConnectionId,
        info: Option<Arc<str>>,
    ) -> Result<bool, PushError> {
        let joined = self
            .write()
            .add_with(Kind::Group, group, id, info.clone())?;
        self.routed(Kind::Group, group).await;
        if joined {
            self.tell(JOINED, group, id, info.as_deref());
        }
        Ok(joined)
    }

    async fn enter_from(
        &self,
        group: &str,
        id: ConnectionId,
        info: Option<Arc<str>>,
        since: Option<StreamPosition>,
    ) -> Result<Recovery, PushError> {
        let history = self
            .inner
            .group_history
            .ok_or_else(|| PushError::NoHistory(group.to_owned()))?;
        let (joined, recovery) = self
            .from(Kind::Group, group, id, info.clone(), since, history)
            .await?;
        if joined {
            self.tell(JOINED, group, id, info.as_deref());
        }
        Ok(recovery)
    }

    /// Adds a member keeping its position, sending what it missed since `since`. With a
    /// broker the member gets no push until the broker has read what it missed, in order
    /// with what it delivers; if it cannot (Redis away), the member is taken out again.
    async fn from(
        &self,
        kind: Kind,
        name: &str,
        id: ConnectionId,
        info: Option<Arc<str>>,
        since: Option<StreamPosition>,
        history: History,
    ) -> Result<(bool, Recovery), PushError> {
        let Some(remote) = &self.inner.remote else {
            let mut registry = self.write();
            return registry.enter_from(kind, name, id, info, since.as_ref(), history);
        };
        let entered = {
            let mut registry = self.write();
            let entered = registry.enter(kind, name, id, info)?;
            registry.position(kind, name, id, u64::MAX);
            entered
        };
        self.routed(kind, name).await;
        match remote.recover(kind, name, id, since, history).await {
            Ok(recovery) => Ok((entered, recovery)),
            Err(err) => {
                let mut registry = self.write();
                if entered {
                    registry.remove(kind, name, id);
                } else {
                    // A member already, which goes on receiving every push.
                    registry.position(kind, name, id, 0);
                }
                Err(err)
            }
        }
    }

    /// A presence event to the group's members, if the hub sends them.
    pub(super) fn tell(&self, event: &str, group: &str, id: ConnectionId, info: Option<&str>) {
        if self.inner.presence_events {
            let _ = self.notify_group(group, event, presence_event(group, id, info));
        }
    }

    /// Takes a connection out of `group`; `false` if it was not a member.
    pub fn leave(&self, group: &str, id: ConnectionId) -> bool {
        let left = {
            let mut registry = self.write();
            let info = registry.info(group, id);
            registry.remove(Kind::Group, group, id).then_some(info)
        };
        let Some(info) = left else {
            return false;
        };
        self.tell(LEFT, group, id, info.as_deref());
        true
    }

    /// Sends every member of `group` a notification, serialized once; returns how many
    /// connections of this process it was queued for (members that are closing or, under
    /// [`SlowReaderPolicy::Drop`](crate::SlowReaderPolicy::Drop), too slow are not counted).
    ///
    /// With a broker it is published to the group's Redis channel and returns at once, with
    /// the number of the group's members on this process: every member, on every process,
    /// gets it as it comes back from Redis, so all of them see the group's pushes in one
    /// order. [`presence`](Self::presence) lists the members of every process. While Redis
    /// is unreachable, this process's members are sent it directly.
    pub fn notify_group(
        &self,
        group: &str,
        method: &str,
        params: impl Serialize,
    ) -> Result<usize, PushError> {
        let message = encode_notification(method, &params).map_err(PushError::serialize)?;
        if let Some(history) = self.inner.group_history {
            return Ok(self.append(Kind::Group, group, history, message));
        }
        Ok(self.send(Route::Group(group), Kind::Group, group, message))
    }

    /// Sends every member of `group` one notification per item of `params`, in order, as
    /// [`notify_group`](Self::notify_group) would one by one; returns how many connections of
    /// this process were queued every one of them.
    ///
    /// Without a broker or history, the notifications are framed once, together, and each
    /// member's queue takes them as one entry, all or none: the cheapest way to send a member
    /// several messages at once, and what a handler that produces a burst should call.
    pub fn notify_group_many<P: Serialize>(
        &self,
        group: &str,
        method: &str,
        params: impl IntoIterator<Item = P>,
    ) -> Result<usize, PushError> {
        let messages = encode_all(method, params)?;
        if let Some(history) = self.inner.group_history {
            let each = messages.into_iter();
            return Ok(least(
                each.map(|m| self.append(Kind::Group, group, history, m)),
            ));
        }
        Ok(self.send_many(Route::Group(group), Kind::Group, group, messages))
    }

    /// Publishes through the broker (framed outside the hub's lock), or delivers here when
    /// there is none or it cannot take the push; the count `notify_group` and `publish` answer.
    fn send(&self, route: Route<'_>, kind: Kind, name: &str, message: Utf8Bytes) -> usize {
        let relayed = self.relayed(route, &message);
        self.reach(relayed, kind, name, &message)
    }

    /// [`send`](Self::send) for several messages: through the broker one by one, or framed
    /// together and delivered here as one burst.
    fn send_many(
        &self,
        route: Route<'_>,
        kind: Kind,
        name: &str,
        messages: Vec<Utf8Bytes>,
    ) -> usize {
        if messages.is_empty() {
            return 0;
        }
        if self.inner.remote.is_some() {
            return least(
                messages
                    .into_iter()
                    .map(|m| self.send(route, kind, name, m)),
            );
        }
        let burst = Arc::new(Burst::new(messages.iter().map(|m| m.as_str())));
        deliver_burst(self.read().sets(kind).get(name), &burst)
    }

    /// Delivers a push here unless the broker took it (`relayed`), which brings it back;
    /// either way, the number of the set's members here.
    fn reach(&self, relayed: bool, kind: Kind, name: &str, message: &Utf8Bytes) -> usize {
        let registry = self.read();
        let members = registry.sets(kind).get(name);
        if relayed {
            members.map_or(0, |m| m.len())
        } else {
            deliver(members, message)
        }
    }

    /// Whether the broker took the push, which then comes back through Redis.
    fn relayed(&self, route: Route<'_>, message: &Utf8Bytes) -> bool {
        let remote = self.inner.remote.as_ref();
        remote.is_some_and(|remote| remote.publish(route, message))
    }

    /// Waits until pushes to the group or topic reach this process from every process.
    pub(super) async fn routed(&self, kind: Kind, name: &str) {
        if let Some(remote) = &self.inner.remote {
            remote.routed(kind, name).wait().await;
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

    /// Who is in `group` on every live process, in order of id, each with what it joined with:
    /// with a broker, as Redis holds it (a join is there once it has returned; a process that
    /// dies is taken out within six heartbeats, 6 s by default); without one, this process's.
    pub async fn presence(&self, group: &str) -> Result<Vec<Presence>, PushError> {
        if let Some(remote) = &self.inner.remote {
            return remote.presence(group).await;
        }
        let registry = self.read();
        let members = registry
            .groups
            .get(group)
            .into_iter()
            .flat_map(|m| m.keys());
        let mut members: Vec<Presence> = members
            .map(|&id| Presence::new(id, registry.info(group, id).as_deref()))
            .collect();
        members.sort_unstable_by_key(|member| member.id);
        Ok(members)
    }

    /// Every group with at least one member on this process, in order: a group exists while
    /// it has members.
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
    /// serialized once; returns how many connections of this process it was queued for (with a
    /// broker, as [`notify_group`](Self::notify_group) does: published to the topic's Redis
    /// channel, in one order for every subscriber). A topic declared with
    /// [`Topic::retain_last`] keeps it for later subscribers; one with [`Topic::history`]
    /// numbers it and keeps it for subscribers coming back.
    pub fn publish(&self, topic: &str, data: impl Serialize) -> Result<usize, PushError> {
        let declared = self.declared(topic)?;
        let message = encode_notification(topic, &data).map_err(PushError::serialize)?;
        Ok(self.publish_encoded(declared, message))
    }

    /// Publishes each item of `items` to the topic, in order, as [`publish`](Self::publish)
    /// would one by one; returns how many connections of this process were queued every one.
    ///
    /// On a topic without history or a retained value, and without a broker, the items are
    /// framed once, together, and each subscriber's queue takes them as one entry, all or
    /// none: the cheapest way to publish several items at once, and what a handler that
    /// produces a burst should call.
    pub fn publish_many<T: Serialize>(
        &self,
        topic: &str,
        items: impl IntoIterator<Item = T>,
    ) -> Result<usize, PushError> {
        let declared = self.declared(topic)?;
        let messages = encode_all(topic, items)?;
        if declared.history.is_some() || declared.retain_last {
            let each = messages.into_iter();
            return Ok(least(each.map(|m| self.publish_encoded(declared, m))));
        }
        Ok(self.send_many(Route::Topic(topic), Kind::Topic, topic, messages))
    }

    fn publish_encoded(&self, declared: &Topic, message: Utf8Bytes) -> usize {
        if let Some(history) = declared.history {
            return self.append(Kind::Topic, &declared.name, history, message);
        }
        if declared.retain_last {
            return self.retain(declared, message);
        }
        let topic = &*declared.name;
        self.send(Route::Topic(topic), Kind::Topic, topic, message)
    }

    /// Like [`publish`](Self::publish), and keeps `data` as the topic's retained value: every
    /// later subscriber receives it at once, until the next retained publish replaces it.
    pub fn publish_retained(&self, topic: &str, data: impl Serialize) -> Result<usize, PushError> {
        let declared = self.declared(topic)?;
        let message = encode_notification(topic, &data).map_err(PushError::serialize)?;
        if let Some(history) = declared.history {
            return Ok(self.append(Kind::Topic, topic, history, message));
        }
        Ok(self.retain(declared, message))
    }

    /// Numbers a push to a topic or group with history, keeps it and delivers it: through
    /// Redis with a broker (which numbers it in the one order every process delivers), here
    /// without one. While the broker cannot take it, this process's members get it unnumbered.
    fn append(&self, kind: Kind, name: &str, history: History, message: Utf8Bytes) -> usize {
        let Some(remote) = &self.inner.remote else {
            return self.write().append(kind, name, history, &message);
        };
        let relayed = remote.append(kind, name, history, &message);
        self.reach(relayed, kind, name, &message)
    }

    fn retain(&self, topic: &Topic, message: Utf8Bytes) -> usize {
        let route = Route::Retained {
            topic: &topic.name,
            seq: 0,
        };
        if self.relayed(route, &message) {
            return self
                .read()
                .subscribers
                .get(&*topic.name)
                .map_or(0, |m| m.len());
        }
        self.write().retain(&topic.name, None, message)
    }

    /// Subscribes a connection to a topic, as the server decides (no guard is asked); a
    /// retained value is sent to it at once. `Ok(false)` if it was subscribed already. Like
    /// [`join`](Self::join), it returns once every later publish reaches the subscriber.
    pub async fn subscribe(&self, topic: &str, id: ConnectionId) -> Result<bool, PushError> {
        self.declared(topic)?;
        let subscribed = self.write().subscribe(topic, id)?;
        self.routed(Kind::Topic, topic).await;
        Ok(subscribed)
    }

    /// Subscribes a connection to a topic with [`Topic::history`], keeping its position: from
    /// now on it receives the topic's publications with their offsets. Given `since`, the
    /// position it last saw, it is first sent every publication after it, in order, then the
    /// live ones, none missed or doubled in between; if some are no longer kept (too old, or
    /// `since` is of another epoch), none is sent and the answer says so
    /// ([`Recovery::recovered`]). Like [`subscribe`](Self::subscribe), it returns once every
    /// later publish reaches the subscriber.
    pub async fn subscribe_from(
        &self,
        topic: &str,
        id: ConnectionId,
        since: Option<StreamPosition>,
    ) -> Result<Recovery, PushError> {
        let history = self
            .declared(topic)?
            .history
            .ok_or_else(|| PushError::NoHistory(topic.to_owned()))?;
        let (_, recovery) = self
            .from(Kind::Topic, topic, id, None, since, history)
            .await?;
        Ok(recovery)
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

    /// Returns once every push this hub made before the call has reached Redis: published,
    /// and kept where its group or topic has history. A push made while Redis was away, or
    /// while the broker's queue was full, was delivered to this process's connections and
    /// counted as lost ([`BrokerStatus::lost`]) instead; one that Redis is lost under while
    /// this waits is too. Without a broker, at once: pushes are queued to this process's
    /// connections as they are made. For a process that publishes and ends:
    ///
    /// ```no_run
    /// # async fn job(hub: rpc_runtime::Hub) -> Result<(), rpc_runtime::PushError> {
    /// hub.publish("news", "the last item")?;
    /// hub.flush().await; // before the runtime, and the broker's task with it, goes
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// A hub dropped without it still sends what it had queued, for as long as its runtime
    /// runs, but nothing waits for that.
    pub async fn flush(&self) {
        if let Some(remote) = &self.inner.remote {
            remote.flush().await;
        }
    }

    /// How the hub's broker is doing; `None` without one.
    pub fn broker_status(&self) -> Option<BrokerStatus> {
        self.inner.remote.as_ref().map(|remote| remote.status())
    }

    pub(super) fn declared(&self, topic: &str) -> Result<&Topic, PushError> {
        self.inner
            .topics
            .get(topic)
            .ok_or_else(|| PushError::UnknownTopic(topic.to_owned()))
    }
}

/// Each of `params` as a notification of `method`.
fn encode_all<P: Serialize>(
    method: &str,
    params: impl IntoIterator<Item = P>,
) -> Result<Vec<Utf8Bytes>, PushError> {
    let encoded = params.into_iter().map(|p| encode_notification(method, &p));
    encoded
        .collect::<Result<_, _>>()
        .map_err(PushError::serialize)
}

/// The fewest connections any one of several pushes reached: those that got them all.
fn least(reached: impl Iterator<Item = usize>) -> usize {
    reached.min().unwrap_or(0)
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
