//! HTTP/1.1 connections: served by hyper with the server's deadlines (over TLS when it has
//! it), each request answered by `endpoint`; those past the connection limit refused.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::StatusCode;
use http::header::{CONNECTION, HeaderValue};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::config::Timeouts;
use super::endpoint::respond;
use super::io::WriteDeadline;
use super::response::status;
use super::shared::{Shared, Slot};
use super::stop::{Until, until_stopped};
use super::timer::ConnectionTimer;
use crate::peer::ConnectionId;

/// Serves one accepted connection, over TLS if the server has it.
pub(super) async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
) {
    let io = WriteDeadline::new(stream, shared.config.timeouts.write);
    #[cfg(feature = "tls")]
    if let Some(config) = shared.config.tls.clone() {
        let handshake = tokio_rustls::TlsAcceptor::from(config).accept(io);
        match tokio::time::timeout(shared.config.timeouts.header_read, handshake).await {
            Ok(Ok(tls)) => serve(shared, tls, peer, slot).await,
            Ok(Err(err)) => tracing::debug!(%peer, %err, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
        return;
    }
    serve(shared, io, peer, slot).await;
}

/// `_slot` counts the connection until hyper is done with it (a WebSocket takes its own).
async fn serve<I>(shared: Arc<Shared>, io: I, peer: SocketAddr, _slot: Slot)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let connection_id = ConnectionId::next();
    let (stop, timeouts) = (shared.stop.clone(), shared.config.timeouts);
    let service = service_fn(move |request| {
        let shared = shared.clone();
        async move {
            let response = respond(&shared, request, Some(peer), connection_id, true).await;
            Ok::<_, Infallible>(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(ConnectionTimer::default())
        .header_read_timeout(timeouts.header_read)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let finished = match until_stopped(&stop, connection.as_mut()).await {
        Until::Finished(finished) => finished,
        Until::Stopped => {
            // Finishes the request in flight, if any, then closes; one that outlasts the
            // shutdown deadline is cancelled with the connection.
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(timeouts.shutdown, connection).await {
                Ok(finished) => finished,
                Err(_) => return,
            }
        }
    };
    if let Err(err) = finished {
        tracing::debug!(%peer, %err, "HTTP connection ended with an error");
    }
}

/// Answers every request of a connection over the limit with 503, then closes it.
pub(super) async fn refuse(stream: TcpStream, timeouts: Timeouts) {
    let service = service_fn(|_request| async {
        let mut response = status(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections, try again later",
        );
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        Ok::<_, Infallible>(response)
    });
    let io = TokioIo::new(WriteDeadline::new(stream, timeouts.write));
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .keep_alive(false)
        .serve_connection(io, service);
    // Whatever the client does, a refused connection is gone within one header timeout.
    let _ = tokio::time::timeout(timeouts.header_read, connection).await;
}
