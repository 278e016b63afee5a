//! Guards: who may call a method (or subscribe to a topic) is decided from the caller's
//! `Context`, by a bearer token in the HTTP request or the WebSocket handshake, or by a login
//! call that keeps the user on the connection. Hidden methods answer -32601 to those who may not
//! call them, or -32001 on a server that says so.

mod common;

use common::{TestServer, timed};
use rpc_runtime::client::{ClientError, HttpClient, RpcClient, WsClient};
use rpc_runtime::{
    Connection, Context, Denial, Hub, RpcError, Server, Topic, codes, methods, rpc_method,
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Clone)]
struct User(String);

const TOKEN: &str = "Bearer s3cret";

/// Admitted by the token in the request (HTTP) or the handshake (WebSocket), or by a login.
fn logged_in(cx: &Context) -> bool {
    let bearer = cx
        .headers()
        .get("authorization")
        .is_some_and(|value| value == TOKEN);
    bearer
        || cx
            .connection()
            .is_some_and(|conn| conn.get::<User>().is_some())
}

#[rpc_method]
fn login(conn: Connection, name: String, password: String) -> Result<bool, RpcError> {
    if password != "hunter2" {
        return Err(RpcError::new(1, "wrong password"));
    }
    conn.insert(User(name));
    Ok(true)
}

#[rpc_method(guard = logged_in)]
fn balance() -> u64 {
    42
}

#[rpc_method(guard = logged_in)]
fn me(conn: Connection) -> Option<String> {
    conn.get::<User>().map(|user| user.0)
}

#[rpc_method]
fn public() -> &'static str {
    "hello"
}

/// Refuses with its own error, saying why.
fn token_or_why(cx: &Context) -> Result<(), RpcError> {
    match cx.headers().get("authorization") {
        Some(value) if value == TOKEN => Ok(()),
        Some(_) => Err(RpcError::new(-32001, "unauthorized").with_data("the token is not valid")),
        None => Err(RpcError::new(-32001, "unauthorized").with_data("no token")),
    }
}

/// Looks the token up in a store, awaited.
async fn token_in_store(cx: Context) -> bool {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    cx.headers()
        .get("authorization")
        .is_some_and(|value| value == TOKEN)
}

#[rpc_method(guard = token_or_why)]
fn statement() -> &'static str {
    "all well"
}

#[rpc_method(guard = token_in_store)]
async fn audit() -> u64 {
    7
}

fn hub() -> Hub {
    Hub::builder()
        .topic(Topic::new("vault").guard(logged_in))
        .build()
}

async fn start(denial: Denial) -> TestServer {
    let builder = Server::builder().denial(denial).hub(hub());
    TestServer::start_router(
        builder,
        methods![login, balance, me, public, statement, audit],
    )
    .await
}

/// An HTTP client that sends the token with every call.
fn authorized(url: &str) -> HttpClient {
    HttpClient::builder()
        .header(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static(TOKEN),
        )
        .build(url)
        .unwrap()
}

fn rpc_code(result: Result<impl std::fmt::Debug, ClientError>) -> i64 {
    match result {
        Err(ClientError::Rpc(err)) => err.code(),
        other => panic!("expected an error answer, got {other:?}"),
    }
}

#[tokio::test]
async fn a_guarded_method_does_not_exist_for_callers_without_a_token() {
    let server = start(Denial::Hide).await;
    let url = format!("http://{}/", server.addr);
    let anonymous = HttpClient::new(&url).unwrap();
    assert_eq!(
        rpc_code(anonymous.call::<u64>("balance", ()).await),
        codes::METHOD_NOT_FOUND
    );
    assert_eq!(
        anonymous.call::<String>("public", ()).await.unwrap(),
        "hello"
    );
    let authorized = authorized(&url);
    assert_eq!(authorized.call::<u64>("balance", ()).await.unwrap(), 42);

    // The handshake's token holds for the whole WebSocket connection.
    let mut request = format!("ws://{}/", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", TOKEN.parse().unwrap());
    let ws = WsClient::connect(request).await.unwrap();
    assert_eq!(ws.call::<u64>("balance", ()).await.unwrap(), 42);
    server.stop().await;
}

#[tokio::test]
async fn a_login_call_admits_the_rest_of_the_connection_and_its_topics() {
    let server = start(Denial::Hide).await;
    let url = format!("ws://{}/", server.addr);
    let ws = WsClient::connect(url.as_str()).await.unwrap();
    assert_eq!(
        rpc_code(ws.call::<u64>("balance", ()).await),
        codes::METHOD_NOT_FOUND
    );
    let refused: Result<Value, _> = ws.call("rpc.subscribe", ["vault"]).await;
    assert!(refused.is_err(), "subscribed before login: {refused:?}");
    assert_eq!(
        rpc_code(ws.call::<bool>("login", ("ann", "wrong")).await),
        1
    );
    assert!(ws.call::<bool>("login", ("ann", "hunter2")).await.unwrap());
    assert_eq!(ws.call::<u64>("balance", ()).await.unwrap(), 42);
    assert_eq!(
        ws.call::<Option<String>>("me", ())
            .await
            .unwrap()
            .as_deref(),
        Some("ann")
    );
    let topics: Vec<String> = ws.call("rpc.subscribe", ["vault"]).await.unwrap();
    assert_eq!(topics, ["vault"]);
    // Another connection is not logged in by this one's login.
    let other = WsClient::connect(url.as_str()).await.unwrap();
    assert_eq!(
        rpc_code(other.call::<u64>("balance", ()).await),
        codes::METHOD_NOT_FOUND
    );
    server.stop().await;
}

/// `me` takes the `Connection`, so it is served on WebSocket only: over HTTP a caller its
/// guard admits learns so; one it refuses learns nothing, not even that it exists.
#[tokio::test]
async fn a_websocket_method_over_http_says_where_it_is_served_only_to_those_its_guard_admits() {
    let server = start(Denial::Hide).await;
    let url = format!("http://{}/", server.addr);
    let error = |result: Result<Option<String>, ClientError>| match result {
        Err(ClientError::Rpc(err)) => (err.code(), err.data().map(|data| data.get().to_owned())),
        other => panic!("expected an error answer, got {other:?}"),
    };
    let anonymous = HttpClient::new(&url).unwrap();
    assert_eq!(
        error(anonymous.call("me", ()).await),
        (codes::METHOD_NOT_FOUND, None)
    );
    let authorized = authorized(&url);
    let (code, data) = error(authorized.call("me", ()).await);
    assert_eq!(code, codes::METHOD_NOT_FOUND);
    assert_eq!(
        data.as_deref(),
        Some(r#""`me` is served over WebSocket only: call it on a WebSocket connection""#)
    );
    server.stop().await;
}

/// A guard may answer its own error, or be awaited; what it refuses, `rpc.methods` does not
/// list.
#[tokio::test]
async fn a_guard_may_refuse_with_its_own_error_or_be_awaited() {
    let server = start(Denial::Hide).await;
    let url = format!("http://{}/", server.addr);
    let anonymous = HttpClient::new(&url).unwrap();
    match anonymous.call::<String>("statement", ()).await {
        Err(ClientError::Rpc(err)) => {
            assert_eq!(err.code(), -32001);
            assert_eq!(err.message(), "unauthorized");
            assert_eq!(err.data().map(|data| data.get()), Some(r#""no token""#));
        }
        other => panic!("expected the guard's error, got {other:?}"),
    }
    assert_eq!(
        rpc_code(anonymous.call::<u64>("audit", ()).await),
        codes::METHOD_NOT_FOUND
    );
    let listed: Vec<String> = anonymous.call("rpc.methods", ()).await.unwrap();
    assert!(
        !listed
            .iter()
            .any(|name| name == "statement" || name == "audit"),
        "{listed:?}"
    );

    let authorized = authorized(&url);
    let statement: String = authorized.call("statement", ()).await.unwrap();
    assert_eq!(statement, "all well");
    assert_eq!(authorized.call::<u64>("audit", ()).await.unwrap(), 7);
    let listed: Vec<String> = authorized.call("rpc.methods", ()).await.unwrap();
    assert!(listed.iter().any(|name| name == "statement"), "{listed:?}");
    assert!(listed.iter().any(|name| name == "audit"), "{listed:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_server_may_say_access_denied_instead_and_batches_are_judged_per_member() {
    let server = start(Denial::Refuse).await;
    let batch = json!([
        {"jsonrpc": "2.0", "method": "balance", "id": 1},
        {"jsonrpc": "2.0", "method": "public", "id": 2},
        {"jsonrpc": "2.0", "method": "missing", "id": 3},
    ]);
    let answer = timed("batch", server.http().exchange(&batch.to_string()))
        .await
        .unwrap();
    let by_id = |id: u64| {
        answer
            .as_array()
            .unwrap()
            .iter()
            .find(|member| member["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id(1)["error"]["code"], codes::ACCESS_DENIED);
    assert_eq!(by_id(1)["error"]["message"], "Access denied");
    assert_eq!(by_id(2)["result"], "hello");
    // A method that does not exist is still just missing.
    assert_eq!(by_id(3)["error"]["code"], codes::METHOD_NOT_FOUND);
    server.stop().await;
}
