//! A client that dispatches straight into a router, for tests: the whole protocol path, no
//! socket.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::future::BoxFuture;
use http::{HeaderName, HeaderValue};
use serde_json::value::RawValue;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::exchange::{Exchange, exchanging_client};
use super::wire::single_outcome;
use super::{ClientError, Notification, RpcClient, Subscriber, Subscription, SubscriptionClient};
use crate::defaults::DEFAULT_BUFFER;
use crate::dispatch::{Dispatcher, Policy, Unclaimed};
use crate::peer::{ConnectionId, Limits, Listeners};
use crate::protocol::{Message, encode_request, encode_unsubscribe};
use crate::state::StateMap;
use crate::{Connection, Context, Hub, Refusal, Router, RpcError, Transport};

/// Calls a [`Router`] in process, through the same parsing, dispatch and encoding as a server,
/// as if over `transport` (WebSocket unless set), so that handlers can be tested end to end
/// without a socket.
///
/// Over WebSocket the client is a connection too: registered with its [`Hub`], it receives what
/// handlers push ([`next_notification`](Self::next_notification)), joins groups and subscribes
/// to topics, makes typed subscriptions ([`SubscriptionClient`]), and
/// [`connect`](TestClientBuilder::connect) and [`close`](Self::close) run the hub's hooks.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rpc_runtime::client::{RpcClient, TestClient};
/// use rpc_runtime::{Connection, methods, rpc_method};
///
/// #[rpc_method]
/// fn subtract(minuend: i64, subtrahend: i64) -> i64 { minuend - subtrahend }
///
/// #[rpc_method]
/// fn ping_me(conn: Connection) {
///     conn.notify("ping", ()).unwrap();
/// }
///
/// let client = TestClient::new(methods![subtract, ping_me]);
/// assert_eq!(client.call::<i64>("subtract", (42, 23)).await.unwrap(), 19);
/// let raw = client.request(r#"{"jsonrpc":"2.0","method":"subtract","params":[1],"id":1}"#).await;
/// assert!(raw.unwrap().contains("-32602"));
/// client.call::<()>("ping_me", ()).await.unwrap();
/// assert_eq!(client.try_next_notification().unwrap().method(), "ping");
/// # }
/// ```
///
/// Clones are the same connection: hand one to each task or typed client (a reference does as
/// well: `MathClient::new(&client)`). The connection ends when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct TestClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dispatcher: Dispatcher,
    cx: Context,
    next_id: AtomicU64,
    /// Where the items of the subscriptions made through this client go.
    listeners: Listeners,
    /// What was read off the connection's queue ahead of the caller, to hand subscriptions
    /// their items as they come: the other messages, oldest first, at most [`READ_AHEAD`].
    read: Mutex<VecDeque<Utf8Bytes>>,
    /// Told when the caller takes from `read`, which a full `read` waits for.
    taken: Arc<Notify>,
    /// Told when messages are moved to `read`, which a caller waiting for one waits for.
    arrived: Notify,
    /// Whether the queue is read as pushes come, which the first subscription starts.
    reading: AtomicBool,
}

/// How many pushes that are not a subscription's items the client reads ahead of the caller
/// (while it has subscriptions); past that the connection's queue holds them, as a client
/// that does not read would, and its bound and slow-reader policy apply.
const READ_AHEAD: usize = DEFAULT_BUFFER;

/// Configures a [`TestClient`].
#[derive(Debug)]
pub struct TestClientBuilder {
    router: Router,
    transport: Transport,
    state: StateMap,
    hub: Option<Hub>,
    headers: super::Headers,
    peer_addr: Option<SocketAddr>,
}

impl TestClientBuilder {
    /// Calls as if over `transport`, which decides which methods exist; WebSocket by default.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Registers state for handlers, as [`ServerBuilder::state`](crate::ServerBuilder::state) does.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// The hub the connection joins, as [`ServerBuilder::hub`](crate::ServerBuilder::hub) sets
    /// it; one of its own by default. Clients built with one hub reach each other.
    pub fn hub(mut self, hub: Hub) -> Self {
        self.hub = Some(hub);
        self
    }

    /// A header of the HTTP request (or WebSocket handshake) handlers see: strings
    /// (`.header("x-user", "alice")`) or `http`'s types. An invalid name or value makes
    /// [`build`](Self::build) panic, saying which: a test's mistake.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        self.headers.insert(name, value);
        self
    }

    /// The peer address handlers see; none by default.
    pub fn peer_addr(mut self, addr: SocketAddr) -> Self {
        self.peer_addr = Some(addr);
        self
    }

    /// The client, as a connection the server accepted; the hub's `on_connect` hook is not run.
    ///
    /// # Panics
    /// If a header given is invalid, or the router has a method named like one of the hub's
    /// built-in topic methods.
    pub fn build(self) -> TestClient {
        let headers = self
            .headers
            .into_result()
            .unwrap_or_else(|err| panic!("{err}"));
        let hub = self.hub.unwrap_or_default();
        let router = self
            .router
            .merge(crate::push::builtin_methods(&hub))
            .unwrap_or_else(|err| panic!("{err}"));
        let state = Arc::new(self.state);
        let cx = match self.transport {
            Transport::WebSocket => {
                let (connection, cx) = hub.open(self.peer_addr, headers, &Limits::default(), state);
                hub.register(&connection);
                cx
            }
            transport => Context::request(
                transport,
                self.peer_addr,
                headers,
                ConnectionId::next(),
                state,
                hub,
            ),
        };
        TestClient {
            inner: Arc::new(Inner {
                dispatcher: Dispatcher::new(router, Policy::default()),
                cx,
                next_id: AtomicU64::new(1),
                listeners: Listeners::new(DEFAULT_BUFFER, DEFAULT_BUFFER),
                read: Mutex::new(VecDeque::new()),
                taken: Arc::new(Notify::new()),
                arrived: Notify::new(),
                reading: AtomicBool::new(false),
            }),
        }
    }

    /// The client, once the hub's `on_connect` hook has accepted it, as a server would connect
    /// a WebSocket client; the hook's refusal otherwise.
    pub async fn connect(self) -> Result<TestClient, Refusal> {
        let client = self.build();
        if let Some(connection) = client.connection() {
            // A refused client is dropped, which takes it out of the hub.
            client.hub().accept(connection).await?;
        }
        Ok(client)
    }
}

impl TestClient {
    /// A client of `router`, as a WebSocket connection with no state and a hub of its own.
    pub fn new(router: Router) -> Self {
        TestClient::builder(router).build()
    }

    /// A client of `router` to configure.
    pub fn builder(router: Router) -> TestClientBuilder {
        TestClientBuilder {
            router,
            transport: Transport::WebSocket,
            state: StateMap::default(),
            hub: None,
            headers: super::Headers::default(),
            peer_addr: None,
        }
    }

    /// Sends one raw JSON-RPC message and returns the raw answer, `None` when there is none.
    pub async fn request(&self, message: &str) -> Option<String> {
        self.request_bytes(message.as_bytes()).await
    }

    /// Like [`request`](Self::request), for a message as bytes (a WebSocket binary frame
    /// carries them); bytes that are not UTF-8 get -32700.
    pub async fn request_bytes(&self, message: &[u8]) -> Option<String> {
        let connection = self.connection();
        let unclaimed = connection.map(|connection| connection as &dyn Unclaimed);
        let reply = (self.inner.dispatcher)
            .answer_bytes(message, &self.inner.cx, unclaimed)
            .await;
        match connection {
            Some(connection) => connection.hand_over(reply),
            None => reply.text,
        }
    }

    /// The client's connection, over WebSocket.
    pub fn connection(&self) -> Option<&Connection> {
        self.inner.cx.connection()
    }

    /// The hub the client's connection is registered with.
    pub fn hub(&self) -> &Hub {
        self.inner.cx.hub()
    }

    /// The oldest notification pushed to this client and not yet read, if any (the items of
    /// subscriptions made through [`SubscriptionClient`] go to them instead).
    pub fn try_next_notification(&self) -> Option<Notification> {
        let connection = self.connection()?;
        // Held while the queue is read too, so that nothing the reading task moves aside
        // meanwhile is overtaken.
        let mut read = self.inner.read();
        let message = match read.pop_front() {
            // Room again for the reading task, if it waits for some.
            Some(message) => {
                self.inner.taken.notify_one();
                message
            }
            None => self.inner.next_message(connection)?,
        };
        drop(read);
        Notification::parse(&message)
    }

    /// The next notification pushed to this client, waiting for one; `None` once the
    /// connection has closed (a handler may close it) and everything pushed has been read.
    pub async fn next_notification(&self) -> Option<Notification> {
        let connection = self.connection()?;
        loop {
            // Made before looking, so that what the reading task moves aside meanwhile wakes it.
            let arrived = self.inner.arrived.notified();
            if let Some(notification) = self.try_next_notification() {
                return Some(notification);
            }
            if !self.inner.attend(connection) {
                return None;
            }
            tokio::select! {
                () = connection.outbox().needs_attention() => {}
                () = arrived => {}
            }
        }
    }

    /// Reads the connection's queue as pushes come, from the first subscription on, so that
    /// subscriptions get their items without the caller reading notifications.
    fn read_as_pushed(&self, connection: &Connection) {
        if self.inner.reading.swap(true, Ordering::AcqRel) {
            return;
        }
        // Holds the client weakly, so that dropping its last clone still ends the connection.
        let (client, connection) = (Arc::downgrade(&self.inner), connection.clone());
        let taken = self.inner.taken.clone();
        tokio::spawn(async move {
            loop {
                connection.outbox().needs_attention().await;
                let full = {
                    let Some(inner) = client.upgrade() else {
                        return;
                    };
                    if !inner.attend(&connection) {
                        inner.listeners.end();
                        return;
                    }
                    let mut read = inner.read();
                    let before = read.len();
                    while read.len() < READ_AHEAD {
                        let Some(message) = inner.next_message(&connection) else {
                            break;
                        };
                        read.push_back(message);
                    }
                    if read.len() > before {
                        inner.arrived.notify_waiters();
                    }
                    read.len() >= READ_AHEAD
                };
                if full {
                    tokio::select! {
                        () = taken.notified() => {}
                        () = connection.closed() => {}
                    }
                }
            }
        });
    }

    /// Closes the connection, for every clone, as a client hanging up would: it leaves its
    /// groups and topics, then the hub's `on_disconnect` hook runs.
    pub async fn close(self) {
        self.inner.end();
        if let Some(connection) = self.connection() {
            self.hub().disconnected(connection).await;
        }
    }
}

impl Inner {
    fn read(&self) -> MutexGuard<'_, VecDeque<Utf8Bytes>> {
        // Each change is one push or pop.
        self.read.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next message off the connection's queue that is not an item of a subscription
    /// made through this client, those handed to their subscriptions on the way.
    fn next_message(&self, connection: &Connection) -> Option<Utf8Bytes> {
        loop {
            let message = connection.outbox().pop()?;
            match Message::parse(&message) {
                Ok(Message::Request(request))
                    if request.id.is_none() && self.listeners.item(&request) => {}
                _ => return Some(message),
            }
        }
    }

    /// Takes what the queue asks of the connection's reader besides its messages: a close a
    /// handler asked for ends the connection, a keepalive tick (from a server sharing the hub)
    /// is taken so that the next wait does not return at once for it; `false` once closed.
    fn attend(&self, connection: &Connection) -> bool {
        if connection.outbox().status().close.is_some() {
            self.end();
        }
        !connection.is_closed()
    }

    fn end(&self) {
        if let Some(connection) = self.cx.connection() {
            self.cx.hub().unregister(connection.id());
            connection.end();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.end();
    }
}

exchanging_client!(TestClient);

impl Subscriber for TestClient {
    fn listeners(&self) -> &Listeners {
        &self.inner.listeners
    }

    fn unsubscribe<'a>(
        &'a self,
        method: &'a str,
        id: &'a RawValue,
    ) -> BoxFuture<'a, Result<bool, ClientError>> {
        Box::pin(self.call(method, [id]))
    }

    /// In a task of its own, where there is a runtime to run it: a dropped subscription's.
    fn unsubscribe_unawaited(&self, method: &str, id: &RawValue) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.connection().is_none_or(Connection::is_closed) {
            return;
        }
        let request = encode_unsubscribe(method, id, self.reserve_ids(1));
        let client = self.clone();
        runtime.spawn(async move { client.request(&request).await });
    }
}

impl SubscriptionClient for TestClient {
    /// The items are routed from before the subscription starts: the answer is read and its
    /// id listened for before the method's stream is started.
    async fn subscribe_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
    ) -> Result<Subscription<Box<RawValue>>, ClientError> {
        let Some(connection) = self.connection() else {
            return Err(ClientError::Rpc(RpcError::method_not_found().with_data(
                "subscriptions need a WebSocket connection: a TestClient over HTTP has none",
            )));
        };
        let call = self.reserve_ids(1);
        let mut request = String::new();
        encode_request(
            &mut request,
            method,
            params.as_deref().map(RawValue::get),
            Some(call),
        );
        let unclaimed = Some(connection as &dyn Unclaimed);
        let reply = (self.inner.dispatcher)
            .answer_bytes(request.as_bytes(), &self.inner.cx, unclaimed)
            .await;
        let outcome = match reply.text.as_deref() {
            Some(answer) => single_outcome(answer, call),
            None => Err(ClientError::Decode("a subscribe call got no answer".into())),
        };
        let items = outcome
            .as_ref()
            .ok()
            .map(|id| self.inner.listeners.subscribe(id));
        connection.hand_over(reply);
        let id = outcome?;
        self.read_as_pushed(connection);
        let items = items.expect("listened for with the id");
        Ok(Subscription::new(
            Arc::new(self.clone()),
            id,
            unsubscribe.to_owned(),
            items,
        ))
    }
}

impl Exchange for TestClient {
    async fn exchange(&self, message: String) -> Result<Option<String>, ClientError> {
        Ok(self.request(&message).await)
    }

    fn reserve_ids(&self, count: u64) -> u64 {
        self.inner.next_id.fetch_add(count, Ordering::Relaxed)
    }
}
