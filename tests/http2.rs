//! HTTP/2 beside HTTP/1.1 on one port: h2c with prior knowledge and h2 over TLS by ALPN, with
//! the limits and deadlines HTTP/1 has; curl as the third-party client, hyper's own HTTP/2
//! client for what curl cannot do (a body that never ends, a dropped connection), and ours.

mod common;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{self, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::tls::Certificate;
use common::{TestServer, timed, until};
use futures_util::stream;
use http::{Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rpc_runtime::client::{HttpClient, RpcClient};
use rpc_runtime::{Context, Router, Server, ServerBuilder, methods, rpc_method};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The connection a call arrived on, after long enough for the next call to overlap it.
#[rpc_method]
async fn which_connection(cx: Context) -> u64 {
    tokio::time::sleep(Duration::from_millis(200)).await;
    cx.connection_id().get()
}

/// Calls running at once, and the most there ever were.
#[derive(Default)]
struct Running {
    now: AtomicUsize,
    most: AtomicUsize,
}

#[rpc_method]
async fn overlap(cx: Context) {
    let running = cx.state::<Arc<Running>>().expect("registered");
    let now = running.now.fetch_add(1, Ordering::SeqCst) + 1;
    running.most.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.now.fetch_sub(1, Ordering::SeqCst);
}

/// Set when a `hang` call is dropped unfinished.
#[derive(Default)]
struct Hung {
    started: AtomicBool,
    cancelled: AtomicBool,
}

struct OnDrop(Arc<Hung>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
    }
}

#[rpc_method]
async fn hang(cx: Context) {
    let hung = cx.state::<Arc<Hung>>().expect("registered").clone();
    hung.started.store(true, Ordering::SeqCst);
    let _dropped = OnDrop(hung);
    std::future::pending::<()>().await;
}

fn router() -> Router {
    common::router()
        .merge(methods![which_connection, overlap, hang])
        .expect("no name taken twice")
}

async fn start(builder: ServerBuilder) -> TestServer {
    TestServer::start_router(builder, router()).await
}

const SUBTRACT: &str = r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;

/// Runs curl with `args` and the call, answering its body and the HTTP version it used.
async fn curl(args: &[&str], url: &str) -> (String, String) {
    let output = timed(
        "curl",
        tokio::process::Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10"])
            .args(args)
            .args(["--header", "content-type: application/json"])
            .args(["--data", SUBTRACT, "--write-out", "\n%{http_version}", url])
            .output(),
    )
    .await
    .expect("curl runs (scripts/test installs it)");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "curl {args:?}: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (body, version) = stdout.rsplit_once('\n').unwrap();
    (body.to_owned(), version.to_owned())
}

#[tokio::test]
async fn curl_speaks_http2_in_the_clear_with_prior_knowledge_and_http1_beside_it() {
    let server = start(Server::builder()).await;
    let url = format!("http://{}/", server.addr);
    let answer = r#"{"jsonrpc":"2.0","result":19,"id":1}"#;
    assert_eq!(
        curl(&["--http2-prior-knowledge"], &url).await,
        (answer.to_owned(), "2".to_owned())
    );
    assert_eq!(
        curl(&["--http1.1"], &url).await,
        (answer.to_owned(), "1.1".to_owned())
    );
    server.stop().await;
}

/// What curl needs to reach a server on loopback by the name `localhost` and trust the test's
/// certificate, which it reads from a file, removed when this is dropped.
struct CurlTls {
    pem: PathBuf,
    args: [String; 4],
}

impl CurlTls {
    fn new(certificate: &Certificate, port: u16) -> CurlTls {
        let pem = std::env::temp_dir().join(format!("rpc-http2-{}-{port}.pem", std::process::id()));
        std::fs::write(&pem, &certificate.pem).unwrap();
        let args = [
            "--cacert".to_owned(),
            pem.to_str().unwrap().to_owned(),
            "--resolve".to_owned(),
            format!("localhost:{port}:127.0.0.1"),
        ];
        CurlTls { pem, args }
    }

    /// curl over TLS with `more` arguments.
    async fn run(&self, more: &str, url: &str) -> (String, String) {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        args.push(more);
        curl(&args, url).await
    }
}

impl Drop for CurlTls {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pem);
    }
}

#[tokio::test]
async fn over_tls_alpn_picks_http2_for_curl_and_for_our_client() {
    let certificate = common::tls::certificate();
    let server = start(Server::builder().tls(certificate.server.clone())).await;
    let port = server.addr.port();
    let url = format!("https://localhost:{port}/");
    let curl = CurlTls::new(&certificate, port);
    let (body, version) = curl.run("--http2", &url).await;
    assert_eq!(
        (body.as_str(), version.as_str()),
        (r#"{"jsonrpc":"2.0","result":19,"id":1}"#, "2")
    );
    let (_, version) = curl.run("--http1.1", &url).await;
    assert_eq!(version, "1.1", "a client that offers only HTTP/1.1 gets it");

    // Ours negotiates HTTP/2 by default: two calls at once share its one connection.
    let client = HttpClient::builder()
        .tls_config(certificate.client.clone())
        .build(&url)
        .unwrap();
    let (a, b) = calls_at_once(&client).await;
    assert_eq!(a, b, "two calls at once on one HTTP/2 connection");
    // Told HTTP/2 only, it offers nothing else and gets it.
    let only = HttpClient::builder()
        .tls_config(certificate.client)
        .http2_prior_knowledge()
        .build(&url)
        .unwrap();
    let (a, b) = calls_at_once(&only).await;
    assert_eq!(a, b, "two calls at once on one HTTP/2 connection");
    server.stop().await;
}

/// A TLS client past the connection limit gets its 503 over TLS, in the version it chose,
/// rather than a plain-text answer its TLS layer cannot read.
#[tokio::test]
async fn past_the_connection_limit_a_tls_client_gets_503_over_tls() {
    let certificate = common::tls::certificate();
    let builder = Server::builder()
        .tls(certificate.server.clone())
        .max_connections(1);
    let server = start(builder).await;
    // Accepted first, it holds the one slot while its handshake waits for the header timeout.
    let _held = TcpStream::connect(server.addr).await.unwrap();
    let url = format!("https://localhost:{}/", server.addr.port());
    let curl = CurlTls::new(&certificate, server.addr.port());
    let busy = "too many connections, try again later".to_owned();
    assert_eq!(
        curl.run("--http2", &url).await,
        (busy.clone(), "2".to_owned())
    );
    assert_eq!(curl.run("--http1.1", &url).await, (busy, "1.1".to_owned()));
    server.stop().await;
}

/// Which connections two overlapping calls arrived on.
async fn calls_at_once(client: &HttpClient) -> (u64, u64) {
    let first = client.call::<u64>("which_connection", ());
    let second = client.call::<u64>("which_connection", ());
    let (a, b) = timed("two calls", async { tokio::join!(first, second) }).await;
    (a.unwrap(), b.unwrap())
}

#[tokio::test]
async fn our_client_with_prior_knowledge_multiplexes_calls_on_one_connection() {
    let server = start(Server::builder()).await;
    let url = format!("http://{}/", server.addr);
    let h2 = HttpClient::builder()
        .http2_prior_knowledge()
        .build(&url)
        .unwrap();
    let (a, b) = calls_at_once(&h2).await;
    assert_eq!(a, b, "streams of one HTTP/2 connection");
    assert_eq!(h2.call::<i64>("subtract", (42, 23)).await.unwrap(), 19);

    // HTTP/1.1 has one request at a time per connection: the second call needs its own.
    let h1 = HttpClient::new(&url).unwrap();
    let (a, b) = calls_at_once(&h1).await;
    assert_ne!(a, b, "HTTP/1.1 calls at once take two connections");
    server.stop().await;
}

type Body = BoxBody<Bytes, Infallible>;

/// An HTTP/2 connection made by hyper's own client, and the task driving it.
async fn h2c(addr: SocketAddr) -> (SendRequest<Body>, JoinHandle<hyper::Result<()>>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, connection) = timed(
        "the HTTP/2 handshake",
        http2::handshake(TokioExecutor::new(), TokioIo::new(stream)),
    )
    .await
    .unwrap();
    (send, tokio::spawn(connection))
}

fn post(body: Body) -> Request<Body> {
    Request::post("/")
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

fn call(text: &str) -> Request<Body> {
    post(Full::new(Bytes::from(text.to_owned())).boxed())
}

async fn status(send: &mut SendRequest<Body>, request: Request<Body>) -> StatusCode {
    let response = timed("an HTTP/2 response", send.send_request(request))
        .await
        .unwrap();
    response.status()
}

#[tokio::test]
async fn streams_past_the_limit_wait_for_one_to_end() {
    let running = Arc::new(Running::default());
    let builder = Server::builder()
        .max_streams_per_connection(2)
        .state(running.clone());
    let server = start(builder).await;
    let client = HttpClient::builder()
        .http2_prior_knowledge()
        .build(&format!("http://{}/", server.addr))
        .unwrap();
    // Once the client has the server's settings: before them, it cannot know the limit.
    assert_eq!(client.call::<i64>("subtract", (42, 23)).await.unwrap(), 19);
    let calls = (0..6).map(|_| client.call::<()>("overlap", ()));
    let answered = timed("six calls", futures_util::future::join_all(calls)).await;
    assert!(answered.iter().all(Result::is_ok), "{answered:?}");
    assert_eq!(
        running.most.load(Ordering::SeqCst),
        2,
        "two streams at once"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_connection_with_no_request_running_is_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(300);
    let server = start(Server::builder().header_read_timeout(timeout)).await;
    let (mut send, connection) = h2c(server.addr).await;
    // Requests keep it open past the timeout...
    for _ in 0..4 {
        tokio::time::sleep(timeout / 2).await;
        assert_eq!(status(&mut send, call(SUBTRACT)).await, StatusCode::OK);
    }
    // ...then, with none, it goes a timeout after the last (which ended just before this).
    let idle = Instant::now();
    timed("the idle connection closing", connection)
        .await
        .unwrap()
        .unwrap();
    let waited = idle.elapsed();
    assert!(waited >= timeout - Duration::from_millis(50), "{waited:?}");
    server.stop().await;
}

/// HTTP/2's flow control lets a client take none of a response while its socket reads on,
/// which no write deadline sees: the response ended its request, so the connection idles out.
#[tokio::test]
async fn a_response_the_client_never_lets_through_goes_with_its_idle_connection() {
    let timeout = Duration::from_millis(300);
    let builder = Server::builder()
        .header_read_timeout(timeout)
        .shutdown_timeout(timeout);
    let server = start(builder).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut send, connection) = http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(0)
        .handshake::<_, Body>(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let response = timed("the response head", send.send_request(call(SUBTRACT)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    timed("the connection ending", connection)
        .await
        .unwrap()
        .ok();
    let body = timed("the body", response.into_body().collect()).await;
    assert!(body.is_err(), "no byte of it was let through: {body:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_half_sent_preface_is_cut_off_at_the_header_timeout() {
    let server = start(Server::builder().header_read_timeout(Duration::from_millis(300))).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let mut rest = Vec::new();
    let read = timed("the server closing", stream.read_to_end(&mut rest)).await;
    assert!(read.is_err() || rest.is_empty(), "{rest:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_never_ends_gets_408_and_the_connection_serves_on() {
    let server = start(Server::builder().body_read_timeout(Duration::from_millis(300))).await;
    let (mut send, _connection) = h2c(server.addr).await;
    let start = stream::iter([Ok(Frame::data(Bytes::from_static(b"[1,")))]);
    let endless = StreamBody::new(futures_util::StreamExt::chain(start, stream::pending()));
    assert_eq!(
        status(&mut send, post(endless.boxed())).await,
        StatusCode::REQUEST_TIMEOUT
    );
    assert_eq!(status(&mut send, call(SUBTRACT)).await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let server = start(Server::builder().max_request_size(64)).await;
    let (mut send, _connection) = h2c(server.addr).await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(100)
    );
    assert_eq!(
        status(&mut send, call(&big)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(status(&mut send, call(SUBTRACT)).await, StatusCode::OK);
    server.stop().await;
}

/// A server of one connection, that connection (served), and a second one (refused), each
/// with its task.
async fn over_the_limit() -> (
    TestServer,
    [(SendRequest<Body>, JoinHandle<hyper::Result<()>>); 2],
) {
    let server = start(Server::builder().max_connections(1)).await;
    let (mut first, held) = h2c(server.addr).await;
    assert_eq!(status(&mut first, call(SUBTRACT)).await, StatusCode::OK);
    let second = h2c(server.addr).await;
    (server, [(first, held), second])
}

#[tokio::test]
async fn past_the_connection_limit_an_http2_client_gets_503() {
    let (server, [(mut first, _held), (mut second, _refused)]) = over_the_limit().await;
    assert_eq!(
        status(&mut second, call(SUBTRACT)).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(status(&mut first, call(SUBTRACT)).await, StatusCode::OK);
    server.stop().await;
}

/// A refused request's body is read before its 503 (up to 64 KiB): answered with its body
/// unread, the stream would be reset after the answer, which some clients (curl 7.88) take for
/// a failed request.
#[tokio::test]
async fn a_refused_http2_request_is_answered_once_its_body_is_in() {
    let (server, [_held, (mut refused, _connection)]) = over_the_limit().await;
    let sent = Arc::new(AtomicBool::new(false));
    let parts = stream::unfold(0, {
        let sent = sent.clone();
        move |part| {
            let sent = sent.clone();
            async move {
                let data = match part {
                    0 => b"[1,".as_slice(),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        b"2]".as_slice()
                    }
                    _ => {
                        sent.store(true, Ordering::SeqCst);
                        return None;
                    }
                };
                Some((Ok(Frame::data(Bytes::from_static(data))), part + 1))
            }
        }
    });
    assert_eq!(
        status(&mut refused, post(StreamBody::new(parts).boxed())).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(
        sent.load(Ordering::SeqCst),
        "answered before the body was in"
    );
    server.stop().await;
}

/// A server with a `hang` call running on an HTTP/2 connection: the server, what the call
/// records, the connection, its task, and the task awaiting the call's response.
async fn a_hanging_call() -> (
    TestServer,
    Arc<Hung>,
    SendRequest<Body>,
    JoinHandle<hyper::Result<()>>,
    JoinHandle<hyper::Result<hyper::Response<hyper::body::Incoming>>>,
) {
    let hung = Arc::new(Hung::default());
    let server = start(Server::builder().state(hung.clone())).await;
    let (mut send, connection) = h2c(server.addr).await;
    let request = send.send_request(call(r#"{"jsonrpc":"2.0","method":"hang","id":1}"#));
    let pending = tokio::spawn(request);
    until("the call running", async || {
        hung.started.load(Ordering::SeqCst)
    })
    .await;
    (server, hung, send, connection, pending)
}

#[tokio::test]
async fn a_call_whose_connection_closes_is_cancelled() {
    let (server, hung, send, connection, pending) = a_hanging_call().await;
    pending.abort();
    connection.abort();
    drop(send);
    until("the call cancelled", async || {
        hung.cancelled.load(Ordering::SeqCst)
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_call_whose_stream_is_reset_is_cancelled_and_the_connection_serves_on() {
    let (server, hung, mut send, _connection, pending) = a_hanging_call().await;
    // Dropping the response resets its stream (RST_STREAM), nothing else.
    pending.abort();
    until("the call cancelled", async || {
        hung.cancelled.load(Ordering::SeqCst)
    })
    .await;
    assert_eq!(status(&mut send, call(SUBTRACT)).await, StatusCode::OK);
    server.stop().await;
}

/// A socket whose reads stop when told: its client then never sees the server's pings, so
/// never answers them, though the connection stays open.
struct Deaf {
    stream: TcpStream,
    deaf: Arc<AtomicBool>,
}

impl AsyncRead for Deaf {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.deaf.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Deaf {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A call is running, so the connection is not idle: only the unanswered ping tells the
/// server the client is gone.
#[tokio::test]
async fn a_client_that_stops_answering_pings_is_dropped_and_its_call_cancelled() {
    let hung = Arc::new(Hung::default());
    let builder = Server::builder()
        .state(hung.clone())
        .websocket_ping_interval(Some(Duration::from_millis(200)));
    let server = start(builder).await;
    let deaf = Arc::new(AtomicBool::new(false));
    let stream = Deaf {
        stream: TcpStream::connect(server.addr).await.unwrap(),
        deaf: deaf.clone(),
    };
    let (mut send, connection) = timed(
        "the HTTP/2 handshake",
        http2::handshake(TokioExecutor::new(), TokioIo::new(stream)),
    )
    .await
    .unwrap();
    let _connection = tokio::spawn(connection);
    let _pending =
        tokio::spawn(send.send_request(call(r#"{"jsonrpc":"2.0","method":"hang","id":1}"#)));
    until("the call running", async || {
        hung.started.load(Ordering::SeqCst)
    })
    .await;
    deaf.store(true, Ordering::SeqCst);
    until("the call cancelled", async || {
        hung.cancelled.load(Ordering::SeqCst)
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_stopping_server_answers_the_call_in_flight_then_closes() {
    let server = start(Server::builder()).await;
    let (mut send, connection) = h2c(server.addr).await;
    let held = send.send_request(call(r#"{"jsonrpc":"2.0","method":"gate_wait","id":1}"#));
    let held = tokio::spawn(held);
    let stopping = server.stop_while_held().await;
    let response = timed("the held call", held).await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        br#"{"jsonrpc":"2.0","result":"released","id":1}"#
    );
    timed("the connection closing", connection)
        .await
        .unwrap()
        .unwrap();
    timed("the stop", stopping).await.unwrap();
}
