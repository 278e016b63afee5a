//! WebSocket: the upgrade handshake over hyper, then one task per connection that reads
//! messages, runs each call that waits on its own task, and writes responses and pushes from the
//! connection's outbox as soon as they are ready.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
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
use crate::peer::{Batch, Outbox, ReadGate};
use crate::{Connection, Context};

/// How long a closing connection waits for the peer to answer its close frame, and how long a
/// stopping server waits for a connection's pending write before closing it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a connection closed for not reading gets to write its close frame.
const FORCED_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

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

/// Runs the hub's `on_connect` hook, answers the handshake with 101 (or the hook's refusal),
/// and starts the connection's task once hyper hands the socket over.
pub(super) async fn upgrade(
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
    let connection = Connection::new(
        Some(peer),
        detached(request.headers()),
        shared.outbound_queue,
        shared.slow_reader,
    );
    if let Err(refusal) = shared.hub.accept(&connection).await {
        tracing::debug!(%peer, %refusal, "the on_connect hook refused a WebSocket connection");
        let mut response = Response::new(Full::new(Bytes::from(refusal.message().to_owned())));
        *response.status_mut() = refusal.status_code();
        return response;
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(shared.websocket_read_buffer)
        .max_message_size(Some(shared.max_request_size))
        .max_frame_size(Some(shared.max_request_size));
    let upgrading = hyper::upgrade::on(request);
    let task_shared = shared.clone();
    shared.connections.spawn(async move {
        let hub = task_shared.hub.clone();
        match upgrading.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                hub.register(&connection);
                serve(socket, task_shared, connection.clone()).await;
                hub.unregister(connection.id());
            }
            Err(err) => tracing::debug!(%peer, %err, "WebSocket upgrade failed"),
        }
        connection.end();
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

/// The connection's task. Everything sent on the connection, responses and pushes alike, goes
/// through its outbox, in the order it was produced; the task writes the whole outbox before it
/// reads again, flushing once per burst. A client that does not read therefore stops the task
/// reading from it, and only a forced close (its queue overflowing, or a stop whose grace period
/// has passed) interrupts the write.
async fn serve(mut socket: Socket, shared: Arc<Shared>, connection: Connection) {
    let cx = Context::connection_of(connection.clone(), shared.state.clone(), shared.hub.clone());
    let outbox = connection.outbox();
    let mut calls: JoinSet<Option<String>> = JoinSet::new();
    // Set once the server stops reading: it then finishes the calls in flight and closes.
    let mut closing: Option<CloseFrame> = None;
    // Reused for every write, so a busy connection does not allocate per burst.
    let mut batch = Batch::new();
    let stopped_long_ago = async {
        shared.stop.cancelled().await;
        tokio::time::sleep(CLOSE_TIMEOUT).await;
    };
    let mut stopped_long_ago = std::pin::pin!(stopped_long_ago);
    // Made once: a fresh wait per turn would register with the token and unregister again at
    // every wake.
    let mut stopped = std::pin::pin!(shared.stop.cancelled());
    let gate = ReadGate::for_current_task().await;
    loop {
        let status = outbox.status();
        if status.overflowed {
            return force_close(socket, "outbound queue full: the client is not reading").await;
        }
        if let Some((code, reason)) = status.close {
            closing.get_or_insert(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            });
        }
        if status.pending {
            // Biased, the write first: one that completes at once (the usual case) leaves the
            // other two unpolled, with no waker to register.
            let written = tokio::select! {
                biased;
                written = write_queued(&mut socket, outbox, &mut batch) => written,
                () = outbox.overflow() => continue,
                () = &mut stopped_long_ago => {
                    return force_close(socket, "server shutting down").await;
                }
            };
            if written.is_err() {
                return;
            }
            continue;
        }
        if calls.is_empty() {
            if let Some(frame) = closing.take() {
                outbox.close();
                close(socket, frame).await;
                return;
            }
        }
        let reading = closing.is_none() && !status.full;
        // Biased, the outbox first, and the socket behind its gate: a connection woken to write
        // (fan-out wakes thousands at once) does not try to read on the way.
        tokio::select! {
            biased;
            () = outbox.needs_attention() => {}
            Some(done) = calls.join_next(), if !calls.is_empty() => {
                let mut done = Some(done);
                while let Some(result) = done {
                    match result {
                        Ok(Some(response)) => drop(outbox.reply(response.into())),
                        Ok(None) => {}
                        // Dispatch catches handler panics, so this is a bug in the runtime itself.
                        Err(err) => tracing::error!(%err, "a WebSocket call task failed"),
                    }
                    done = calls.try_join_next();
                }
            }
            frame = std::future::poll_fn(|_| gate.poll_next(&mut socket)), if reading => {
                // Everything the peer has already sent is read and started before the next
                // write, so answers to requests that arrived together leave in one write.
                let mut frame = Some(frame);
                while let Some(next) = frame {
                    match next {
                        Some(Ok(Message::Text(text))) => {
                            start(&mut calls, &shared, &cx, outbox, Payload::Text(text)).await;
                        }
                        Some(Ok(Message::Binary(bytes))) => {
                            start(&mut calls, &shared, &cx, outbox, Payload::Binary(bytes)).await;
                        }
                        // tungstenite answers pings and the peer's close frame itself; after a
                        // close, the stream ends once the reply is flushed.
                        Some(Ok(_)) => {}
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
                    }
                    if outbox.is_full() {
                        break;
                    }
                    frame = match gate.poll_next(&mut socket) {
                        Poll::Ready(next) => Some(next),
                        Poll::Pending => None,
                    };
                }
            }
            () = &mut stopped, if closing.is_none() => {
                closing = Some(close_frame(CloseCode::Away, "server shutting down"));
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
/// once into the outbox, sparing it a task; one that waits runs on a task of its own, so it
/// holds up nothing else on the connection.
async fn start(
    calls: &mut JoinSet<Option<String>>,
    shared: &Arc<Shared>,
    cx: &Context,
    outbox: &Outbox,
    payload: Payload,
) {
    let (shared, cx) = (shared.clone(), cx.clone());
    let mut answer = Box::pin(async move {
        match payload {
            Payload::Text(text) => shared.router.handle(&text, &cx).await,
            Payload::Binary(bytes) => shared.router.handle_bytes(&bytes, &cx).await,
        }
    });
    match std::future::poll_fn(|task| Poll::Ready(answer.as_mut().poll(task))).await {
        Poll::Ready(Some(response)) => drop(outbox.reply(response.into())),
        Poll::Ready(None) => {}
        Poll::Pending => drop(calls.spawn(answer)),
    }
}

/// Hands everything queued to the socket, then flushes once.
async fn write_queued(
    socket: &mut Socket,
    outbox: &Outbox,
    batch: &mut Batch,
) -> Result<(), WsError> {
    let taken = outbox.take(batch);
    while let Some(entry) = batch.pop_front() {
        socket.feed(Message::Text(entry.into_message())).await?;
    }
    outbox.release(taken);
    socket.flush().await
}

/// Sends our close frame and waits, for a bounded time, for the peer's answer.
async fn close(mut socket: Socket, frame: CloseFrame) {
    // Bounded as a whole: a peer that does not read would hold the close frame's write too.
    let handshake = async {
        socket.close(Some(frame)).await?;
        while let Some(Ok(_)) = socket.next().await {}
        Ok::<_, WsError>(())
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, handshake).await;
}

/// Closes a connection that is not reading: whatever is queued is dropped, and the close frame
/// (1008) gets a short while to leave behind what the socket already holds.
async fn force_close(mut socket: Socket, reason: &'static str) {
    tracing::debug!(reason, "closing a WebSocket connection");
    let frame = close_frame(CloseCode::Policy, reason);
    let _ = tokio::time::timeout(FORCED_CLOSE_TIMEOUT, socket.close(Some(frame))).await;
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
