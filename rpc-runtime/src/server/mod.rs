//! The server: one listener answering JSON-RPC over HTTP `POST` and WebSocket on one path.

mod http;
mod ws;

use std::future::{Future, pending};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::peer::{Limits, SlowReaderPolicy};
use crate::state::StateMap;
use crate::{Hub, Router};

/// The default limit on an HTTP body or a WebSocket message: 10 MiB.
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 10 * 1024 * 1024;

/// The default WebSocket read buffer per connection: 4 KiB.
pub const DEFAULT_WEBSOCKET_READ_BUFFER: usize = 4 * 1024;

/// Configures a [`Server`] before it binds.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use rpc_runtime::{Server, methods, rpc_method};
///
/// #[rpc_method]
/// fn ping() -> &'static str { "pong" }
///
/// struct Db;
///
/// let server = Server::builder()
///     .path("/rpc")
///     .max_request_size(1024 * 1024)
///     .state(Db)
///     .bind("127.0.0.1:0", methods![ping])
///     .await?;
/// println!("listening on {}", server.local_addr());
/// server.serve_with_shutdown(async { tokio::signal::ctrl_c().await.ok(); }).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ServerBuilder {
    path: String,
    max_request_size: usize,
    websocket_read_buffer: usize,
    limits: Limits,
    state: StateMap,
    hub: Option<Hub>,
}

impl ServerBuilder {
    /// The path that takes `POST`s and WebSocket upgrades; `/` by default.
    ///
    /// # Panics
    /// If `path` does not start with `/`: no request could ever match it.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        assert!(
            path.starts_with('/'),
            "server path must start with `/`, got {path:?}"
        );
        self.path = path;
        self
    }

    /// The largest HTTP body or WebSocket message accepted, in bytes. A larger body gets 413; a
    /// larger message closes its WebSocket with 1009.
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.max_request_size = bytes;
        self
    }

    /// The read buffer each WebSocket connection holds, in bytes; 4 KiB by default. It is
    /// allocated for every connection, idle or not, so it sets the memory floor of many idle
    /// connections; larger messages are read in more steps, not refused. Raise it for few
    /// connections that receive large messages at a high rate.
    pub fn websocket_read_buffer(mut self, bytes: usize) -> Self {
        self.websocket_read_buffer = bytes.max(1);
        self
    }

    /// The most a WebSocket connection may have queued for sending, in bytes (plus 64 per
    /// message); 1 MiB by default. Responses to the client's own calls are always queued, and
    /// while the queue is over this the server stops reading the client's messages. A message
    /// pushed to a full queue is handled by the [`slow_reader`](Self::slow_reader) policy.
    pub fn outbound_queue(mut self, bytes: usize) -> Self {
        self.limits.outbound_queue = bytes;
        self
    }

    /// What happens to a connection whose client does not read its pushes fast enough:
    /// [`SlowReaderPolicy::Close`] (the default) closes it with 1008,
    /// [`SlowReaderPolicy::Drop`] drops the pushes that do not fit and counts them.
    pub fn slow_reader(mut self, policy: SlowReaderPolicy) -> Self {
        self.limits.slow_reader = policy;
        self
    }

    /// How long a call from the server to a client (through [`Connection`](crate::Connection)
    /// as an [`RpcClient`](crate::client::RpcClient)) waits for its answer, sending included;
    /// 60 s by default. Past it the call fails with
    /// [`ClientError::Timeout`](crate::client::ClientError::Timeout).
    pub fn client_call_timeout(mut self, timeout: Duration) -> Self {
        self.limits.call_timeout = timeout;
        self
    }

    /// The most typed subscriptions one connection may hold at once;
    /// [`DEFAULT_MAX_SUBSCRIPTIONS`](crate::DEFAULT_MAX_SUBSCRIPTIONS) (1,024) by default. A
    /// subscribe call past it gets an error
    /// ([`codes::TOO_MANY_SUBSCRIPTIONS`](crate::codes::TOO_MANY_SUBSCRIPTIONS)).
    pub fn max_subscriptions_per_connection(mut self, subscriptions: usize) -> Self {
        self.limits.max_subscriptions = subscriptions;
        self
    }

    /// The hub that tracks this server's WebSocket connections, its groups and topics, and runs
    /// the connection hooks; a hub with no topics and no hooks by default. Keep a clone to push
    /// from outside handlers, or get it back with [`Server::hub`].
    pub fn hub(mut self, hub: Hub) -> Self {
        self.hub = Some(hub);
        self
    }

    /// Registers `value` for handlers to read through [`Context::state`](crate::Context::state).
    /// One value per type; a second of the same type replaces the first.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Binds the listener; port 0 picks a free port, which [`Server::local_addr`] reports.
    /// Fails with [`io::ErrorKind::InvalidInput`] if `router` has a method named like one of the
    /// hub's built-in topic methods.
    pub async fn bind(self, addr: impl ToSocketAddrs, router: Router) -> io::Result<Server> {
        let hub = self.hub.unwrap_or_default();
        let router = router
            .merge(crate::push::builtin_methods(&hub))
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(Server {
            listener,
            local_addr,
            shared: Arc::new(Shared {
                router: Arc::new(router),
                path: self.path,
                max_request_size: self.max_request_size,
                websocket_read_buffer: self.websocket_read_buffer,
                limits: self.limits,
                state: Arc::new(self.state),
                hub,
                stop: CancellationToken::new(),
                connections: TaskTracker::new(),
            }),
        })
    }
}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What every connection of one server shares.
#[derive(Debug)]
struct Shared {
    router: Arc<Router>,
    path: String,
    max_request_size: usize,
    websocket_read_buffer: usize,
    limits: Limits,
    state: Arc<StateMap>,
    hub: Hub,
    /// Cancelled when the server stops: connections finish what they accepted, then close.
    stop: CancellationToken,
    connections: TaskTracker,
}

impl Server {
    /// A builder with the defaults: path `/`, 10 MiB requests, 4 KiB WebSocket read buffers,
    /// 1 MiB outbound queues closing slow readers, no state, a hub of its own.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            path: "/".to_owned(),
            max_request_size: DEFAULT_MAX_REQUEST_SIZE,
            websocket_read_buffer: DEFAULT_WEBSOCKET_READ_BUFFER,
            limits: Limits::default(),
            state: StateMap::default(),
            hub: None,
        }
    }

    /// Binds with the defaults; see [`ServerBuilder::bind`].
    pub async fn bind(addr: impl ToSocketAddrs, router: Router) -> io::Result<Server> {
        Server::builder().bind(addr, router).await
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's hub, to push to its connections from outside handlers.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// Serves until the process ends.
    pub async fn serve(self) {
        self.serve_with_shutdown(pending()).await
    }

    /// Serves until `signal` completes, then stops gracefully: no new connections or calls are
    /// taken, calls in flight finish and are answered, then every connection closes (WebSockets
    /// with 1001). Returns when all connections are closed.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()>) {
        let Server {
            listener, shared, ..
        } = self;
        let mut signal = std::pin::pin!(signal);
        loop {
            let accepted = tokio::select! {
                () = &mut signal => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    // Responses are written whole; Nagle would only delay them.
                    let _ = stream.set_nodelay(true);
                    shared
                        .connections
                        .spawn(http::serve_connection(shared.clone(), stream, peer));
                }
                Err(err) => {
                    // Out of file descriptors, most likely: back off instead of spinning.
                    tracing::warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        drop(listener);
        shared.stop.cancel();
        shared.connections.close();
        shared.connections.wait().await;
    }

    /// Serves on a new task; the handle stops it.
    pub fn spawn(self) -> ServerHandle {
        let local_addr = self.local_addr;
        let stop = CancellationToken::new();
        let signal = stop.clone().cancelled_owned();
        ServerHandle {
            local_addr,
            hub: self.shared.hub.clone(),
            stop,
            task: tokio::spawn(self.serve_with_shutdown(signal)),
        }
    }
}

/// Controls a server started with [`Server::spawn`].
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    hub: Hub,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's hub.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Stops gracefully (see [`Server::serve_with_shutdown`]) and waits until it has.
    pub async fn stop(self) {
        self.stop.cancel();
        if let Err(err) = self.task.await {
            tracing::error!(%err, "the server task failed");
        }
    }
}
