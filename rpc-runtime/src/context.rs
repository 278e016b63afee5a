//! What a handler may know about the call besides its params.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;

use crate::state::StateMap;

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
    peer_addr: Option<SocketAddr>,
    headers: HeaderMap,
    connection_id: ConnectionId,
    state: Arc<StateMap>,
}

impl Context {
    pub(crate) fn new(
        transport: Transport,
        peer_addr: Option<SocketAddr>,
        headers: HeaderMap,
        connection_id: ConnectionId,
        state: Arc<StateMap>,
    ) -> Self {
        Context {
            inner: Arc::new(Inner {
                transport,
                peer_addr,
                headers,
                connection_id,
                state,
            }),
        }
    }

    /// The transport the call arrived on.
    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// The remote address of the connection, when there is one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.peer_addr
    }

    /// The HTTP request's headers, or for WebSocket the headers of the upgrade handshake.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The connection the call arrived on. HTTP calls on one keep-alive connection share it.
    pub fn connection_id(&self) -> ConnectionId {
        self.inner.connection_id
    }

    /// The state of type `T` registered with [`ServerBuilder::state`](crate::ServerBuilder::state),
    /// or `None` if none was.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.state.get()
    }
}
