//! The floor: what the fan-out and HTTP scenarios cannot cost less than on this machine. No
//! framework and no JSON: a fan-out burst is framed once into one buffer and written straight
//! to each subscriber's socket with one `write` (no queue, no task woken per connection), and an
//! HTTP call is answered by bare hyper with a constant body, its request unparsed. Only the
//! scenarios' own messages are understood, by their method's name.

use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The sockets subscribed to `ticks`.
type Subscribers = Arc<Mutex<Vec<Arc<TcpStream>>>>;

pub async fn serve(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    super::announce(listener.local_addr()?);
    let subscribers = Subscribers::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let subscribers = subscribers.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let subscribers = subscribers.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(request, subscribers).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// The scenario's one call, `subtract [42, 23]` with id 0, answered without reading it.
const ANSWER: &str = r#"{"jsonrpc":"2.0","result":19,"id":0}"#;

async fn handle(request: Request<Incoming>, subscribers: Subscribers) -> Response<Full<Bytes>> {
    if request.headers().contains_key(http::header::UPGRADE) {
        return upgrade(request, subscribers);
    }
    // Read to its end, as any server must, and not looked at.
    let _ = request.into_body().collect().await;
    super::json(Bytes::from_static(ANSWER.as_bytes()))
}

fn upgrade(request: Request<Incoming>, subscribers: Subscribers) -> Response<Full<Bytes>> {
    super::accept_upgrade(request, |upgraded| async move {
        // The TCP stream itself, to write to it from the publisher's task.
        let Ok(parts) = upgraded.downcast::<TokioIo<TcpStream>>() else {
            return;
        };
        let stream = Arc::new(parts.io.into_inner());
        let shared = Shared(stream.clone());
        let socket = WebSocketStream::from_raw_socket(shared, Role::Server, None).await;
        connection(socket, stream, subscribers).await;
    })
}

/// Answers a connection's messages: a subscribe adds it to the subscribers, `broadcast_ticks`
/// writes a burst to each of them.
async fn connection(
    mut socket: WebSocketStream<Shared>,
    stream: Arc<TcpStream>,
    subscribers: Subscribers,
) {
    while let Some(Ok(Message::Text(text))) = socket.next().await {
        #[derive(serde::Deserialize)]
        struct Call<'a> {
            method: &'a str,
            #[serde(borrow)]
            params: Option<&'a RawValue>,
            id: u64,
        }
        // Only the scenario's messages are understood; anything not JSON-RPC ends the
        // connection.
        let Ok(call) = serde_json::from_str::<Call<'_>>(&text) else {
            return;
        };
        let result = match call.method {
            "rpc.subscribe" => r#"["ticks"]"#.to_owned(),
            "subscribe_ticks" => "1".to_owned(),
            "broadcast_ticks" => {
                let Some(Ok((count, size))) = call.params.map(|p| serde_json::from_str(p.get()))
                else {
                    return;
                };
                broadcast(&subscribers, &burst(count, size))
                    .await
                    .to_string()
            }
            // The harness's warm-up call, `subtract [42, 23]`.
            _ => "19".to_owned(),
        };
        let answer = format!(r#"{{"jsonrpc":"2.0","result":{result},"id":{}}}"#, call.id);
        if socket.send(Message::text(answer)).await.is_err() {
            return;
        }
        if matches!(call.method, "rpc.subscribe" | "subscribe_ticks") {
            // Subscribed once its answer is written, so nothing is written between its bytes.
            let mut all = subscribers.lock().unwrap_or_else(PoisonError::into_inner);
            all.push(stream.clone());
        }
    }
}

/// `count` ticks of `size` bytes, each a `ticks` notification in an unmasked text frame, in one
/// buffer: the same bytes for every subscriber (a typed subscriber is told id 1, so its items
/// are the same too).
fn burst(count: u64, size: usize) -> Vec<u8> {
    let pad = "x".repeat(size);
    let mut out = Vec::new();
    for seq in 0..count {
        let payload = format!(
            r#"{{"jsonrpc":"2.0","method":"ticks","params":{{"seq":{seq},"pad":"{pad}"}}}}"#
        );
        out.push(0x81); // FIN, text
        match payload.len() {
            len @ 0..126 => out.push(len as u8),
            len @ 126..65536 => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload.as_bytes());
    }
    out
}

/// Writes `frames` to every subscriber, each with one `write` when the socket takes it at once;
/// only those that did not take it all are waited for, with the rest. Answers how many it
/// reached.
async fn broadcast(subscribers: &Subscribers, frames: &[u8]) -> usize {
    let mut behind = Vec::new();
    let mut reached = 0;
    for stream in subscribers
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        match stream.try_write(frames) {
            Ok(n) if n == frames.len() => reached += 1,
            Ok(n) => behind.push((stream.clone(), n)),
            Err(err) if err.kind() == ErrorKind::WouldBlock => behind.push((stream.clone(), 0)),
            Err(_) => {}
        }
    }
    for (stream, mut written) in behind {
        while written < frames.len() {
            match stream.try_write(&frames[written..]) {
                Ok(n) => written += n,
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    if stream.writable().await.is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        reached += usize::from(written == frames.len());
    }
    reached
}

/// A TCP stream shared between its connection's reader and the publisher, which writes to it
/// directly.
struct Shared(Arc<TcpStream>);

impl AsyncRead for Shared {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(err) if err.kind() == ErrorKind::WouldBlock => {}
                done => return Poll::Ready(done),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // The stream closes when the last of its handles is dropped.
        Poll::Ready(Ok(()))
    }
}
