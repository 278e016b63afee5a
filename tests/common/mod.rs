//! Shared by the integration tests: a server on a free loopback port serving the conformance
//! example's methods plus a few test-only ones, and real HTTP and WebSocket clients.

#![allow(dead_code, unreachable_pub)] // each test binary uses its own part of this module

#[path = "../../examples/integrations/spec_server/methods.rs"]
pub mod spec;

pub mod proxy;
pub mod redis;
pub mod running;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rpc_runtime::{
    Connection, Context, Hub, Router, RpcError, Server, ServerBuilder, ServerHandle, Transport,
    methods, rpc_method,
};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Notify};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Every wait in the tests is bounded by this, so a hang fails instead of blocking CI.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn timed<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Asks `check` until it holds, failing the test after [`TIMEOUT`].
pub async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    timed(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// Cargo builds examples beside the test binaries' `deps` folder when it runs `cargo test`.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace`, or build the examples first with \
         `cargo build -p rpc-examples -p integrations --examples`",
        path.display()
    );
    path
}

/// State for the test-only methods, shared with the test itself: a barrier that releases only
/// when calls run together, and a gate that holds a call (announcing its arrival) until opened.
pub struct Sync {
    pub barrier: Barrier,
    pub arrived: Notify,
    pub gate: Notify,
}

fn sync(cx: &Context) -> &Sync {
    cx.state::<Arc<Sync>>().expect("Sync state")
}

pub const HEADER: &str = "x-test-header";

#[rpc_method]
fn whoami(cx: Context) -> Value {
    json!({
        "transport": if cx.transport() == Transport::Http { "http" } else { "ws" },
        "peer": cx.peer_addr().map(|addr| addr.ip().to_string()),
        "header": cx.headers().get(HEADER).and_then(|value| value.to_str().ok()),
        "connection": cx.connection_id().get(),
        "state": cx.state::<Arc<Sync>>().is_some(),
    })
}

#[rpc_method]
async fn barrier(cx: Context) -> bool {
    sync(&cx).barrier.wait().await.is_leader()
}

#[rpc_method]
async fn gate_wait(cx: Context) -> &'static str {
    sync(&cx).arrived.notify_one();
    sync(&cx).gate.notified().await;
    "released"
}

#[rpc_method]
fn gate_open(cx: Context) {
    sync(&cx).gate.notify_one();
}

#[rpc_method("person.greet")]
fn renamed(#[rpc(name = "first_name")] name: String, #[rpc(rest)] titles: Vec<String>) -> String {
    format!("{} {name}", titles.join(" "))
}

#[rpc_method(blocking = true)]
fn blocking_add(a: u32, b: u32) -> Result<u32, RpcError> {
    std::thread::sleep(Duration::from_millis(5));
    a.checked_add(b)
        .ok_or_else(|| RpcError::invalid_params("overflow"))
}

#[rpc_method(blocking = true)]
fn blocking_panic() -> u32 {
    panic!("blocking handler panicked")
}

#[rpc_method]
async fn async_panic() -> u32 {
    tokio::task::yield_now().await;
    panic!("async handler panicked")
}

/// Keeps the connection in a task that outlives the call, which pushes `method` after `ms`.
#[rpc_method]
fn push_later(conn: Connection, ms: u64, method: String) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let _ = conn.notify(&method, ("later",));
    });
}

/// Closes the calling connection with `code` and `reason`, after answering.
#[rpc_method]
fn kick(conn: Connection, code: u16, reason: String) -> &'static str {
    conn.close(code, reason);
    "kicked"
}

/// The conformance methods and the test-only ones.
pub fn router() -> Router {
    spec::router()
        .merge(methods![
            whoami,
            barrier,
            gate_wait,
            gate_open,
            renamed,
            blocking_add,
            blocking_panic,
            async_panic,
            push_later,
            kick
        ])
        .expect("no duplicate names")
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub sync: Arc<Sync>,
    handle: ServerHandle,
}

impl TestServer {
    /// Serves [`router`] with a two-party barrier.
    pub async fn start() -> Self {
        Self::start_with(Server::builder(), 2).await
    }

    /// Serves [`router`] and the conformance hub (topics `news`, `status`, `ticks`).
    pub async fn start_with(builder: ServerBuilder, barrier_parties: usize) -> Self {
        Self::serve(builder.hub(spec::hub().build()), router(), barrier_parties).await
    }

    /// Serves `router` instead of the test methods, with the builder's hub.
    pub async fn start_router(builder: ServerBuilder, router: Router) -> Self {
        Self::serve(builder, router, 2).await
    }

    async fn serve(builder: ServerBuilder, router: Router, barrier_parties: usize) -> Self {
        let sync = Arc::new(Sync {
            barrier: Barrier::new(barrier_parties),
            arrived: Notify::new(),
            gate: Notify::new(),
        });
        let server = builder
            .state(sync.clone())
            .state(spec::Ticks::default())
            .bind("127.0.0.1:0", router)
            .await
            .expect("bind a loopback port");
        TestServer {
            addr: server.local_addr(),
            sync,
            handle: server.spawn(),
        }
    }

    pub fn hub(&self) -> &Hub {
        self.handle.hub()
    }

    pub fn http(&self) -> Http {
        Http::new(format!("http://{}/", self.addr))
    }

    pub async fn ws(&self) -> Ws {
        Ws::connect(&format!("ws://{}/", self.addr)).await
    }

    pub async fn stop(self) {
        timed("graceful stop", self.handle.stop()).await
    }

    /// Begins a graceful stop with one `gate_wait` call in flight, and returns once the server
    /// has stopped listening; the stop completes on the returned task.
    pub async fn stop_while_held(self) -> tokio::task::JoinHandle<()> {
        timed("the held call arriving", self.sync.arrived.notified()).await;
        let (addr, sync) = (self.addr, self.sync.clone());
        let stopping = tokio::spawn(self.stop());
        timed("the listener closing", async {
            while TcpStream::connect(addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        sync.gate.notify_one();
        stopping
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {:?}", self.body))
    }
}

/// hyper's pooled client, which reuses keep-alive connections.
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    pub url: String,
}

impl Http {
    pub fn new(url: String) -> Self {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            url,
        }
    }

    pub async fn post(&self, body: &str) -> Reply {
        let request = Request::post(&self.url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Full<Bytes>>) -> Reply {
        timed("HTTP request", async {
            let response = self.client.request(request).await.expect("HTTP request");
            let status = response.status();
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("HTTP body")
                .to_bytes();
            Reply {
                status,
                headers,
                body: String::from_utf8(body.to_vec()).expect("UTF-8 body"),
            }
        })
        .await
    }

    /// The JSON-RPC answer, or `None` for 204.
    pub async fn exchange(&self, body: &str) -> Option<Value> {
        let reply = self.post(body).await;
        match reply.status {
            StatusCode::NO_CONTENT => {
                assert!(reply.body.is_empty(), "204 with a body: {}", reply.body);
                None
            }
            StatusCode::OK => {
                assert_eq!(reply.headers["content-type"], "application/json");
                Some(reply.json())
            }
            other => panic!("unexpected status {other}: {}", reply.body),
        }
    }
}

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Ws {
    pub stream: WsStream,
}

const SENTINEL: &str = r#"{"jsonrpc":"2.0","method":"echo","params":["sentinel"],"id":"sentinel"}"#;

impl Ws {
    pub async fn connect(url: &str) -> Self {
        let (stream, _) = timed("WebSocket connect", tokio_tungstenite::connect_async(url))
            .await
            .expect("WebSocket handshake");
        Ws { stream }
    }

    pub async fn send(&mut self, message: Message) {
        timed("WebSocket send", self.stream.send(message))
            .await
            .expect("WebSocket send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send(Message::text(text)).await;
    }

    /// The next frame, skipping nothing.
    pub async fn recv(&mut self) -> Option<Message> {
        timed("WebSocket receive", self.stream.next())
            .await
            .map(|frame| frame.expect("WebSocket frame"))
    }

    pub async fn recv_json(&mut self) -> Value {
        match self.recv().await {
            Some(Message::Text(text)) => serde_json::from_str(&text).expect("JSON response"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    pub async fn call(&mut self, text: &str) -> Value {
        self.send_text(text).await;
        self.recv_json().await
    }

    /// Sends `text` and checks that nothing answers it: the next frame must be the answer to a
    /// call sent after it.
    pub async fn expect_silence(&mut self, text: &str) {
        self.send_text(text).await;
        self.send_text(SENTINEL).await;
        let next = self.recv_json().await;
        assert_eq!(
            next["id"], "sentinel",
            "expected no answer to {text}, got {next}"
        );
    }

    /// Sends `text` and returns the answer, or `None` when nothing answers it.
    pub async fn exchange(&mut self, text: &str, expect_answer: bool) -> Option<Value> {
        if expect_answer {
            Some(self.call(text).await)
        } else {
            self.expect_silence(text).await;
            None
        }
    }
}

/// Sorts a batch answer, whose order the specification leaves open.
pub fn normalized(value: Option<Value>) -> Option<Value> {
    match value {
        Some(Value::Array(mut items)) => {
            items.sort_by_key(|item| item.to_string());
            Some(Value::Array(items))
        }
        other => other,
    }
}

/// Runs `check` against both transports of one server.
pub async fn on_both<F, Fut>(server: &TestServer, check: F)
where
    F: Fn(Peer) -> Fut,
    Fut: Future<Output = ()>,
{
    check(Peer::Http(server.http())).await;
    check(Peer::Ws(server.ws().await)).await;
}

// Two values that live one at a time in a test; their sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Peer {
    Http(Http),
    Ws(Ws),
}

impl Peer {
    pub fn name(&self) -> &'static str {
        match self {
            Peer::Http(_) => "http",
            Peer::Ws(_) => "ws",
        }
    }

    /// The answer to `text`; `expect_answer` tells WebSocket whether to wait for one.
    pub async fn exchange(&mut self, text: &str, expect_answer: bool) -> Option<Value> {
        match self {
            Peer::Http(http) => http.exchange(text).await,
            Peer::Ws(ws) => ws.exchange(text, expect_answer).await,
        }
    }

    /// Checks that the connection still answers calls, after something that must not break it.
    pub async fn assert_still_serving(&mut self) {
        let answer = self
            .call(r#"{"jsonrpc":"2.0","method":"subtract","params":[3,1],"id":"alive"}"#)
            .await;
        assert_eq!(answer["result"], 2, "over {}: {answer}", self.name());
    }

    pub async fn call(&mut self, text: &str) -> Value {
        let name = self.name();
        self.exchange(text, true)
            .await
            .unwrap_or_else(|| panic!("no answer over {name} to {text}"))
    }
}
