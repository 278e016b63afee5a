//! What a handler may know about the call besides its params.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;

use crate::state::StateMap;
use crate::{Connection, Hub};

/// The transport a call arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// An HTTP `POST`.
    Http,
    /// A message on a WebSocket connection.
    WebSocket,
}

/// Identifies one connection for its lifetime; unique within the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnectionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number, for logs and maps.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The call's surroundings, injected into any handler parameter of this type.
///
/// The macros recognise the parameter by its type: a parameter whose type is written
/// `Context` (or any path ending in `Context`, such as `rpc_runtime::Context`) is never read
/// from the params. Cloning is cheap.
///
/// ```
/// use rpc_runtime::{Context, Transport, rpc_method};
///
/// struct Greeting(String);
///
/// #[rpc_method]
/// fn whoami(cx: Context) -> String {
///     let greeting = cx.state::<Greeting>().map_or("hello", |g| g.0.as_str());
///     let via = if cx.transport() == Transport::Http { "http" } else { "ws" };
///     format!("{greeting} {:?} over {via}", cx.peer_addr())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    state: Arc<StateMap>,
    hub: Hub,
    source: Source,
}

/// Where the call came from: one HTTP request, or a connection that outlives it.
#[derive(Debug)]
enum Source {
    Request {
        peer_addr: Option<SocketAddr>,
        headers: HeaderMap,
        connection_id: ConnectionId,
    },
    Connection(Connection),
}

impl Context {
    /// The context of one HTTP request.
    pub(crate) fn request(
        transport: Transport,
        peer_addr: Option<SocketAddr>,
        headers: HeaderMap,
        connection_id: ConnectionId,
        state: Arc<StateMap>,
        hub: Hub,
    ) -> Self {
        let source = Source::Request {
            peer_addr,
            headers,
            connection_id,
        };
        Context::new(transport, source, state, hub)
    }

    /// The context every call on `connection` shares.
    pub(crate) fn connection_of(connection: Connection, state: Arc<StateMap>, hub: Hub) -> Self {
        let source = Source::Connection(connection);
        Context::new(Transport::WebSocket, source, state, hub)
    }

    fn new(transport: Transport, source: Source, state: Arc<StateMap>, hub: Hub) -> Self {
        Context {
            inner: Arc::new(Inner {
                transport,
                state,
                hub,
                source,
            }),
        }
    }

    /// The transport the call arrived on.
    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// The remote address of the connection, when there is one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match &self.inner.source {
            Source::Request { peer_addr, .. } => *peer_addr,
            Source::Connection(connection) => connection.peer_addr(),
        }
    }

    /// The HTTP request's headers, or for WebSocket the headers of the upgrade handshake.
    pub fn headers(&self) -> &HeaderMap {
        match &self.inner.source {
            Source::Request { headers, .. } => headers,
            Source::Connection(connection) => connection.headers(),
        }
    }

    /// The connection the call arrived on. HTTP calls on one keep-alive connection share it.
    pub fn connection_id(&self) -> ConnectionId {
        match &self.inner.source {
            Source::Request { connection_id, .. } => *connection_id,
            Source::Connection(connection) => connection.id(),
        }
    }

    /// The WebSocket connection the call arrived on, to push to or keep values with; `None`
    /// over HTTP, where the response is all the server can send.
    pub fn connection(&self) -> Option<&Connection> {
        match &self.inner.source {
            Source::Request { .. } => None,
            Source::Connection(connection) => Some(connection),
        }
    }

    /// The server's hub: notify any connection, groups and topics, from any transport.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The state of type `T` registered with [`ServerBuilder::state`](crate::ServerBuilder::state),
    /// or `None` if none was.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.state.get()
    }
}
