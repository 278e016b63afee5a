//! The listener: accepting connections, counting them against the limit, refusing those past
//! it, and stopping gracefully.

use std::future::{Future, pending};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::http;
use super::shared::{Shared, Slot};
use crate::Hub;
use crate::log::Throttle;

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

/// How many refused connections may be waiting for their 503 at once; past it they are
/// dropped without one, so that refusing costs nothing an attacker can pile up.
const MAX_REFUSING: usize = 64;

impl Server {
    pub(super) fn new(listener: TcpListener, shared: Arc<Shared>) -> std::io::Result<Server> {
        let local_addr = listener.local_addr()?;
        Ok(Server {
            listener,
            local_addr,
            shared,
        })
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
    /// [`shutdown_timeout`](crate::ServerBuilder::shutdown_timeout) are cancelled and their
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
                                let refusal = http::refuse(stream, peer, shared.clone());
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
