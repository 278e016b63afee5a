//! WebSocket: the upgrade handshake over hyper, then the connection's peer task (see `peer`),
//! between the hub's connect and disconnect hooks.

use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{
    CONNECTION, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::either::Either;
use tracing::Instrument;

use super::io::WriteDeadline;
use super::response::{Body, status};
use super::shared::{Shared, Slot};
use super::sniff::Replay;
use crate::peer::{self, DirectIo, Peer};

pub(super) fn is_upgrade<B>(request: &Request<B>) -> bool {
    request.method() == Method::GET
        && has_token(request.headers(), CONNECTION, "upgrade")
        && has_token(request.headers(), UPGRADE, "websocket")
}

fn has_token(headers: &HeaderMap, name: http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Runs the hub's `on_connect` hook, answers the handshake with 101 (or the hook's refusal),
/// and starts the connection's task once hyper hands the socket over.
pub(super) async fn upgrade<B>(
    shared: &Arc<Shared>,
    request: Request<B>,
    peer: Option<SocketAddr>,
    counted: bool,
) -> Response<Body> {
    if !origin_allowed(shared.config.allowed_origins.as_deref(), request.headers()) {
        tracing::debug!(?peer, origin = ?request.headers().get(ORIGIN), "WebSocket origin refused");
        return status(StatusCode::FORBIDDEN, "origin not allowed");
    }
    if request
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut response = status(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported WebSocket version",
        );
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return response;
    }
    let Some(key) = request.headers().get(SEC_WEBSOCKET_KEY) else {
        return status(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key");
    };
    let accept = derive_accept_key(key.as_bytes());
    let (connection, cx) = shared.hub.open(
        peer,
        detached(request.headers()),
        &shared.config.limits,
        shared.state.clone(),
    );
    if let Err(refusal) = shared.hub.accept(&connection).await {
        tracing::debug!(?peer, %refusal, "the on_connect hook refused a WebSocket connection");
        let mut response = Response::new(Full::new(Bytes::from(refusal.message().to_owned())));
        *response.status_mut() = refusal.status_code();
        return response;
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(shared.config.websocket_read_buffer)
        .max_message_size(Some(shared.config.max_request_size))
        .max_frame_size(Some(shared.config.max_request_size));
    let upgrading = hyper::upgrade::on(request);
    let slot = counted.then(|| Slot::take_over(shared));
    let task_shared = shared.clone();
    shared.connections.spawn(async move {
        let hub = task_shared.hub.clone();
        match upgrading.await {
            Ok(upgraded) => {
                hub.register(&connection);
                task_shared.start_keepalive();
                let peer = Peer {
                    cx,
                    dispatcher: task_shared.dispatcher.clone(),
                    stop: task_shared.stop.clone(),
                    stop_frame: (CloseCode::Away, "server shutting down"),
                    grace: task_shared.config.timeouts.shutdown,
                    max_in_flight: task_shared.config.max_in_flight,
                    max_in_flight_bytes: peer::in_flight_bytes(task_shared.config.max_request_size),
                    echo: task_shared.config.websocket_echo,
                };
                let span = tracing::debug_span!(
                    "rpc.connection",
                    id = connection.id().get(),
                    peer = ?connection.peer_addr(),
                    transport = "websocket",
                );
                // A plain TCP stream (not TLS, not another server's) is shared with whoever
                // pushes a burst to the connection, who may then write it directly. One type
                // for both, so that the task has room for one connection future, not two.
                let io = match upgraded.downcast::<TokioIo<Replay<WriteDeadline<TcpStream>>>>() {
                    Ok(parts) => {
                        // Whatever hyper has not read of the sniffed bytes comes first
                        // (nothing, in practice: they begin the connection's first request).
                        let (unread, io) = parts.io.into_inner().into_parts();
                        let read = if unread.is_empty() {
                            parts.read_buf
                        } else {
                            [unread, parts.read_buf].concat().into()
                        };
                        let timeout = task_shared.config.timeouts.write;
                        let io = DirectIo::new(io.into_inner(), read, timeout);
                        connection.outbox().write_directly(io.writer());
                        Either::Left(io)
                    }
                    Err(upgraded) => Either::Right(TokioIo::new(upgraded)),
                };
                let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                // A disabled span (no subscriber) costs each poll a branch; a helper choosing
                // between the bare and the instrumented future kept room for both in the
                // task, 3 KiB per connection.
                peer::run(socket, peer).instrument(span).await;
                hub.unregister(connection.id());
            }
            Err(err) => tracing::debug!(?peer, %err, "WebSocket upgrade failed"),
        }
        connection.end();
        drop(slot);
        // Run whenever `on_connect` accepted, so that the two hooks always pair up.
        hub.disconnected(&connection).await;
    });

    let mut response = status(StatusCode::SWITCHING_PROTOCOLS, "");
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    // The accept key is base64, always a valid header value.
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Whether a handshake's `Origin` is one of `allowed` (any when `None`). A handshake without
/// one is not from a browser page, which always sends it, so there is no user's cookie to
/// abuse.
fn origin_allowed(allowed: Option<&[HeaderValue]>, headers: &HeaderMap) -> bool {
    match (allowed, headers.get(ORIGIN)) {
        (Some(allowed), Some(origin)) => allowed
            .iter()
            .any(|ok| ok.as_bytes().eq_ignore_ascii_case(origin.as_bytes())),
        _ => true,
    }
}

/// A copy of `headers` that shares no memory with the request. hyper parses header values as
/// slices of its read buffer, so a plain clone, kept for the connection's life, would keep that
/// whole buffer (8 KiB or more) alive for every connection.
fn detached(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name =
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone());
        let value = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.append(name, value);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detached_headers_share_no_memory_with_the_request() {
        let buffer =
            hyper::body::Bytes::from_static(b"x-custom: a value that lives in a read buffer");
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_maybe_shared(buffer.slice(10..)).unwrap();
        headers.insert("x-custom", value);
        let copy = detached(&headers);
        assert_eq!(copy, headers);
        let range = buffer.as_ptr_range();
        assert!(!range.contains(&copy["x-custom"].as_bytes().as_ptr()));
    }
}
