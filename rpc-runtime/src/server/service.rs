//! The endpoint as a tower `Service`, for an HTTP stack that is not ours: axum, or any hyper
//! server with tower layers around it.

use std::convert::Infallible;
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::{Request, Response};
use hyper::body::{Body as HttpBody, Bytes};

use super::builder::ServerBuilder;
use super::endpoint::respond;
use super::response::Body;
use super::shared::Shared;
use crate::peer::ConnectionId;
use crate::{Hub, Router, RouterError};

/// The HTTP and WebSocket endpoint as a [`tower_service::Service`]: tower layers wrap it
/// (timeouts, CORS, tracing, compression), and axum mounts it beside other routes.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use rpc_runtime::{Server, methods, rpc_method};
///
/// #[rpc_method]
/// fn ping() -> &'static str { "pong" }
///
/// let rpc = Server::builder().path("/rpc").into_service(methods![ping])?;
/// // axum::Router::new().route_service("/rpc", rpc) ...
/// # Ok(()) }
/// ```
///
/// The host serves the connections, so the builder's connection limit and read and write
/// timeouts are the host's to set (tower-http and hyper have them); the rest (request,
/// response and batch sizes, calls in flight, pings, guards, middleware) apply as on
/// [`Server`](crate::Server). The caller's address reaches
/// [`Context::peer_addr`](crate::Context::peer_addr) when the request carries a [`SocketAddr`] extension. A
/// WebSocket upgrade needs a host that supports upgrades (hyper's `with_upgrades`, as
/// `axum::serve` does).
#[derive(Clone, Debug)]
pub struct RpcService {
    shared: Arc<Shared>,
}

impl ServerBuilder {
    /// The endpoint as a tower service instead of a server of its own; see [`RpcService`].
    /// The builder's `path` is still checked: mount it at that path.
    pub fn into_service(self, router: Router) -> Result<RpcService, RouterError> {
        Ok(RpcService {
            shared: Arc::new(self.into_shared(router)?),
        })
    }
}

impl RpcService {
    /// The hub of the service's WebSocket connections.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// Closes every WebSocket connection gracefully (the calls they accepted finish first,
    /// within the shutdown timeout); for a host that is stopping. HTTP requests are the
    /// host's to drain.
    pub fn stop(&self) {
        self.shared.stop.cancel();
    }
}

impl<B> tower_service::Service<Request<B>> for RpcService
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Display,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move {
            let peer = request.extensions().get::<SocketAddr>().copied();
            let response = respond(&shared, request, peer, ConnectionId::next(), false).await;
            Ok(response)
        })
    }
}
