//! A handle to one WebSocket connection: push to it, call its peer, close it, keep values with
//! it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use http::HeaderMap;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use super::{Burst, ConnectionId, Limits, Listeners, Outbox, Pending, Pushed, Subscriptions};
use crate::PushError;
use crate::defaults::DEFAULT_BUFFER;
use crate::protocol::encode_notification;
use crate::state::StateMap;

/// One WebSocket connection, as handlers and hooks see it. Cheap to clone, `Send + Sync +
/// 'static`: keep it in state or move it into a task and push to the client later.
///
/// A handler gets it by taking a `Connection` param (the method then exists on WebSocket only),
/// or from [`Context::connection`](crate::Context::connection), which is `None` over HTTP.
///
/// It is also a client of the peer: through [`RpcClient`](crate::client::RpcClient) a server
/// calls the methods its client serves (a [`WsClient`](crate::client::WsClient) given a router,
/// say), with a timeout, and an `#[rpc_service]` trait's typed client runs over it:
/// `UiClient::new(connection).confirm("delete?").await`.
///
/// ```
/// use rpc_runtime::{Connection, RpcError, rpc_method};
///
/// #[derive(Clone)]
/// struct User(String);
///
/// #[rpc_method]
/// fn login(conn: Connection, name: String) {
///     conn.insert(User(name));
/// }
///
/// #[rpc_method]
/// fn whoami(conn: Connection) -> Result<String, RpcError> {
///     let user = conn.get::<User>().ok_or_else(|| RpcError::new(-32001, "log in first"))?;
///     conn.notify("greeting", ("welcome back",)).ok();
///     Ok(user.0)
/// }
/// ```
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    id: ConnectionId,
    peer_addr: Option<SocketAddr>,
    headers: HeaderMap,
    outbox: Outbox,
    /// The calls this side made, awaiting the peer's answers.
    pending: Pending,
    call_timeout: Duration,
    /// The typed subscriptions this side serves.
    subscriptions: Subscriptions,
    /// Where notifications no method handles go; made on first use, since a server's
    /// connections rarely need it, or given by a client.
    listeners: OnceLock<Arc<Listeners>>,
    values: Mutex<StateMap>,
    /// Cancelled once the connection has ended.
    ended: CancellationToken,
}

impl Connection {
    pub(crate) fn new(
        id: ConnectionId,
        peer_addr: Option<SocketAddr>,
        headers: HeaderMap,
        limits: &Limits,
    ) -> Self {
        Connection {
            inner: Arc::new(Inner {
                id,
                peer_addr,
                headers,
                outbox: Outbox::new(limits.outbound_queue, limits.slow_reader),
                pending: Pending::default(),
                call_timeout: limits.call_timeout,
                subscriptions: Subscriptions::new(limits.max_subscriptions),
                listeners: OnceLock::new(),
                values: Mutex::new(StateMap::default()),
                ended: CancellationToken::new(),
            }),
        }
    }

    /// The connection's id, unique across the processes sharing a broker; [`Hub`](crate::Hub)
    /// methods take it.
    pub fn id(&self) -> ConnectionId {
        self.inner.id
    }

    /// The client's address, when there is one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.peer_addr
    }

    /// The headers of the upgrade handshake.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// Sends the client a notification: `{"jsonrpc":"2.0","method":METHOD,"params":PARAMS}`.
    /// `params` is any `Serialize` value, usually a tuple or array (positional) or a struct or
    /// map (named); `()` sends none. It is queued at once, never waiting for the client; see
    /// [`SlowReaderPolicy`](crate::SlowReaderPolicy) for a client that does not keep up.
    pub fn notify(&self, method: &str, params: impl Serialize) -> Result<(), PushError> {
        let message = encode_notification(method, &params).map_err(PushError::serialize)?;
        match self.push(message) {
            Pushed::Queued => Ok(()),
            Pushed::Dropped => Err(PushError::Dropped),
            Pushed::Closed => Err(PushError::Closed),
        }
    }

    /// Queues an encoded message; the hub shares one encoding among many connections.
    pub(crate) fn push(&self, message: Utf8Bytes) -> Pushed {
        self.pushed(self.inner.outbox.push(message))
    }

    /// Queues a burst of encoded messages, all or none; the hub shares one among many
    /// connections.
    pub(crate) fn push_burst(&self, burst: &Arc<Burst>) -> Pushed {
        self.pushed(self.inner.outbox.push_burst(burst))
    }

    fn pushed(&self, pushed: Pushed) -> Pushed {
        if pushed == Pushed::Dropped {
            tracing::debug!(
                connection = self.id().get(),
                "a slow reader's outbound queue is full: dropped a push"
            );
        }
        pushed
    }

    /// Whether the connection has closed or begun closing: nothing pushed now is delivered.
    pub fn is_closed(&self) -> bool {
        // Ending closes the outbox first, so the outbox alone tells.
        self.inner.outbox.is_closed()
    }

    /// Waits until the connection has ended, whoever ended it.
    pub async fn closed(&self) {
        self.inner.ended.cancelled().await
    }

    /// Closes the connection with a WebSocket close `code` (1000 for a normal close, 4000 to
    /// 4999 for the application's own) and a `reason` of at most 123 bytes. The server stops
    /// reading, answers the calls it already accepted, sends what is queued, then the close
    /// frame. Does nothing if the connection is already closing.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        let mut reason = reason.into();
        // A close frame's payload is at most 125 bytes, two of them the code.
        if reason.len() > 123 {
            let mut end = 123;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        self.inner.outbox.request_close(code, reason);
    }

    /// How many pushes to this connection were dropped because its client was not reading
    /// (under [`SlowReaderPolicy::Drop`](crate::SlowReaderPolicy::Drop)).
    pub fn dropped(&self) -> u64 {
        self.inner.outbox.dropped()
    }

    /// Keeps `value` with this connection (one per type), returning the one it replaces: a
    /// `login` call stores the user, later calls on the connection read it.
    pub fn insert<T: Send + Sync + 'static>(&self, value: T) -> Option<T> {
        self.values().insert(value)
    }

    /// A clone of the value of type `T` kept with this connection.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.values().get::<T>().cloned()
    }

    /// Takes the value of type `T` away from this connection.
    pub fn remove<T: Send + Sync + 'static>(&self) -> Option<T> {
        self.values().remove()
    }

    fn values(&self) -> std::sync::MutexGuard<'_, StateMap> {
        // Values are replaced whole; a panic cannot leave one half-written.
        self.inner
            .values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many typed subscriptions this connection serves now.
    pub fn subscription_count(&self) -> usize {
        self.inner.subscriptions.len()
    }

    pub(crate) fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    pub(crate) fn pending(&self) -> &Pending {
        &self.inner.pending
    }

    pub(crate) fn call_timeout(&self) -> Duration {
        self.inner.call_timeout
    }

    pub(crate) fn subscriptions(&self) -> &Subscriptions {
        &self.inner.subscriptions
    }

    /// Where notifications no method handles go, made with the default buffers if need be.
    pub(crate) fn listeners(&self) -> &Listeners {
        self.inner
            .listeners
            .get_or_init(|| Arc::new(Listeners::new(DEFAULT_BUFFER, DEFAULT_BUFFER)))
    }

    #[cfg(feature = "client")]
    /// Delivers to `listeners`, a client's; before any message is read.
    pub(crate) fn listen(&self, listeners: Arc<Listeners>) {
        let _ = self.inner.listeners.set(listeners);
    }

    /// The listeners, if anything made them: a notification with nobody to hear it is dropped.
    pub(crate) fn listeners_if_any(&self) -> Option<&Listeners> {
        self.inner.listeners.get().map(|listeners| &**listeners)
    }

    /// Marks the connection as ended: pushes are refused, calls waiting for the peer fail,
    /// subscriptions both ways end, and [`closed`](Self::closed) returns.
    pub(crate) fn end(&self) {
        self.inner.outbox.close();
        self.inner.pending.close();
        self.inner.subscriptions.end();
        if let Some(listeners) = self.listeners_if_any().filter(|l| !l.kept) {
            listeners.end();
        }
        self.inner.ended.cancel();
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("peer_addr", &self.inner.peer_addr)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
