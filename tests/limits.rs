//! Every limit and timeout the server sets on what a client can make it hold, over real
//! sockets: each is hit, answered clearly, and leaves the server (and other clients) serving.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::{Http, TIMEOUT, TestServer, Ws, timed, until};
use futures_util::StreamExt;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use rpc_runtime::{Context, Server, SlowReaderPolicy, codes, methods, rpc_method};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// How many times `count` ran, on the server's state.
#[derive(Default)]
struct Runs(AtomicUsize);

#[rpc_method]
fn count(cx: Context) -> usize {
    cx.state::<Arc<Runs>>()
        .unwrap()
        .0
        .fetch_add(1, Ordering::SeqCst)
        + 1
}

/// Holds until its connection is dropped, which it reports by dropping the guard.
#[rpc_method]
async fn hold(cx: Context) {
    struct Dropped(Arc<tokio::sync::Notify>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.notify_one();
        }
    }
    let _guard = Dropped(cx.state::<Arc<tokio::sync::Notify>>().unwrap().clone());
    std::future::pending::<()>().await;
}

fn call(method: &str, params: Value, id: u64) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id}).to_string()
}

#[tokio::test]
async fn a_batch_over_the_member_limit_gets_one_error_and_runs_nothing() {
    let runs = Arc::new(Runs::default());
    let builder = Server::builder().max_batch_size(3).state(runs.clone());
    let server = TestServer::start_router(builder, methods![count]).await;
    let batch = |n: u64| {
        let members: Vec<String> = (1..=n).map(|id| call("count", json!([]), id)).collect();
        format!("[{}]", members.join(","))
    };
    let mut ws = server.ws().await;
    for answer in [
        server.http().exchange(&batch(4)).await.unwrap(),
        ws.call(&batch(4)).await,
    ] {
        assert_eq!(answer["error"]["code"], codes::BATCH_TOO_LARGE, "{answer}");
        assert_eq!(answer["id"], Value::Null);
    }
    assert_eq!(runs.0.load(Ordering::SeqCst), 0, "no member ran");
    // The limit itself is allowed, and the connection still serves.
    let answer = ws.call(&batch(3)).await;
    assert_eq!(answer.as_array().map(Vec::len), Some(3), "{answer}");
    // Millions of members are refused as soon as the limit is passed: nothing is held for them.
    let huge = format!("[{}1]", "1,".repeat(2_000_000));
    let answer = server.http().exchange(&huge).await.unwrap();
    assert_eq!(answer["error"]["code"], codes::BATCH_TOO_LARGE);
    server.stop().await;
}

#[tokio::test]
async fn answers_over_the_response_limit_are_replaced_by_an_error() {
    let builder = Server::builder().max_response_size(400);
    let server = TestServer::start_with(builder, 2).await;
    let big = "x".repeat(500);
    let small = "y".repeat(100);
    let mut ws = server.ws().await;
    // One answer too large: an error for its id, the call did run.
    let single = call("echo", json!([big]), 7);
    for answer in [
        server.http().exchange(&single).await.unwrap(),
        ws.call(&single).await,
    ] {
        assert_eq!(
            answer["error"]["code"],
            codes::RESPONSE_TOO_LARGE,
            "{answer}"
        );
        assert_eq!(answer["id"], 7);
    }
    // Each member fits, all of them together do not: one error for the batch.
    let members: Vec<String> = (1..=5).map(|id| call("echo", json!([small]), id)).collect();
    let batch = format!("[{}]", members.join(","));
    for answer in [
        server.http().exchange(&batch).await.unwrap(),
        ws.call(&batch).await,
    ] {
        assert_eq!(
            answer["error"]["code"],
            codes::BATCH_RESPONSE_TOO_LARGE,
            "{answer}"
        );
        assert_eq!(answer["id"], Value::Null);
    }
    let two = format!("[{},{}]", members[0], members[1]);
    assert_eq!(ws.call(&two).await.as_array().map(Vec::len), Some(2));
    server.stop().await;
}

#[tokio::test]
async fn reading_pauses_while_a_connection_has_its_limit_of_calls_in_flight() {
    let builder = Server::builder().max_in_flight_per_connection(2);
    let server = TestServer::start_with(builder, 2).await;
    let mut ws = server.ws().await;
    ws.send_text(&call("gate_wait", json!([]), 1)).await;
    ws.send_text(&call("gate_wait", json!([]), 2)).await;
    ws.send_text(&call("subtract", json!([5, 3]), 3)).await;
    // Both slots are taken: the third call waits, unread, in the socket.
    let early = tokio::time::timeout(Duration::from_millis(300), ws.stream.next()).await;
    assert!(
        early.is_err(),
        "answered while two calls held both slots: {early:?}"
    );
    // Another connection is not held up.
    let mut other = server.ws().await;
    other.assert_answers_subtract().await;
    server.sync.gate.notify_one();
    let mut ids = vec![
        ws.recv_json().await["id"].clone(),
        ws.recv_json().await["id"].clone(),
    ];
    ids.sort_by_key(Value::to_string);
    assert!(
        ids.contains(&json!(3)),
        "the waiting call ran once a slot freed: {ids:?}"
    );
    server.sync.gate.notify_one();
    assert_eq!(ws.recv_json().await["result"], "released");
    drop((ws, other));
    server.stop().await;
}

#[tokio::test]
async fn reading_pauses_while_the_calls_in_flight_hold_their_limit_of_message_bytes() {
    // Twice the request limit: 1.4 MiB of messages may be held by running calls.
    let builder = Server::builder().max_request_size(700 * 1024);
    let server = TestServer::start_with(builder, 2).await;
    let mut ws = server.ws().await;
    let padded = |id: u64| {
        json!({"jsonrpc": "2.0", "method": "gate_wait", "id": id, "pad": "p".repeat(600 * 1024)})
            .to_string()
    };
    ws.send_text(&padded(1)).await;
    ws.send_text(&padded(2)).await;
    ws.send_text(&padded(3)).await;
    ws.send_text(&call("subtract", json!([5, 3]), 4)).await;
    // Two calls hold 1.2 MiB; the third message makes it 1.8: nothing after it is read.
    let early = tokio::time::timeout(Duration::from_millis(300), ws.stream.next()).await;
    assert!(
        early.is_err(),
        "answered while the calls held too much: {early:?}"
    );
    for _ in 0..3 {
        server.sync.gate.notify_one();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(ws.recv_json().await["id"].clone());
    }
    ids.sort_by_key(Value::to_string);
    assert_eq!(ids, [json!(1), json!(2), json!(3), json!(4)]);
    drop(ws);
    server.stop().await;
}

trait Subtract {
    async fn assert_answers_subtract(&mut self);
}

impl Subtract for Ws {
    async fn assert_answers_subtract(&mut self) {
        let answer = self.call(&call("subtract", json!([5, 3]), 99)).await;
        assert_eq!(answer["result"], 2, "{answer}");
    }
}

/// A refused request whose body is far more than the server reads of it (64 KiB) still gets
/// its 503, whether the rest went through or the server's close cut it short.
#[tokio::test]
async fn a_refused_request_with_a_large_body_gets_its_503() {
    let server = TestServer::start_with(Server::builder().max_connections(1), 1).await;
    let _held = server.ws().await;
    let mut refused = TcpStream::connect(server.addr).await.unwrap();
    let body = vec![b' '; 4 << 20];
    let head = format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    refused.write_all(head.as_bytes()).await.unwrap();
    // Sent whole, or cut short by the server closing: the answer is what this is about.
    let _ = timed("the body", refused.write_all(&body)).await;
    let mut answer = Vec::new();
    let _ = timed("the answer", refused.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
}

#[tokio::test]
async fn connections_past_the_limit_get_503_and_the_open_ones_keep_serving() {
    let builder = Server::builder().max_connections(2);
    let server = TestServer::start_with(builder, 2).await;
    let mut first = server.ws().await;
    let second = server.ws().await;
    let refused = Http::new(format!("http://{}/", server.addr))
        .post(&call("subtract", json!([5, 3]), 1))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert_eq!(refused.headers["connection"], "close");
    let handshake = tokio_tungstenite::connect_async(format!("ws://{}/", server.addr)).await;
    match handshake {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE)
        }
        other => panic!("expected 503 for the third connection, got {other:?}"),
    }
    first.assert_answers_subtract().await;
    // A closed connection gives its slot back.
    drop(second);
    until("a slot coming back", || async {
        let http = Http::new(format!("http://{}/", server.addr));
        http.post(&call("subtract", json!([5, 3]), 1)).await.status == StatusCode::OK
    })
    .await;
    drop(first);
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_stalls_gets_408() {
    let builder = Server::builder().body_read_timeout(Duration::from_millis(300));
    let server = TestServer::start_with(builder, 2).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let (chunks, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
    let body = StreamBody::new(tokio_stream_from(receiver));
    let request = Request::post("/")
        .header("content-type", "application/json")
        .header("content-length", "100")
        .body(body)
        .unwrap();
    chunks
        .send(Ok(Frame::data(Bytes::from_static(b"{\"jsonrpc\""))))
        .await
        .unwrap();
    // The rest never comes; `chunks` stays open until the answer is in.
    let response = timed("the 408", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(response.headers()["connection"], "close");
    let _ = response.into_body().collect().await;
    drop(chunks);
    // The server serves others all along.
    let answer = server
        .http()
        .exchange(&call("subtract", json!([5, 3]), 1))
        .await;
    assert_eq!(answer.unwrap()["result"], 2);
    server.stop().await;
}

fn tokio_stream_from<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

#[tokio::test]
async fn headers_that_never_finish_are_cut_off() {
    let builder = Server::builder().header_read_timeout(Duration::from_millis(300));
    let server = TestServer::start_with(builder, 2).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = timed("the server closing", stream.read_to_end(&mut rest)).await;
    // Closed, with or without a 408 first.
    assert!(
        read.is_err() || rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"),
        "{rest:?}"
    );
    server.stop().await;
}

/// The deadline holds for every request of a kept-alive connection, not only its first.
#[tokio::test]
async fn a_kept_alive_connection_whose_next_headers_never_finish_is_cut_off() {
    let builder = Server::builder().header_read_timeout(Duration::from_millis(300));
    let server = TestServer::start_with(builder, 2).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"jsonrpc":"2.0","method":"subtract","params":[5,3],"id":1}"#;
    for _ in 0..3 {
        let request = format!(
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(br#""id":1}"#) {
            let mut chunk = [0; 1024];
            let read = timed("an answer", stream.read(&mut chunk)).await.unwrap();
            assert_ne!(
                read,
                0,
                "closed early: {:?}",
                String::from_utf8_lossy(&answer)
            );
            answer.extend_from_slice(&chunk[..read]);
        }
        // Within the deadline, again and again: the connection stays.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = timed("the server closing", stream.read_to_end(&mut rest)).await;
    assert!(
        read.is_err() || rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"),
        "{rest:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_silent_websocket_is_pinged_then_closed_and_a_live_one_stays() {
    let builder = Server::builder().websocket_ping_interval(Some(Duration::from_millis(150)));
    let server = TestServer::start_with(builder, 2).await;
    let silent = server.ws().await.stream;
    let mut live = server.ws().await;
    // The live client reads (answering pings as it does) and calls now and then.
    let live_task = tokio::spawn(async move {
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            live.assert_answers_subtract().await;
        }
        live
    });
    // The silent one reads nothing, so it answers no ping.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut silent = silent;
    let mut frames = Vec::new();
    while let Some(Ok(frame)) = timed("the silent client's frames", silent.next()).await {
        let closed = frame.is_close();
        frames.push(frame);
        if closed {
            break;
        }
    }
    assert!(
        matches!(frames.first(), Some(Message::Ping(_))),
        "{frames:?}"
    );
    match frames.last() {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason, "idle timeout");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    let mut live = timed("the live client", live_task).await.unwrap();
    live.assert_answers_subtract().await;
    drop((live, silent));
    server.stop().await;
}

#[tokio::test]
async fn a_call_past_the_per_call_timeout_is_cancelled_with_its_own_code() {
    let builder = Server::builder().call_timeout(Duration::from_millis(100));
    let server = TestServer::start_with(builder, 2).await;
    let mut ws = server.ws().await;
    let slow = call("sleep", json!([10_000]), 4);
    for answer in [
        server.http().exchange(&slow).await.unwrap(),
        ws.call(&slow).await,
    ] {
        assert_eq!(answer["error"]["code"], codes::CALL_TIMED_OUT, "{answer}");
        assert_eq!(answer["id"], 4);
    }
    assert_eq!(ws.call(&call("sleep", json!([1]), 5)).await["result"], 1);
    server.stop().await;
}

#[tokio::test]
async fn the_handlers_of_a_closed_connection_are_cancelled() {
    let dropped = Arc::new(tokio::sync::Notify::new());
    let builder = Server::builder().state(dropped.clone());
    let server = TestServer::start_router(builder, methods![hold]).await;
    let mut ws = server.ws().await;
    ws.send_text(&call("hold", json!([]), 1)).await;
    // Let it start before the connection goes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(ws);
    timed("the WebSocket handler's cancellation", dropped.notified()).await;

    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let body = call("hold", json!([]), 1);
    let request = format!(
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stream);
    timed("the HTTP handler's cancellation", dropped.notified()).await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_takes_no_bytes_is_dropped_after_the_write_timeout() {
    let builder = Server::builder()
        .write_timeout(Duration::from_millis(200))
        .outbound_queue(256 * 1024 * 1024)
        .slow_reader(SlowReaderPolicy::Drop);
    let server = TestServer::start_with(builder, 2).await;
    let stalled = server.ws().await;
    let hub = server.hub().clone();
    until("the connection registering", || async {
        !hub.connections().is_empty()
    })
    .await;
    let id = hub.connections()[0];
    // Far more than the socket buffers hold; the client reads none of it.
    let chunk = "z".repeat(64 * 1024);
    for _ in 0..512 {
        if hub.notify(id, "flood", (&chunk,)).is_err() {
            break;
        }
    }
    until("the stalled connection being dropped", || async {
        hub.connection(id).is_none()
    })
    .await;
    drop(stalled);
    server.stop().await;
}

#[tokio::test]
async fn a_shutdown_cancels_calls_that_outlast_its_deadline() {
    let builder = Server::builder().shutdown_timeout(Duration::from_millis(200));
    let server = TestServer::start_with(builder, 2).await;
    let mut ws = server.ws().await;
    ws.send_text(&call("sleep", json!([60_000]), 1)).await;
    let http = server.http();
    let posting = tokio::spawn(async move {
        let request = Request::post(&http.url)
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(Bytes::from(call(
                "sleep",
                json!([60_000]),
                2,
            ))))
            .unwrap();
        tokio::time::timeout(
            TIMEOUT,
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http()
                .request(request),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped in {:?}",
        started.elapsed()
    );
    let posted = posting
        .await
        .unwrap()
        .expect("the HTTP call ends with the server");
    assert!(
        posted.is_err(),
        "the cancelled HTTP call got an answer: {posted:?}"
    );
    // The WebSocket ends: a 1001 close frame, or the connection dropped.
    let frame = timed("the WebSocket ending", ws.stream.next()).await;
    assert!(
        matches!(&frame, None | Some(Err(_)) | Some(Ok(Message::Close(_)))),
        "{frame:?}"
    );
}

#[tokio::test]
async fn websocket_origins_outside_the_allowed_list_get_403() {
    let builder = Server::builder().allowed_origins(["https://app.example"]);
    let server = TestServer::start_with(builder, 2).await;
    let url = format!("ws://{}/", server.addr);
    let with_origin = |origin: &str| {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                url.as_str(),
            )
            .unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        request
    };
    match tokio_tungstenite::connect_async(with_origin("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("expected 403, got {other:?}"),
    }
    let (mut allowed, _) = tokio_tungstenite::connect_async(with_origin("https://APP.example"))
        .await
        .expect("an allowed origin");
    futures_util::SinkExt::send(
        &mut allowed,
        Message::text(call("subtract", json!([5, 3]), 1)),
    )
    .await
    .unwrap();
    assert!(matches!(allowed.next().await, Some(Ok(Message::Text(_)))));
    // No Origin at all: not a browser, let in.
    server.ws().await.assert_answers_subtract().await;
    drop(allowed);
    server.stop().await;
}

/// A frame as a client must send it (masked, with a zero key so the payload stays readable),
/// with `first` as its first byte (FIN, RSV bits, opcode).
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut out = vec![first, payload.len() as u8 | if masked { 0x80 } else { 0 }];
    if masked {
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
    out.extend_from_slice(payload);
    out
}

/// Reads the server's frames (unmasked, short) until a close frame: the texts, and the close
/// code.
async fn frames_until_close(stream: &mut TcpStream) -> (Vec<String>, u16) {
    let mut texts = Vec::new();
    loop {
        let mut head = [0u8; 2];
        timed("a frame", stream.read_exact(&mut head))
            .await
            .unwrap();
        let mut len = usize::from(head[1] & 0x7f);
        if len == 126 {
            let mut extended = [0u8; 2];
            stream.read_exact(&mut extended).await.unwrap();
            len = usize::from(u16::from_be_bytes(extended));
        }
        let mut payload = vec![0; len];
        stream.read_exact(&mut payload).await.unwrap();
        match head[0] & 0x0f {
            0x1 => texts.push(String::from_utf8(payload).unwrap()),
            0x8 => return (texts, u16::from_be_bytes([payload[0], payload[1]])),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_client_that_sends_pings_and_reads_nothing_stops_being_read() {
    let server = TestServer::start().await;
    let MaybeTlsStream::Plain(stream) = server.ws().await.stream.into_inner() else {
        unreachable!("ws:// is plain TCP")
    };
    // Pings of 125 bytes, 64 KiB at a time, never reading the pongs. The server flushes its
    // answers before it reads again, so once the pongs fill the socket's buffers it stops
    // reading, and the client's writes stop too: far short of 256 MiB. Were it to keep
    // reading, it would hold a pong for every ping.
    let ping = frame(0x89, &[b'p'; 125], true);
    let chunk: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 500)
        .collect();
    // Where the next write starts in `chunk`, which is whole frames: a partial write resumes.
    let (mut sent, mut at) = (0usize, 0usize);
    while sent < 256 * 1024 * 1024 {
        match tokio::time::timeout(Duration::from_secs(2), stream.writable()).await {
            Ok(ready) => ready.unwrap(),
            Err(_) => break,
        }
        match stream.try_write(&chunk[at..]) {
            Ok(n) => {
                sent += n;
                at = (at + n) % chunk.len();
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("{err}"),
        }
    }
    assert!(
        sent < 256 * 1024 * 1024,
        "the server kept reading: {sent} bytes"
    );
    drop(stream);
    server.stop().await;
}

#[tokio::test]
async fn protocol_errors_close_with_1002_after_answering_what_was_accepted() {
    let server = TestServer::start().await;
    let cases: [(&str, Vec<u8>); 5] = [
        ("reserved bits", frame(0x80 | 0x40 | 0x1, b"{}", true)),
        ("reserved data opcode", frame(0x80 | 0x3, b"", true)),
        ("reserved control opcode", frame(0x80 | 0xb, b"", true)),
        ("unmasked frame", frame(0x80 | 0x1, b"{}", false)),
        ("oversize ping", {
            let mut ping = vec![0x89, 0x80 | 126, 0, 200, 0, 0, 0, 0];
            ping.extend_from_slice(&[0; 200]);
            ping
        }),
    ];
    for (case, bad) in cases {
        let MaybeTlsStream::Plain(mut stream) = server.ws().await.stream.into_inner() else {
            unreachable!("ws:// is plain TCP")
        };
        let accepted = call("sleep", json!([200]), 1);
        stream
            .write_all(&frame(0x81, accepted.as_bytes(), true))
            .await
            .unwrap();
        stream.write_all(&bad).await.unwrap();
        let (texts, code) = frames_until_close(&mut stream).await;
        assert_eq!(code, 1002, "{case}");
        assert_eq!(
            texts.len(),
            1,
            "{case}: the accepted call is answered first: {texts:?}"
        );
        assert!(texts[0].contains("\"result\":200"), "{case}: {texts:?}");
    }
    server.stop().await;
}
