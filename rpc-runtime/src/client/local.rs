//! A client that dispatches straight into a router, for tests: the whole protocol path, no
//! socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderName, HeaderValue};

use super::exchange::{Exchange, exchanging_client};
use super::{ClientError, Notification};
use crate::dispatch::{Dispatcher, Policy, Unclaimed};
use crate::peer::ConnectionId;
use crate::peer::Limits;
use crate::state::StateMap;
use crate::{Connection, Context, Hub, Refusal, Router, Transport};

/// Calls a [`Router`] in process, through the same parsing, dispatch and encoding as a server,
/// as if over `transport` (WebSocket unless set), so that handlers can be tested end to end
/// without a socket.
///
/// Over WebSocket the client is a connection too: registered with its [`Hub`], it receives what
/// handlers push ([`next_notification`](Self::next_notification)), joins groups and subscribes
/// to topics, and [`connect`](TestClientBuilder::connect) and [`close`](Self::close) run the
/// hub's hooks.
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
}

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

    /// The oldest notification pushed to this client and not yet read, if any.
    pub fn try_next_notification(&self) -> Option<Notification> {
        let connection = self.connection()?;
        let message = connection.outbox().pop()?;
        Notification::parse(&message)
    }

    /// The next notification pushed to this client, waiting for one; `None` once the
    /// connection has closed (a handler may close it) and everything pushed has been read.
    pub async fn next_notification(&self) -> Option<Notification> {
        let connection = self.connection()?;
        loop {
            if let Some(notification) = self.try_next_notification() {
                return Some(notification);
            }
            // Read whole, so that a keepalive tick (from a server sharing the hub) is taken too
            // and the wait below does not return at once for it again.
            if connection.outbox().status().close.is_some() {
                self.inner.end();
            }
            if connection.is_closed() {
                return None;
            }
            connection.outbox().needs_attention().await;
        }
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

impl Exchange for TestClient {
    async fn exchange(&self, message: String) -> Result<Option<String>, ClientError> {
        Ok(self.request(&message).await)
    }

    fn reserve_ids(&self, count: u64) -> u64 {
        self.inner.next_id.fetch_add(count, Ordering::Relaxed)
    }
}
