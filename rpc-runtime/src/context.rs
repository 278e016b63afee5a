//! What a handler may know about the call besides its params.

use std::any::Any;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;

use crate::peer::{Connection, ConnectionId};
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
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

/// `hub` is the server's `Hub`, which `push/context.rs` reads back. It is held as `Any`
/// because the hub sits above the context: its topics' guards take a `Context`. Unsized
/// last, so that one allocation holds it all.
struct Inner<H: ?Sized = dyn Any + Send + Sync> {
    transport: Transport,
    state: Arc<StateMap>,
    source: Source,
    hub: H,
}

/// Where the call came from: one HTTP request, or a connection that outlives it.
pub(crate) enum Source {
    Request {
        peer_addr: Option<SocketAddr>,
        headers: HeaderMap,
        connection_id: ConnectionId,
    },
    Connection(Connection),
}

impl Context {
    /// A context holding `hub`; the hub's own constructors (`push/context.rs`) are the callers.
    pub(crate) fn with_hub<H: Any + Send + Sync>(
        transport: Transport,
        source: Source,
        state: Arc<StateMap>,
        hub: H,
    ) -> Self {
        let inner: Arc<Inner<H>> = Arc::new(Inner {
            transport,
            state,
            source,
            hub,
        });
        Context { inner }
    }

    /// What [`with_hub`](Self::with_hub) was given.
    pub(crate) fn hub_any(&self) -> &(dyn Any + Send + Sync) {
        &self.inner.hub
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

    /// The state of type `T` registered with [`ServerBuilder::state`](crate::ServerBuilder::state),
    /// or `None` if none was.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.state.get()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("transport", &self.inner.transport)
            .field("connection_id", &self.connection_id())
            .field("peer_addr", &self.peer_addr())
            .finish_non_exhaustive()
    }
}
