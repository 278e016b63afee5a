//! What a handler may know about the call besides its params.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// Identifies one connection for its lifetime; unique across the processes that share a
/// broker, and within the process otherwise.
///
/// It is the connection's process (its *node*: `0` without a broker, a random number per hub
/// on Redis) and its number within that process. Its text form, which `Serialize` and
/// `Deserialize` use too, is `"7"` on node `0` and `"NODE.7"` (the node in hex) otherwise, so a
/// client can be handed an id and give it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    node: u64,
    seq: u64,
}

impl ConnectionId {
    /// A new id on node `0`.
    pub(crate) fn next() -> Self {
        ConnectionId::on(0)
    }

    /// A new id on `node`: the number is process-wide, so ids of hubs on one node never meet.
    pub(crate) fn on(node: u64) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnectionId {
            node,
            seq: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn from_parts(node: u64, seq: u64) -> Self {
        ConnectionId { node, seq }
    }

    /// The connection's number within its process, for logs and maps.
    pub fn get(self) -> u64 {
        self.seq
    }

    /// The connection's process: `0` without a broker.
    pub fn node(self) -> u64 {
        self.node
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node {
            0 => write!(f, "{}", self.seq),
            node => write!(f, "{node:x}.{}", self.seq),
        }
    }
}

/// The text is not a connection id: `"7"` or `"NODE.7"` with `NODE` in hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a connection id: expected `7` or `NODE.7` (NODE in hex)")]
pub struct ParseConnectionIdError;

impl FromStr for ConnectionId {
    type Err = ParseConnectionIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (node, seq) = match text.split_once('.') {
            Some((node, seq)) => (
                u64::from_str_radix(node, 16).map_err(|_| ParseConnectionIdError)?,
                seq,
            ),
            None => (0, text),
        };
        let seq = seq.parse().map_err(|_| ParseConnectionIdError)?;
        Ok(ConnectionId { node, seq })
    }
}

impl Serialize for ConnectionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConnectionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_read_back_what_they_print() {
        for id in [
            ConnectionId::from_parts(0, 7),
            ConnectionId::from_parts(0xbeef, 7),
        ] {
            assert_eq!(id.to_string().parse::<ConnectionId>(), Ok(id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<ConnectionId>(&json).unwrap(), id);
        }
        assert_eq!(ConnectionId::from_parts(0xbeef, 7).to_string(), "beef.7");
        assert_eq!(ConnectionId::from_parts(0, 7).to_string(), "7");
        for bad in ["", "x", "beef.", ".7", "zz.7", "-1"] {
            assert_eq!(
                bad.parse::<ConnectionId>(),
                Err(ParseConnectionIdError),
                "{bad}"
            );
        }
    }
}
