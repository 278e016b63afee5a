//! WebSocket: the upgrade handshake over hyper, then one task per connection that reads
//! messages, runs each call on its own task, and writes each response as soon as it is ready.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::{Bytes, Incoming};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::Shared;
use super::http::{Body, status};
use crate::context::ConnectionId;
use crate::{Context, Transport};

/// How long a closing connection waits for the peer to answer its close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<TokioIo<Upgraded>>;

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

/// Answers the handshake with 101 and starts the connection's task once hyper hands the
/// socket over.
pub(super) fn upgrade(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
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
    let cx = Context::new(
        Transport::WebSocket,
        Some(peer),
        detached(request.headers()),
        ConnectionId::next(),
        shared.state.clone(),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(shared.websocket_read_buffer)
        .max_message_size(Some(shared.max_request_size))
        .max_frame_size(Some(shared.max_request_size));
    let upgrading = hyper::upgrade::on(request);
    let task_shared = shared.clone();
    shared.connections.spawn(async move {
        match upgrading.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                serve(socket, task_shared, cx).await;
            }
            Err(err) => tracing::debug!(%peer, %err, "WebSocket upgrade failed"),
        }
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

/// Why the server closes a connection it has stopped reading from.
fn close_frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

async fn serve(mut socket: Socket, shared: Arc<Shared>, cx: Context) {
    let mut calls: JoinSet<Option<String>> = JoinSet::new();
    // Set once the server stops reading: it then finishes the calls in flight and closes.
    let mut closing: Option<CloseFrame> = None;
    loop {
        tokio::select! {
            Some(done) = calls.join_next(), if !calls.is_empty() => {
                if write_responses(&mut socket, &mut calls, done).await.is_err() {
                    return;
                }
            }
            frame = socket.next(), if closing.is_none() => {
                // Everything the peer has already sent is read and started before one flush,
                // so answers to requests that arrived together leave in one write.
                let mut frame = Some(frame);
                while let Some(next) = frame {
                    let started = match next {
                        Some(Ok(Message::Text(text))) => {
                            start(&mut socket, &mut calls, &shared, &cx, Payload::Text(text)).await
                        }
                        Some(Ok(Message::Binary(bytes))) => {
                            start(&mut socket, &mut calls, &shared, &cx, Payload::Binary(bytes)).await
                        }
                        // tungstenite answers pings and the peer's close frame itself; after a
                        // close, the stream ends once the reply is flushed.
                        Some(Ok(_)) => Ok(()),
                        Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                            tracing::debug!(size, max_size, "WebSocket message over the limit");
                            closing = Some(close_frame(CloseCode::Size, "message too large"));
                            break;
                        }
                        Some(Err(WsError::Utf8(_))) => {
                            closing = Some(close_frame(CloseCode::Invalid, "text frame is not valid UTF-8"));
                            break;
                        }
                        Some(Err(err)) => {
                            tracing::debug!(%err, "WebSocket connection failed");
                            return;
                        }
                        None => return,
                    };
                    if started.is_err() {
                        return;
                    }
                    frame = socket.next().now_or_never();
                }
                if socket.flush().await.is_err() {
                    return;
                }
            }
            () = shared.stop.cancelled(), if closing.is_none() => {
                closing = Some(close_frame(CloseCode::Away, "server shutting down"));
            }
        }
        if calls.is_empty() {
            if let Some(frame) = closing.take() {
                close(socket, frame).await;
                return;
            }
        }
    }
}

/// A message's content, text or binary.
enum Payload {
    Text(Utf8Bytes),
    Binary(Bytes),
}

/// Starts answering one message. A call whose handler finishes without waiting is answered at
/// once into the write buffer (flushed by the caller), sparing it a task; one that waits runs on
/// a task of its own, so it holds up nothing else on the connection.
async fn start(
    socket: &mut Socket,
    calls: &mut JoinSet<Option<String>>,
    shared: &Arc<Shared>,
    cx: &Context,
    payload: Payload,
) -> Result<(), WsError> {
    let (shared, cx) = (shared.clone(), cx.clone());
    let mut answer = Box::pin(async move {
        match payload {
            Payload::Text(text) => shared.router.handle(&text, &cx).await,
            Payload::Binary(bytes) => shared.router.handle_bytes(&bytes, &cx).await,
        }
    });
    match std::future::poll_fn(|task| Poll::Ready(answer.as_mut().poll(task))).await {
        Poll::Ready(Some(response)) => socket.feed(Message::text(response)).await,
        Poll::Ready(None) => Ok(()),
        Poll::Pending => {
            calls.spawn(answer);
            Ok(())
        }
    }
}

/// Writes the response that just finished and any others already done, then flushes once, so
/// responses that finish together share a write.
async fn write_responses(
    socket: &mut Socket,
    calls: &mut JoinSet<Option<String>>,
    first: Result<Option<String>, tokio::task::JoinError>,
) -> Result<(), WsError> {
    let mut done = Some(first);
    while let Some(result) = done {
        match result {
            Ok(Some(response)) => socket.feed(Message::text(response)).await?,
            Ok(None) => {}
            // Dispatch catches handler panics, so this is a bug in the runtime itself.
            Err(err) => tracing::error!(%err, "a WebSocket call task failed"),
        }
        done = calls.try_join_next();
    }
    socket.flush().await
}

/// Sends our close frame and waits, for a bounded time, for the peer's answer.
async fn close(mut socket: Socket, frame: CloseFrame) {
    if socket.close(Some(frame)).await.is_err() {
        return;
    }
    let drain = async { while let Some(Ok(_)) = socket.next().await {} };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, drain).await;
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
