//! The server: one listener answering JSON-RPC over HTTP `POST` and WebSocket on one path.

mod builder;
mod http;
mod io;
mod service;
#[cfg(feature = "tls")]
mod tls;
mod ws;

use std::future::{Future, pending};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ::http::HeaderValue;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use builder::{
    DEFAULT_IO_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_REQUEST_SIZE,
    DEFAULT_WEBSOCKET_READ_BUFFER, ServerBuilder,
};
pub use service::RpcService;
#[cfg(feature = "tls")]
pub use tls::tls_config_from_pem;

use crate::Hub;
use crate::dispatch::Dispatcher;
use crate::log::Throttle;
use crate::peer::Limits;
use crate::state::StateMap;
use builder::Timeouts;

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
    dispatcher: Arc<Dispatcher>,
    path: String,
    max_request_size: usize,
    websocket_read_buffer: usize,
    limits: Limits,
    timeouts: Timeouts,
    max_connections: usize,
    max_in_flight: usize,
    allowed_origins: Option<Vec<HeaderValue>>,
    websocket_echo: bool,
    state: Arc<StateMap>,
    hub: Hub,
    /// Cancelled when the server stops: connections finish what they accepted, then close.
    stop: CancellationToken,
    connections: TaskTracker,
    /// Connections open, against `max_connections`; see [`Slot`].
    open: AtomicUsize,
    /// Whether the keepalive ticker runs; it starts with the first WebSocket connection.
    keepalive: std::sync::atomic::AtomicBool,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Shared {
    /// Starts the one task that ticks every WebSocket connection's keepalive, if pings are on
    /// and it is not running yet.
    fn start_keepalive(&self) {
        let Some(interval) = self.timeouts.websocket_ping else {
            return;
        };
        if self
            .keepalive
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let (hub, stop) = (self.hub.clone(), self.stop.clone());
        self.connections.spawn(async move {
            let start = tokio::time::Instant::now() + interval;
            let mut ticks = tokio::time::interval_at(start, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => hub.keepalive_tick(),
                    () = stop.cancelled() => return,
                }
            }
        });
    }
}

/// Counts a connection against `max_connections` while it lives. A WebSocket takes a slot of
/// its own as it is accepted, and the HTTP connection it came from gives its slot back as that
/// ends: one count per connection, at no allocation of its own.
struct Slot(Arc<Shared>);

impl Slot {
    /// A slot, if one is free.
    fn try_take(shared: &Arc<Shared>) -> Option<Slot> {
        let open = shared.open.fetch_add(1, Ordering::Relaxed);
        if open >= shared.max_connections {
            shared.open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Slot(shared.clone()))
    }

    /// A slot for a connection that already holds one under another guise.
    fn take_over(shared: &Arc<Shared>) -> Slot {
        shared.open.fetch_add(1, Ordering::Relaxed);
        Slot(shared.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many refused connections may be waiting for their 503 at once; past it they are
/// dropped without one, so that refusing costs nothing an attacker can pile up.
const MAX_REFUSING: usize = 64;

impl Server {
    /// A builder with the defaults: path `/`, 10 MiB requests, 4 KiB WebSocket read buffers,
    /// 1 MiB outbound queues closing slow readers, no state, a hub of its own, and the limits
    /// listed on [`ServerBuilder`].
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    /// Binds with the defaults; see [`ServerBuilder::bind`].
    pub async fn bind(addr: impl ToSocketAddrs, router: crate::Router) -> std::io::Result<Server> {
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
    /// with 1001). Calls still running after the
    /// [`shutdown_timeout`](ServerBuilder::shutdown_timeout) are cancelled and their
    /// connections closed. Returns when all connections are closed.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()>) {
        let Server {
            listener, shared, ..
        } = self;
        let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
        static ACCEPT_ERRORS: Throttle = Throttle::per_second();
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
                    match Slot::try_take(&shared) {
                        Some(slot) => {
                            let serving =
                                http::serve_connection(shared.clone(), stream, peer, slot);
                            let span =
                                tracing::debug_span!("rpc.connection", %peer, transport = "http");
                            shared.connections.spawn(serving.instrument(span));
                        }
                        None => {
                            if let Ok(turn) = refusing.clone().try_acquire_owned() {
                                let refusal = http::refuse(stream, shared.timeouts);
                                shared.connections.spawn(async move {
                                    refusal.await;
                                    drop(turn);
                                });
                            }
                        }
                    }
                }
                Err(err) => {
                    // Out of file descriptors, most likely: back off instead of spinning.
                    if let Some(suppressed) = ACCEPT_ERRORS.admit() {
                        tracing::warn!(%err, suppressed, "accepting a connection failed");
                    }
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
