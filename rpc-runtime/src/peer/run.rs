//! The task of one WebSocket connection, on either side: it reads messages and starts each
//! (calls to this side's router, answers to its own calls), and writes everything queued for
//! the peer as soon as it is ready.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::in_flight::InFlight;
use super::keepalive::{Keepalive, Step};
use super::{Batch, Outbox, Outgoing, ReadGate};
use crate::dispatch::{Dispatcher, Unclaimed};
use crate::{Connection, Context};

/// How long a closing connection waits for the peer to answer its close frame, and how long a
/// stopping side waits for a connection's pending write before closing it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a connection closed at once (not reading, or past the stop's deadline) gets to
/// write its close frame.
const FORCED_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a connection's task serves and when it stops.
pub(crate) struct Peer {
    /// The context of every call the peer makes; holds the connection.
    pub cx: Context,
    pub dispatcher: Arc<Dispatcher>,
    /// Cancelled when this side stops: the task finishes the calls it accepted, then closes
    /// with `stop_frame`.
    pub stop: CancellationToken,
    pub stop_frame: (CloseCode, &'static str),
    /// How long, once stopped, the calls the peer made may still run before they are
    /// abandoned: a server gives them time, a dropped client none.
    pub grace: Duration,
    /// The most calls running at once, and the most bytes of messages they may hold: past
    /// either the task stops reading until one finishes.
    pub max_in_flight: usize,
    pub max_in_flight_bytes: usize,
    /// Send every message back as it came instead of dispatching it: WebSocket conformance
    /// suites test the connection code with an echo.
    pub echo: bool,
}

/// Runs the connection until either side closes it. Everything sent on the connection goes
/// through its outbox, in the order it was produced; the task writes the whole outbox before
/// it reads again, flushing once per burst. A peer that does not read therefore stops the task
/// reading from it, and only a forced close (its queue overflowing, or a stop whose grace
/// period has passed) interrupts the write.
pub(crate) async fn run<S>(mut socket: WebSocketStream<S>, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(connection) = peer.cx.connection() else {
        return;
    };
    let outbox = connection.outbox();
    let mut calls = InFlight::new(peer.max_in_flight, peer.max_in_flight_bytes);
    // Set once this side stops reading: it then finishes the calls in flight and closes.
    let mut closing: Option<CloseFrame> = None;
    // Reused for every write, so a busy connection does not allocate per burst.
    let mut batch = Batch::new();
    let (stop_code, stop_reason) = peer.stop_frame;
    // A write the peer does not take is not waited on for long once stopping.
    let stopped_long_ago = async {
        peer.stop.cancelled().await;
        tokio::time::sleep(CLOSE_TIMEOUT.min(peer.grace)).await;
    };
    let mut stopped_long_ago = std::pin::pin!(stopped_long_ago);
    // The stop's deadline: past it neither calls nor the close handshake are waited for.
    let grace_over = async {
        peer.stop.cancelled().await;
        tokio::time::sleep(peer.grace).await;
    };
    let mut grace_over = std::pin::pin!(grace_over);
    // Made once: a fresh wait per turn would register with the token and unregister again at
    // every wake.
    let mut stopped = std::pin::pin!(peer.stop.cancelled());
    let gate = ReadGate::for_current_task().await;
    let mut keepalive = Keepalive::default();
    // Set when tungstenite has answered a ping (or the peer's close) while reading: the answer
    // is flushed before anything more is read, so that a peer sending pings and reading nothing
    // stops being read, rather than making this side hold an answer per ping.
    let mut answered = false;
    loop {
        let status = outbox.status();
        if status.overflowed {
            let frame = close_frame(
                CloseCode::Policy,
                "outbound queue full: the peer is not reading",
            );
            return force_close(socket, outbox, frame).await;
        }
        if status.keepalive_due && closing.is_none() {
            match keepalive.next_step() {
                Step::Ping => {
                    let ping = socket.send(Message::Ping(Bytes::new()));
                    if tokio::time::timeout(CLOSE_TIMEOUT, ping).await.is_err() {
                        return;
                    }
                }
                Step::Close => closing = Some(close_frame(CloseCode::Away, "idle timeout")),
                Step::Wait => {}
            }
        }
        if let Some((code, reason)) = status.close {
            closing.get_or_insert(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            });
        }
        if status.pending || status.flush_due || answered {
            // Biased, the write first: one that completes at once (the usual case) leaves the
            // other two unpolled, with no waker to register.
            let written = tokio::select! {
                biased;
                written = write_queued(&mut socket, outbox, &mut batch) => written,
                () = outbox.overflow() => {
                    let frame = close_frame(CloseCode::Policy, "outbound queue full: the peer is not reading");
                    return force_close(socket, outbox, frame).await;
                }
                () = &mut stopped_long_ago => {
                    return force_close(socket, outbox, close_frame(stop_code, stop_reason)).await;
                }
            };
            if written.is_err() {
                return;
            }
            outbox.written();
            answered = false;
            continue;
        }
        if calls.is_empty() {
            if let Some(frame) = closing.take() {
                outbox.close();
                close(socket, frame, grace_over).await;
                return;
            }
        }
        let reading = closing.is_none() && !status.full && !calls.is_full();
        // Biased, the outbox first, and the socket behind its gate: a connection woken to write
        // (fan-out wakes thousands at once) does not try to read on the way.
        tokio::select! {
            biased;
            () = outbox.needs_attention() => {}
            Some(done) = calls.join_next(), if !calls.is_empty() => {
                let mut done = Some(done);
                while let Some(result) = done {
                    match result {
                        Ok(reply) => connection.queue(reply),
                        // Dispatch catches handler panics, so this is a bug in the runtime itself.
                        Err(err) => tracing::error!(%err, "a WebSocket call task failed"),
                    }
                    done = calls.try_join_next();
                }
            }
            frame = std::future::poll_fn(|_| gate.poll_next(&mut socket)), if reading => {
                keepalive.heard();
                // Everything the peer has already sent is read and started before the next
                // write, so answers to requests that arrived together leave in one write.
                let mut frame = Some(frame);
                while let Some(next) = frame {
                    match next {
                        Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) if peer.echo => {
                            if socket.send(message).await.is_err() {
                                return;
                            }
                        }
                        Some(Ok(Message::Text(text))) => {
                            start(&mut calls, &peer, connection, Payload::Text(text)).await;
                        }
                        Some(Ok(Message::Binary(bytes))) => {
                            start(&mut calls, &peer, connection, Payload::Binary(bytes)).await;
                        }
                        // tungstenite answers pings and the peer's close frame itself; after a
                        // close, the stream ends once the reply is flushed.
                        Some(Ok(_)) => answered = true,
                        Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                            tracing::debug!(size, max_size, "WebSocket message over the limit");
                            closing = Some(close_frame(CloseCode::Size, "message too large"));
                            break;
                        }
                        Some(Err(WsError::Utf8(_))) => {
                            closing = Some(close_frame(CloseCode::Invalid, "text frame is not valid UTF-8"));
                            break;
                        }
                        Some(Err(WsError::Protocol(err))) if is_frame_error(&err) => {
                            tracing::debug!(%err, "WebSocket protocol error");
                            closing = Some(close_frame(CloseCode::Protocol, "protocol error"));
                            break;
                        }
                        Some(Err(err)) => {
                            tracing::debug!(%err, "WebSocket connection failed");
                            return;
                        }
                        None => return,
                    }
                    if outbox.is_full() || calls.is_full() {
                        break;
                    }
                    frame = match gate.poll_next(&mut socket) {
                        Poll::Ready(next) => Some(next),
                        Poll::Pending => None,
                    };
                }
            }
            () = &mut stopped, if closing.is_none() => {
                closing = Some(close_frame(stop_code, stop_reason));
            }
            () = &mut grace_over, if !calls.is_empty() => {
                tracing::debug!(calls = calls.len(), "cancelling calls still running at the stop's deadline");
                calls.abort_all();
                return force_close(socket, outbox, close_frame(stop_code, stop_reason)).await;
            }
        }
    }
}

/// Errors in the frames the peer sent, as opposed to in the connection: answered with 1002.
fn is_frame_error(err: &ProtocolError) -> bool {
    matches!(
        err,
        ProtocolError::NonZeroReservedBits
            | ProtocolError::UnmaskedFrameFromClient
            | ProtocolError::MaskedFrameFromServer
            | ProtocolError::FragmentedControlFrame
            | ProtocolError::ControlFrameTooBig
            | ProtocolError::UnknownControlFrameType(_)
            | ProtocolError::UnknownDataFrameType(_)
            | ProtocolError::UnexpectedContinueFrame
            | ProtocolError::ExpectedFragment(_)
            | ProtocolError::InvalidOpcode(_)
            | ProtocolError::InvalidCloseSequence
    )
}

fn close_frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// A message's content, text or binary.
enum Payload {
    Text(Utf8Bytes),
    Binary(Bytes),
}

/// Starts answering one message. A call whose handler finishes without waiting is answered at
/// once into the outbox, sparing it a task; one that waits runs on a task of its own, so it
/// holds up nothing else on the connection, calls the peer answers included.
async fn start(calls: &mut InFlight, peer: &Peer, connection: &Connection, payload: Payload) {
    let (dispatcher, cx) = (peer.dispatcher.clone(), peer.cx.clone());
    let size = match &payload {
        Payload::Text(text) => text.len(),
        Payload::Binary(bytes) => bytes.len(),
    };
    let mut answer = Box::pin(async move {
        let unclaimed = cx
            .connection()
            .map(|connection| connection as &dyn Unclaimed);
        match payload {
            Payload::Text(text) => dispatcher.answer(&text, &cx, unclaimed).await,
            Payload::Binary(bytes) => dispatcher.answer_bytes(&bytes, &cx, unclaimed).await,
        }
    });
    match std::future::poll_fn(|task| Poll::Ready(answer.as_mut().poll(task))).await {
        Poll::Ready(reply) => connection.queue(reply),
        Poll::Pending => calls.spawn(size, answer),
    }
}

/// Hands everything queued to the socket, then flushes once. On a stream shared for direct
/// writes, which takes every write whole (`DirectIo`), a burst's frames follow what tungstenite
/// held as they were made; the write cannot stop halfway, so no frame is ever split. Any other
/// stream (TLS, a client's, which masks) is fed the burst's messages one by one.
async fn write_queued<S>(
    socket: &mut WebSocketStream<S>,
    outbox: &Outbox,
    batch: &mut Batch,
) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let taken = outbox.take(batch);
    while let Some(entry) = batch.pop_front() {
        match entry.into_outgoing() {
            Outgoing::Message(message) => socket.feed(Message::Text(message)).await?,
            Outgoing::Burst(burst) if outbox.writes_directly() => {
                socket.flush().await?;
                socket.get_mut().write_all(burst.frames()).await?;
            }
            Outgoing::Burst(burst) => {
                for message in burst.messages() {
                    socket.feed(Message::Text(message)).await?;
                }
            }
        }
    }
    outbox.release(taken);
    socket.flush().await
}

/// Sends our close frame and waits, for a bounded time, for the peer's answer; not past the
/// stop's deadline, if this side is stopping.
async fn close<S>(
    mut socket: WebSocketStream<S>,
    frame: CloseFrame,
    deadline: impl Future<Output = ()>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Bounded as a whole: a peer that does not read would hold the close frame's write too.
    let handshake = async {
        socket.close(Some(frame)).await?;
        while let Some(Ok(_)) = socket.next().await {}
        Ok::<_, WsError>(())
    };
    tokio::select! {
        _ = tokio::time::timeout(CLOSE_TIMEOUT, handshake) => {}
        () = deadline => {}
    }
}

/// Closes a connection at once: whatever is queued is dropped (and nothing more is written
/// directly), and the close frame gets a short while to leave behind what the socket already
/// holds.
async fn force_close<S>(mut socket: WebSocketStream<S>, outbox: &Outbox, frame: CloseFrame)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    outbox.close();
    tracing::debug!(reason = %frame.reason, "closing a WebSocket connection");
    let _ = tokio::time::timeout(FORCED_CLOSE_TIMEOUT, socket.close(Some(frame))).await;
}
