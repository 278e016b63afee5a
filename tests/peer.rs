//! One WebSocket peer, both directions, over real sockets: typed subscriptions (free functions
//! and services, typed clients, unsubscribing, limits, ends; in process on a `TestClient` too),
//! and calls from the server to a `WsClient` serving a router (typed, timed out, failed,
//! abandoned, concurrent, batched).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, timed, until};
use futures_util::{StreamExt, stream};
use rpc_runtime::client::{
    Batch, ClientError, RpcClient, Subscription, SubscriptionClient, TestClient, WsClient,
};
use rpc_runtime::{
    Connection, Context, Router, RpcError, Server, Stream, codes, methods, rpc_method, rpc_service,
};
use serde_json::{Value, json};
use tokio::sync::{Barrier, mpsc};

async fn connect(server: &TestServer, router: Router) -> WsClient {
    timed(
        "connect",
        WsClient::builder()
            .router(router)
            .connect(format!("ws://{}/", server.addr)),
    )
    .await
    .expect("connect")
}

async fn next<T: serde::de::DeserializeOwned>(subscription: &mut Subscription<T>) -> Option<T> {
    timed("an item", subscription.next())
        .await
        .map(|item| item.expect("an item that decodes"))
}

/// Waits until `broadcast_ticks` reaches exactly `receivers`.
async fn reaches(client: &WsClient, receivers: usize) {
    until("the receivers to settle", async || {
        let reached: usize = client.call("broadcast_ticks", (1, 1)).await.unwrap();
        reached == receivers
    })
    .await
}

#[tokio::test]
async fn subscribers_get_typed_items_in_order_until_they_unsubscribe() {
    let server = TestServer::start().await;
    let publisher = connect(&server, Router::new()).await;
    let (a, b) = (
        connect(&server, Router::new()).await,
        connect(&server, Router::new()).await,
    );
    let mut subscriptions = Vec::new();
    for client in [&a, &b] {
        let subscription = client
            .subscribe::<Value>("subscribe_ticks", (), "unsubscribe_ticks")
            .await
            .unwrap();
        subscriptions.push(subscription);
    }
    let reached: usize = publisher.call("broadcast_ticks", (50, 4)).await.unwrap();
    assert_eq!(reached, 2, "both subscriptions, no topic subscriber");
    for subscription in &mut subscriptions {
        for seq in 0..50 {
            assert_eq!(
                next(subscription).await,
                Some(json!({"seq": seq, "pad": "xxxx"}))
            );
        }
    }
    let first = subscriptions.remove(0);
    let id: u64 = serde_json::from_str(first.id().get()).unwrap();
    assert!(first.unsubscribe().await.unwrap());
    let again: bool = a.call("unsubscribe_ticks", [id]).await.unwrap();
    assert!(!again, "already ended");
    reaches(&publisher, 1).await;
    // Dropping a subscription unsubscribes too.
    drop(subscriptions);
    reaches(&publisher, 0).await;
    server.stop().await;
}

#[tokio::test]
async fn a_closed_connection_frees_its_subscriptions() {
    let server = TestServer::start().await;
    let publisher = connect(&server, Router::new()).await;
    let subscriber = connect(&server, Router::new()).await;
    let _ticks = subscriber
        .subscribe::<Value>("subscribe_ticks", (), "unsubscribe_ticks")
        .await
        .unwrap();
    reaches(&publisher, 1).await;
    drop(subscriber);
    reaches(&publisher, 0).await;
    server.stop().await;
}

#[rpc_service]
trait Countdown {
    /// Counts down from `from` to 0, then ends; refuses more than 100.
    #[rpc_subscription]
    fn subscribe_countdown(&self, from: u64) -> Result<impl Stream<Item = u64>, RpcError>;

    /// Counts forever, for the limit.
    #[rpc_subscription("forever", unsubscribe = "stop_forever", notification = "count")]
    async fn forever(&self) -> impl Stream<Item = u64>;
}

struct Counter;

impl Countdown for Counter {
    fn subscribe_countdown(
        &self,
        from: u64,
    ) -> Result<impl Stream<Item = u64> + Send + 'static, RpcError> {
        if from > 100 {
            return Err(RpcError::invalid_params("at most 100"));
        }
        Ok(stream::iter((0..=from).rev()))
    }

    async fn forever(&self) -> impl Stream<Item = u64> + Send + 'static {
        stream::iter(0..).then(|n| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            n
        })
    }
}

async fn countdown_server(
    builder: rpc_runtime::ServerBuilder,
) -> (TestServer, CountdownClient<WsClient>) {
    let server = TestServer::start_router(builder, Counter.into_router()).await;
    let client = CountdownClient::new(connect(&server, Router::new()).await);
    (server, client)
}

#[tokio::test]
async fn a_service_subscription_is_typed_refusable_and_ends_with_its_stream() {
    let (server, client) = countdown_server(Server::builder()).await;
    let mut countdown = client.subscribe_countdown(3).await.unwrap();
    for expected in [3, 2, 1, 0] {
        assert_eq!(next(&mut countdown).await, Some(expected));
    }
    assert_eq!(next(&mut countdown).await, None, "the stream's end ends it");
    let refused = client.subscribe_countdown(101).await.unwrap_err();
    assert_eq!(refused.as_rpc().unwrap().code(), codes::INVALID_PARAMS);
    server.stop().await;
}

#[rpc_method]
fn ping_me(conn: Connection) {
    conn.notify("ping", ()).unwrap();
}

/// The same service in process: a `TestClient` subscribes as a socket's client does, items go
/// to their subscription and other notifications to the client, each in order.
#[tokio::test]
async fn a_test_client_subscribes_in_process_as_over_a_socket() {
    let router = Counter.into_router().merge(methods![ping_me]).unwrap();
    let client = TestClient::new(router);
    let typed = CountdownClient::new(&client);
    let mut countdown = typed.subscribe_countdown(3).await.unwrap();
    for expected in [3, 2, 1, 0] {
        assert_eq!(next(&mut countdown).await, Some(expected));
    }
    assert_eq!(next(&mut countdown).await, None, "the stream's end ends it");
    let refused = typed.subscribe_countdown(101).await.unwrap_err();
    assert_eq!(refused.as_rpc().unwrap().code(), codes::INVALID_PARAMS);

    let mut forever = typed.forever().await.unwrap();
    assert_eq!(next(&mut forever).await, Some(0));
    client.call::<()>("ping_me", ()).await.unwrap();
    assert_eq!(next(&mut forever).await, Some(1));
    let ping = timed("the ping", client.next_notification()).await;
    assert_eq!(ping.unwrap().method(), "ping");
    let id: u64 = serde_json::from_str(forever.id().get()).unwrap();
    assert!(forever.unsubscribe().await.unwrap());
    let again: bool = client.call("stop_forever", [id]).await.unwrap();
    assert!(!again, "already ended");

    // Dropped, it unsubscribes too: its items (sent every 20 ms) stop.
    drop(typed.forever().await.unwrap());
    until("the dropped subscription's items to stop", async || {
        while client.try_next_notification().is_some() {}
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.try_next_notification().is_none()
    })
    .await;
}

#[tokio::test]
async fn subscriptions_past_the_connection_limit_are_refused() {
    let (server, client) =
        countdown_server(Server::builder().max_subscriptions_per_connection(2)).await;
    let first = client.forever().await.unwrap();
    let mut second = client.forever().await.unwrap();
    let refused = client.forever().await.unwrap_err();
    assert_eq!(
        refused.as_rpc().unwrap().code(),
        codes::TOO_MANY_SUBSCRIPTIONS
    );
    assert_eq!(next(&mut second).await, Some(0));
    assert!(first.unsubscribe().await.unwrap());
    let mut third = client.forever().await.unwrap();
    assert_eq!(next(&mut third).await, Some(0));
    server.stop().await;
}

// The client's side: what the server may call.
#[rpc_service]
trait Ui {
    /// Asks the user; `true` to go ahead.
    async fn confirm(&self, question: String) -> Result<bool, RpcError>;
    /// Waits for the test's barrier: only calls that run together get through.
    async fn together(&self) -> u64;
    /// Never answers.
    async fn hang(&self);
    #[rpc_notification]
    fn shown(&self, text: String);
}

struct Answers {
    barrier: Barrier,
    shown: mpsc::UnboundedSender<String>,
}

impl Ui for Answers {
    async fn confirm(&self, question: String) -> Result<bool, RpcError> {
        match question.as_str() {
            "crash?" => Err(RpcError::new(-32010, "the user closed the window")),
            _ => Ok(question.starts_with("delete")),
        }
    }

    async fn together(&self) -> u64 {
        self.barrier.wait().await;
        7
    }

    async fn hang(&self) {
        std::future::pending::<()>().await
    }

    fn shown(&self, text: String) {
        let _ = self.shown.send(text);
    }
}

/// What the server reports of calls that never answer.
struct Outcomes(mpsc::UnboundedSender<String>);

#[rpc_method]
async fn delete(conn: Connection, file: String) -> Result<String, RpcError> {
    let ui = UiClient::new(conn);
    let confirmed = ui
        .confirm(format!("delete {file}?"))
        .await
        .map_err(to_rpc)?;
    Ok(if confirmed { "deleted" } else { "kept" }.to_owned())
}

#[rpc_method]
async fn ask(conn: Connection, question: String) -> Result<bool, RpcError> {
    UiClient::new(conn).confirm(question).await.map_err(to_rpc)
}

#[rpc_method]
async fn twice_together(conn: Connection) -> Result<u64, RpcError> {
    let ui = UiClient::new(conn);
    let (a, b) = tokio::join!(ui.together(), ui.together());
    Ok(a.map_err(to_rpc)? + b.map_err(to_rpc)?)
}

/// Calls `hang` from a task of its own, as anything holding the connection may (the handlers
/// of a connection that ends are cancelled with it), and reports how the call ended.
#[rpc_method]
fn wait_for_nothing(cx: Context, conn: Connection) {
    let outcomes = cx.state::<Outcomes>().map(|outcomes| outcomes.0.clone());
    tokio::spawn(async move {
        let report = match UiClient::new(conn).hang().await {
            Ok(()) => "answered".to_owned(),
            Err(ClientError::Timeout(_)) => "timeout".to_owned(),
            Err(ClientError::Closed) => "closed".to_owned(),
            Err(other) => other.to_string(),
        };
        if let Some(outcomes) = outcomes {
            let _ = outcomes.send(report);
        }
    });
}

#[rpc_method]
async fn show_and_batch(conn: Connection) -> Result<Vec<bool>, RpcError> {
    let mut batch = Batch::new();
    let yes = batch
        .call::<bool>("confirm", ["delete it?"])
        .map_err(to_rpc)?;
    let no = batch
        .call::<bool>("confirm", ["keep it?"])
        .map_err(to_rpc)?;
    batch.notify("shown", ["a batch"]).map_err(to_rpc)?;
    let answers = conn.batch(batch).await.map_err(to_rpc)?;
    UiClient::new(conn)
        .shown("alone".into())
        .await
        .map_err(to_rpc)?;
    Ok(vec![
        answers.get(&yes).map_err(to_rpc)?,
        answers.get(&no).map_err(to_rpc)?,
    ])
}

fn to_rpc(err: ClientError) -> RpcError {
    match err {
        ClientError::Rpc(err) => err,
        other => RpcError::internal().with_data(other.to_string()),
    }
}

struct Peer {
    server: TestServer,
    client: WsClient,
    shown: mpsc::UnboundedReceiver<String>,
    outcomes: mpsc::UnboundedReceiver<String>,
}

async fn peer(call_timeout: Duration) -> Peer {
    let (outcomes, outcomes_rx) = mpsc::unbounded_channel();
    let builder = Server::builder()
        .client_call_timeout(call_timeout)
        .state(Outcomes(outcomes));
    let router = methods![
        delete,
        ask,
        twice_together,
        wait_for_nothing,
        show_and_batch
    ]
    .merge(common::spec::router())
    .unwrap();
    let server = TestServer::start_router(builder, router).await;
    let (shown, shown_rx) = mpsc::unbounded_channel();
    let answers = Answers {
        barrier: Barrier::new(2),
        shown,
    };
    let client = connect(&server, answers.into_router()).await;
    Peer {
        server,
        client,
        shown: shown_rx,
        outcomes: outcomes_rx,
    }
}

#[tokio::test]
async fn the_server_calls_the_clients_typed_methods() {
    let mut peer = peer(Duration::from_secs(10)).await;
    let answer: String = peer.client.call("delete", ["notes.txt"]).await.unwrap();
    assert_eq!(answer, "deleted");
    let answers: Vec<bool> = peer.client.call("show_and_batch", ()).await.unwrap();
    assert_eq!(answers, [true, false]);
    assert_eq!(timed("shown", peer.shown.recv()).await.unwrap(), "a batch");
    assert_eq!(timed("shown", peer.shown.recv()).await.unwrap(), "alone");
    peer.server.stop().await;
}

#[tokio::test]
async fn errors_cross_both_ways_with_their_code_and_message() {
    let peer = peer(Duration::from_secs(10)).await;
    let err = peer
        .client
        .call::<bool>("ask", ["crash?"])
        .await
        .unwrap_err();
    let err = err.as_rpc().unwrap();
    assert_eq!(
        (err.code(), err.message()),
        (-32010, "the user closed the window")
    );
    // A method the client lacks: its -32601 comes back through `callback`.
    let err = peer
        .client
        .call::<Value>("callback", ("no_such_method", ()))
        .await
        .unwrap_err();
    assert_eq!(err.as_rpc().unwrap().code(), codes::METHOD_NOT_FOUND);
    let answer: Value = peer
        .client
        .call("callback", ("confirm", ["delete x?"]))
        .await
        .unwrap();
    assert_eq!(answer, json!(true));
    peer.server.stop().await;
}

#[tokio::test]
async fn calls_run_concurrently_in_both_directions() {
    let peer = peer(Duration::from_secs(10)).await;
    // Both of the server's calls must be running on the client at once to pass its barrier,
    // and the client's own calls go on meanwhile.
    let (together, difference) = timed("both directions", async {
        tokio::join!(
            peer.client.call::<u64>("twice_together", ()),
            peer.client.call::<i64>("subtract", (42, 23)),
        )
    })
    .await;
    assert_eq!((together.unwrap(), difference.unwrap()), (14, 19));
    peer.server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_answers_times_the_call_out() {
    let mut peer = peer(Duration::from_millis(200)).await;
    peer.client.notify("wait_for_nothing", ()).await.unwrap();
    assert_eq!(
        timed("an outcome", peer.outcomes.recv()).await.unwrap(),
        "timeout"
    );
    // The connection is fine after it.
    let difference: i64 = peer.client.call("subtract", (42, 23)).await.unwrap();
    assert_eq!(difference, 19);
    peer.server.stop().await;
}

#[tokio::test]
async fn a_client_that_disconnects_mid_call_fails_the_call_at_once() {
    let mut peer = peer(Duration::from_secs(60)).await;
    peer.client.notify("wait_for_nothing", ()).await.unwrap();
    // Let the server's call reach the client before it goes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(peer.client);
    assert_eq!(
        timed("an outcome", peer.outcomes.recv()).await.unwrap(),
        "closed"
    );
    peer.server.stop().await;
}

#[tokio::test]
async fn a_client_without_a_router_answers_method_not_found() {
    let server = TestServer::start().await;
    let client = connect(&server, Router::new()).await;
    let err = client
        .call::<Value>("callback", ("confirm", ["x"]))
        .await
        .unwrap_err();
    assert_eq!(err.as_rpc().unwrap().code(), codes::METHOD_NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn handlers_on_the_client_can_call_the_server_back() {
    #[rpc_method]
    async fn relay(conn: Connection, a: i64, b: i64) -> Result<i64, RpcError> {
        conn.call("subtract", (a, b)).await.map_err(to_rpc)
    }
    let server = TestServer::start().await;
    let client = connect(&server, methods![relay]).await;
    let answer: i64 = client.call("callback", ("relay", (42, 23))).await.unwrap();
    assert_eq!(answer, 19);
    server.stop().await;
}

#[tokio::test]
async fn a_shared_client_keeps_its_connection_until_the_last_clone_goes() {
    let server = TestServer::start().await;
    let client = connect(&server, Router::new()).await;
    let clone = Arc::new(client.clone());
    drop(client);
    let difference: i64 = clone.call("subtract", (42, 23)).await.unwrap();
    assert_eq!(difference, 19);
    server.stop().await;
}

#[tokio::test]
async fn subscriptions_speak_the_wire_shape_jsonrpsee_and_ethereum_clients_expect() {
    let server = TestServer::start().await;
    let publisher = connect(&server, Router::new()).await;
    let mut raw = server.ws().await;
    let answer = raw
        .call(r#"{"jsonrpc":"2.0","method":"subscribe_ticks","id":1}"#)
        .await;
    assert_eq!(answer, json!({"jsonrpc":"2.0","result":1,"id":1}));
    let _: usize = publisher.call("broadcast_ticks", (1, 2)).await.unwrap();
    assert_eq!(
        raw.recv_json().await,
        json!({"jsonrpc":"2.0","method":"ticks","params":{"subscription":1,"result":{"seq":0,"pad":"xx"}}})
    );
    let answer = raw
        .call(r#"{"jsonrpc":"2.0","method":"unsubscribe_ticks","params":[1],"id":2}"#)
        .await;
    assert_eq!(answer, json!({"jsonrpc":"2.0","result":true,"id":2}));
    // Over HTTP there is no connection to carry items: the method does not exist there.
    let answer = server
        .http()
        .exchange(r#"{"jsonrpc":"2.0","method":"subscribe_ticks","id":3}"#)
        .await
        .unwrap();
    assert_eq!(answer["error"]["code"], json!(codes::METHOD_NOT_FOUND));
    server.stop().await;
}

#[tokio::test]
async fn a_stream_that_ends_says_so_in_a_last_notification() {
    let server = TestServer::start_router(Server::builder(), Counter.into_router()).await;
    let mut raw = server.ws().await;
    let answer = raw
        .call(r#"{"jsonrpc":"2.0","method":"subscribe_countdown","params":[0],"id":1}"#)
        .await;
    assert_eq!(answer, json!({"jsonrpc":"2.0","result":1,"id":1}));
    assert_eq!(
        raw.recv_json().await,
        json!({"jsonrpc":"2.0","method":"countdown","params":{"subscription":1,"result":0}})
    );
    assert_eq!(
        raw.recv_json().await,
        json!({"jsonrpc":"2.0","method":"countdown","params":{"subscription":1,"error":{"code":codes::SUBSCRIPTION_ENDED,"message":"subscription ended"}}})
    );
    let answer = raw
        .call(r#"{"jsonrpc":"2.0","method":"unsubscribe_countdown","params":[1],"id":2}"#)
        .await;
    assert_eq!(
        answer,
        json!({"jsonrpc":"2.0","result":false,"id":2}),
        "freed already"
    );
    server.stop().await;
}
