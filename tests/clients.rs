//! The WebSocket and HTTP clients against real servers on loopback: multiplexing, batches,
//! timeouts, dropped connections, server notifications and each kind of error.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use common::{TestServer, timed};
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use rpc_runtime::client::{
    Batch, BatchResponse, ClientError, HttpClient, HttpStatusError, RpcClient, WsClient,
};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

async fn ws(server: &TestServer) -> WsClient {
    WsClient::connect(format!("ws://{}/", server.addr))
        .await
        .unwrap()
}

fn http(server: &TestServer) -> HttpClient {
    HttpClient::new(&format!("http://{}/", server.addr)).unwrap()
}

/// A WebSocket peer that plays `script` against the first client to connect.
async fn scripted_peer<F, Fut>(script: F) -> SocketAddr
where
    F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        script(socket).await;
    });
    addr
}

async fn next_text(socket: &mut WebSocketStream<TcpStream>) -> Value {
    loop {
        match timed("a client message", socket.next()).await {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn ws_client_multiplexes_concurrent_calls_on_one_connection() {
    let server = TestServer::start().await;
    let client = ws(&server).await;
    let calls = (0..100).map(|i| client.call::<i64>("echo", (i,)));
    let results = timed("100 concurrent calls", join_all(calls)).await;
    for (i, result) in results.into_iter().enumerate() {
        assert_eq!(result.unwrap(), i as i64);
    }

    // Answers are matched by id, not by order: a held call does not take the next answer.
    let held = tokio::spawn({
        let client = client.clone();
        async move { client.call::<String>("gate_wait", ()).await }
    });
    timed("the held call arriving", server.sync.arrived.notified()).await;
    assert_eq!(
        client.call::<String>("echo", ("quick",)).await.unwrap(),
        "quick"
    );
    client.call::<()>("gate_open", ()).await.unwrap();
    assert_eq!(
        timed("the held call", held).await.unwrap().unwrap(),
        "released"
    );
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn batches_give_each_entry_its_own_typed_result() {
    let server = TestServer::start().await;
    let ws = ws(&server).await;
    let http = http(&server);
    for client in [&ws as &dyn AnyClient, &http as &dyn AnyClient] {
        let mut batch = Batch::new();
        let difference = batch.call::<i64>("subtract", (42, 23)).unwrap();
        let greeting = batch
            .call::<String>("greet", json!({"name": "Ann", "greeting": "Hi"}))
            .unwrap();
        batch.notify("update", [1, 2, 3]).unwrap();
        let failure = batch.call::<()>("fail_custom", ()).unwrap();
        let data = batch.call::<(String, i64)>("get_data", ()).unwrap();
        let answers = timed("a batch", client.send(batch)).await.unwrap();
        assert_eq!(answers.get(&difference).unwrap(), 19);
        assert_eq!(answers.get(&greeting).unwrap(), "Hi, Ann!");
        assert_eq!(answers.get(&data).unwrap(), ("hello".to_owned(), 5));
        let err = answers.get(&failure).unwrap_err();
        let rpc = err.as_rpc().expect("a JSON-RPC error");
        assert_eq!((rpc.code(), rpc.message()), (-32001, "custom failure"));
        assert_eq!(
            rpc.data().map(|data| data.get()),
            Some(r#"{"reason":"testing"}"#)
        );

        let mut notifications = Batch::new();
        notifications.notify("update", [1]).unwrap();
        notifications.notify("notify_hello", [2]).unwrap();
        timed("a notification batch", client.send(notifications))
            .await
            .unwrap();
    }
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn times_out_a_call_and_stays_usable() {
    let server = TestServer::start().await;
    let timeout = Duration::from_millis(200);
    let ws = WsClient::builder()
        .request_timeout(timeout)
        .connect(format!("ws://{}/", server.addr))
        .await
        .unwrap();
    let err = ws.call::<String>("gate_wait", ()).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout(t) if t == timeout),
        "{err}"
    );
    assert_eq!(ws.call::<i64>("subtract", (5, 2)).await.unwrap(), 3);

    let http = HttpClient::builder()
        .request_timeout(timeout)
        .build(&format!("http://{}/", server.addr))
        .unwrap();
    let err = http.call::<String>("gate_wait", ()).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout(_)), "{err}");
    assert_eq!(http.call::<i64>("subtract", (5, 2)).await.unwrap(), 3);

    // Release the two held handlers so the server can stop gracefully.
    for _ in 0..2 {
        ws.call::<()>("gate_open", ()).await.unwrap();
    }
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn fails_every_pending_call_when_the_connection_drops() {
    // A peer that reads two calls and then hangs up without answering.
    let addr = scripted_peer(|mut socket| async move {
        next_text(&mut socket).await;
        next_text(&mut socket).await;
    })
    .await;
    let client = WsClient::connect(format!("ws://{addr}/")).await.unwrap();
    let mut notifications = client.notifications();
    let (first, second) = timed(
        "pending calls",
        futures_util::future::join(client.call::<i64>("a", ()), client.call::<i64>("b", ())),
    )
    .await;
    assert!(matches!(first, Err(ClientError::Closed)), "{first:?}");
    assert!(matches!(second, Err(ClientError::Closed)), "{second:?}");
    assert!(client.is_closed());
    assert!(matches!(
        client.call::<i64>("c", ()).await,
        Err(ClientError::Closed)
    ));
    assert!(matches!(
        client.notify("d", ()).await,
        Err(ClientError::Closed)
    ));
    assert!(
        timed("the end of notifications", notifications.recv())
            .await
            .is_none()
    );
}

#[tokio::test]
async fn delivers_server_notifications_in_order() {
    let addr = scripted_peer(|mut socket| async move {
        let call = next_text(&mut socket).await;
        for tick in 1..=3 {
            let note = json!({"jsonrpc": "2.0", "method": "tick", "params": [tick]});
            socket.send(Message::text(note.to_string())).await.unwrap();
        }
        // A call from the server: this client serves none, and says so.
        let request = json!({"jsonrpc": "2.0", "method": "ask", "id": "s1"});
        socket
            .send(Message::text(request.to_string()))
            .await
            .unwrap();
        let reply = next_text(&mut socket).await;
        assert_eq!(reply["error"]["code"], -32601);
        assert_eq!(reply["id"], "s1");
        let answer = json!({"jsonrpc": "2.0", "result": "done", "id": call["id"]});
        socket
            .send(Message::text(answer.to_string()))
            .await
            .unwrap();
        // Stay open until the client leaves.
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    let client = WsClient::connect(format!("ws://{addr}/")).await.unwrap();
    let mut notifications = client.notifications();
    assert_eq!(client.call::<String>("start", ()).await.unwrap(), "done");
    for tick in 1..=3 {
        let note = timed("a notification", notifications.recv()).await.unwrap();
        assert_eq!(note.method(), "tick");
        assert_eq!(note.params::<[i64; 1]>().unwrap(), [tick]);
    }
}

#[derive(serde::Serialize)]
struct Subtraction {
    minuend: i64,
    subtrahend: i64,
}

#[tokio::test]
async fn sends_params_from_tuples_arrays_structs_and_maps() {
    let server = TestServer::start().await;
    let ws = ws(&server).await;
    let http = http(&server);
    for client in [&ws as &dyn AnyClient, &http as &dyn AnyClient] {
        assert_eq!(client.value("subtract", json!([42, 23])).await.unwrap(), 19);
        assert_eq!(
            client
                .value(
                    "subtract",
                    json!(Subtraction {
                        minuend: 42,
                        subtrahend: 23
                    })
                )
                .await
                .unwrap(),
            19
        );
        let map: BTreeMap<&str, i64> = [("minuend", 42), ("subtrahend", 23)].into();
        assert_eq!(client.value("subtract", json!(map)).await.unwrap(), 19);
        assert_eq!(
            client.value("get_data", Value::Null).await.unwrap(),
            json!(["hello", 5])
        );
        let err = client.value("echo", json!(5)).await.unwrap_err();
        assert!(matches!(err, ClientError::InvalidParams(_)), "{err}");
    }
    assert_eq!(ws.call::<i64>("subtract", (42, 23)).await.unwrap(), 19);
    assert_eq!(http.call::<i64>("sum", [1, 2, 4]).await.unwrap(), 7);
    assert_eq!(http.call::<i64>("sum", vec![1, 2]).await.unwrap(), 3);
    drop(ws);
    server.stop().await;
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send + 'a>>;

/// Either client behind one object type, so one test body runs over both.
trait AnyClient {
    fn value(&self, method: &'static str, params: Value) -> Boxed<'_, Value>;
    fn send(&self, batch: Batch) -> Boxed<'_, BatchResponse>;
}

impl<C: RpcClient> AnyClient for C {
    fn value(&self, method: &'static str, params: Value) -> Boxed<'_, Value> {
        Box::pin(self.call(method, params))
    }

    fn send(&self, batch: Batch) -> Boxed<'_, BatchResponse> {
        Box::pin(self.batch(batch))
    }
}

#[tokio::test]
async fn tells_each_kind_of_failure_apart() {
    let server = TestServer::start().await;
    let ws = ws(&server).await;
    let http = http(&server);
    for client in [&ws as &dyn AnyClient, &http as &dyn AnyClient] {
        let err = client.value("fail_custom", Value::Null).await.unwrap_err();
        let rpc = err.as_rpc().expect("a JSON-RPC error");
        assert_eq!((rpc.code(), rpc.message()), (-32001, "custom failure"));
        let err = client.value("nope", Value::Null).await.unwrap_err();
        assert_eq!(err.as_rpc().map(|rpc| rpc.code()), Some(-32601));
    }
    // A result that does not fit the requested type.
    let err = ws.call::<i64>("get_data", ()).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err}");
    let err = http.call::<i64>("get_data", ()).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err}");

    // Nothing listens: the transport fails.
    let unused = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let err = WsClient::connect(format!("ws://{unused}/"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err}");
    let err = HttpClient::new(&format!("http://{unused}/"))
        .unwrap()
        .call::<i64>("subtract", (1, 2))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err}");

    // Something listens, but not JSON-RPC: the HTTP status is kept.
    let wrong_path = HttpClient::new(&format!("http://{}/elsewhere", server.addr)).unwrap();
    match wrong_path
        .call::<i64>("subtract", (1, 2))
        .await
        .unwrap_err()
    {
        ClientError::Transport(err) => {
            let status = err
                .downcast_ref::<HttpStatusError>()
                .expect("an HTTP status error")
                .status;
            assert_eq!(status, http::StatusCode::NOT_FOUND);
        }
        other => panic!("expected a transport error, got {other}"),
    }
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn http_client_reuses_its_connection() {
    let server = TestServer::start().await;
    let client = http(&server);
    let mut connections = Vec::new();
    for _ in 0..3 {
        let who: Value = client.call("whoami", ()).await.unwrap();
        connections.push(who["connection"].clone());
    }
    assert!(
        connections.windows(2).all(|pair| pair[0] == pair[1]),
        "{connections:?}"
    );
    client.notify("update", [1]).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn clients_send_headers_given_as_strings() {
    let server = TestServer::start().await;
    let http = HttpClient::builder()
        .header(common::HEADER, "from http")
        .build(&format!("http://{}/", server.addr))
        .unwrap();
    let seen: Value = http.call("whoami", ()).await.unwrap();
    assert_eq!(seen["header"], "from http");

    let ws = WsClient::builder()
        .header(common::HEADER, "from the handshake")
        .connect(format!("ws://{}/", server.addr))
        .await
        .unwrap();
    let seen: Value = ws.call("whoami", ()).await.unwrap();
    assert_eq!(seen["header"], "from the handshake");

    let invalid = HttpClient::builder()
        .header("bad name", "x")
        .build("http://127.0.0.1:1/");
    let err = invalid.unwrap_err().to_string();
    assert!(err.contains("invalid header name"), "{err}");
    server.stop().await;
}

/// Every client builder takes headers one way: recorded as given, and an invalid one reported
/// when the client is made (an error for the clients that connect, a panic for `TestClient`,
/// which has nothing to return it in), never by the `header` call itself.
#[test]
fn test_client_reports_an_invalid_header_when_built() {
    let builder = rpc_runtime::client::TestClient::builder(rpc_runtime::Router::new())
        .header("bad name", "x");
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.build()))
        .expect_err("an invalid header makes build panic");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("invalid header name"), "{message}");
}
