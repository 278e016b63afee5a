//! The HTTP transport: status codes, media type, body limit and keep-alive, through hyper's
//! client on real sockets.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::{TestServer, timed};
use futures_util::{StreamExt, stream};
use http::{Method, Request, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use rpc_runtime::Server;
use serde_json::json;
use tokio::net::TcpStream;

const CALL: &str = r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;

fn post(url: &str, content_type: Option<&str>, body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::post(url);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

#[tokio::test]
async fn requires_a_json_content_type() {
    let server = TestServer::start().await;
    let http = server.http();
    for (content_type, status) in [
        (Some("application/json"), StatusCode::OK),
        (Some("application/json; charset=utf-8"), StatusCode::OK),
        (Some("Application/JSON;charset=UTF-8"), StatusCode::OK),
        (None, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (Some("text/plain"), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            Some("application/x-www-form-urlencoded"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Some("application/jsonp"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let reply = http.send(post(&http.url, content_type, CALL)).await;
        assert_eq!(reply.status, status, "{content_type:?}");
        if status == StatusCode::OK {
            assert_eq!(reply.json(), json!({"jsonrpc":"2.0","result":19,"id":1}));
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn refuses_other_verbs_and_paths() {
    let server = TestServer::start().await;
    let http = server.http();
    for method in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH] {
        let request = Request::builder()
            .method(method.clone())
            .uri(&http.url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(CALL.as_bytes())))
            .unwrap();
        let reply = http.send(request).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.headers["allow"], "POST, GET");
    }
    let reply = http
        .send(post(
            &format!("{}other", http.url),
            Some("application/json"),
            CALL,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn serves_a_configured_path_only() {
    let server = TestServer::start_with(Server::builder().path("/rpc"), 2).await;
    let http = server.http();
    let reply = http
        .send(post(
            &format!("{}rpc", http.url),
            Some("application/json"),
            CALL,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = http
        .send(post(&http.url, Some("application/json"), CALL))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn answers_notifications_with_204_and_no_body() {
    let server = TestServer::start().await;
    let http = server.http();
    let reply = http
        .post(r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.body, "");
    let reply = http
        .post(r#"[{"jsonrpc":"2.0","method":"update"},{"jsonrpc":"2.0","method":"notify_hello"}]"#)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    server.stop().await;
}

/// A raw HTTP/1.1 connection through hyper's client, to see what happens on one socket.
async fn connect(server: &TestServer) -> hyper::client::conn::http1::SendRequest<RawBody> {
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

type RawBody = UnsyncBoxBody<Bytes, Infallible>;

fn streamed(chunks: Vec<Vec<u8>>) -> RawBody {
    let frames: Vec<_> = chunks
        .into_iter()
        .map(|chunk| Ok(Frame::data(Bytes::from(chunk))))
        .collect();
    StreamBody::new(stream::iter(frames)).boxed_unsync()
}

#[tokio::test]
async fn keeps_connections_alive_between_calls() {
    let server = TestServer::start().await;
    let mut sender = connect(&server).await;
    let mut connections = Vec::new();
    for id in 0..3 {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"whoami","id":{id}}}"#).into_bytes();
        let request = Request::post("/")
            .header("host", server.addr.to_string())
            .header("content-type", "application/json")
            .body(streamed(vec![body]))
            .unwrap();
        let response = timed("keep-alive call", sender.send_request(request))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        connections.push(answer["result"]["connection"].clone());
    }
    assert!(
        connections.windows(2).all(|pair| pair[0] == pair[1]),
        "{connections:?}"
    );
    drop(sender);
    server.stop().await;
}

#[tokio::test]
async fn refuses_a_body_over_the_limit_with_413() {
    let server = TestServer::start_with(Server::builder().max_request_size(1024), 2).await;

    // Declared too large: refused from the header alone. The client has sent one small chunk
    // and would send the rest only if the server read it.
    let mut sender = connect(&server).await;
    let request = Request::post("/")
        .header("host", server.addr.to_string())
        .header("content-type", "application/json")
        .header("content-length", (64 * 1024 * 1024).to_string())
        .body(
            StreamBody::new(
                stream::iter(vec![Ok::<_, Infallible>(Frame::data(Bytes::from_static(
                    b"[",
                )))])
                .chain(stream::pending()),
            )
            .boxed_unsync(),
        )
        .unwrap();
    let response = timed("413 before the body", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Chunked, with no length declared: refused once the limit is crossed.
    let mut sender = connect(&server).await;
    let request = Request::post("/")
        .header("host", server.addr.to_string())
        .header("content-type", "application/json")
        .body(streamed(vec![vec![b' '; 600], vec![b' '; 600]]))
        .unwrap();
    let response = timed("413 for chunked", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Within the limit, the same server answers.
    let reply = server.http().post(CALL).await;
    assert_eq!(reply.status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn answers_invalid_utf8_with_a_parse_error() {
    let server = TestServer::start().await;
    let http = server.http();
    let request = Request::post(&http.url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(
            b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\",\"id\":1}",
        )))
        .unwrap();
    let reply = http.send(request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["error"]["code"], -32700);
    server.stop().await;
}

#[tokio::test]
async fn finishes_calls_in_flight_when_stopping() {
    let server = TestServer::start().await;
    let http = server.http();
    let call = tokio::spawn(async move {
        http.post(r#"{"jsonrpc":"2.0","method":"gate_wait","id":1}"#)
            .await
    });
    let stopping = server.stop_while_held().await;
    let reply = timed("in-flight call", call).await.unwrap();
    assert_eq!(
        reply.json(),
        json!({"jsonrpc":"2.0","result":"released","id":1})
    );
    timed("stop", stopping).await.unwrap();
}

/// A connection that never sent a byte (an HTTP client's pool opens such spares) has nothing
/// to finish: a stop does not wait out its header read timeout for it.
#[tokio::test]
async fn a_connection_that_sent_nothing_does_not_hold_up_a_stop() {
    let builder = Server::builder().header_read_timeout(std::time::Duration::from_secs(60));
    let server = TestServer::start_with(builder, 2).await;
    let silent = TcpStream::connect(server.addr).await.unwrap();
    // Accepted, and waiting for its first bytes.
    assert_eq!(server.http().post(CALL).await.status, StatusCode::OK);
    server.stop().await;
    drop(silent);
}
