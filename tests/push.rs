//! Push over real sockets: topics, retained values, groups, pushes to one connection, hooks,
//! closing, and slow readers, through `WsClient`, `HttpClient` and tokio-tungstenite.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{TestServer, Ws, timed, until};
use futures_util::StreamExt;
use rpc_runtime::client::{ClientError, HttpClient, RpcClient, TestClient, WsClient};
use rpc_runtime::{
    Connection, ConnectionId, Context, Hub, Refusal, Server, SlowReaderPolicy, Topic, methods,
    rpc_method,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[derive(Debug, Deserialize, PartialEq)]
struct Tick {
    seq: u64,
    pad: String,
}

async fn ws(server: &TestServer) -> WsClient {
    timed(
        "connect",
        WsClient::builder()
            .notification_buffer(1 << 16)
            .connect(format!("ws://{}/", server.addr)),
    )
    .await
    .expect("connect")
}

async fn subscribe(client: &WsClient, topics: Value) -> Result<Vec<String>, ClientError> {
    timed("subscribe", client.call("rpc.subscribe", [topics])).await
}

#[tokio::test]
async fn subscribers_receive_what_is_published_until_they_unsubscribe() {
    let server = TestServer::start().await;
    let client = ws(&server).await;
    let mut news = client.notifications_for::<Value>("news");
    assert_eq!(subscribe(&client, json!("news")).await.unwrap(), ["news"]);
    assert_eq!(
        subscribe(&client, json!(["news", "status"])).await.unwrap(),
        ["news", "status"]
    );
    let topics: Vec<String> = client.call("rpc.topics", ()).await.unwrap();
    assert_eq!(topics, ["news", "status", "ticks"]);

    // Published over HTTP: any transport reaches the hub.
    let http = HttpClient::new(&format!("http://{}/", server.addr)).unwrap();
    let reached: usize = http
        .call("publish", ("news", json!({"title": "hello"})))
        .await
        .unwrap();
    assert_eq!(reached, 1);
    let item = timed("news item", news.recv()).await.unwrap().unwrap();
    assert_eq!(item, json!({"title": "hello"}));

    let left: Vec<String> = client.call("rpc.unsubscribe", ["news"]).await.unwrap();
    assert_eq!(left, ["status"]);
    let subscriptions: Vec<String> = client.call("rpc.subscriptions", ()).await.unwrap();
    assert_eq!(subscriptions, ["status"]);
    let reached: usize = http.call("publish", ("news", "gone")).await.unwrap();
    assert_eq!(reached, 0);
    server.stop().await;
}

#[tokio::test]
async fn a_retained_value_reaches_each_new_subscriber_at_once() {
    let server = TestServer::start().await;
    let publisher = ws(&server).await;
    let reached: usize = publisher
        .call("publish", ("status", "green", true))
        .await
        .unwrap();
    assert_eq!(reached, 0);
    for _ in 0..2 {
        let client = ws(&server).await;
        let mut status = client.notifications_for::<String>("status");
        subscribe(&client, json!("status")).await.unwrap();
        assert_eq!(
            timed("retained", status.recv()).await.unwrap().unwrap(),
            "green"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_topic_subscribes_nothing_and_says_which() {
    let server = TestServer::start().await;
    let client = ws(&server).await;
    let err = subscribe(&client, json!(["news", "nope"]))
        .await
        .unwrap_err();
    let err = err.as_rpc().expect("a JSON-RPC error");
    assert_eq!(err.code(), -32602);
    let data: Value = serde_json::from_str(err.data().unwrap().get()).unwrap();
    assert_eq!(data, json!({"unknown": ["nope"], "forbidden": []}));
    let subscriptions: Vec<String> = client.call("rpc.subscriptions", ()).await.unwrap();
    assert!(subscriptions.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn groups_reach_their_members_and_a_closed_connection_leaves_them() {
    let server = TestServer::start().await;
    let (ann, bob) = (ws(&server).await, ws(&server).await);
    let mut bob_said = bob.notifications_for::<(String,)>("said");
    for client in [&ann, &bob] {
        assert!(client.call::<bool>("join", ("room",)).await.unwrap());
    }
    assert!(!ann.call::<bool>("join", ("room",)).await.unwrap());
    assert_eq!(server.hub().members("room").len(), 2);
    let reached: usize = ann
        .call("notify_group", ("room", "said", ["hi"]))
        .await
        .unwrap();
    assert_eq!(reached, 2);
    assert_eq!(
        timed("said", bob_said.recv()).await.unwrap().unwrap().0,
        "hi"
    );

    assert!(bob.call::<bool>("leave", ("room",)).await.unwrap());
    let reached: usize = ann
        .call("notify_group", ("room", "said", ["bye"]))
        .await
        .unwrap();
    assert_eq!(reached, 1);

    assert!(bob.call::<bool>("join", ("room",)).await.unwrap());
    drop(bob);
    until("bob leaving the room", async || {
        server.hub().members("room").len() == 1
    })
    .await;
    drop(ann);
    until("the room going away", async || {
        server.hub().groups().is_empty()
    })
    .await;
    assert!(server.hub().connections().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_connection_is_reachable_after_the_call_and_by_id() {
    let server = TestServer::start().await;
    let client = ws(&server).await;
    let mut later = client.notifications_for::<(String,)>("later");
    let mut direct = client.notifications_for::<Value>("direct");
    client
        .call::<()>("push_later", (20, "later"))
        .await
        .unwrap();
    assert_eq!(
        timed("later", later.recv()).await.unwrap().unwrap().0,
        "later"
    );

    client
        .call::<()>("notify_me", ("direct", { json!({"a": 1}) }))
        .await
        .unwrap();
    assert_eq!(
        timed("direct", direct.recv()).await.unwrap().unwrap(),
        json!({"a": 1})
    );

    let [id] = server.hub().connections()[..] else {
        panic!("one connection")
    };
    server.hub().notify(id, "direct", [2]).unwrap();
    assert_eq!(
        timed("by id", direct.recv()).await.unwrap().unwrap(),
        json!([2])
    );
    server.stop().await;
}

#[tokio::test]
async fn push_methods_over_http_are_not_found_and_say_they_need_a_websocket() {
    let server = TestServer::start().await;
    let http = HttpClient::new(&format!("http://{}/", server.addr)).unwrap();
    for (method, params) in [
        ("notify_me", json!(["m"])),
        ("join", json!(["g"])),
        ("rpc.subscribe", json!(["news"])),
    ] {
        let err = http.call::<Value>(method, params).await.unwrap_err();
        let err = err.as_rpc().expect("an error answer");
        assert_eq!(err.code(), -32601, "{method}");
        let data = err.data().map(|data| data.get()).unwrap_or_default();
        assert!(data.contains("WebSocket"), "{method}: {data}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_handler_closes_its_connection_with_a_code_after_answering() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"kick","params":[4001,"go away"],"id":1}"#)
        .await;
    assert_eq!(answer["result"], "kicked");
    match ws.recv().await {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::from(4001));
            assert_eq!(frame.reason, "go away");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn ten_subscribers_get_two_thousand_publishes_complete_and_in_order() {
    let server = TestServer::start().await;
    let mut subscribers = Vec::new();
    for _ in 0..10 {
        let client = ws(&server).await;
        let ticks = client.notifications_for::<Tick>("ticks");
        subscribe(&client, json!("ticks")).await.unwrap();
        subscribers.push((client, ticks));
    }
    let publisher = HttpClient::new(&format!("http://{}/", server.addr)).unwrap();
    let receivers: usize = publisher.call("broadcast_ticks", (2000, 16)).await.unwrap();
    assert_eq!(receivers, 10);
    for (_client, mut ticks) in subscribers {
        for seq in 0..2000 {
            let tick = timed("a tick", ticks.recv()).await.unwrap().unwrap();
            assert_eq!(
                tick,
                Tick {
                    seq,
                    pad: "x".repeat(16)
                }
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_burst_arrives_whole_and_in_order_between_single_pushes() {
    let server = TestServer::start().await;
    let mut raw = server.ws().await;
    let answer = raw
        .call(r#"{"jsonrpc":"2.0","method":"rpc.subscribe","params":["news"],"id":1}"#)
        .await;
    assert_eq!(answer["result"], json!(["news"]));
    let in_process = TestClient::builder(methods![me])
        .hub(server.hub().clone())
        .connect()
        .await
        .unwrap();
    let subscribed: Vec<String> = in_process.call("rpc.subscribe", ["news"]).await.unwrap();
    assert_eq!(subscribed, ["news"]);

    let hub = server.hub();
    assert_eq!(hub.publish("news", 0).unwrap(), 2);
    // The three length forms of a frame's header, in one burst.
    let sizes = [1, 200, 70_000];
    let burst = sizes.map(|n| "x".repeat(n));
    assert_eq!(hub.publish_many("news", &burst).unwrap(), 2);
    assert_eq!(hub.publish_many("news", Vec::<u8>::new()).unwrap(), 0);
    assert_eq!(hub.publish("news", 4).unwrap(), 2);

    let expected = [
        json!(0),
        json!(burst[0]),
        json!(burst[1]),
        json!(burst[2]),
        json!(4),
    ];
    for params in &expected {
        let wire = json!({"jsonrpc": "2.0", "method": "news", "params": params});
        assert_eq!(timed("a raw frame", raw.recv_json()).await, wire);
        let note = in_process
            .try_next_notification()
            .expect("queued in process");
        assert_eq!(note.params::<Value>().unwrap(), *params);
    }
    assert!(in_process.try_next_notification().is_none());
    in_process.close().await;
    drop(raw);
    server.stop().await;
}

#[tokio::test]
async fn a_group_burst_reaches_every_member_in_order() {
    let server = TestServer::start().await;
    let mut members = Vec::new();
    for _ in 0..3 {
        let client = ws(&server).await;
        let said = client.notifications_for::<u64>("said");
        let id: ConnectionId = client.call("connection_id", ()).await.unwrap();
        assert!(server.hub().join("room", id).await.unwrap());
        members.push((client, said));
    }
    let reached = server.hub().notify_group_many("room", "said", 0..100u64);
    assert_eq!(reached.unwrap(), 3);
    for (_client, mut said) in members {
        for n in 0..100 {
            assert_eq!(
                timed("a group push", said.recv()).await.unwrap().unwrap(),
                n
            );
        }
    }
    server.stop().await;
}

/// A client that completes the handshake, subscribes to `ticks`, then never reads again.
async fn stalled_subscriber(server: &TestServer) -> Ws {
    let mut ws = server.ws().await;
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"rpc.subscribe","params":["ticks"],"id":1}"#)
        .await;
    assert_eq!(answer["result"], json!(["ticks"]));
    ws
}

/// Publishes `count` 8 KiB ticks from the hub, 16 at a time (one by one, or as one burst),
/// each batch once `progress` (the live reader's count) has caught up: the live reader never
/// has much queued, while a reader that stopped is sent 32 MiB, far more than loopback's
/// socket buffers hold. Returns how many connections each tick reached.
async fn publish_ticks(hub: &Hub, count: u64, progress: &AtomicU64, bursts: bool) -> Vec<usize> {
    let pad = "x".repeat(8 * 1024);
    let tick = |seq: u64| json!({"seq": seq, "pad": pad});
    let mut reached = Vec::new();
    for first in (0..count).step_by(16) {
        let batch = first..(first + 16).min(count);
        if bursts {
            let burst = hub.publish_many("ticks", batch.clone().map(tick)).unwrap();
            reached.extend(batch.clone().map(|_| burst));
        } else {
            reached.extend(
                batch
                    .clone()
                    .map(|seq| hub.publish("ticks", tick(seq)).unwrap()),
            );
        }
        let last = batch.end - 1;
        timed("the live reader catching up", async {
            while progress.load(Ordering::Acquire) <= last {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
    }
    reached
}

/// Reads `count` ticks in order, counting them in `progress`; returns the client, still open.
async fn read_ticks(client: WsClient, count: u64, progress: Arc<AtomicU64>) -> WsClient {
    let mut ticks = client.notifications_for::<Tick>("ticks");
    subscribe(&client, json!("ticks")).await.unwrap();
    for seq in 0..count {
        let tick = timed("a live reader's tick", ticks.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tick.seq, seq);
        progress.store(seq + 1, Ordering::Release);
    }
    client
}

/// One stalled and one live subscriber to `ticks`, and 4096 ticks published; returns both
/// clients, still open (were the live one dropped, its connection could leave the hub before
/// the caller counts what remains), and how many connections each tick reached.
async fn publish_past_a_stalled_reader(
    server: &TestServer,
    bursts: bool,
) -> (Ws, WsClient, Vec<usize>) {
    let stalled = stalled_subscriber(server).await;
    let live = ws(server).await;
    let progress = Arc::new(AtomicU64::new(0));
    let reading = tokio::spawn(read_ticks(live, 4096, progress.clone()));
    until("two subscribers", async || {
        server.hub().subscribers("ticks").len() == 2
    })
    .await;
    let reached = publish_ticks(server.hub(), 4096, &progress, bursts).await;
    let live = timed("the live reader", reading).await.unwrap();
    (stalled, live, reached)
}

#[tokio::test]
async fn a_stalled_reader_is_closed_and_the_others_keep_receiving() {
    for bursts in [false, true] {
        let builder = Server::builder().outbound_queue(256 * 1024);
        let server = TestServer::start_with(builder, 2).await;
        let (stalled, live, reached) = publish_past_a_stalled_reader(&server, bursts).await;
        assert_eq!(reached[0], 2);
        assert_eq!(
            *reached.last().unwrap(),
            1,
            "the stalled reader was cut off (bursts: {bursts})"
        );
        until("the stalled connection closing", async || {
            server.hub().connections().len() == 1
        })
        .await;
        drop((stalled, live));
        server.stop().await;
    }
}

#[tokio::test]
async fn under_the_drop_policy_a_stalled_reader_stays_and_loses_pushes() {
    for bursts in [false, true] {
        let builder = Server::builder()
            .outbound_queue(256 * 1024)
            .slow_reader(SlowReaderPolicy::Drop);
        let server = TestServer::start_with(builder, 2).await;
        let (stalled, live, reached) = publish_past_a_stalled_reader(&server, bursts).await;
        assert_eq!(*reached.last().unwrap(), 1);
        assert_eq!(
            server.hub().subscribers("ticks").len(),
            2,
            "both still subscribed"
        );
        let dropped: Vec<u64> = server
            .hub()
            .subscribers("ticks")
            .into_iter()
            .map(|id| server.hub().connection(id).unwrap().dropped())
            .collect();
        assert_eq!(dropped.iter().filter(|&&n| n > 0).count(), 1, "{dropped:?}");
        // Every tick is counted, a burst's included: far more than the socket buffers held.
        assert!(dropped.iter().any(|&n| n > 1024), "{dropped:?}");
        drop((stalled, live));
        server.stop().await;
    }
}

#[derive(Clone, Debug, PartialEq)]
struct User(String);

#[rpc_method]
fn me(conn: Connection) -> Option<String> {
    conn.get::<User>().map(|user| user.0)
}

#[rpc_method]
fn rename(conn: Connection, name: String) {
    conn.insert(User(name));
}

fn hooked_hub(left: mpsc::UnboundedSender<String>) -> Hub {
    Hub::builder()
        .topic(Topic::new("secret").guard(|cx: &Context| {
            cx.connection().and_then(|conn| conn.get::<User>()) == Some(User("root".into()))
        }))
        .on_connect(|conn: Connection, _: Hub| async move {
            let user = conn
                .headers()
                .get("x-user")
                .and_then(|value| value.to_str().ok());
            let user = user
                .ok_or_else(|| Refusal::new(401, "send x-user"))?
                .to_owned();
            conn.insert(User(user));
            Ok(())
        })
        .on_disconnect(move |conn: Connection, hub: Hub| {
            let left = left.clone();
            async move {
                let user = conn.get::<User>().map_or_else(String::new, |user| user.0);
                // The hub has let go of the connection before the hook runs.
                let user = match hub.connection(conn.id()) {
                    None => user,
                    Some(_) => format!("{user}, still registered"),
                };
                let _ = left.send(user);
            }
        })
        .build()
}

#[tokio::test]
async fn hooks_refuse_or_accept_the_handshake_and_see_the_disconnect() {
    let (left, mut departures) = mpsc::unbounded_channel();
    let builder = Server::builder().hub(hooked_hub(left));
    let server = TestServer::start_router(builder, methods![me, rename]).await;
    let url = format!("ws://{}/", server.addr);

    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            assert_eq!(response.body().as_deref(), Some(b"send x-user".as_slice()));
        }
        other => panic!("expected a 401, got {other:?}"),
    }

    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    request
        .headers_mut()
        .insert("x-user", "ann".parse().unwrap());
    let client = WsClient::connect(request).await.unwrap();
    let me = || async { client.call::<Option<String>>("me", ()).await.unwrap() };
    assert_eq!(me().await.as_deref(), Some("ann"));
    client.call::<()>("rename", ("root",)).await.unwrap();
    assert_eq!(me().await.as_deref(), Some("root"));
    drop(client);
    assert_eq!(
        timed("on_disconnect", departures.recv()).await.unwrap(),
        "root"
    );
    server.stop().await;
}

#[tokio::test]
async fn test_client_runs_hooks_and_guards_in_process() {
    let (left, mut departures) = mpsc::unbounded_channel();
    let hub = hooked_hub(left);
    let refused = TestClient::builder(methods![me, rename])
        .hub(hub.clone())
        .connect()
        .await;
    assert_eq!(refused.unwrap_err().status(), 401);

    let client = TestClient::builder(methods![me, rename])
        .hub(hub.clone())
        .header("x-user", "ann")
        .connect()
        .await
        .unwrap();
    let err = client
        .call::<Vec<String>>("rpc.subscribe", ["secret"])
        .await
        .unwrap_err();
    let data = err.as_rpc().unwrap().data().unwrap().get().to_owned();
    assert_eq!(data, r#"{"forbidden":["secret"],"unknown":[]}"#);
    let topics: Vec<String> = client.call("rpc.topics", ()).await.unwrap();
    assert!(
        topics.is_empty(),
        "a guarded topic is not listed to those it refuses"
    );

    client.call::<()>("rename", ("root",)).await.unwrap();
    let subscribed: Vec<String> = client.call("rpc.subscribe", ["secret"]).await.unwrap();
    assert_eq!(subscribed, ["secret"]);
    assert_eq!(hub.publish("secret", "42").unwrap(), 1);
    let note = client.try_next_notification().unwrap();
    assert_eq!(
        (note.method(), note.params::<String>().unwrap().as_str()),
        ("secret", "42")
    );
    assert!(client.try_next_notification().is_none());

    client.close().await;
    assert_eq!(departures.recv().await.unwrap(), "root");
    assert!(hub.subscribers("secret").is_empty());
    assert!(hub.connections().is_empty());
}

#[tokio::test]
async fn raw_clients_see_notifications_in_wire_shape_before_the_answer() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    ws.send_text(
        r#"{"jsonrpc":"2.0","method":"notify_me","params":["hello",{"to":"you"}],"id":1}"#,
    )
    .await;
    assert_eq!(
        ws.recv_json().await,
        json!({"jsonrpc":"2.0","method":"hello","params":{"to":"you"}})
    );
    assert_eq!(
        ws.recv_json().await,
        json!({"jsonrpc":"2.0","result":null,"id":1})
    );
    // aiohttp-json-rpc's spelling: a bare string as params.
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"subscribe","params":"news","id":2}"#)
        .await;
    assert_eq!(answer["result"], json!(["news"]));
    // Any other method still refuses bare params.
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"echo","params":"news","id":3}"#)
        .await;
    assert_eq!(answer["error"]["code"], -32600);
    assert_eq!(answer["id"], 3);
    ws.stream.close(None).await.unwrap();
    while let Some(Ok(_)) = ws.stream.next().await {}
    server.stop().await;
}

#[tokio::test]
async fn a_stopping_server_does_not_wait_forever_on_a_stalled_reader() {
    let server = TestServer::start_with(Server::builder().outbound_queue(64 << 20), 2).await;
    let stalled = stalled_subscriber(&server).await;
    // Enough to fill the socket's buffers, not the (large) queue: the connection stays open,
    // its task stuck writing.
    let pad = "x".repeat(8 * 1024);
    for seq in 0..2048 {
        server
            .hub()
            .publish("ticks", json!({"seq": seq, "pad": pad}))
            .unwrap();
    }
    timed("a stop with a stalled reader", server.stop()).await;
    drop(stalled);
}

/// Where `keep` puts the calling connection, for the test to hold after the call.
#[derive(Default)]
struct Kept(std::sync::Mutex<Option<Connection>>);

#[rpc_method]
fn keep(cx: Context, conn: Connection) {
    *cx.state::<Kept>().unwrap().0.lock().unwrap() = Some(conn);
}

#[tokio::test]
async fn a_kept_connection_learns_when_its_client_goes() {
    let builder = Server::builder().state(Kept::default());
    let server = TestServer::start_router(builder, methods![keep]).await;
    let client = ws(&server).await;
    client.call::<()>("keep", ()).await.unwrap();
    let [id] = server.hub().connections()[..] else {
        panic!("one connection")
    };
    let conn = server.hub().connection(id).unwrap();
    assert!(!conn.is_closed());
    conn.notify("still", ()).unwrap();
    drop(client);
    timed("closed()", conn.closed()).await;
    assert!(conn.is_closed());
    assert_eq!(conn.notify("gone", ()), Err(rpc_runtime::PushError::Closed));
    assert!(server.hub().connection(id).is_none());
    server.stop().await;
}

#[tokio::test]
async fn a_topic_that_retains_its_last_value_gives_it_to_each_new_subscriber() {
    let hub = Hub::builder()
        .topic(Topic::new("price").retain_last())
        .build();
    assert_eq!(hub.publish("price", 1).unwrap(), 0);
    assert_eq!(hub.publish("price", 2).unwrap(), 0);
    for _ in 0..2 {
        let client = TestClient::builder(methods![me]).hub(hub.clone()).build();
        let subscribed: Vec<String> = client.call("rpc.subscribe", ["price"]).await.unwrap();
        assert_eq!(subscribed, ["price"]);
        let retained = client
            .try_next_notification()
            .expect("the last value, at once");
        assert_eq!(retained.params::<i64>().unwrap(), 2);
        assert!(
            client.try_next_notification().is_none(),
            "only the last one"
        );
    }
    assert_eq!(
        hub.publish("nope", 1),
        Err(rpc_runtime::PushError::UnknownTopic("nope".into()))
    );
}

/// Without a broker, presence and its events are this process's: a join with info is listed
/// with it, and the group hears of joins, leaves and closed connections.
#[tokio::test]
async fn presence_and_its_events_on_one_process() {
    let hub = rpc_runtime::Hub::builder().presence_events().build();
    let client = || {
        TestClient::builder(rpc_runtime::Router::new())
            .hub(hub.clone())
            .build()
    };
    let (ann, bob) = (client(), client());
    let (ann_id, bob_id) = (
        ann.connection().unwrap().id(),
        bob.connection().unwrap().id(),
    );
    assert!(hub.join_with("lobby", ann_id, "ann").await.unwrap());
    assert!(hub.join("lobby", bob_id).await.unwrap());
    let present = hub.presence("lobby").await.unwrap();
    let seen: Vec<_> = present.iter().map(|m| (m.id, m.info.clone())).collect();
    assert_eq!(seen, [(ann_id, Some(json!("ann"))), (bob_id, None)]);

    let joined = ann.try_next_notification().unwrap();
    assert_eq!(joined.method(), "rpc.joined");
    let params: Value = joined.params().unwrap();
    assert_eq!(
        params,
        json!({"group": "lobby", "id": ann_id, "info": "ann"})
    );
    let bob_joined: Value = ann.try_next_notification().unwrap().params().unwrap();
    assert_eq!(bob_joined["id"], json!(bob_id));

    assert!(hub.leave("lobby", bob_id));
    let left = ann.try_next_notification().unwrap();
    assert_eq!(left.method(), "rpc.left");
    assert_eq!(left.params::<Value>().unwrap()["id"], json!(bob_id));
    bob.close().await;
    assert!(
        ann.try_next_notification().is_none(),
        "bob had left already"
    );
    drop(ann);
    assert!(
        hub.presence("lobby").await.unwrap().is_empty(),
        "a closed connection leaves"
    );
}
