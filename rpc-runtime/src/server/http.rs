//! HTTP connections: HTTP/1.1, and HTTP/2 over TLS (by ALPN) or in the clear with prior
//! knowledge (h2c), served by hyper with the server's deadlines, each request answered by
//! `endpoint`; those past the connection limit refused.

use std::convert::Infallible;
use std::future::{Future, pending};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http::header::{HeaderValue, RETRY_AFTER};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as HttpBody, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::{HttpService, service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::config::Config;
use super::endpoint::respond;
use super::idle::Activity;
use super::io::WriteDeadline;
use super::response::{Body, status};
use super::shared::{Shared, Slot};
use super::sniff::{Replay, Version, sniff};
use super::stop::{Until, until_stopped};
use super::timer::ConnectionTimer;
use crate::peer::ConnectionId;

/// Serves one accepted connection, over TLS if the server has it.
///
/// A connection is held at most twice the header read timeout before its first request is
/// read: once for its first bytes (the TLS handshake, or telling HTTP/2's preface from
/// HTTP/1), once for the rest of the request head.
pub(super) async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
) {
    match open(&shared, stream, peer).await {
        Some((version, Opened::Clear(io))) => serve(shared, io, version, peer, slot).await,
        #[cfg(feature = "tls")]
        Some((version, Opened::Tls(io))) => serve(shared, io, version, peer, slot).await,
        None => {}
    }
}

/// A connection whose first bytes have come: the HTTP version is known.
// Unpacked as soon as it is made: a box would cost every read and write of the connection an
// indirection to save one move.
#[allow(clippy::large_enum_variant)]
enum Opened {
    Clear(Replay<WriteDeadline<TcpStream>>),
    #[cfg(feature = "tls")]
    Tls(tokio_rustls::server::TlsStream<WriteDeadline<TcpStream>>),
}

/// The connection's first bytes, within the header read timeout: the TLS handshake, whose
/// ALPN tells the version, if the server has TLS; otherwise enough to tell HTTP/2's preface
/// from HTTP/1. `None` if they did not come in time or the server stopped first: a connection
/// that has sent no request yet has nothing to finish (an HTTP client's pool opens some it
/// never uses).
// `peer` names a failed handshake, of which there are none without TLS.
#[cfg_attr(not(feature = "tls"), allow(unused_variables))]
async fn open(shared: &Shared, stream: TcpStream, peer: SocketAddr) -> Option<(Version, Opened)> {
    let io = WriteDeadline::new(stream, shared.config.timeouts.write);
    let first_bytes = shared.config.timeouts.header_read;
    #[cfg(feature = "tls")]
    if let Some(config) = shared.config.tls.clone() {
        let handshake = tokio_rustls::TlsAcceptor::from(config).accept(io);
        let handshake = tokio::time::timeout(first_bytes, handshake);
        return match shared.stop.run_until_cancelled(handshake).await? {
            Ok(Ok(tls)) => {
                let version = match tls.get_ref().1.alpn_protocol() {
                    Some(b"h2") => Version::Http2,
                    _ => Version::Http1,
                };
                Some((version, Opened::Tls(tls)))
            }
            Ok(Err(err)) => {
                tracing::debug!(%peer, %err, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                None
            }
        };
    }
    let (version, io) = shared
        .stop
        .run_until_cancelled(sniff(io, first_bytes))
        .await??;
    Some((version, Opened::Clear(io)))
}

/// `_slot` counts the connection until hyper is done with it (a WebSocket takes its own).
async fn serve<I>(shared: Arc<Shared>, io: I, version: Version, peer: SocketAddr, _slot: Slot)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection_id = ConnectionId::next();
    let (stop, timeouts) = (shared.stop.clone(), shared.config.timeouts);
    let io = TokioIo::new(io);
    let finished = match version {
        Version::Http1 => {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move {
                    let response = respond(&shared, request, Some(peer), connection_id, true).await;
                    Ok::<_, Infallible>(response)
                }
            });
            let connection = http1::Builder::new()
                .timer(ConnectionTimer::default())
                .header_read_timeout(timeouts.header_read)
                .serve_connection(io, service)
                .with_upgrades();
            until_done(connection, &stop, pending(), timeouts.shutdown).await
        }
        Version::Http2 => {
            let (activity, builder) = (Activity::new(), http2_builder(&shared.config));
            let running = activity.clone();
            let service = service_fn(move |request| {
                let (shared, running) = (shared.clone(), running.begin());
                async move {
                    let response = respond(&shared, request, Some(peer), connection_id, true).await;
                    drop(running);
                    Ok::<_, Infallible>(response)
                }
            });
            let connection = builder.serve_connection(io, service);
            let idle = activity.idle(timeouts.header_read);
            until_done(connection, &stop, idle, timeouts.shutdown).await
        }
    };
    if let Some(Err(err)) = finished {
        tracing::debug!(%peer, %err, "HTTP connection ended with an error");
    }
}

/// HTTP/2 with the server's bounds: streams at once per connection, and pings at the
/// WebSocket ping interval, a peer that answers none within it being dropped.
fn http2_builder(config: &Config) -> http2::Builder<TokioExecutor> {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.max_streams)
        .keep_alive_interval(config.timeouts.websocket_ping);
    if let Some(interval) = config.timeouts.websocket_ping {
        builder.keep_alive_timeout(interval);
    }
    builder
}

/// A hyper connection that can be asked to finish what it has and close.
trait Graceful: Future<Output = hyper::Result<()>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<I, S, B> Graceful for http1::UpgradeableConnection<I, S>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http1::UpgradeableConnection::graceful_shutdown(self);
    }
}

impl<I, S, B, E> Graceful for http2::Connection<I, S, E>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: HttpBody + 'static,
    B::Error: Into<BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http2::Connection::graceful_shutdown(self);
    }
}

/// Drives `connection` until it ends, or until the server stops or `close_when` completes: then it
/// finishes the requests in flight, if any, and closes; one that outlasts the shutdown
/// deadline is cancelled with the connection (`None`).
async fn until_done<C: Graceful>(
    connection: C,
    stop: &CancellationToken,
    close_when: impl Future<Output = ()>,
    shutdown: Duration,
) -> Option<hyper::Result<()>> {
    let mut connection = std::pin::pin!(connection);
    let served = {
        let mut served = until_stopped(stop, connection.as_mut());
        let mut close_when = std::pin::pin!(close_when);
        // The connection first: what it was handed (an answer whose body has just ended) is
        // then written ahead of the GOAWAY a close adds.
        std::future::poll_fn(|cx| match Pin::new(&mut served).poll(cx) {
            Poll::Ready(done) => Poll::Ready(done),
            Poll::Pending => close_when.as_mut().poll(cx).map(|()| Until::Stopped),
        })
        .await
    };
    match served {
        Until::Finished(finished) => Some(finished),
        Until::Stopped => {
            connection.as_mut().graceful_shutdown();
            tokio::time::timeout(shutdown, connection).await.ok()
        }
    }
}

/// Answers a connection over the limit with 503 (over TLS if the server has it), then closes
/// it: once the first answer is handed to the connection, when the server stops, or within one
/// header read timeout from its accept, whichever comes first.
pub(super) async fn refuse(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let refusing = async {
        match open(&shared, stream, peer).await {
            Some((version, Opened::Clear(io))) => answer_busy(&shared, io, version).await,
            #[cfg(feature = "tls")]
            Some((version, Opened::Tls(io))) => answer_busy(&shared, io, version).await,
            None => {}
        }
    };
    let _ = tokio::time::timeout(shared.config.timeouts.header_read, refusing).await;
}

/// The most of a refused request's body read before the answer (within the refusal's one
/// header read timeout, like the rest of it).
const REFUSED_BODY_READ: usize = 64 * 1024;

async fn answer_busy<I>(shared: &Shared, io: I, version: Version)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let timeouts = shared.config.timeouts;
    let io = TokioIo::new(io);
    let answered = Arc::new(Notify::new());
    let service = service_fn({
        let answered = answered.clone();
        move |request: Request<Incoming>| {
            let answered = answered.clone();
            async move {
                // A body left unread gets an HTTP/2 stream reset after the answer, which
                // clients such as curl 7.88 take for a failed answer; read, a little of it.
                let _ = Limited::new(request.into_body(), REFUSED_BODY_READ)
                    .collect()
                    .await;
                Ok::<_, Infallible>(busy().map(|body| Sent { body, answered }))
            }
        }
    });
    let answered = answered.notified();
    match version {
        Version::Http1 => {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header_read)
                .keep_alive(false)
                .serve_connection(io, service)
                .with_upgrades();
            until_done(connection, &shared.stop, answered, timeouts.shutdown).await
        }
        Version::Http2 => {
            let connection = http2_builder(&shared.config).serve_connection(io, service);
            until_done(connection, &shared.stop, answered, timeouts.shutdown).await
        }
    };
}

/// A body that says when hyper is done with it: the whole answer has then been handed to the
/// connection. Closing earlier, when the request is merely read, let HTTP/2's GOAWAY reach the
/// client before the answer (an HTTP/2 stream runs on its own task), and curl gave the stream up.
struct Sent {
    body: Body,
    answered: Arc<Notify>,
}

impl HttpBody for Sent {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Sent {
    fn drop(&mut self) {
        self.answered.notify_one();
    }
}

/// 503, to retry in a second.
fn busy() -> http::Response<Body> {
    let mut response = status(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many connections, try again later",
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
