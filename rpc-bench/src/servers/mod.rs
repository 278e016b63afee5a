//! The servers under load, each serving the same methods on one port over HTTP and WebSocket:
//! ours, jsonrpsee written as its users write it, the "limit": the bare hyper/tokio-tungstenite
//! stack that parses each message and answers without dispatch, and the "floor" (`floor.rs`),
//! for fan-out and HTTP: no framework and no JSON at all.

pub mod floor;

use std::convert::Infallible;
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::value::RawValue;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Ours: the conformance server's methods, as `cargo run -p integrations --example spec_server` serves them.
pub mod ours {
    use futures_util::StreamExt;
    use rpc_runtime::client::RpcClient;
    use rpc_runtime::{Connection, Router, RpcError, methods, rpc_method};

    use crate::spec;

    /// The 1 KiB string the in-process benches ask for.
    #[rpc_method]
    pub fn text_1k() -> String {
        "x".repeat(1024)
    }

    /// Calls the client's `subtract [42, 23]` `count` times, `in_flight` at once, checking
    /// each answer: the load harness's server-to-client scenario.
    #[rpc_method]
    pub async fn call_back(
        conn: Connection,
        count: u64,
        in_flight: usize,
    ) -> Result<u64, RpcError> {
        let calls = futures_util::stream::iter(0..count)
            .map(|_| conn.call::<i64>("subtract", (42, 23)))
            .buffer_unordered(in_flight.max(1));
        let answered = calls
            .filter(|answer| std::future::ready(matches!(answer, Ok(19))))
            .count()
            .await;
        Ok(answered as u64)
    }

    pub fn router() -> Router {
        spec::router()
            .merge(methods![text_1k, call_back])
            .expect("unique names")
    }

    /// Serves; with `broker`, on that Redis broker; with `history`, `ticks` keeps the last
    /// 1,000 publications (and numbers each).
    pub async fn serve(
        addr: &str,
        broker: Option<rpc_runtime::RedisBrokerBuilder>,
        history: bool,
    ) -> std::io::Result<()> {
        let mut hub = spec::hub();
        if history {
            let keep = rpc_runtime::History::new().size(1000);
            hub = hub.topic(rpc_runtime::Topic::new("ticks").history(keep));
        }
        if let Some(broker) = broker {
            hub = hub.broker(broker.connect().await.map_err(std::io::Error::other)?);
        }
        let server = rpc_runtime::Server::builder()
            // As jsonrpsee's below: the idle scenario holds 10,000 connections plus its probes.
            .max_connections(100_000)
            .hub(hub.build())
            .state(spec::Ticks::default())
            .bind(addr, router())
            .await?;
        super::announce(server.local_addr());
        server.serve().await;
        Ok(())
    }
}

/// jsonrpsee, as its users write a server: the `#[rpc(server)]` macro, and for fan-out its
/// pub/sub broadcast example's design (one `tokio::sync::broadcast` channel, and a task per
/// subscription that serializes each item and sends it into the subscription's sink).
pub mod theirs {
    use std::sync::Arc;
    use std::time::Duration;

    use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
    use jsonrpsee::proc_macros::rpc;
    use jsonrpsee::types::ErrorObjectOwned;
    use jsonrpsee::{PendingSubscriptionSink, RpcModule};
    use tokio::sync::broadcast;

    #[derive(serde::Serialize)]
    pub struct Tick {
        seq: u64,
        pad: String,
    }

    #[rpc(server)]
    pub trait Spec {
        #[method(name = "subtract")]
        fn subtract(&self, minuend: i64, subtrahend: i64) -> RpcResult<i64>;

        #[method(name = "sleep")]
        async fn sleep(&self, ms: u64) -> RpcResult<u64>;

        #[method(name = "echo")]
        fn echo(&self, value: serde_json::Value) -> RpcResult<serde_json::Value>;

        #[method(name = "text_1k")]
        fn text_1k(&self) -> RpcResult<String>;

        #[method(name = "broadcast_ticks")]
        fn broadcast_ticks(&self, count: u64, size: usize) -> RpcResult<usize>;

        #[subscription(name = "subscribe_ticks" => "ticks", unsubscribe = "unsubscribe_ticks", item = Tick)]
        async fn subscribe_ticks(&self) -> SubscriptionResult;
    }

    pub struct Impl {
        ticks: broadcast::Sender<Arc<Tick>>,
    }

    #[async_trait]
    impl SpecServer for Impl {
        fn subtract(&self, minuend: i64, subtrahend: i64) -> RpcResult<i64> {
            minuend.checked_sub(subtrahend).ok_or_else(|| {
                ErrorObjectOwned::owned(-32602, "the difference overflows i64", None::<()>)
            })
        }

        async fn sleep(&self, ms: u64) -> RpcResult<u64> {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(ms)
        }

        fn echo(&self, value: serde_json::Value) -> RpcResult<serde_json::Value> {
            Ok(value)
        }

        fn text_1k(&self) -> RpcResult<String> {
            Ok("x".repeat(1024))
        }

        fn broadcast_ticks(&self, count: u64, size: usize) -> RpcResult<usize> {
            let pad = "x".repeat(size);
            let mut receivers = 0;
            for seq in 0..count {
                let tick = Arc::new(Tick {
                    seq,
                    pad: pad.clone(),
                });
                receivers = self.ticks.send(tick).unwrap_or(0);
            }
            Ok(receivers)
        }

        async fn subscribe_ticks(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
            let mut ticks = self.ticks.subscribe();
            let sink = pending.accept().await?;
            loop {
                tokio::select! {
                    () = sink.closed() => break,
                    tick = ticks.recv() => {
                        let Ok(tick) = tick else { break };
                        let message = serde_json::value::to_raw_value(&*tick)?;
                        if sink.send(message).await.is_err() {
                            break;
                        }
                    }
                }
            }
            Ok(())
        }
    }

    pub fn module() -> RpcModule<Impl> {
        // Room for every item of a burst; a subscriber further behind than this is dropped.
        let (ticks, _) = broadcast::channel(4096);
        Impl { ticks }.into_rpc()
    }

    pub async fn serve(addr: &str) -> std::io::Result<()> {
        // A jsonrpsee user serving thousands of connections raises its default limit of 100.
        let config = jsonrpsee::server::ServerConfig::builder()
            .max_connections(100_000)
            .build();
        let server = jsonrpsee::server::Server::builder()
            .set_config(config)
            .build(addr)
            .await?;
        super::announce(server.local_addr()?);
        let handle = server.start(module());
        handle.stopped().await;
        Ok(())
    }
}

/// The limit: each message parsed as JSON, answered from a template with its id spliced in
/// (`subtract`'s 19, or for `sleep` its argument, without sleeping), no dispatch.
pub mod limit {
    use super::*;

    pub async fn serve(addr: &str) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        super::announce(listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(handle);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    }

    async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        if request.headers().contains_key(http::header::UPGRADE) {
            return Ok(upgrade(request));
        }
        let body = request
            .into_body()
            .collect()
            .await
            .map(|body| body.to_bytes())
            .unwrap_or_default();
        let answer = std::str::from_utf8(&body)
            .ok()
            .and_then(answer)
            .unwrap_or_default();
        Ok(super::json(Bytes::from(answer)))
    }

    fn upgrade(request: Request<Incoming>) -> Response<Full<Bytes>> {
        super::accept_upgrade(request, |upgraded| async move {
            let mut socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                tokio_tungstenite::tungstenite::protocol::Role::Server,
                None,
            )
            .await;
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message
                    && let Some(answer) = answer(&text)
                    && socket.send(Message::text(answer)).await.is_err()
                {
                    return;
                }
            }
        })
    }

    #[derive(serde::Deserialize)]
    struct Call<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
        #[serde(borrow)]
        method: &'a str,
        #[serde(borrow)]
        params: Option<&'a RawValue>,
    }

    /// The fixed answer to one call, or to each call of a batch.
    fn answer(text: &str) -> Option<String> {
        if text.trim_start().starts_with('[') {
            let calls: Vec<Call<'_>> = serde_json::from_str(text).ok()?;
            let answers: Vec<String> = calls.iter().filter_map(one).collect();
            return Some(format!("[{}]", answers.join(",")));
        }
        one(&serde_json::from_str(text).ok()?)
    }

    fn one(call: &Call<'_>) -> Option<String> {
        let id = call.id?.get();
        let result = match call.method {
            // `sleep [ms]` answers ms, unslept.
            "sleep" => call
                .params
                .map_or("0", |params| params.get().trim_matches(['[', ']'])),
            _ => "19",
        };
        Some(format!(
            r#"{{"jsonrpc":"2.0","result":{result},"id":{id}}}"#
        ))
    }
}

/// A JSON answer over HTTP.
fn json(body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Accepts a WebSocket upgrade request, and runs `then` on the connection once hyper hands it
/// over.
fn accept_upgrade<F>(
    request: Request<Incoming>,
    then: impl FnOnce(hyper::upgrade::Upgraded) -> F + Send + 'static,
) -> Response<Full<Bytes>>
where
    F: std::future::Future<Output = ()> + Send,
{
    let key = request
        .headers()
        .get(http::header::SEC_WEBSOCKET_KEY)
        .map(|key| tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
        .unwrap_or_default();
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(request).await {
            then(upgraded).await;
        }
    });
    Response::builder()
        .status(http::StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::CONNECTION, "upgrade")
        .header(http::header::UPGRADE, "websocket")
        .header(http::header::SEC_WEBSOCKET_ACCEPT, key)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}

/// The line the load harness waits for, as the conformance example prints it.
fn announce(addr: SocketAddr) {
    println!("listening on {addr}");
}
